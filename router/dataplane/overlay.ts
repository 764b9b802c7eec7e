/**
 * WeftOverlay: the data plane behind the mesh's `Overlay` seam. It owns the
 * bridge's data-plane ports (devices.ts), one sleeve engine (native, its own
 * threads), the fastdp forwarding entries (fastdp-fdb.ts), and per mesh
 * connection a path selector (path-selector.ts) driven by heartbeats.
 *
 *   mesh ──prepareConnection──► SleeveConnection ──► engine.setPeer (keys, address)
 *        ◄── established/failed/changed ── PathSelector ◄── heartbeats/acks
 *   mesh ──routesChanged──► engine.setRoutes (unicast next hops, broadcast trees)
 *   engine events ──► MAC learned → fastdp FDB │ flood delivered → MAC claim
 *                     heartbeat → selector (ack over the control channel)
 *
 * The shell is thin: decisions live in the pure cores; this file only moves
 * their effects to the engine, the kernel and the mesh, and never throws into
 * the mesh (kernel errors are logged and counted).
 */
import { constants } from 'node:os';
import type { Clock } from '../../common/clock.js';
import { WeftError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { type SleeveKeys, sleeveKeys } from '../../crypto/datagram.js';
import type { KernelNet } from '../kernel/kernel-net.js';
import type { PeerName } from '../mesh/gossip-api.js';
import type {
  MeshRoutes,
  Overlay,
  OverlayConnection,
  OverlayConnectionEvents,
  OverlayConnectionInfo,
  OverlayConnectionParams,
} from '../mesh/overlay-api.js';
import { decodeControl, encodeControl, type HelloMessage, MAX_CLAIM_MACS } from './control-codec.js';
import {
  attachSleevePort,
  createFastdpDevices,
  DEFAULT_DEVICES,
  type DeviceNames,
  ensureBridge,
  FASTDP_HEARTBEAT_VNI,
  FASTDP_VNI,
  localMacs,
  pinFastdpMac,
  removeDevices,
  unpinFastdpMac,
} from './devices.js';
import { FastdpFdb, type FdbChange } from './fastdp-fdb.js';
import {
  DEFAULT_UNDERLAY_MTU,
  defaultOverlayMtu,
  ETHERNET_HEADER_BYTES,
  maxDatagramForPathMtu,
} from './mtu.js';
import { type PathEffect, type PathInput, PathSelector, type PathTuning } from './path-selector.js';
import {
  loadSleeveAddon,
  type NativeSleeveEngine,
  SLEEVE_HEARTBEAT,
  SLEEVE_PMTU_PROBE,
  type SleeveEngineOptions,
  type SleeveEvent,
  type SleevePeerStats,
  TSO_OFFLOADS,
} from './sleeve-native.js';

const osErrno = constants.errno;

export interface WeftOverlayOptions {
  self: PeerName;
  /** The mesh port: sleeve UDP uses it, fastdp uses port + 1. */
  meshPort: number;
  /** Bind the sleeve socket to this address (default: all). */
  bindIp?: string;
  /** --no-fastdp: always sleeve. */
  fastdp: boolean;
  /** --mtu: the overlay MTU; default from the underlay MTU. */
  mtu?: number;
  underlayMtu?: number;
  devices?: Partial<DeviceNames>;
  /** Accept TSO super-frames from the TAP (default true; off only for measurements). */
  offloads?: boolean;
  /** Source address of VXLAN packets (default: the kernel's route choice). */
  localIp?: string;
  kernel: KernelNet;
  clock: Clock;
  logger: Logger;
  tuning?: Partial<PathTuning>;
  /** How often selectors are ticked. */
  tickMs?: number;
  /** MACs not seen for this long are forgotten (Weave: 10 min). */
  macMaxAgeSeconds?: number;
  /** Tests: a different engine constructor (default: the native addon). */
  createEngine?: (opts: SleeveEngineOptions, onEvents: () => void) => NativeSleeveEngine;
}

export interface OverlayReport {
  mtu: number;
  fastdp: boolean;
  devices: DeviceNames;
  connections: { peer: PeerName; info: OverlayConnectionInfo; counters?: SleevePeerStats }[];
  macs: number;
  fastdpMacs: number;
  /** Kernel FDB changes that failed (logged). */
  fdbErrors: number;
  engine: ReturnType<NativeSleeveEngine['stats']>['global'] | null;
}

export class WeftOverlay implements Overlay {
  readonly mtu: number;
  readonly names: DeviceNames;
  private readonly o: WeftOverlayOptions;
  private readonly log: Logger;
  private engine: NativeSleeveEngine | null = null;
  private readonly conns = new Map<PeerName, SleeveConnection>();
  private readonly fdb = new FastdpFdb();
  /** Every peer the engine must route for (direct, learned, claimed). */
  private readonly knownPeers = new Set<PeerName>();
  private routes: MeshRoutes | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** Kernel FDB work is applied in order, one change at a time. */
  private fdbQueue: Promise<void> = Promise.resolve();
  private fdbErrors = 0;
  private stopped = false;

  constructor(opts: WeftOverlayOptions) {
    this.o = opts;
    this.log = opts.logger.child({ component: 'dataplane' });
    this.mtu = opts.mtu ?? defaultOverlayMtu(opts.underlayMtu ?? DEFAULT_UNDERLAY_MTU);
    this.names = { ...DEFAULT_DEVICES, ...opts.devices };
  }

  get fastdpPort(): number {
    return this.o.meshPort + 1;
  }

  /** Create the devices, start the engine. Call once before the mesh connects. */
  async start(): Promise<void> {
    const k = this.o.kernel;
    await ensureBridge(k, this.names.bridge, this.mtu);
    const create =
      this.o.createEngine ??
      ((opts: SleeveEngineOptions, cb: () => void) => new (loadSleeveAddon().SleeveEngine)(opts, cb));
    try {
      this.engine = create(
        {
          tap: this.names.tap,
          self: this.o.self,
          port: this.o.meshPort,
          ...(this.o.bindIp ? { bindIp: this.o.bindIp } : {}),
          offload: this.o.offloads === false ? 0 : TSO_OFFLOADS,
        },
        () => this.drainEvents(),
      );
    } catch (e) {
      throw engineStartError(e, this.o, this.names);
    }
    await attachSleevePort(k, this.names, this.mtu);
    if (this.o.fastdp) {
      await createFastdpDevices(
        k,
        this.names,
        { port: this.fastdpPort, mtu: this.mtu, ...(this.o.localIp ? { local: this.o.localIp } : {}) },
        this.log,
      );
      this.engine.attachFastdpHeartbeat(this.names.heartbeat);
    }
    this.pushRoutes();
    const tick = this.o.tickMs ?? 250;
    this.timers.push(setInterval(() => this.tick(), tick));
    this.timers.push(setInterval(() => this.expireMacs(), 30_000));
    for (const t of this.timers) t.unref();
    this.log.info(
      { mtu: this.mtu, fastdp: this.o.fastdp, devices: this.names, port: this.o.meshPort },
      'dataplane: started',
    );
  }

  /** Stop the engine (the TAP goes with it); devices stay unless `reset`. */
  async stop(opts: { reset?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const c of this.conns.values()) c.shutdown();
    this.conns.clear();
    this.engine?.close();
    this.engine = null;
    await this.fdbQueue;
    if (opts.reset) await removeDevices(this.o.kernel, this.names, { bridge: true });
  }

  // --- Overlay seam ---

  prepareConnection(params: OverlayConnectionParams, events: OverlayConnectionEvents): OverlayConnection {
    const previous = this.conns.get(params.remote);
    previous?.shutdown();
    const conn = new SleeveConnection(this, params, events);
    this.conns.set(params.remote, conn);
    this.knownPeers.add(params.remote);
    conn.start();
    this.pushRoutes();
    return conn;
  }

  routesChanged(routes: MeshRoutes): void {
    this.routes = routes;
    // Route every peer the mesh can reach, so the first broadcast from a peer
    // we have not heard from yet is relayed too.
    for (const p of routes.reachable?.() ?? []) if (p !== this.o.self) this.knownPeers.add(p);
    this.pushRoutes();
  }

  peersRemoved(names: PeerName[]): void {
    for (const n of names) {
      this.knownPeers.delete(n);
      this.engine?.forgetPeer(n);
      this.applyFdb(this.fdb.peerForgotten(n));
    }
    this.pushRoutes();
  }

  report(): OverlayReport {
    const now = this.o.clock.now();
    const stats = this.engine?.stats();
    const counters = new Map(stats?.peers.map((p) => [p.name, p]));
    return {
      mtu: this.mtu,
      fastdp: this.o.fastdp,
      devices: this.names,
      connections: [...this.conns.entries()].map(([peer, c]) => {
        const k = counters.get(peer);
        return { peer, info: c.infoAt(now), ...(k ? { counters: k } : {}) };
      }),
      macs: this.engine?.macs().length ?? 0,
      fastdpMacs: this.fdb.current().size,
      fdbErrors: this.fdbErrors,
      engine: stats?.global ?? null,
    };
  }

  /** The engine's counters (for /report details and tests). */
  stats() {
    return this.engine?.stats() ?? null;
  }

  // --- used by SleeveConnection ---

  get engineOrNull(): NativeSleeveEngine | null {
    return this.engine;
  }

  get options(): WeftOverlayOptions {
    return this.o;
  }

  hello(fastdpAllowed: boolean): HelloMessage {
    return {
      tag: 'hello',
      fastdp: this.o.fastdp && fastdpAllowed,
      fastdpPort: this.fastdpPort,
      vni: FASTDP_VNI,
      heartbeatVni: FASTDP_HEARTBEAT_VNI,
      mtu: this.mtu,
    };
  }

  connectionClosed(conn: SleeveConnection): void {
    if (this.conns.get(conn.remote) !== conn) return;
    this.conns.delete(conn.remote);
    this.engine?.dropPath(conn.remote);
    this.applyFdb(this.fdb.peerPath(conn.remote, null));
  }

  /** A selector moved the peer's unicast to fastdp (ip) or off it (null). */
  fastdpPath(conn: SleeveConnection, ip: string | null): void {
    if (this.conns.get(conn.remote) !== conn) return;
    this.log.info({ peer: conn.remote, path: ip ? 'fastdp' : 'sleeve' }, 'dataplane: unicast path changed');
    this.applyFdb(this.fdb.peerPath(conn.remote, ip));
  }

  claimReceived(conn: SleeveConnection, macs: string[]): void {
    for (const mac of macs) {
      try {
        this.engine?.claim(mac, conn.remote);
      } catch (e) {
        this.log.warn({ peer: conn.remote, mac, err: String(e) }, 'dataplane: bad MAC claim');
      }
    }
  }

  // --- internals ---

  private tick(): void {
    const now = this.o.clock.now();
    for (const c of this.conns.values()) c.step({ kind: 'tick' }, now);
  }

  private expireMacs(): void {
    const gone = this.engine?.expireMacs(this.o.macMaxAgeSeconds ?? 600) ?? [];
    for (const { mac } of gone) this.applyFdb(this.fdb.macForgotten(mac));
  }

  private pushRoutes(): void {
    const engine = this.engine;
    if (!engine) return;
    const self = this.o.self;
    const r = this.routes;
    const unicast: [PeerName, PeerName][] = [];
    const broadcast: [PeerName, PeerName[]][] = [[self, r ? r.broadcastNextHops(self) : []]];
    if (r) {
      for (const p of this.knownPeers) {
        const hop = r.unicastNextHop(p);
        if (hop !== undefined) unicast.push([p, hop]);
        broadcast.push([p, r.broadcastNextHops(p)]);
      }
    }
    try {
      engine.setRoutes(unicast, broadcast);
    } catch (e) {
      this.log.error({ err: String(e) }, 'dataplane: cannot set engine routes');
    }
  }

  private drainEvents(): void {
    const engine = this.engine;
    if (!engine) return;
    let routesDirty = false;
    for (const ev of engine.events()) {
      if (this.handleEvent(ev)) routesDirty = true;
    }
    if (routesDirty) this.pushRoutes();
  }

  /** Returns true when the routes must be recomputed (a new peer). */
  private handleEvent(ev: SleeveEvent): boolean {
    const now = this.o.clock.now();
    switch (ev.kind) {
      case 'heartbeat': {
        const path = ev.type === SLEEVE_PMTU_PROBE ? 'probe' : 'sleeve';
        this.conns.get(ev.peer)?.step({ kind: 'heartbeat', path, seq: ev.seq, size: ev.size }, now);
        return false;
      }
      case 'fastdp-heartbeat':
        this.conns.get(ev.peer)?.step({ kind: 'heartbeat', path: 'fastdp', seq: ev.seq, size: ev.size }, now);
        return false;
      case 'mac-learned':
        this.applyFdb(this.fdb.macLearned(ev.mac, ev.peer));
        return this.learnPeer(ev.peer);
      case 'unknown-peer':
        return this.learnPeer(ev.peer);
      case 'flood-delivered':
        this.maybeClaim(ev.peer, ev.mac);
        return false;
      case 'error':
        this.log.warn(
          { errno: ev.errno, where: ev.where, message: ev.message },
          'dataplane: engine I/O error',
        );
        return false;
    }
  }

  private learnPeer(p: PeerName): boolean {
    if (p === this.o.self || this.knownPeers.has(p)) return false;
    this.knownPeers.add(p);
    return true;
  }

  /**
   * A peer flooded a unicast frame for `mac` (it does not know where that MAC
   * is). If the MAC is one of our containers, tell the peer: otherwise, when
   * our replies go to it over fastdp, it would never learn and keep flooding.
   */
  private maybeClaim(origin: PeerName, mac: string): void {
    const conn = this.conns.get(origin);
    if (!conn) return;
    void localMacs(this.o.kernel, this.names)
      .then((local) => {
        if (local.has(mac) && this.conns.get(origin) === conn) conn.sendClaim([mac]);
      })
      .catch((e) => this.log.warn({ err: String(e) }, 'dataplane: cannot read the bridge FDB'));
  }

  private applyFdb(changes: FdbChange[]): void {
    if (changes.length === 0) return;
    const { kernel } = this.o;
    const vxlan = this.names.vxlan;
    this.fdbQueue = this.fdbQueue.then(async () => {
      for (const c of changes) {
        try {
          if (c.op === 'add') await pinFastdpMac(kernel, vxlan, c.mac, c.ip);
          else await unpinFastdpMac(kernel, vxlan, c.mac, c.ip);
        } catch (e) {
          this.fdbErrors++;
          this.log.warn({ change: c, err: String(e) }, 'dataplane: FDB change failed');
        }
      }
    });
  }
}

/** The engine could not start: say why in words an operator can act on. */
function engineStartError(e: unknown, o: WeftOverlayOptions, names: DeviceNames): WeftError {
  const errno = (e as { errno?: number }).errno;
  const where = `${o.bindIp || '*'}:${o.meshPort}`;
  if (errno === osErrno.EADDRINUSE) {
    return new WeftError(
      'BAD_REQUEST',
      `cannot listen on mesh port ${where}: sleeve UDP socket: EADDRINUSE (address already in use)`,
    );
  }
  if (errno === osErrno.EBUSY) {
    return new WeftError(
      'KERNEL_ERROR',
      `the sleeve TAP ${names.tap} is held by another process: is another weft router running in this network namespace?`,
      { op: 'open tap', errno: 'EBUSY' },
    );
  }
  return new WeftError('KERNEL_ERROR', `cannot start the sleeve engine: ${(e as Error).message}`, {
    op: 'start sleeve engine',
    ...(errno !== undefined ? { errno } : {}),
  });
}

/** One mesh connection's data path: the selector plus the effects it asks for. */
export class SleeveConnection implements OverlayConnection {
  readonly remote: PeerName;
  readonly encrypted: boolean;
  private readonly selector: PathSelector;
  private readonly keys: SleeveKeys | null;
  private maxDatagram: number;
  private closed = false;

  constructor(
    private readonly overlay: WeftOverlay,
    private readonly params: OverlayConnectionParams,
    private readonly events: OverlayConnectionEvents,
  ) {
    this.remote = params.remote;
    this.encrypted = params.session !== null;
    this.keys = params.session ? sleeveKeys(params.session) : null;
    const o = overlay.options;
    this.maxDatagram = maxDatagramForPathMtu(o.underlayMtu ?? DEFAULT_UNDERLAY_MTU);
    this.selector = new PathSelector(
      { fastdpLocal: o.fastdp && !this.encrypted, maxDatagram: this.maxDatagram },
      o.clock.now(),
      o.tuning,
    );
  }

  start(): void {
    this.configureEngine();
    this.apply(this.selector.start(this.overlay.hello(!this.encrypted), this.overlay.options.clock.now()));
  }

  onControl(msg: Uint8Array): void {
    if (this.closed) return;
    const r = decodeControl(msg);
    if (!r.ok) {
      this.overlay.options.logger.warn(
        { peer: this.remote, error: r.error },
        'dataplane: bad control message',
      );
      return;
    }
    const m = r.value;
    if (m.tag === 'mac-claim') {
      this.overlay.claimReceived(this, m.macs);
      return;
    }
    this.step({ kind: 'control', msg: m }, this.overlay.options.clock.now());
  }

  step(input: PathInput, now: number): void {
    if (this.closed) return;
    this.apply(this.selector.step(input, now));
  }

  sendClaim(macs: string[]): void {
    for (let i = 0; i < macs.length; i += MAX_CLAIM_MACS) {
      this.params.sendControl(encodeControl({ tag: 'mac-claim', macs: macs.slice(i, i + MAX_CLAIM_MACS) }));
    }
  }

  info(): OverlayConnectionInfo {
    return this.infoAt(this.overlay.options.clock.now());
  }

  infoAt(now: number): OverlayConnectionInfo {
    const i = this.selector.info(now);
    return {
      path: i.path,
      encrypted: this.encrypted,
      healthy: i.established && i.path !== 'none',
      pmtu: i.pmtu.maxDatagram + 28,
      details: {
        established: i.established,
        fastdp: i.fastdp,
        sleeve: i.sleeve,
        pmtuSearching: i.pmtu.searching,
        maxDatagram: i.pmtu.maxDatagram,
        remoteIp: this.params.remoteIp,
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.shutdown();
    this.overlay.connectionClosed(this);
  }

  /** Stop acting, without touching the engine (a newer connection to the peer may own it). */
  shutdown(): void {
    this.closed = true;
  }

  private configureEngine(): void {
    const engine = this.overlay.engineOrNull;
    if (!engine) return;
    const k = this.keys;
    engine.setPeer(this.remote, {
      ip: this.params.remoteIp,
      port: this.params.remoteMeshPort,
      encrypted: k !== null,
      maxDatagram: this.maxDatagram,
      ...(k ? { sendKey: k.send, recvKey: k.recv, sendKeyId: k.sendKeyId, recvKeyId: k.recvKeyId } : {}),
    });
  }

  private apply(effects: PathEffect[]): void {
    const engine = this.overlay.engineOrNull;
    for (const e of effects) {
      switch (e.kind) {
        case 'send-sleeve-heartbeat':
          engine?.sendHeartbeat(this.remote, SLEEVE_HEARTBEAT, e.seq, 64);
          break;
        case 'send-pmtu-probe':
          engine?.sendHeartbeat(this.remote, SLEEVE_PMTU_PROBE, e.seq, e.size);
          break;
        case 'send-fastdp-heartbeat':
          // As big as the biggest frame fastdp will carry: a path that drops those must not look healthy.
          engine?.sendFastdpHeartbeat(
            this.params.remoteIp,
            e.hello.fastdpPort,
            e.hello.heartbeatVni,
            e.seq,
            this.overlay.mtu + ETHERNET_HEADER_BYTES,
          );
          break;
        case 'send-control':
          this.params.sendControl(encodeControl(e.msg));
          break;
        case 'established':
          this.overlay.options.logger.info(
            { peer: this.remote, encrypted: this.encrypted },
            'dataplane: sleeve established',
          );
          this.events.established();
          break;
        case 'failed':
          this.closed = true;
          this.events.failed(e.reason);
          break;
        case 'path-changed':
          this.overlay.fastdpPath(this, e.path === 'fastdp' ? this.params.remoteIp : null);
          this.events.changed();
          break;
        case 'max-datagram':
          this.maxDatagram = e.size;
          this.configureEngine();
          this.overlay.options.logger.info(
            { peer: this.remote, maxDatagram: e.size },
            'dataplane: path MTU changed',
          );
          this.events.changed();
          break;
      }
    }
  }
}
