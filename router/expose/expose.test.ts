import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import { type Cidr, cidrContains, formatCidr, mustParseCidr, parseCidr } from '../../common/ip.js';
import { FakeKernelWorld } from '../kernel/fake-kernel.js';
import type { NftFamily, NftObject } from '../kernel/nftables.js';
import { type ExposeDeps, exposeHost, hideHost, removeExposeTable } from './apply.js';
import { type ExposeState, planExpose, planHide } from './plan.js';
import { EXPOSE_TABLE, exposedSubnetsOf, exposeRuleset } from './ruleset.js';

const range = mustParseCidr('10.32.0.0/12');
const cidrs = (...s: string[]) => s.map((x) => mustParseCidr(x, { host: true }));

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof WeftError) return e.code;
    throw e;
  }
  throw new Error('expected a WeftError');
}

describe('exposeRuleset', () => {
  it("writes Weave's three NAT rules per subnet, marked with the subnet", () => {
    expect(exposeRuleset({ subnets: cidrs('10.32.0.0/12'), bridge: 'weft' })).toBe(
      [
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    ip saddr 10.32.0.0/12 ip daddr 224.0.0.0/4 return comment "weft-expose 10.32.0.0/12"',
        '    ip saddr 10.32.0.0/12 ip daddr != 10.32.0.0/12 oifname != "weft" masquerade comment "weft-expose 10.32.0.0/12"',
        '    ip saddr != 10.32.0.0/12 ip daddr 10.32.0.0/12 oifname "weft" masquerade comment "weft-expose 10.32.0.0/12"',
        '  }',
      ].join('\n'),
    );
  });

  it('uses networks, sorted and without duplicates, so equal inputs give equal tables', () => {
    const a = exposeRuleset({
      subnets: cidrs('10.40.0.1/16', '10.32.0.9/16', '10.40.7.7/16'),
      bridge: 'weft',
    });
    const b = exposeRuleset({ subnets: cidrs('10.32.0.0/16', '10.40.0.0/16'), bridge: 'weft' });
    expect(a).toBe(b);
    expect(a.indexOf('10.32.0.0/16')).toBeLessThan(a.indexOf('10.40.0.0/16'));
  });

  it('refuses interface names that could escape the nft string, and an empty subnet list', () => {
    for (const bad of ['we"ft', 'a b', '', 'x'.repeat(16), 'weft;flush ruleset']) {
      expect(code(() => exposeRuleset({ subnets: cidrs('10.32.0.0/12'), bridge: bad }))).toBe('BAD_REQUEST');
    }
    expect(code(() => exposeRuleset({ subnets: [], bridge: 'weft' }))).toBe('BAD_REQUEST');
  });

  it('reads the masqueraded subnets back from listed rules, ignoring foreign comments', () => {
    const objects: NftObject[] = [
      { table: { family: 'ip', name: 'weft' } },
      { rule: { comment: 'weft-expose 10.40.0.0/16' } },
      { rule: { comment: 'weft-expose 10.32.0.0/16' } },
      { rule: { comment: 'weft-expose 10.32.0.0/16' } },
      { rule: { comment: 'something else' } },
      { rule: { comment: 'weft-expose not-a-cidr' } },
      { rule: {} },
    ];
    expect(exposedSubnetsOf(objects).map(formatCidr)).toEqual(['10.32.0.0/16', '10.40.0.0/16']);
    expect(exposedSubnetsOf(undefined)).toEqual([]);
  });
});

const empty: ExposeState = { bridgeAddresses: [], masqueraded: [] };

