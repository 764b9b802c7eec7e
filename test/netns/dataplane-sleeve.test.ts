import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataplaneCluster } from './dataplane-cluster.js';
import { captureCount, echoReplies, tcpTransfer } from './dataplane-probes.js';
import { ping, waitPing } from './dataplane-topology.js';
import { Lab } from './lab.js';

// The sleeve (userspace, unencrypted) across three simulated hosts: unicast
// between every pair, broadcast and multicast to every host exactly once,
// and relaying through a third host when a direct link is blocked.

describe('sleeve data path, three hosts, full mesh', () => {
  let lab: Lab;
  let c: DataplaneCluster;
  beforeAll(async () => {
    lab = await Lab.create(3);
    c = await DataplaneCluster.start(lab, { fastdp: false });
    await c.waitPaths('sleeve');
    for (const ct of c.containers) {
      await lab.mustExec(ct.ns, 'sysctl', ['-qw', 'net.ipv4.icmp_echo_ignore_broadcasts=0']);
    }
  });
  afterAll(async () => {
    await c?.stop();
    await lab?.cleanup();
  });

  it('reports every connection as sleeve, unencrypted, healthy', () => {
    for (const [a, b] of c.linkedPairs()) {
      expect(c.connection(a, b)).toMatchObject({ path: 'sleeve', encrypted: false, healthy: true });
      expect(c.connection(b, a)).toMatchObject({ path: 'sleeve', encrypted: false, healthy: true });
    }
  });

  it('ping and TCP work between containers on every pair of hosts', async () => {
    for (const [a, b] of c.linkedPairs()) {
      const [x, y] = [c.container(a), c.container(b)];
      await waitPing(lab, x.ns, y.ip);
      expect(await ping(lab, x.ns, y.ip, { count: 3 })).toMatchObject({ received: 3 });
      expect(await ping(lab, y.ns, x.ip, { count: 3 })).toMatchObject({ received: 3 });
      // 8 MB each way: TSO super-frames, fragmented into MTU-sized datagrams and reassembled.
      expect(await tcpTransfer(lab, x, y, 8 << 20)).toBe(8 << 20);
    }
    await c.freshReports();
    expect(c.node(1).stats!.global.gsoFrames).toBeGreaterThan(0);
    expect(c.node(1).stats!.peers.some((p) => p.txFragments > 0)).toBe(true);
  });

  it('ARP broadcasts reach every other host exactly once', async () => {
    // Ask for an address nobody has: each request is a broadcast frame.
    const counts = await captureCount(
      lab,
      [c.container(2).ns, c.container(3).ns],
      'arp and arp[24:4] = 0x0a200063', // target 10.32.0.99
      () => lab.exec(c.container(1).ns, 'arping', ['-c', '4', '-w', '5', '-I', 'eth0', '10.32.0.99']),
    );
    expect(counts).toEqual([4, 4]);
  });

  it('broadcast and multicast pings are answered by every other host, once per request', async () => {
    for (const dst of ['10.47.255.255', '224.0.0.1']) {
      const replies = await echoReplies(lab, c.container(1).ns, dst, 4);
      for (const ip of [c.container(2).ip, c.container(3).ip]) {
        expect(replies.get(ip), `${dst} from ${ip}`).toEqual([1, 2, 3, 4]);
      }
    }
  });
});

describe.each([
  ['unencrypted', undefined],
  ['encrypted', 'relay password'],
])('sleeve (%s) relays through a third host when a direct link is blocked', (_mode, password) => {
  let lab: Lab;
  let c: DataplaneCluster;
  beforeAll(async () => {
    lab = await Lab.create(3);
    await lab.block(lab.host(1), lab.host(3));
    // Host 2 opens each packet with one neighbour's key and seals it again with the other's.
    c = await DataplaneCluster.start(lab, {
      fastdp: false,
      blocked: [[1, 3]],
      ...(password ? { password } : {}),
    });
    await c.waitPaths('sleeve');
  });
  afterAll(async () => {
    await c?.stop();
    await lab?.cleanup();
  });

  it('hosts 1 and 3 have no connection, yet their containers talk through host 2', async () => {
    expect(c.connection(1, 3)).toBeUndefined();
    const [c1, c3] = [c.container(1), c.container(3)];
    await waitPing(lab, c1.ns, c3.ip);
    expect(await ping(lab, c1.ns, c3.ip, { count: 3 })).toMatchObject({ received: 3 });
    expect(await tcpTransfer(lab, c1, c3, 4 << 20)).toBe(4 << 20);
    await c.freshReports();
    const relayed = c.node(2).stats!.peers.reduce((s, p) => s + p.relayed, 0);
    expect(relayed).toBeGreaterThan(100);
    // Host 1 never sent anything straight to host 3.
    const direct = c.node(1).stats!.peers.find((p) => p.name === c.node(3).name);
    expect(direct?.txPackets ?? 0).toBe(0);
  });

  it('broadcasts from host 1 reach host 3 exactly once, through host 2', async () => {
    const counts = await captureCount(
      lab,
      [c.container(2).ns, c.container(3).ns],
      'arp and arp[24:4] = 0x0a200063',
      () => lab.exec(c.container(1).ns, 'arping', ['-c', '3', '-w', '4', '-I', 'eth0', '10.32.0.99']),
    );
    expect(counts).toEqual([3, 3]);
  });
});
