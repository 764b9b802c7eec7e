import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../common/clock.js';
import { RecordingLogger } from '../../common/logger.js';
import type { MeshSession } from '../../crypto/contracts.js';
import { FakeKernelWorld } from '../kernel/fake-kernel.js';
import type { KernelNet } from '../kernel/kernel-net.js';
import type { OverlayConnection, OverlayConnectionEvents } from '../mesh/overlay-api.js';
import { type ControlMessage, decodeControl, encodeControl } from './control-codec.js';
import { WeftOverlay } from './overlay.js';
import { PATH_DEFAULTS } from './path-selector.js';
import type { NativeSleeveEngine, SleeveEvent, SleevePeerConfig } from './sleeve-native.js';

// The overlay shell over an in-memory kernel and a recording engine: what it
// programs, what it sends, and when it tells the mesh.

const A = '0a:00:00:00:00:01';
const B = '0a:00:00:00:00:02';
const MAC_B = '02:00:0a:20:00:02';
const MAC_LOCAL = '02:00:0a:20:00:01';

class FakeEngine implements NativeSleeveEngine {
  calls: { method: string; args: unknown[] }[] = [];
  pending: SleeveEvent[] = [];
  constructor(readonly notify: () => void) {}
  private rec(method: string, ...args: unknown[]) {
    this.calls.push({ method, args });
  }
  of(method: string) {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
  emit(...evs: SleeveEvent[]) {
    this.pending.push(...evs);
    this.notify();
  }
  close() {
    this.rec('close');
  }
  setPeer(name: string, cfg: SleevePeerConfig) {
    this.rec('setPeer', name, cfg);
  }
  dropPath(name: string) {
    this.rec('dropPath', name);
    return true;
  }
  forgetPeer(name: string) {
    this.rec('forgetPeer', name);
    return true;
  }
  setRoutes(u: [string, string][], b: [string, string[]][]) {
    this.rec('setRoutes', u, b);
  }
  claim(mac: string, peer: string) {
    this.rec('claim', mac, peer);
  }
  setOffload(f: number) {
    this.rec('setOffload', f);
  }
  sendHeartbeat(peer: string, type: number, seq: bigint | number, size: number) {
    this.rec('sendHeartbeat', peer, type, seq, size);
    return true;
  }
  sendFastdpHeartbeat(ip: string, port: number, vni: number, seq: bigint | number, frameLen?: number) {
    this.rec('sendFastdpHeartbeat', ip, port, vni, seq, frameLen);
    return true;
  }
  attachFastdpHeartbeat(ifname: string) {
    this.rec('attachFastdpHeartbeat', ifname);
  }
  events() {
    const e = this.pending;
    this.pending = [];
    return e;
  }
  macs() {
    return [];
  }
  expireMacs() {
    return [];
  }
  stats() {
    return { global: {} as never, peers: [] };
  }
}

function session(): MeshSession {
  const k = (n: number) => new Uint8Array(32).fill(n);
  return {
    deriveKeys: () => ({ send: k(1), recv: k(2) }),
    handshakeHash: k(3),
    sealer: { seal: (b) => b },
    opener: { open: (b) => ({ ok: true, value: b }) },
  };
}

interface Harness {
  kernel: KernelNet;
  clock: ManualClock;
  engine: FakeEngine;
  overlay: WeftOverlay;
}

async function harness(fastdp = true): Promise<Harness> {
  const world = new FakeKernelWorld();
  const { kernel } = world.createNamespace('h1');
  // The engine opens the TAP; in memory a veth end stands in for it.
  await kernel.createVeth('weft-sleeve', { name: 'tap-peer' });
  const clock = new ManualClock(1000);
  let engine!: FakeEngine;
  const overlay = new WeftOverlay({
    self: A,
    meshPort: 6783,
    fastdp,
    kernel,
    clock,
    logger: new RecordingLogger(),
    tickMs: 1e9,
    createEngine: (_o, cb) => {
      engine = new FakeEngine(cb);
      return engine;
    },
  });
  await overlay.start();
  return { kernel, clock, engine, overlay };
}

interface Conn {
  conn: OverlayConnection;
  sent: ControlMessage[];
  events: string[];
}

function connect(h: Harness, opts: { encrypted?: boolean } = {}): Conn {
  const sent: ControlMessage[] = [];
  const events: string[] = [];
  const ev: OverlayConnectionEvents = {
    established: () => events.push('established'),
    failed: (r) => events.push(`failed: ${r}`),
    changed: () => events.push('changed'),
  };
  const conn = h.overlay.prepareConnection(
    {
      local: A,
      remote: B,
      remoteIp: '198.18.0.2',
      remoteMeshPort: 6783,
      outbound: true,
      session: opts.encrypted ? session() : null,
      sendControl: (m) => {
        const r = decodeControl(m);
        if (!r.ok) throw new Error('overlay sent an undecodable control message');
        sent.push(r.value);
      },
    },
    ev,
  );
  return { conn, sent, events };
}

const lastSeq = (e: FakeEngine, method: 'sendHeartbeat' | 'sendFastdpHeartbeat') => {
  const calls = e.of(method).filter((a) => method !== 'sendHeartbeat' || a[1] === 2);
  return calls.at(-1)?.[method === 'sendHeartbeat' ? 2 : 3] as bigint;
};
const ack = (c: Conn, kind: 'sleeve' | 'fastdp', seq: bigint) =>
  c.conn.onControl(encodeControl({ tag: 'ack', kind, seq, size: 64 }));
const tick = (h: Harness, ms: number) => {
  h.clock.advance(ms);
  (h.overlay as unknown as { tick(): void }).tick();
};

/** Bring a connection to fastdp: hello, acks both ways, the peer's heartbeats heard. */
function toFastdp(h: Harness, c: Conn): void {
  c.conn.onControl(
    encodeControl({ tag: 'hello', fastdp: true, fastdpPort: 6784, vni: 1, heartbeatVni: 2, mtu: 1390 }),
  );
  ack(c, 'sleeve', lastSeq(h.engine, 'sendHeartbeat'));
  tick(h, 1000);
  h.engine.emit({ kind: 'fastdp-heartbeat', peer: B, seq: 0n, size: 60 });
  const seq = lastSeq(h.engine, 'sendFastdpHeartbeat');
  if (seq !== undefined) ack(c, 'fastdp', seq);
  tick(h, 1);
}

describe('WeftOverlay', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });

  it('creates the devices: bridge, isolated TAP port, VXLAN port without flooding, heartbeat device', async () => {
    const [br, tap, vx, hb] = await Promise.all(
      ['weft', 'weft-sleeve', 'weft-fastdp', 'weft-fdp-hb'].map((n) => h.kernel.getLink(n)),
    );
    expect(br?.kind).toBe('bridge');
    expect(tap?.masterIndex).toBe(br?.index);
    expect(tap?.bridgePort).toMatchObject({ isolated: true, learning: true });
    expect(vx?.masterIndex).toBe(br?.index);
    expect(vx?.vxlan).toMatchObject({ vni: 0x7765, port: 6784, learning: false });
    expect(vx?.bridgePort).toMatchObject({
      isolated: true,
      learning: false,
      unicastFlood: false,
      multicastFlood: false,
      broadcastFlood: false,
    });
    expect(hb?.masterIndex).toBeUndefined();
    expect(h.engine.of('attachFastdpHeartbeat')).toEqual([['weft-fdp-hb']]);
  });

  it('configures the peer in the engine and says hello; established only on the first sleeve ack', () => {
    const c = connect(h);
    expect(h.engine.of('setPeer')[0]).toEqual([
      B,
      expect.objectContaining({ ip: '198.18.0.2', port: 6783, encrypted: false }),
    ]);
    expect(c.sent[0]).toMatchObject({ tag: 'hello', fastdp: true, fastdpPort: 6784 });
    expect(c.events).toEqual([]);
    ack(c, 'sleeve', lastSeq(h.engine, 'sendHeartbeat'));
    expect(c.events).toContain('established');
    expect(c.conn.info()).toMatchObject({ path: 'sleeve', encrypted: false, healthy: true });
  });

  it('an encrypted connection gets its sleeve keys and never offers fastdp', () => {
    const c = connect(h, { encrypted: true });
    const cfg = h.engine.of('setPeer')[0]![1] as SleevePeerConfig;
    expect(cfg.encrypted).toBe(true);
    expect(cfg.sendKey).toEqual(new Uint8Array(32).fill(1));
    expect(cfg.recvKey).toEqual(new Uint8Array(32).fill(2));
    expect(c.sent[0]).toMatchObject({ tag: 'hello', fastdp: false });
    toFastdp(h, c);
    expect(c.conn.info()).toMatchObject({ path: 'sleeve', encrypted: true });
    expect(h.engine.of('sendFastdpHeartbeat')).toEqual([]);
  });

  it('pins learned MACs to the VXLAN port while fastdp is healthy and unpins them when it fails', async () => {
    const c = connect(h);
    toFastdp(h, c);
    expect(c.conn.info().path).toBe('fastdp');
    // Heartbeats are as big as the biggest frame fastdp carries (MTU + Ethernet header).
    expect(h.engine.of('sendFastdpHeartbeat')[0]).toEqual(['198.18.0.2', 6784, 2, 0n, h.overlay.mtu + 14]);
    h.engine.emit({ kind: 'mac-learned', mac: MAC_B, peer: B });
    await h.overlay.stop().catch(() => {}); // flushes the FDB queue (and stops timers)
    const fdb = await h.kernel.listFdb({ link: 'weft-fastdp' });
    expect(fdb).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ mac: MAC_B, where: 'self', dst: '198.18.0.2' }),
        expect.objectContaining({ mac: MAC_B, where: 'master' }),
      ]),
    );
  });

  it('falls back to sleeve when fastdp acks stop, removing the pinned entries', async () => {
    const c = connect(h);
    toFastdp(h, c);
    h.engine.emit({ kind: 'mac-learned', mac: MAC_B, peer: B });
    for (let t = 0; t < PATH_DEFAULTS.fastdpTimeoutMs + 1000; t += 250) {
      tick(h, 250);
      ack(c, 'sleeve', lastSeq(h.engine, 'sendHeartbeat'));
    }
    expect(c.conn.info().path).toBe('sleeve');
    await h.overlay.stop();
    expect((await h.kernel.listFdb({ link: 'weft-fastdp' })).filter((e) => e.mac === MAC_B)).toEqual([]);
  });

  it('acks the heartbeats the engine reports', () => {
    const c = connect(h);
    h.engine.emit({ kind: 'heartbeat', peer: B, seq: 9n, size: 64, type: 2 });
    h.engine.emit({ kind: 'heartbeat', peer: B, seq: 3n, size: 1472, type: 4 });
    expect(c.sent).toContainEqual({ tag: 'ack', kind: 'sleeve', seq: 9n, size: 64 });
    expect(c.sent).toContainEqual({ tag: 'ack', kind: 'probe', seq: 3n, size: 1472 });
  });

  it('a replaced connection closing late does not take the new one down', () => {
    const old = connect(h);
    const fresh = connect(h);
    old.conn.close();
    expect(h.engine.of('dropPath')).toEqual([]);
    fresh.conn.close();
    expect(h.engine.of('dropPath')).toEqual([[B]]);
  });

  it('pushes routes for every known peer and our own broadcast tree', () => {
    connect(h);
    h.engine.emit({ kind: 'unknown-peer', peer: '0a:00:00:00:00:03' });
    h.overlay.routesChanged({
      unicastNextHop: (d) => (d === B || d === '0a:00:00:00:00:03' ? B : undefined),
      broadcastNextHops: (s) => (s === A ? [B] : []),
    });
    const [unicast, broadcast] = h.engine.of('setRoutes').at(-1) as [
      [string, string][],
      [string, string[]][],
    ];
    expect(unicast).toEqual(
      expect.arrayContaining([
        [B, B],
        ['0a:00:00:00:00:03', B],
      ]),
    );
    expect(broadcast).toContainEqual([A, [B]]);
    h.overlay.peersRemoved(['0a:00:00:00:00:03']);
    expect(h.engine.of('forgetPeer')).toEqual([['0a:00:00:00:00:03']]);
  });

  it('claims a local MAC a peer flooded for, and records the claims it receives', async () => {
    const c = connect(h);
    await h.kernel.createVeth('vethc1', { name: 'c1' });
    await h.kernel.setLink('vethc1', { master: 'weft', up: true });
    await h.kernel.addFdb({ link: 'vethc1', mac: MAC_LOCAL, where: 'master', state: 'static' });
    h.engine.emit({ kind: 'flood-delivered', peer: B, mac: MAC_LOCAL });
    h.engine.emit({ kind: 'flood-delivered', peer: B, mac: '02:99:99:99:99:99' });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.sent.filter((m) => m.tag === 'mac-claim')).toEqual([{ tag: 'mac-claim', macs: [MAC_LOCAL] }]);
    c.conn.onControl(encodeControl({ tag: 'mac-claim', macs: [MAC_B] }));
    expect(h.engine.of('claim')).toEqual([[MAC_B, B]]);
  });

  it('ignores hostile control bytes', () => {
    const c = connect(h);
    c.conn.onControl(new Uint8Array([1, 99, 0, 0]));
    c.conn.onControl(new Uint8Array([]));
    expect(c.events).toEqual([]);
  });

  it('stop with reset removes every device', async () => {
    await h.overlay.stop({ reset: true });
    for (const n of ['weft', 'weft-sleeve', 'weft-fastdp', 'weft-fdp-hb'])
      expect(await h.kernel.getLink(n)).toBeUndefined();
  });
});

describe('WeftOverlay start-up errors', () => {
  const start = async (errno: number) => {
    const { kernel } = new FakeKernelWorld().createNamespace('h');
    const o = new WeftOverlay({
      self: A,
      meshPort: 6783,
      fastdp: false,
      kernel,
      clock: new ManualClock(),
      logger: new RecordingLogger(),
      createEngine: () => {
        throw Object.assign(new Error('engine says no'), { errno });
      },
    });
    return o.start().then(
      () => null,
      (e: unknown) => e,
    );
  };

  it('a taken port reads like the mesh port error, a busy TAP names the likely cause', async () => {
    const { constants } = await import('node:os');
    expect(await start(constants.errno.EADDRINUSE)).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/^cannot listen on mesh port \*:6783: .*EADDRINUSE/),
    });
    expect(await start(constants.errno.EBUSY)).toMatchObject({
      code: 'KERNEL_ERROR',
      message: expect.stringMatching(/another weft router/),
    });
    expect(await start(constants.errno.EPERM)).toMatchObject({ code: 'KERNEL_ERROR' });
  });
});
