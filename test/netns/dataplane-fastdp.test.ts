import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataplaneCluster } from './dataplane-cluster.js';
import { captureCount, echoReplies, tcpTransfer } from './dataplane-probes.js';
import { ping, waitPing } from './dataplane-topology.js';
import { Lab } from './lab.js';

// fastdp (kernel VXLAN programmed by weft) across three simulated hosts:
// unicast stays in the kernel, broadcasts still reach every host exactly
// once (through the sleeve), and blocking UDP 6784 between two hosts moves
// their traffic to the sleeve until the block is lifted.

/** VTEP addresses of the forwarding entries on host i's VXLAN port. */
async function vxlanDsts(lab: Lab, i: number): Promise<string[]> {
  const out = await lab.mustExec(lab.host(i).ns, 'bridge', ['fdb', 'show', 'dev', 'weft-fastdp']);
  return [...out.matchAll(/dst ([\d.]+)/g)].map((m) => m[1]!);
}

describe('fastdp data path, three hosts', () => {
  let lab: Lab;
  let c: DataplaneCluster;
  beforeAll(async () => {
    lab = await Lab.create(3);
    c = await DataplaneCluster.start(lab, { fastdp: true });
    await c.waitPaths('fastdp');
    for (const ct of c.containers) {
      await lab.mustExec(ct.ns, 'sysctl', ['-qw', 'net.ipv4.icmp_echo_ignore_broadcasts=0']);
    }
  });
  afterAll(async () => {
    await c?.stop();
    await lab?.cleanup();
  });

  it('reports every connection as fastdp, unencrypted, healthy', () => {
    for (const [a, b] of c.linkedPairs()) {
      expect(c.connection(a, b)).toMatchObject({ path: 'fastdp', encrypted: false, healthy: true });
    }
  });

  it('unicast between every pair works and stays in the kernel', async () => {
    for (const [a, b] of c.linkedPairs()) {
      await waitPing(lab, c.container(a).ns, c.container(b).ip);
      await waitPing(lab, c.container(b).ns, c.container(a).ip);
    }
    // Let the first frames (sleeve) teach both sides where the MACs are.
    await c.waitFor(
      () => c.nodes.every((n) => (n.report?.fastdpMacs ?? 0) >= 2),
      10_000,
      'fastdp forwarding entries for the remote containers',
    );
    await c.freshReports();
    const before = c.node(1).stats!.global.tapRxBytes;
    expect(await tcpTransfer(lab, c.container(1), c.container(2), 16 << 20)).toBe(16 << 20);
    expect(await tcpTransfer(lab, c.container(1), c.container(3), 16 << 20)).toBe(16 << 20);
    await c.freshReports();
    // 32 MB went out of host 1, but (almost) none of it through the sleeve TAP.
    expect(c.node(1).stats!.global.tapRxBytes - before).toBeLessThan(1 << 20);
    expect((await vxlanDsts(lab, 1)).sort()).toEqual(
      expect.arrayContaining([lab.host(2).ip, lab.host(3).ip]),
    );
  });

  it('broadcasts and multicasts still reach every host exactly once', async () => {
    const counts = await captureCount(
      lab,
      [c.container(2).ns, c.container(3).ns],
      'arp and arp[24:4] = 0x0a200063',
      () => lab.exec(c.container(1).ns, 'arping', ['-c', '4', '-w', '5', '-I', 'eth0', '10.32.0.99']),
    );
    expect(counts).toEqual([4, 4]);
    for (const dst of ['10.47.255.255', '224.0.0.1']) {
      const replies = await echoReplies(lab, c.container(1).ns, dst, 4);
      for (const ip of [c.container(2).ip, c.container(3).ip])
        expect(replies.get(ip), `${dst} ${ip}`).toEqual([1, 2, 3, 4]);
    }
  });

  it('blocking UDP 6784 between hosts 1 and 2 falls back to sleeve; unblocking brings fastdp back', async () => {
    const [c1, c2] = [c.container(1), c.container(2)];
    await lab.block(lab.host(1), lab.host(2), { udpPort: 6784 });
    await c.waitPaths('sleeve', 20_000, [[1, 2]]);
    // The other connections are untouched.
    expect(c.connection(1, 3)?.path).toBe('fastdp');
    expect(c.connection(2, 3)?.path).toBe('fastdp');
    // No forwarding entry on host 1 points at host 2 any more.
    expect(await vxlanDsts(lab, 1)).not.toContain(lab.host(2).ip);
    expect(await ping(lab, c1.ns, c2.ip, { count: 5, intervalS: 0.1 })).toMatchObject({ received: 5 });
    await c.freshReports();
    const tapBefore = c.node(1).stats!.global.tapRxBytes;
    expect(await tcpTransfer(lab, c1, c2, 8 << 20)).toBe(8 << 20);
    await c.freshReports();
    expect(c.node(1).stats!.global.tapRxBytes - tapBefore).toBeGreaterThan(8 << 20);

    await lab.unblock(lab.host(1), lab.host(2));
    await c.waitPaths('fastdp', 30_000, [[1, 2]]);
    await c.waitFor(() => c.node(1).report!.fastdpMacs >= 2, 10_000, 'forwarding entries for host 2 again');
    expect(await vxlanDsts(lab, 1)).toContain(lab.host(2).ip);
    await c.freshReports();
    const tapAfter = c.node(1).stats!.global.tapRxBytes;
    expect(await tcpTransfer(lab, c1, c2, 8 << 20)).toBe(8 << 20);
    await c.freshReports();
    expect(c.node(1).stats!.global.tapRxBytes - tapAfter).toBeLessThan(1 << 20);
  });

  it('stopping with reset removes the bridge and every data-plane device', async () => {
    const links = async () =>
      (await lab.ipIn(lab.host(1).ns, ['-o', 'link', 'show'])).match(/^\d+: [^:@]+/gm) ?? [];
    expect((await links()).join(' ')).toMatch(/weft-fastdp/);
    await c.stop();
    const left = (await links()).map((l) => l.split(': ')[1]);
    expect(left.filter((n) => n?.startsWith('weft'))).toEqual([]);
  });
});
