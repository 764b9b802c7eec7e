import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataplaneCluster } from './dataplane-cluster.js';
import { tcpTransfer } from './dataplane-probes.js';
import { ping, waitPing } from './dataplane-topology.js';
import { Lab } from './lab.js';

// A path MTU smaller than the hosts believe (1300 on the underlay switch's
// ports, while the hosts' interfaces say 1500), with no ICMP to tell anyone:
// oversized packets simply vanish, as behind many tunnels. fastdp's padded
// heartbeats do not pass, so it is never used; the sleeve's DF probes find
// the real size and its fragments shrink to fit, so traffic flows anyway.

const PATH_MTU = 1300;

describe('path MTU smaller than the interfaces say', () => {
  let lab: Lab;
  let c: DataplaneCluster;
  beforeAll(async () => {
    lab = await Lab.create(2);
    for (const p of ['p1', 'p2']) await lab.ipIn(lab.underlayNs, ['link', 'set', p, 'mtu', String(PATH_MTU)]);
    c = await DataplaneCluster.start(lab, { fastdp: true });
  });
  afterAll(async () => {
    await c?.stop();
    await lab?.cleanup();
  });

  it('finds the path MTU with DF probes and carries full-size frames and TCP super-frames in fragments that fit', async () => {
    await c.waitFor(
      () => {
        const i = c.connection(1, 2);
        return i?.healthy === true && i.details?.pmtuSearching === false && (i.pmtu ?? 0) <= PATH_MTU;
      },
      40_000,
      'the PMTU search to end below the real path MTU',
    );
    const info = c.connection(1, 2)!;
    expect(info.pmtu).toBeGreaterThan(PATH_MTU - 32);
    // fastdp's heartbeats are full-size frames: they cannot pass, so fastdp is not used.
    expect(info.path).toBe('sleeve');
    const [c1, c2] = [c.container(1), c.container(2)];
    await waitPing(lab, c1.ns, c2.ip);
    // A frame of the full overlay MTU (1390) no longer fits one datagram: it travels in two.
    expect(await ping(lab, c1.ns, c2.ip, { count: 3, size: c.node(1).report!.mtu - 28 })).toMatchObject({
      received: 3,
    });
    expect(await tcpTransfer(lab, c1, c2, 8 << 20)).toBe(8 << 20);
  });
});
