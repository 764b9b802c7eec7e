/**
 * The router IPAM client against a fake router API: allocation, claims,
 * release, and the failure modes a CNI call must turn into a clear answer
 * within a bounded time (router down or hanging → code 11, never a hang).
 */
import { createServer } from 'node:net';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWeftIpamConfig } from '../../cni-plugin/config.js';
import { parseResponse } from '../../cni-plugin/ipam/http.js';
import { addressesIn, allocationIdsIn, RouterIpam, rangeIn } from '../../cni-plugin/ipam/router-ipam.js';
import { toCniErrorJson } from '../../cni-plugin/spec/errors.js';
import { isWeftError } from '../../common/errors.js';
import { FakeRouter } from './fake-router.js';

let router: FakeRouter;
beforeEach(async () => {
  router = new FakeRouter();
  await router.listen();
});
afterEach(() => router.close());

const ipamWith = (extra: Record<string, unknown> = {}) =>
  new RouterIpam(
    parseWeftIpamConfig({ type: 'weft-ipam', router: router.endpoint, timeoutMs: 2000, ...extra }),
  );
const ctx = { network: 'weft', containerId: 'c1', ifname: 'eth0' };
const cniCodeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return toCniErrorJson(e, '1.0.0').code;
  }
  return 0;
};

/** A port that refuses connections: bound, then closed. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('allocation', () => {
  it('allocates from the ring under the attachment id and returns an IPAM result', async () => {
    const r = await ipamWith({ routes: [{ dst: '0.0.0.0/0' }], gateway: '10.32.0.1' }).add(ctx);
    expect(r.ips).toStrictEqual([{ address: '10.32.0.2/12', gateway: '10.32.0.1' }]);
    expect(r.routes).toStrictEqual([{ dst: '0.0.0.0/0' }]);
    expect(router.requests).toStrictEqual([`POST /ip/${encodeURIComponent('cni:weft:c1:eth0')}`]);
    expect(router.held.get('cni:weft:c1:eth0')).toBe('10.32.0.2/12');
  });

  it('allocates inside the configured subnet', async () => {
    const r = await ipamWith({ subnet: '10.33.4.0/24' }).add(ctx);
    expect(r.ips[0]?.address).toMatch(/^10\.33\.4\.\d+\/24$/);
    // The whole range, which the router names, is reachable beyond the subnet.
    expect(r.routes).toStrictEqual([{ dst: '10.32.0.0/12' }]);
  });

  it('claims a requested address with its prefix, or the subnet prefix when bare', async () => {
    const ip = 0x0a200063; // 10.32.0.99
    expect((await ipamWith().add({ ...ctx, requested: { ip, prefix: 12 } })).ips[0]?.address).toBe(
      '10.32.0.99/12',
    );
    expect(router.requests.at(-1)).toBe(`PUT /ip/${encodeURIComponent('cni:weft:c1:eth0')}/10.32.0.99/12`);
    const sub = ipamWith({ subnet: '10.32.0.0/16' });
    expect((await sub.add({ ...ctx, containerId: 'c2', requested: { ip: ip + 1 } })).ips[0]?.address).toBe(
      '10.32.0.100/16',
    );
  });

  it.each([
    ['a bare address without a subnet → 7', {}, { ip: 0x0a200063 }, 7],
    ['an address outside the subnet → 7', { subnet: '10.40.0.0/16' }, { ip: 0x0a200063, prefix: 12 }, 7],
  ])('%s', async (_n, cfg, requested, code) => {
    expect(await cniCodeOf(ipamWith(cfg).add({ ...ctx, requested }))).toBe(code);
  });

  it('a claim of an address another container holds is refused (ADDRESS_IN_USE → 100)', async () => {
    await ipamWith().add({ ...ctx, containerId: 'other', requested: { ip: 0x0a200063, prefix: 12 } });
    expect(await cniCodeOf(ipamWith().add({ ...ctx, requested: { ip: 0x0a200063, prefix: 12 } }))).toBe(100);
  });

  it('odd interface names survive the URL', async () => {
    const odd = { ...ctx, ifname: 'e%t#h?0' };
    await ipamWith().add(odd);
    expect(router.held.has('cni:weft:c1:e=25t=23h=3f0')).toBe(true);
    expect(await ipamWith().lookup(odd)).toHaveLength(1);
    await ipamWith().del(odd);
    expect(router.held.size).toBe(0);
  });
});

describe('release and lookup', () => {
  it('DEL releases; DEL of nothing succeeds (404 is fine)', async () => {
    const ipam = ipamWith();
    await ipam.add(ctx);
    await ipam.del(ctx);
    expect(router.held.size).toBe(0);
    await expect(ipam.del(ctx)).resolves.toBeUndefined();
  });

  it('CHECK passes when the router holds the addresses, fails (100) otherwise', async () => {
    const ipam = ipamWith();
    const r = await ipam.add(ctx);
    await expect(ipam.check(ctx, [r.ips[0]!.address])).resolves.toBeUndefined();
    expect(await cniCodeOf(ipam.check(ctx, ['10.32.9.9/12']))).toBe(100);
  });
});

describe('release after the device is gone', () => {
  it('connects early but sends DELETE only when `after` resolves', async () => {
    const ipam = ipamWith();
    await ipam.add(ctx);
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const releasing = ipam.del(ctx, { after: gate });
    await new Promise((r) => setTimeout(r, 50));
    expect(router.held.size).toBe(1);
    open();
    await releasing;
    expect(router.held.size).toBe(0);
  });

  it('sends nothing when `after` rejects, and fails with its error', async () => {
    const ipam = ipamWith();
    await ipam.add(ctx);
    const before = router.requests.length;
    await expect(ipam.del(ctx, { after: Promise.reject(new Error('EBUSY')) })).rejects.toThrow('EBUSY');
    expect(router.requests.length).toBe(before);
    expect(router.held.size).toBe(1);
  });
});

describe('GC', () => {
  it('releases only stale allocations of this network, never other networks or non-CNI ids', async () => {
    const ipam = ipamWith();
    for (const id of ['a', 'b', 'c']) await ipam.add({ ...ctx, containerId: id });
    await ipam.add({ network: 'other', containerId: 'a', ifname: 'eth0' });
    router.held.set('weave-attach-ctr', '10.32.1.1/12');
    await ipam.gc('weft', [{ containerId: 'b', ifname: 'eth0' }]);
    expect([...router.held.keys()].sort()).toStrictEqual([
      'cni:other:a:eth0',
      'cni:weft:b:eth0',
      'weave-attach-ctr',
    ]);
  });
});

describe('router unavailable: code 11 within a bounded time, never a hang', () => {
  it('connection refused', async () => {
    const port = await deadPort();
    const ipam = new RouterIpam(parseWeftIpamConfig({ router: `127.0.0.1:${port}`, timeoutMs: 5000 }));
    const t0 = performance.now();
    expect(await cniCodeOf(ipam.add(ctx))).toBe(11);
    expect(await cniCodeOf(ipam.del(ctx))).toBe(11);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('a router that accepts but never answers', async () => {
    router.mode = 'hang';
    const ipam = ipamWith({ timeoutMs: 300 });
    const t0 = performance.now();
    const e = await ipam.add(ctx).catch((x: unknown) => x);
    const took = performance.now() - t0;
    expect(isWeftError(e) && e.code).toBe('ROUTER_UNAVAILABLE');
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
  });

  it('ring not ready (503 RING_NOT_READY) → 11', async () => {
    router.mode = 'not-ready';
    expect(await cniCodeOf(ipamWith().add(ctx))).toBe(11);
  });

  it("an internal router error → 999 with the router's message", async () => {
    router.mode = 'error-500';
    const e = await ipamWith()
      .add(ctx)
      .catch((x: unknown) => x);
    expect(toCniErrorJson(e, '1.0.0')).toMatchObject({ code: 999 });
  });
});

describe('STATUS', () => {
  it('ready → resolves; not ready or down → 50', async () => {
    await expect(ipamWith().status()).resolves.toBeUndefined();
    router.mode = 'not-ready';
    expect(await cniCodeOf(ipamWith().status())).toBe(50);
    const port = await deadPort();
    expect(
      await cniCodeOf(new RouterIpam(parseWeftIpamConfig({ router: `127.0.0.1:${port}` })).status()),
    ).toBe(50);
  });
});

describe('wire parsing', () => {
  it.each([
    ['10.32.0.5/12', ['10.32.0.5/12']],
    ['10.32.0.5/12\n', ['10.32.0.5/12']],
    ['"10.32.0.5/12"', ['10.32.0.5/12']],
    ['{"address":"10.32.0.5/12"}', ['10.32.0.5/12']],
    ['{"addresses":["10.32.0.5/12","10.32.0.6/12"]}', ['10.32.0.5/12', '10.32.0.6/12']],
    ['["10.32.0.5/12"]', ['10.32.0.5/12']],
    ['', []],
    ['garbage', []],
    ['{"address":5}', []],
  ])('addresses in %j', (body, expected) => {
    expect(addressesIn(body)).toStrictEqual(expected);
  });

  it("the IPAM service's JSON answer: address taken (not the bare ip), range becomes a route", () => {
    const body = JSON.stringify({
      containerId: 'cni:weft:c1:eth0',
      address: '10.32.1.5/24',
      ip: '10.32.1.5',
      prefix: 24,
      subnet: '10.32.1.0/24',
      range: '10.32.0.0/12',
    });
    expect(addressesIn(body)).toStrictEqual(['10.32.1.5/24']);
    expect(rangeIn(body)).toBe('10.32.0.0/12');
    expect(rangeIn('10.32.0.5/12')).toBeUndefined();
    expect(rangeIn('{"range":"10.32.0.1/12"}')).toBeUndefined();
  });

  it.each([
    ['{"cni:weft:a:eth0":["10.32.0.2/12"],"x":[]}', ['cni:weft:a:eth0', 'x']],
    ['[{"id":"a"},{"id":"b"},{"id":"a"}]', ['a', 'b']],
    ['[{"containerId":"a","address":"10.32.0.2/12"},{"containerId":"b"}]', ['a', 'b']],
    ['{"allocations":[{"containerId":"a"}]}', ['a']],
    ['[1,null,"x"]', []],
    ['not json', []],
  ])('allocation ids in %s', (body, ids) => {
    expect(allocationIdsIn(body)).toStrictEqual(ids);
  });

  it('parses content-length and chunked bodies', () => {
    const cl = parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'));
    expect(cl).toMatchObject({ status: 200, body: 'hello' });
    const ch = parseResponse(
      Buffer.from(
        'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
      ),
    );
    expect(ch).toMatchObject({ status: 201, body: 'abcde' });
    expect(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort'))).toBeUndefined();
  });

  it('parseResponse never throws on hostile bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string(), (bytes, s) => {
        parseResponse(Buffer.from(bytes));
        parseResponse(Buffer.from(`HTTP/1.1 200 OK\r\n${s}\r\n\r\n${s}`));
      }),
      { numRuns: 500 },
    );
  });
});
