/**
 * TAP devices from the weft_sys addon, on a bridge in a lab namespace:
 *
 *   test process ──fd── [weftt0 TAP] ── weft bridge (h1) ── veth ── c1 (10.32.0.2)
 *
 * Frames written to the fd (behind a virtio net header) appear on the bridge
 * and reach the container; its answers come back out of the fd.
 */
import { readSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachContainer,
  type Container,
  closeTestNs,
  openTestNs,
  type TestNs,
} from '../../test/netns/kernel-test-topology.js';
import { Lab } from '../../test/netns/lab.js';
import { errnoOf } from './kernel-errors.js';
import { macFromBytes, macToBytes } from './mac.js';
import { loadWeftSys } from './sys.js';
import { openTun, setTunOffload, type TunDevice, VNET_HDR_LEN } from './tun.js';

const OUR_MAC = '02:00:00:00:00:99';
const OUR_IP = [10, 32, 0, 99];
const C1_IP = [10, 32, 0, 2];

/** An Ethernet ARP request "who has C1_IP, tell OUR_IP". */
function arpRequest(): Buffer {
  const f = Buffer.alloc(42);
  Buffer.from('ffffffffffff', 'hex').copy(f, 0);
  macToBytes(OUR_MAC).copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // Ethernet
  f.writeUInt16BE(0x0800, 16); // IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // request
  macToBytes(OUR_MAC).copy(f, 22);
  Buffer.from(OUR_IP).copy(f, 28);
  Buffer.from(C1_IP).copy(f, 38);
  return f;
}

/** Read frames (non-blocking fd) until one satisfies `want`, or give up after `ms`. */
async function readUntil(
  dev: TunDevice,
  want: (frame: Buffer) => boolean,
  ms = 3000,
): Promise<Buffer | undefined> {
  const buf = Buffer.alloc(65536);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let n = 0;
    try {
      n = readSync(dev.fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await sleep(5);
      continue;
    }
    const frame = Buffer.from(buf.subarray(0, n));
    if (want(frame)) return frame;
  }
  return undefined;
}

describe('TAP devices', () => {
  let lab: Lab;
  let h1: TestNs;
  let c1: Container;
  const open: TunDevice[] = [];

  beforeAll(async () => {
    lab = await Lab.create(1);
    h1 = openTestNs(lab.host(1).ns);
    await h1.kernel.createBridge('weft', { up: true });
    c1 = await attachContainer(lab, h1, 'c1', { bridge: 'weft', hostIf: 'vethwl1', cidr: '10.32.0.2/12' });
  });
  afterAll(async () => {
    for (const d of open) d.close();
    closeTestNs(h1, c1);
    await lab?.cleanup();
  });

  it('opens a TAP with a virtio net header in a namespace and accepts offloads', async () => {
    const tap = openTun('weftt0', { tap: true, vnetHdr: true, nonBlocking: true, netns: h1.ref });
    open.push(tap);
    expect(tap.name).toBe('weftt0');
    expect(tap.vnetHdrLen).toBe(VNET_HDR_LEN);
    expect(loadWeftSys().constants.WEFT_VNET_HDR_LEN).toBe(VNET_HDR_LEN);
    expect(await h1.kernel.getLink('weftt0')).toMatchObject({ kind: 'tun' });
    setTunOffload(tap, { csum: true, tso4: true, tso6: true, tsoEcn: true });
  });

  it('a frame written to the fd crosses the bridge, and the answer comes back out of the fd', async () => {
    const tap = open[0]!;
    await h1.kernel.setLink('weftt0', { master: 'weft', up: true });
    const hdr = Buffer.alloc(VNET_HDR_LEN); // no offload flags: a plain, complete frame
    const isReply = (f: Buffer) =>
      f.length >= VNET_HDR_LEN + 42 &&
      f.readUInt16BE(VNET_HDR_LEN + 12) === 0x0806 &&
      f.readUInt16BE(VNET_HDR_LEN + 20) === 2 &&
      Buffer.from(C1_IP).equals(f.subarray(VNET_HDR_LEN + 28, VNET_HDR_LEN + 32));
    let reply: Buffer | undefined;
    // The port may still be settling right after it came up: retry the request a few times.
    for (let i = 0; i < 5 && !reply; i++) {
      writeSync(tap.fd, Buffer.concat([hdr, arpRequest()]));
      reply = await readUntil(tap, isReply, 1000);
    }
    expect(reply).toBeDefined();
    const eth = reply!.subarray(VNET_HDR_LEN);
    expect(macFromBytes(eth.subarray(0, 6))).toBe(OUR_MAC);
    expect(macFromBytes(eth.subarray(6, 12))).toBe(c1.mac);
    // The bridge saw our frame: it learned our MAC behind the TAP port.
    const tapLink = await h1.kernel.getLink('weftt0');
    const learned = await h1.kernel.listFdb({ link: 'weftt0', where: 'master' });
    expect(learned).toContainEqual(expect.objectContaining({ mac: OUR_MAC, linkIndex: tapLink!.index }));
  });

  it('opens several queues of a multi-queue device, and refuses a second open of a busy single-queue device (EBUSY)', () => {
    const q1 = openTun('weftmq0', { vnetHdr: true, multiQueue: true, netns: h1.ref });
    const q2 = openTun('weftmq0', { vnetHdr: true, multiQueue: true, netns: h1.ref });
    open.push(q1, q2);
    expect(q1.fd).not.toBe(q2.fd);
    expect(q2.name).toBe('weftmq0');
    let caught: unknown;
    try {
      open.push(openTun('weftt0', { vnetHdr: true, netns: h1.ref }));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeDefined();
    expect(errnoOf(caught)).toBe('EBUSY');
  });

  it('the device goes away when its last fd closes', async () => {
    const t = openTun('weftgone0', { netns: h1.ref });
    expect(await h1.kernel.getLink('weftgone0')).toBeDefined();
    t.close();
    await expect.poll(() => h1.kernel.getLink('weftgone0'), { timeout: 3000 }).toBeUndefined();
  });
});
