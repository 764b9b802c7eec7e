/**
 * `weft expose` / `weft hide` on a real kernel, in lab namespaces only:
 *
 *   c1 (10.32.0.5/12, default via 10.32.0.1)
 *    │ veth
 *   [weft bridge] h1 (eth0 198.18.0.1) ── underlay ── h2 (198.18.0.2: "the outside world",
 *                                                       no route to 10.32.0.0/12)
 *
 * Exposing gives h1 10.32.0.1/12 on the bridge (h1 reaches c1) and the NAT
 * table `ip weft` (c1 reaches h2: h2 could not answer 10.32.0.5 itself).
 * Hiding removes both. A foreign table in h1 and the root namespace's
 * ruleset stay untouched throughout.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustParseCidr } from '../../common/ip.js';
import { Lab } from '../../test/netns/lab.js';
import type { KernelNet } from '../kernel/kernel-net.js';
import { openNetlinkKernel } from '../kernel/netlink-kernel.js';
import { Netns } from '../kernel/netns.js';
import { Nftables } from '../kernel/nftables.js';
import { type ExposeDeps, exposeHost, hideHost, removeExposeTable } from './apply.js';

const range = mustParseCidr('10.32.0.0/12');
// In h2: count echo requests by source (a lab table, removed with the lab).
const PROBE = `table inet probe {
  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr 198.18.0.1 icmp type echo-request counter comment "host"
    ip saddr 10.32.0.0/12 icmp type echo-request counter comment "container"
  }
}
`;
const FOREIGN =
  'table inet someone_else {\n  chain c { type filter hook forward priority 0; policy accept; }\n}\n';

describe('expose and hide in a lab namespace', () => {
  let lab: Lab;
  let c1: string;
  let h1: Netns;
  let kernel: KernelNet;
  let deps: ExposeDeps;
  let rootRulesetBefore: string;

  const ping = async (ns: string, ip: string) =>
    (await lab.exec(ns, 'ping', ['-c', '1', '-W', '1', ip])).code === 0;
  const tables = async (ns: string) =>
    (await lab.mustExec(ns, 'nft', ['list', 'tables'])).trim().split('\n').sort();
  const echoRequestsSeenByH2 = async () => {
    const out = JSON.parse(
      await lab.mustExec(lab.host(2).ns, 'nft', ['-j', 'list', 'table', 'inet', 'probe']),
    ) as {
      nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[];
    };
    const count = (c: string) =>
      out.nftables.find((o) => o.rule?.comment === c)?.rule?.expr.find((e) => e.counter)?.counter?.packets;
    return { fromHost: count('host'), fromContainer: count('container') };
  };
  const rootRuleset = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });

  beforeAll(async () => {
    rootRulesetBefore = rootRuleset();
    lab = await Lab.create(2);
    const h = lab.host(1).ns;
    c1 = await lab.addNamespace('c1');
    await lab.ipIn(h, ['link', 'add', 'name', 'weft', 'type', 'bridge']);
    await lab.ipIn(h, ['link', 'add', 'vc1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c1]);
    await lab.ipIn(h, ['link', 'set', 'vc1', 'master', 'weft', 'up']);
    await lab.ipIn(c1, ['addr', 'add', '10.32.0.5/12', 'dev', 'eth0']);
    await lab.ipIn(c1, ['link', 'set', 'eth0', 'up']);
    await lab.ipIn(c1, ['route', 'add', 'default', 'via', '10.32.0.1']);
    await lab.nft(h, FOREIGN);
    await lab.nft(lab.host(2).ns, PROBE);
    h1 = Netns.open(h);
    kernel = openNetlinkKernel({ netns: h1 });
    deps = { kernel, nft: new Nftables({ netns: h1 }) };
  });

  afterAll(async () => {
    kernel?.close();
    h1?.close();
    await lab?.cleanup();
  });

  it('before expose, the host cannot reach the container and the container cannot reach out', async () => {
    expect(await ping(lab.host(1).ns, '10.32.0.5')).toBe(false);
    expect(await ping(c1, lab.host(2).ip)).toBe(false);
  });

  it('expose: the host reaches the container, the container reaches the outside through masquerading', async () => {
    const plan = await exposeHost(deps, {
      bridge: 'weft',
      addresses: ['10.32.0.1/12'],
      masquerade: true,
      range,
    });
    expect(plan.masqueraded).toEqual(['10.32.0.0/12']);
    const h = lab.host(1).ns;
    expect(await tables(h)).toEqual(['table inet someone_else', 'table ip weft']);
    const listed = JSON.parse(await lab.mustExec(h, 'nft', ['-j', 'list', 'table', 'ip', 'weft'])) as {
      nftables: Record<string, Record<string, unknown>>[];
    };
    const chain = listed.nftables.find((o) => o.chain)?.chain;
    expect(chain).toMatchObject({ name: 'postrouting', type: 'nat', hook: 'postrouting' });
    expect(listed.nftables.filter((o) => o.rule)).toHaveLength(3);
    expect(await lab.mustExec(h, 'ip', ['-o', 'addr', 'show', 'dev', 'weft'])).toContain('10.32.0.1/12');
    expect(await ping(h, '10.32.0.5')).toBe(true);
    const seen = await echoRequestsSeenByH2();
    expect(await ping(c1, lab.host(2).ip)).toBe(true);
    // h2 saw the echo request come from h1's underlay address, never from the container.
    const after = await echoRequestsSeenByH2();
    expect(after.fromHost! - seen.fromHost!).toBeGreaterThanOrEqual(1);
    expect(after.fromContainer).toBe(0);
  });

  it('expose again is a no-op that succeeds', async () => {
    const before = await lab.mustExec(lab.host(1).ns, 'nft', ['list', 'table', 'ip', 'weft']);
    const plan = await exposeHost(deps, {
      bridge: 'weft',
      addresses: ['10.32.0.1/12'],
      masquerade: true,
      range,
    });
    expect(plan.steps.some((s) => s.kind === 'add-address')).toBe(false);
    expect(await lab.mustExec(lab.host(1).ns, 'nft', ['list', 'table', 'ip', 'weft'])).toBe(before);
  });

  it('hide: the address and the table go, other tables stay', async () => {
    const h = lab.host(1).ns;
    const plan = await hideHost(deps, { bridge: 'weft', addresses: [], range });
    expect(plan.addresses).toEqual(['10.32.0.1/12']);
    expect(await tables(h)).toEqual(['table inet someone_else']);
    expect(await lab.mustExec(h, 'ip', ['-o', 'addr', 'show', 'dev', 'weft'])).not.toContain('10.32.0.1');
    expect(await ping(h, '10.32.0.5')).toBe(false);
    expect(await ping(c1, lab.host(2).ip)).toBe(false);
  });

  it('expose --without-masquerade: the host reaches the container, the container does not reach out', async () => {
    const h = lab.host(1).ns;
    await exposeHost(deps, { bridge: 'weft', addresses: ['10.32.0.1/12'], masquerade: false, range });
    expect(await tables(h)).toEqual(['table inet someone_else']);
    expect(await ping(h, '10.32.0.5')).toBe(true);
    expect(await ping(c1, lab.host(2).ip)).toBe(false);
    await hideHost(deps, { bridge: 'weft', addresses: [], range });
    expect(await removeExposeTable(deps)).toBe(false);
  });

  it('never touched the root namespace', () => {
    expect(rootRuleset()).toBe(rootRulesetBefore);
  });
});