describe('planExpose', () => {
  it('brings the bridge up, adds the address, turns forwarding on and writes the table', () => {
    const plan = planExpose(empty, { bridge: 'weft', addresses: ['10.32.0.1/12'], masquerade: true, range });
    expect(plan.steps.map((s) => s.kind)).toEqual(['link-up', 'add-address', 'sysctl', 'nft-apply']);
    expect(plan.steps[1]).toEqual({ kind: 'add-address', dev: 'weft', cidr: '10.32.0.1/12' });
    expect(plan.steps[2]).toEqual({ kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' });
    expect(plan.masqueraded).toEqual(['10.32.0.0/12']);
    expect(plan.addresses).toEqual(['10.32.0.1/12']);
  });

  it('does not add an address that is there, and rewrites the same table (idempotent)', () => {
    const first = planExpose(empty, { bridge: 'weft', addresses: ['10.32.0.1/12'], masquerade: true, range });
    const again = planExpose(
      { bridgeAddresses: ['10.32.0.1/12'], masqueraded: cidrs('10.32.0.0/12') },
      { bridge: 'weft', addresses: ['10.32.0.1/12'], masquerade: true, range },
    );
    expect(again.steps.map((s) => s.kind)).toEqual(['link-up', 'sysctl', 'nft-apply']);
    expect(again.steps.at(-1)).toEqual(first.steps.at(-1));
  });

  it('without masquerading: no table (deleted if none was there), and existing masquerading is kept', () => {
    const plain = planExpose(empty, {
      bridge: 'weft',
      addresses: ['10.32.0.1/12'],
      masquerade: false,
      range,
    });
    expect(plain.steps.map((s) => s.kind)).toEqual(['link-up', 'add-address', 'nft-delete']);
    const mixed = planExpose(
      { bridgeAddresses: ['10.32.0.1/16'], masqueraded: cidrs('10.32.0.0/16') },
      { bridge: 'weft', addresses: ['10.33.0.1/16'], masquerade: false, range },
    );
    expect(mixed.masqueraded).toEqual(['10.32.0.0/16']);
    const apply = mixed.steps.find((s) => s.kind === 'nft-apply');
    expect(apply && 'body' in apply && apply.body).not.toContain('10.33.0.0/16');
  });

  it('refuses malformed addresses, addresses outside the range, and nothing to expose', () => {
    const req = (addresses: string[]) => ({ bridge: 'weft', addresses, masquerade: true, range });
    expect(code(() => planExpose(empty, req(['10.32.0.1'])))).toBe('INVALID_CIDR');
    expect(code(() => planExpose(empty, req(['10.32.0.1/40'])))).toBe('INVALID_CIDR');
    expect(code(() => planExpose(empty, req(['192.168.1.1/24'])))).toBe('OUT_OF_RANGE');
    expect(code(() => planExpose(empty, req(['10.32.0.1/8'])))).toBe('OUT_OF_RANGE');
    expect(code(() => planExpose(empty, req([])))).toBe('BAD_REQUEST');
  });
});

describe('planHide', () => {
  const two: ExposeState = {
    bridgeAddresses: ['10.32.0.1/16', '10.33.0.1/16', '192.168.9.1/24'],
    masqueraded: cidrs('10.32.0.0/16', '10.33.0.0/16'),
  };

  it('by default removes every bridge address inside the range (not others) and deletes the table', () => {
    const plan = planHide(two, { bridge: 'weft', addresses: [], range });
    expect(plan.steps).toEqual([
      { kind: 'delete-address', dev: 'weft', cidr: '10.32.0.1/16' },
      { kind: 'delete-address', dev: 'weft', cidr: '10.33.0.1/16' },
      { kind: 'nft-delete', family: 'ip', table: 'weft' },
    ]);
    expect(plan.addresses).toEqual(['10.32.0.1/16', '10.33.0.1/16']);
  });

  it('removing one address keeps masquerading for the subnet still exposed', () => {
    const plan = planHide(two, { bridge: 'weft', addresses: ['10.32.0.1/16'], range });
    expect(plan.steps.map((s) => s.kind)).toEqual(['delete-address', 'nft-apply']);
    expect(plan.masqueraded).toEqual(['10.33.0.0/16']);
  });

  it('hiding what is not exposed changes only the table (deleted when nothing is masqueraded)', () => {
    const plan = planHide(empty, { bridge: 'weft', addresses: ['10.32.0.1/12'], range });
    expect(plan.steps).toEqual([{ kind: 'nft-delete', family: 'ip', table: 'weft' }]);
    expect(plan.addresses).toEqual([]);
  });
});

/** nft as far as expose uses it: whole tables; listing returns the rules' comments as `nft -j` does. */
class FakeNft {
  readonly tables = new Map<string, string>();
  async applyTable(family: NftFamily, table: string, body: string) {
    this.tables.set(`${family} ${table}`, body);
  }
  async deleteTable(family: NftFamily, table: string, _opts?: { missingOk?: boolean }) {
    return this.tables.delete(`${family} ${table}`);
  }
  async listTable(family: NftFamily, table: string): Promise<NftObject[] | undefined> {
    const body = this.tables.get(`${family} ${table}`);
    if (body === undefined) return undefined;
    const rules = [...body.matchAll(/comment "([^"]*)"/g)].map((m) => ({ rule: { comment: m[1] } }));
    return [{ table: { family, name: table } }, ...rules];
  }
}

function world() {
  const w = new FakeKernelWorld();
  const { kernel } = w.createNamespace('host');
  const nft = new FakeNft();
  const deps: ExposeDeps = { kernel, nft };
  return { w, kernel, nft, deps };
}

describe('exposeHost / hideHost (fake kernel and nft)', () => {
  it('says NOT_FOUND when there is no bridge', async () => {
    const { deps } = world();
    const e = await exposeHost(deps, {
      bridge: 'weft',
      addresses: ['10.32.0.1/12'],
      masquerade: true,
      range,
    }).catch((x: unknown) => x);
    expect((e as WeftError).code).toBe('NOT_FOUND');
  });

  it('exposes: bridge up with the address and the connected route, forwarding on, table in place; hide undoes it', async () => {
    const { kernel, nft, deps } = world();
    await kernel.createBridge('weft');
    await exposeHost(deps, { bridge: 'weft', addresses: ['10.32.0.1/12'], masquerade: true, range });
    expect((await kernel.getLink('weft'))?.up).toBe(true);
    expect((await kernel.listAddresses('weft')).map((a) => a.cidr)).toEqual(['10.32.0.1/12']);
    expect((await kernel.listRoutes()).some((r) => r.dst === '10.32.0.0/12')).toBe(true);
    expect(await kernel.getSysctl('net.ipv4.ip_forward')).toBe('1');
    expect(nft.tables.get('ip weft')).toContain('masquerade');

    const hidden = await hideHost(deps, { bridge: 'weft', addresses: [], range });
    expect(hidden.addresses).toEqual(['10.32.0.1/12']);
    expect(await kernel.listAddresses('weft')).toEqual([]);
    expect(nft.tables.size).toBe(0);
    expect(await removeExposeTable(deps)).toBe(false);
  });

  it('keeps its invariants over any sequence of expose and hide', async () => {
    const addr = fc
      .tuple(fc.constantFrom(32, 33, 34), fc.integer({ min: 1, max: 3 }), fc.constantFrom(16, 24))
      .map(([b, h, p]) => `10.${b}.0.${h}/${p}`);
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('expose' as const),
        addresses: fc.array(addr, { minLength: 1, maxLength: 3 }),
        masquerade: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('hide' as const), addresses: fc.array(addr, { maxLength: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const { kernel, nft, deps } = world();
        await kernel.createBridge('weft');
        for (const o of ops) {
          if (o.kind === 'expose')
            await exposeHost(deps, {
              bridge: 'weft',
              addresses: o.addresses,
              masquerade: o.masquerade,
              range,
            });
          else await hideHost(deps, { bridge: 'weft', addresses: o.addresses, range });
          const present = (await kernel.listAddresses('weft')).map((a) => parseCidr(a.cidr, { host: true })!);
          const masq = exposedSubnetsOf(await nft.listTable(EXPOSE_TABLE.family, EXPOSE_TABLE.name));
          // The table exists exactly when something is masqueraded …
          expect(nft.tables.has('ip weft')).toBe(masq.length > 0);
          // … and only subnets that still hold an exposed address are masqueraded.
          for (const s of masq)
            expect(present.some((p: Cidr) => p.prefix === s.prefix && cidrContains(s, p.addr))).toBe(true);
          if (o.kind === 'expose') {
            for (const a of o.addresses) expect(present.map(formatCidr)).toContain(a);
          }
        }
        await hideHost(deps, { bridge: 'weft', addresses: [], range });
        expect(await kernel.listAddresses('weft')).toEqual([]);
        expect(nft.tables.size).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
