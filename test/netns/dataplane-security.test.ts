import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleeveKeyId, sleeveKeys } from '../../crypto/datagram.js';
import { loadSleeveAddon, type SleevePeerStats } from '../../router/dataplane/sleeve-native.js';
import { DataplaneCluster } from './dataplane-cluster.js';
import { fakeSession } from './dataplane-fake-session.js';
import { captureToFile, sendUdp, tcpTransfer, udpPayloads } from './dataplane-probes.js';
import { ping, waitPing } from './dataplane-topology.js';
import { Lab } from './lab.js';

// The encrypted sleeve (a password is set): works between every pair, fastdp
// is never used, nothing readable crosses the underlay, and packets sealed
// with a wrong key, replayed or tampered with are dropped and counted.

const PASSWORD = 'correct horse battery staple';
/** 16 bytes that ping repeats through its payload, and a marker for TCP. */
const PING_PATTERN = '7765667420736563726574207061796c'; // "weft secret payl"
const TCP_MARKER = 'WEFT-PLAINTEXT-MARKER';

describe('encrypted sleeve, three hosts', () => {
  let lab: Lab;
  let c: DataplaneCluster;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-dp-sec-'));
    lab = await Lab.create(3);
    // fastdp is on, but a password must keep every connection on the sleeve.
    c = await DataplaneCluster.start(lab, { fastdp: true, password: PASSWORD });
    await c.waitPaths('sleeve');
  });
  afterAll(async () => {
    await c?.stop();
    await lab?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every connection is encrypted and on the sleeve, never fastdp', async () => {
    await new Promise((r) => setTimeout(r, 3000)); // time for fastdp to come up, were it allowed
    for (const [a, b] of c.linkedPairs()) {
      expect(c.connection(a, b)).toMatchObject({ path: 'sleeve', encrypted: true, healthy: true });
      expect(c.connection(a, b)?.details?.fastdp).toMatchObject({ allowed: false, healthy: false });
    }
  });

  it('ping and TCP work between containers on every pair of hosts', async () => {
    for (const [a, b] of c.linkedPairs()) {
      await waitPing(lab, c.container(a).ns, c.container(b).ip);
      expect(await ping(lab, c.container(b).ns, c.container(a).ip, { count: 3 })).toMatchObject({
        received: 3,
      });
      expect(await tcpTransfer(lab, c.container(a), c.container(b), 8 << 20)).toBe(8 << 20);
    }
  });

  it('nothing unencrypted crosses the underlay', async () => {
    const [c1, c2] = [c.container(1), c.container(2)];
    const sink = lab.spawn(c2.ns, process.execPath, [
      '-e',
      "require('net').createServer(s=>s.resume()).listen(5002,()=>console.log('listening'))",
    ]);
    await new Promise<void>((r) => sink.stdout?.once('data', () => r()));
    // Every port of the underlay switch: whatever leaves any host.
    const underlay = await captureToFile(lab, lab.underlayNs, 'any', join(dir, 'underlay.pcap'));
    const inside = await captureToFile(lab, c2.ns, 'eth0', join(dir, 'container.pcap'));
    await lab.mustExec(c1.ns, 'ping', ['-c', '5', '-i', '0.1', '-s', '1000', '-p', PING_PATTERN, c2.ip]);
    await lab.mustExec(c1.ns, process.execPath, [
      '-e',
      `const s=require('net').connect(5002,'${c2.ip}');s.on('error',()=>{});s.end(Buffer.from('${TCP_MARKER}'.repeat(2000)))`,
    ]);
    const seen = await underlay.stop();
    const plain = await inside.stop();
    await lab.kill(sink);
    const pattern = Buffer.from(PING_PATTERN, 'hex');
    // The control: inside the container the plaintext is there to be seen...
    expect(plain.includes(pattern)).toBe(true);
    expect(plain.includes(Buffer.from(TCP_MARKER))).toBe(true);
    // ...and on the wire between hosts there is traffic, but none of it readable.
    expect(seen.length).toBeGreaterThan(10_000);
    expect(seen.includes(pattern)).toBe(false);
    expect(seen.includes(Buffer.from(TCP_MARKER))).toBe(false);
    expect(seen.includes(Buffer.from(c2.mac.replaceAll(':', ''), 'hex'))).toBe(false);
  });

  describe('hostile packets to host 2 claiming to come from host 1', () => {
    let sample: Buffer;
    const drops = async (): Promise<Record<string, number>> => {
      await c.freshReports();
      const p = c.node(2).stats!.peers.find((x: SleevePeerStats) => x.name === c.node(1).name)!;
      return p.drops;
    };
    const send = (pkts: Uint8Array[]) => sendUdp(lab, lab.host(1).ns, lab.host(2).ip, 6783, pkts);

    beforeAll(async () => {
      const cap = await captureToFile(lab, lab.host(2).ns, 'eth0', join(dir, 'h2.pcap'), [
        'udp and dst port 6783 and src host',
        lab.host(1).ip,
      ]);
      await lab.mustExec(c.container(1).ns, 'ping', ['-c', '5', '-i', '0.1', c.container(2).ip]);
      const pkts = udpPayloads(await cap.stop()).map((u) => u.payload);
      // A sealed FRAMES packet (not a fragment): version 1, type 1, flag SEALED.
      sample = pkts.find((p) => p[0] === 1 && p[1] === 1 && p[2] === 1)!;
      expect(sample).toBeDefined();
    });

    it('a replayed packet is dropped and counted', async () => {
      const before = (await drops()).replayed ?? 0;
      await send([sample, sample]);
      expect((await drops()).replayed ?? 0).toBe(before + 2);
    });

    it('a tampered packet is dropped and counted', async () => {
      const before = (await drops())['auth-failed'] ?? 0;
      const freshCounter = Buffer.from(sample);
      freshCounter.writeBigUInt64BE(1n << 60n, 8); // the header is authenticated
      const flipped = Buffer.from(sample);
      flipped.writeBigUInt64BE((1n << 60n) + 1n, 8);
      flipped[flipped.length - 20]! ^= 0x01; // and so is the body
      await send([freshCounter, flipped]);
      expect((await drops())['auth-failed'] ?? 0).toBe(before + 2);
    });

    it('packets sealed with a wrong key are dropped and counted', async () => {
      const addon = loadSleeveAddon();
      const [n1, n2] = [c.node(1).name, c.node(2).name];
      const realKeyId = sleeveKeys(fakeSession(PASSWORD, n1, n2)).sendKeyId;
      const wrong = new Uint8Array(32).fill(0x42);
      const body = new Uint8Array(100);
      const before = await drops();
      await send([
        // The session's key id with another key: the AEAD check fails.
        addon.sealPacket(wrong, realKeyId, 1, 1n << 61n, n1, n2, body),
        // Another key with its own id: no such session, dropped before any crypto.
        addon.sealPacket(wrong, sleeveKeyId(wrong), 1, 1n << 61n, n1, n2, body),
      ]);
      const after = await drops();
      expect((after['auth-failed'] ?? 0) - (before['auth-failed'] ?? 0)).toBe(1);
      expect((after['unknown-key'] ?? 0) - (before['unknown-key'] ?? 0)).toBe(1);
    });

    it('the connection is unharmed by all of it', async () => {
      expect(await ping(lab, c.container(1).ns, c.container(2).ip, { count: 3 })).toMatchObject({
        received: 3,
      });
    });
  });
});
