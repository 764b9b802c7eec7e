/**
 * MeshRouter: the mesh control plane as one pure core. It composes the
 * connection state machines, the topology CRDT, routes, gossip channels and
 * the connection maker, and talks to the outside world only through events in
 * and effects out:
 *
 *   shell (daemon / simulator)                         MeshRouter
 *   ─────────────────────────────────────────────────────────────────────────
 *   new stream accepted        ── newStreamId(), streamAccepted(id, info) ──►
 *   dial result                ── dialSucceeded / dialFailed ──►
 *   bytes from a stream        ── streamData(id, bytes) ──►
 *   stream closed              ── streamClosed(id, reason) ──►
 *   timer fired                ── timerFired(key) ──►
 *   API                        ── connect / forget / report / registerChannel ──►
 *                              ◄── effects: write, close, dial, set-timer,
 *                                  cancel-timer, persist-targets, changed
 *
 * It reads time only from the `Clock` and randomness only from the `Random`
 * it is given, so the simulator runs it deterministically under a virtual
 * clock. `router/mesh/driver.ts` is the thin shell that binds it to a
 * StreamTransport and real (or virtual) timers.
 *
 * Life of a connection: dial/accept → intro → (Noise handshake) → hello →
 * the router checks name collision, duplicates (one connection per peer pair,
 * the lower connection id wins on both sides) and the connection limit →
 * registered: our topology record lists it, the overlay prepares a data path,
 * every channel's full state goes to the peer → the overlay reports it
 * established → our record says so. Every change to our record goes out as
 * one topology broadcast after `topologyBatchMs`.
 *
 * Usage:
 *   const router = new MeshRouter({ name, nickname, listenPort, clock, random, effects, ... });
 *   const ipam = router.registerChannel('ipam', gossiper);   // before or after start
 *   router.start();
 */
import type { Clock } from '../../common/clock.js';
import { type Logger, nullLogger } from '../../common/logger.js';
import type { Random } from '../../common/random.js';
import type { HandshakeOptions, MeshHandshake } from '../../crypto/contracts.js';
import { PROTOCOL_MAX_VERSION, PROTOCOL_MIN_VERSION, PROTOCOL_NAME } from '../wire/intro.js';
import type { Hello, Message } from '../wire/messages.js';
import { MessageTag } from '../wire/tags.js';
import { Admission, type AdmissionStats } from './admission.js';
import { type CloseCause, type ConnectionHost, type HelloDecision, MeshConnection } from './connection.js';
import { ConnectionMaker } from './connection-maker.js';
import { DEFAULT_MESH_PORT, MESH_DEFAULTS, type MeshTuning, TOPOLOGY_CHANNEL } from './constants.js';
import type { DialFailure, EffectSink, MeshEffect, StreamCloseReason, StreamInfo } from './effects.js';
import type { Gossiper, GossipRegistry, GossipSender, PeerName } from './gossip-api.js';
import { type ChannelOptions, GossipHub } from './gossip-hub.js';
import { NullOverlay } from './null-overlay.js';
import type { MeshRoutes, Overlay, OverlayConnection } from './overlay-api.js';
import type { MeshConnectionReport, MeshReport } from './report.js';
import { meshRoutesOf, RouteTable } from './routes.js';
import { type ConnectionRecord, type PeerRecord, Topology } from './topology.js';
import { TopologyGossip } from './topology-gossip.js';

export interface MeshOptions {
  /** Our peer name, "xx:xx:xx:xx:xx:xx". */
  name: PeerName;
  nickname: string;
  /** Random per process start; drawn from `random` when not given. */
  uid?: bigint;
  /** The TCP port we listen on (announced in the hello so peers can dial us back). */
  listenPort: number;
  /** 32-byte key from `derivePsk(password)`, or null/undefined for an unencrypted mesh. */
  psk?: Uint8Array | null;
  clock: Clock;
  random: Random;
  effects: EffectSink;
  logger?: Logger;
  overlay?: Overlay;
  /** Connect to peers learned from gossip (default true). */
  discovery?: boolean;
  connLimit?: number;
  /** Initial direct targets ("host:port"): command line plus what was persisted. */
  targets?: readonly string[];
  /** Software version for hellos and reports. */
  software?: string;
  tuning?: Partial<MeshTuning>;
  /**
   * How many bytes written to a stream it has not taken yet (the transport's
   * `bufferedBytes`); neighbour gossip to a backed-up connection waits and merges.
   * A read-only query of the shell's state; 0 when not given.
   */
  backlog?: (stream: number) => number;
  /** Tests only: replace the Noise handshake. */
  createHandshake?: (opts: HandshakeOptions) => MeshHandshake;
}

const TIMER_SETTLE = 'mesh:settle';
const TIMER_MAKER = 'mesh:maker';
const TIMER_PERIODIC = 'mesh:periodic-gossip';

/** Peer-connected listeners get this when the reachable set changes. */
export interface PeersChange {
  added: PeerName[];
  removed: PeerName[];
}

interface Registered {
  conn: MeshConnection;
  overlay: OverlayConnection | null;
  established: boolean;
}

export class MeshRouter implements GossipRegistry {
  readonly name: PeerName;
  readonly uid: bigint;
  private readonly opts: MeshOptions;
  private readonly t: MeshTuning;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly overlay: Overlay;
  private readonly connLimit: number;
  private readonly topology: Topology;
  private readonly maker: ConnectionMaker;
  private readonly hub: GossipHub;
  private readonly topologyGossip: TopologyGossip;

  private nextStreamId = 1;
  /** Outbound dials not yet answered: stream id → target address. */
  private readonly dialing = new Map<number, string>();
  /** Every open connection by stream id. */
  private readonly conns = new Map<number, MeshConnection>();
  /** Accepted (hello done, registered) connections by peer name: at most one per peer. */
  private readonly registered = new Map<PeerName, Registered>();
  /** Limits on accepted streams that have not completed their hello (admission.ts). */
  private readonly admission: Admission;
  private lastAdmissionWarning = Number.NEGATIVE_INFINITY;
  private settleArmed = false;
  private started = false;
  private stopped = false;
  private terminations = 0;
  private readonly peersListeners: ((c: PeersChange) => void)[] = [];

  private gossipTable: { table: RouteTable; generation: number; at: number } | null = null;
  private dataTable: { table: RouteTable; generation: number } | null = null;

  constructor(opts: MeshOptions) {
    this.opts = opts;
    this.t = { ...MESH_DEFAULTS, ...opts.tuning };
    this.name = opts.name;
    this.clock = opts.clock;
    this.random = opts.random;
    this.uid = opts.uid ?? randomU64(opts.random);
    this.log = (opts.logger ?? nullLogger).child({ component: 'mesh' });
    this.overlay = opts.overlay ?? new NullOverlay();
    this.connLimit = opts.connLimit ?? this.t.connLimit;
    this.admission = new Admission(this.t);
    this.topology = new Topology({
      name: opts.name,
      nickname: opts.nickname,
      uid: this.uid,
      shortId: opts.random.int(4096),
    });
    this.maker = new ConnectionMaker({
      backoff: {
        initialMs: this.t.backoffInitialMs,
        factor: this.t.backoffFactor,
        maxMs: this.t.backoffMaxMs,
        jitter: this.t.backoffJitter,
      },
      resetAfterMs: this.t.backoffResetAfterMs,
      discovery: opts.discovery ?? true,
      random: opts.random,
    });
    const now = this.clock.now();
    if (opts.targets?.length) this.maker.connect(opts.targets, false, now);
    this.hub = new GossipHub(
      {
        ourName: this.name,
        random: this.random,
        logger: this.log,
        peerCount: () => this.topology.reachable().size,
        neighbours: () => [...this.registered.keys()],
        sendTo: (peer, msg) => this.sendTo(peer, msg),
        backlog: (peer) => {
          const reg = this.registered.get(peer);
          return reg && this.opts.backlog ? this.opts.backlog(reg.conn.id) : 0;
        },
        unicastNextHop: (dst) => this.gossipNextHop(dst),
        broadcastTargets: (src, from) => this.broadcastTargets(src, from),
        setTimer: (key, delayMs) => this.emit({ kind: 'set-timer', key, delayMs }),
      },
      {
        maxPending: this.t.maxPendingGossip,
        windowSize: this.t.broadcastWindow,
        maxBacklogBytes: this.t.gossipBacklogBytes,
        backlogRetryMs: this.t.gossipBacklogRetryMs,
      },
    );
    this.topologyGossip = new TopologyGossip(
      this.topology,
      {
        ourName: this.name,
        logger: this.log,
        sendTo: (peer, payload) => {
          this.sendTo(peer, { tag: MessageTag.Gossip, channel: TOPOLOGY_CHANNEL, payload });
        },
        broadcast: (payloadFor) => this.hub.broadcastTailored(TOPOLOGY_CHANNEL, payloadFor),
        randomNeighbours: () => this.hub.subset(),
        setTimer: (key, delayMs) => this.emit({ kind: 'set-timer', key, delayMs }),
        changed: () => this.scheduleSettle(),
      },
      this.t.topologyBatchMs,
      this.t.topologyRelayDelayMs,
    );
    this.hub.registerChannel(TOPOLOGY_CHANNEL, this.topologyGossip, { periodic: false });
  }

  // ======================= lifecycle =======================

  /** Begin: dial targets, arm the periodic gossip (at a random phase, so peers do not gossip in step). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.log.info(
      {
        name: this.name,
        nickname: this.opts.nickname,
        encryption: this.encryption,
        targets: this.maker.directAddresses(),
      },
      'mesh router starting',
    );
    this.emit({
      kind: 'set-timer',
      key: TIMER_PERIODIC,
      delayMs: this.random.int(this.t.gossipIntervalMs) + 1,
    });
    this.scheduleMaker(0);
  }

  /** Close every connection (telling peers why) and cancel every timer. The router is dead afterwards. */
  shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of [...this.conns.values()]) c.refuse('shutdown', 'the peer is shutting down');
    for (const id of [...this.dialing.keys()]) this.emit({ kind: 'close', stream: id });
    this.dialing.clear();
    const keys = [TIMER_SETTLE, TIMER_MAKER, TIMER_PERIODIC, 'gossip:flush', 'gossip:local'];
    for (const key of [...keys, ...this.topologyGossip.timerKeys()]) {
      this.emit({ kind: 'cancel-timer', key });
    }
  }

  /** No batched work pending (topology broadcast, settle, gossip queues): for tests and the simulator. */
  get idle(): boolean {
    return this.topologyGossip.idle && !this.settleArmed && this.hub.idle;
  }

  get encryption(): boolean {
    return !!this.opts.psk;
  }

  // ======================= events from the shell =======================

  /** An id for a stream the shell accepted; map it, then call `streamAccepted(id, info)`. */
  newStreamId(): number {
    return this.nextStreamId++;
  }

  /** A stream was accepted on our listener (id from `newStreamId`). */
  streamAccepted(stream: number, info: StreamInfo): void {
    if (this.stopped) {
      this.emit({ kind: 'close', stream });
      return;
    }
    const now = this.clock.now();
    const d = this.admission.admit(stream, info.remoteAddress, now);
    if (!d.admit) {
      // Under a flood this happens thousands of times a second: warn at most every 10 s.
      if (now - this.lastAdmissionWarning >= 10_000) {
        this.lastAdmissionWarning = now;
        this.log.warn(
          { remote: info.remoteAddress, limit: d.reason, ...this.admission.stats },
          'mesh: refusing incoming connections (unauthenticated connection limits)',
        );
      }
      this.emit({ kind: 'close', stream });
      return;
    }
    this.openConnection(stream, false, info, undefined);
  }

  /** Pending (not yet accepted) incoming connections and how many were refused, by limit. */
  get admissionStats(): AdmissionStats {
    return this.admission.stats;
  }

  dialSucceeded(stream: number, info: StreamInfo): void {
    const target = this.dialing.get(stream);
    if (target === undefined) {
      // Shut down or given up meanwhile.
      this.emit({ kind: 'close', stream });
      return;
    }
    this.dialing.delete(stream);
    this.openConnection(stream, true, info, target);
  }

  dialFailed(stream: number, failure: DialFailure): void {
    const target = this.dialing.get(stream);
    if (target === undefined) return;
    this.dialing.delete(stream);
    const delay = this.maker.ended(target, stream, this.clock.now(), { error: `dial: ${failure.message}` });
    this.log.debug({ target, error: failure.message, retryInMs: delay }, 'mesh: dial failed');
    this.emit({ kind: 'changed', what: 'targets' });
    this.scheduleMaker(0);
  }

  streamData(stream: number, bytes: Uint8Array): void {
    this.conns.get(stream)?.receive(bytes);
  }

  streamClosed(stream: number, reason: StreamCloseReason): void {
    this.conns.get(stream)?.close({ kind: 'stream', reason });
  }

  timerFired(key: string): void {
    if (this.stopped) return;
    switch (key) {
      case TIMER_SETTLE:
        this.settle();
        return;
      case TIMER_MAKER:
        this.runMaker();
        return;
      case TIMER_PERIODIC:
        this.topologyGossip.periodic();
        this.hub.periodic();
        this.emit({ kind: 'set-timer', key: TIMER_PERIODIC, delayMs: this.t.gossipIntervalMs });
        return;
    }
    if (this.hub.timer(key) || this.topologyGossip.timer(key)) return;
    const m = /^conn:(\d+):/.exec(key);
    if (m) this.conns.get(Number(m[1]))?.timer(key);
  }

  // ======================= commands =======================

  /** Add direct targets (with `replace`: make them the only direct ones). Addresses must be normalised "host:port". */
  connect(addresses: readonly string[], opts: { replace?: boolean } = {}): void {
    const changed = this.maker.connect(addresses.map(withDefaultPort), !!opts.replace, this.clock.now());
    if (changed) this.persistTargets();
    this.emit({ kind: 'changed', what: 'targets' });
    this.scheduleMaker(0);
  }

  /** Stop trying to connect to these addresses; existing connections stay up (as in Weave). */
  forget(addresses: readonly string[]): void {
    if (this.maker.forget(addresses.map(withDefaultPort))) this.persistTargets();
    this.emit({ kind: 'changed', what: 'targets' });
  }

  /** The direct targets (what the daemon persists). */
  directTargets(): string[] {
    return this.maker.directAddresses();
  }

  /**
   * Register a gossip channel (see gossip-api.ts). Best before `start()`: a
   * channel registered later reaches existing neighbours through the periodic
   * rounds and its own broadcasts, not through the new-connection exchange.
   */
  registerChannel(name: string, gossiper: Gossiper, opts?: ChannelOptions): GossipSender {
    if (name === TOPOLOGY_CHANNEL) throw new Error(`gossip channel ${name} is reserved for the mesh`);
    return this.hub.registerChannel(name, gossiper, opts);
  }

  /** Be told when peers become reachable or are garbage-collected (IPAM, DNS clean-up). */
  onPeersChanged(listener: (c: PeersChange) => void): void {
    this.peersListeners.push(listener);
  }

  /** Reachable peers' records, ourselves included. */
  peers(): PeerRecord[] {
    return this.topology.peers();
  }

  /** Equal on every router that agrees on the topology. */
  topologyDigest(): string {
    return this.topology.digest();
  }

  /** Data-plane routes (symmetric established connections). */
  routes(): MeshRoutes {
    return meshRoutesOf(this.dataRoutes());
  }

  /** Names of peers we have an accepted connection to. */
  connectedPeers(): PeerName[] {
    return [...this.registered.keys()].sort();
  }

  get gossipStats(): Readonly<GossipHub['stats']> {
    return this.hub.stats;
  }

  report(): MeshReport {
    const now = this.clock.now();
    const self = this.topology.ourself;
    const nick = (name: string) => this.topology.get(name)?.nickname ?? '';
    const peers = this.topology
      .peers()
      .sort((a, b) => (a.name === this.name ? -1 : b.name === this.name ? 1 : a.name < b.name ? -1 : 1))
      .map((p) => ({
        name: p.name,
        nickname: p.nickname,
        uid: p.uid.toString(),
        version: p.version,
        shortId: p.shortId,
        connections: p.connections.map((c) => ({
          name: c.remote,
          nickname: nick(c.remote),
          address: c.address,
          outbound: c.outbound,
          established: c.established,
        })),
      }));
    const connections: MeshConnectionReport[] = [];
    for (const [id, address] of this.dialing) {
      connections.push({ id, address, outbound: true, state: 'dialing', info: 'dialling', encrypted: false });
    }
    for (const c of this.conns.values()) {
      const reg = c.remote ? this.registered.get(c.remote.name) : undefined;
      const ours = reg?.conn === c ? reg : undefined;
      connections.push({
        id: c.id,
        address: c.target ?? c.remoteAddress,
        outbound: c.outbound,
        state: c.state,
        info: connectionInfo(c),
        ...(c.remote
          ? { name: c.remote.name, nickname: c.remote.nickname, uid: c.remote.uid.toString() }
          : {}),
        encrypted: c.encrypted,
        ...(c.version ? { protocolVersion: c.version } : {}),
        ...(ours?.overlay ? { overlay: ours.overlay.info() } : {}),
      });
    }
    connections.sort((a, b) => a.id - b.id);
    const unicastRoutes: Record<string, string> = {};
    for (const [dst, hop] of this.freshDataTable().unicastAll()) unicastRoutes[dst] = hop;
    return {
      name: this.name,
      nickname: self.nickname,
      uid: this.uid.toString(),
      version: self.version,
      shortId: self.shortId,
      protocol: { name: PROTOCOL_NAME, minVersion: PROTOCOL_MIN_VERSION, maxVersion: PROTOCOL_MAX_VERSION },
      encryption: this.encryption,
      peerDiscovery: this.maker.discovery,
      port: this.opts.listenPort,
      connLimit: this.connLimit,
      peers,
      connections,
      targets: this.maker.list().map((t) => ({
        address: t.address,
        direct: t.direct,
        state: t.state,
        failures: t.failures,
        lastError: t.lastError,
        ...(t.state === 'waiting' ? { retryInMs: Math.max(0, t.nextAttemptAt - now) } : {}),
        ...(t.peer ? { peer: t.peer } : {}),
      })),
      terminations: this.terminations,
      unicastRoutes,
      topologyDigest: this.topology.digest(),
    };
  }

  // ======================= connections =======================

  private openConnection(id: number, outbound: boolean, info: StreamInfo, target: string | undefined): void {
    const hello: Hello = {
      name: this.name,
      nickname: this.opts.nickname,
      uid: this.uid,
      connId: randomU64(this.random),
      listenPort: this.opts.listenPort,
      software: this.opts.software ?? 'weft',
      shortId: this.topology.ourself.shortId,
    };
    const conn = new MeshConnection(this.connectionHost, {
      id,
      outbound,
      remoteAddress: info.remoteAddress,
      ...(target !== undefined ? { target } : {}),
      intro: {
        minVersion: PROTOCOL_MIN_VERSION,
        maxVersion: PROTOCOL_MAX_VERSION,
        encryption: this.encryption,
      },
      psk: this.opts.psk ?? null,
      hello,
      random: this.random,
      logger: this.log,
      timing: this.t,
      ...(this.opts.createHandshake ? { createHandshake: this.opts.createHandshake } : {}),
    });
    this.conns.set(id, conn);
    this.emit({ kind: 'changed', what: 'connections' });
    conn.start();
  }

  private readonly connectionHost: ConnectionHost = {
    write: (conn, bytes) => this.emit({ kind: 'write', stream: conn.id, bytes }),
    closeStream: (conn) => this.emit({ kind: 'close', stream: conn.id }),
    setTimer: (key, delayMs) => this.emit({ kind: 'set-timer', key, delayMs }),
    cancelTimer: (key) => this.emit({ kind: 'cancel-timer', key }),
    now: () => this.clock.now(),
    helloReceived: (conn, hello) => this.helloReceived(conn, hello),
    message: (conn, msg) => this.connectionMessage(conn, msg),
    closed: (conn, cause) => this.connectionClosed(conn, cause),
  };

  private helloReceived(conn: MeshConnection, hello: Hello): HelloDecision {
    if (hello.name === this.name) {
      if (hello.uid === this.uid)
        return { accept: false, reason: 'self', message: 'this address is ourselves' };
      this.log.error(
        { peer: hello.name, theirUid: hello.uid.toString(), address: conn.remoteAddress },
        'peer name collision: another router uses our name; not connecting to it again',
      );
      return {
        accept: false,
        reason: 'name-collision',
        message: `peer name ${hello.name} is already in use`,
      };
    }
    const existing = this.registered.get(hello.name);
    if (existing) {
      const other = existing.conn;
      if (other.remote!.uid !== hello.uid) {
        const message = `peer ${hello.name} is already connected with another UID (an older incarnation, or a clone)`;
        this.log.warn({ peer: hello.name }, message);
        return { accept: false, reason: 'incarnation', message };
      }
      // Duplicate connection between the same two processes: both sides keep the lower connection id.
      if (other.uid <= conn.uid) {
        return { accept: false, reason: 'duplicate', message: 'already connected to this peer' };
      }
      other.refuse('duplicate', 'replaced by another connection to the same peer');
    } else if (this.registered.size >= this.connLimit) {
      const message = `connection limit of ${this.connLimit} reached`;
      this.log.warn({ peer: hello.name }, `mesh: refusing connection: ${message}`);
      return { accept: false, reason: 'conn-limit', message };
    }
    this.register(conn, hello);
    return { accept: true };
  }

  private register(conn: MeshConnection, hello: Hello): void {
    const now = this.clock.now();
    this.admission.release(conn.id);
    conn.markPrepared();
    const reg: Registered = { conn, overlay: null, established: false };
    this.registered.set(hello.name, reg);
    if (conn.target !== undefined) this.maker.connected(conn.target, conn.id, hello.name, now);
    this.log.info(
      { peer: hello.name, nickname: hello.nickname, address: conn.remoteAddress, encrypted: conn.encrypted },
      'mesh: connection added',
    );
    this.updateOurConnections();
    const remoteIp = hostOf(conn.remoteAddress);
    const prepared = this.guard('overlay.prepareConnection', () =>
      this.overlay.prepareConnection(
        {
          local: this.name,
          remote: hello.name,
          remoteIp,
          remoteMeshPort: hello.listenPort,
          outbound: conn.outbound,
          session: conn.meshSession,
          sendControl: (msg) => {
            if (this.registered.get(hello.name) === reg)
              conn.send({ tag: MessageTag.OverlayControl, payload: msg });
          },
        },
        {
          established: () => {
            if (this.registered.get(hello.name) !== reg || reg.established) return;
            reg.established = true;
            conn.markEstablished();
            this.log.info({ peer: hello.name }, 'mesh: connection established');
            this.updateOurConnections();
          },
          failed: (reason) => {
            if (this.registered.get(hello.name) !== reg) return;
            this.log.warn({ peer: hello.name, reason }, 'mesh: overlay failed; closing the connection');
            conn.refuse('other', `data path failed: ${reason}`);
          },
          changed: () => this.emit({ kind: 'changed', what: 'connections' }),
        },
      ),
    );
    if (prepared === undefined) {
      conn.refuse('other', 'the data plane could not prepare a path');
      return;
    }
    if (!conn.isOpen) {
      prepared.close();
      return;
    }
    reg.overlay = prepared;
    this.hub.connectionAdded(hello.name);
    this.emit({ kind: 'changed', what: 'connections' });
  }

  private connectionMessage(conn: MeshConnection, msg: Message): void {
    const peer = conn.remote!.name;
    const reg = this.registered.get(peer);
    if (reg?.conn !== conn) return;
    if (msg.tag === MessageTag.OverlayControl) {
      const overlay = reg.overlay;
      if (overlay) this.guard('overlay.onControl', () => overlay.onControl(msg.payload));
      return;
    }
    this.hub.receive(peer, msg);
  }

  private connectionClosed(conn: MeshConnection, cause: CloseCause): void {
    this.conns.delete(conn.id);
    this.admission.release(conn.id);
    const now = this.clock.now();
    const peer = conn.remote?.name;
    if (peer !== undefined) {
      const reg = this.registered.get(peer);
      if (reg?.conn === conn) {
        this.registered.delete(peer);
        this.terminations++;
        const overlay = reg.overlay;
        if (overlay) this.guard('overlay.close', () => overlay.close());
        this.hub.connectionRemoved(peer);
        this.log.info({ peer, cause: describeCause(cause) }, 'mesh: connection removed');
        this.updateOurConnections();
      }
    }
    if (conn.target !== undefined) {
      const reason = cause.kind === 'refused-by-us' || cause.kind === 'refused-by-peer' ? cause.reason : null;
      if (reason === 'duplicate' && peer !== undefined) {
        // Another connection to the same peer won the tie-break (or is about to be registered).
        this.maker.satisfied(conn.target, conn.id, peer);
      } else {
        const permanent = reason === 'name-collision' || reason === 'self';
        this.maker.ended(conn.target, conn.id, now, {
          error: describeCause(cause),
          permanent,
          ...(peer !== undefined ? { peer } : {}),
        });
      }
      this.emit({ kind: 'changed', what: 'targets' });
    }
    this.emit({ kind: 'changed', what: 'connections' });
    this.scheduleMaker(0);
  }

  private sendTo(peer: PeerName, msg: Message): boolean {
    const reg = this.registered.get(peer);
    return reg ? reg.conn.send(msg) : false;
  }

  /** Our record lists every registered connection (established once the overlay says so). */
  private updateOurConnections(): void {
    const list: ConnectionRecord[] = [];
    for (const [name, reg] of this.registered) {
      const c = reg.conn;
      list.push({
        remote: name,
        // A dialable address: the target we dialled, or the peer's IP with the port it announced.
        address: c.target ?? `${hostOf(c.remoteAddress)}:${c.remote!.listenPort}`,
        outbound: c.outbound,
        established: reg.established,
      });
    }
    if (this.topology.setOurConnections(list)) this.ourRecordChanged();
  }

  // ======================= topology =======================

  /** Our record changed: it goes out in the next topology broadcast. */
  private ourRecordChanged(): void {
    this.topologyGossip.ownChanged();
    this.scheduleSettle();
  }

  /**
   * After topology changes settle (debounced): garbage-collect, tell the
   * overlay about new routes and removed peers, refresh discovery, check our
   * short id.
   */
  private scheduleSettle(): void {
    if (this.settleArmed) return;
    this.settleArmed = true;
    this.emit({ kind: 'set-timer', key: TIMER_SETTLE, delayMs: this.t.routesDebounceMs });
  }

  private settle(): void {
    this.settleArmed = false;
    const now = this.clock.now();
    const { added, removed } = this.topology.collect(now, this.t.limboMs);
    if (removed.length > 0) {
      this.log.info({ peers: removed }, 'mesh: peers unreachable, forgotten');
      for (const p of removed) this.hub.peerForgotten(p);
      this.guard('overlay.peersRemoved', () => this.overlay.peersRemoved(removed));
    }
    if (added.length > 0 || removed.length > 0) {
      for (const l of this.peersListeners) this.guard('peers listener', () => l({ added, removed }));
    }
    this.resolveShortIdCollision();
    // Routes are never staler than one debounce interval after the last change.
    this.gossipRoutes(true);
    const routes = meshRoutesOf(this.freshDataTable());
    this.guard('overlay.routesChanged', () => this.overlay.routesChanged(routes));
    this.refreshDiscovery(now);
    this.emit({ kind: 'changed', what: 'topology' });
  }

  /** Two reachable peers with one short id: the one with the greater name picks another. */
  private resolveShortIdCollision(): void {
    const ours = this.topology.ourself.shortId;
    if (ours === null) return;
    const used = new Set<number>();
    let clash = false;
    for (const p of this.topology.peers()) {
      if (p.name === this.name || p.shortId === null) continue;
      used.add(p.shortId);
      if (p.shortId === ours && p.name < this.name) clash = true;
    }
    if (!clash || used.size >= 4096) return;
    let id = this.random.int(4096);
    while (used.has(id)) id = (id + 1) % 4096;
    this.topology.setOurShortId(id);
    this.ourRecordChanged();
  }

  private refreshDiscovery(now: number): void {
    if (!this.maker.discovery) return;
    const candidates = new Map<string, string>();
    for (const p of this.topology.peers()) {
      if (p.name === this.name) continue;
      for (const c of p.connections) {
        if (c.remote === this.name || this.registered.has(c.remote)) continue;
        if (!candidates.has(c.address)) candidates.set(c.address, c.remote);
      }
    }
    this.maker.setDiscovered(candidates, now);
    this.scheduleMaker(0);
  }

  // ======================= routes =======================

  /**
   * Gossip routes over all connections, rebuilt at most every routesDebounceMs
   * (a relay may use routes up to that stale; broadcast duplicate suppression
   * and the flooding fallback below keep that safe).
   */
  private gossipRoutes(fresh = false): RouteTable {
    const gen = this.topology.generation;
    const now = this.clock.now();
    const g = this.gossipTable;
    if (g && (g.generation === gen || (!fresh && now - g.at < this.t.routesDebounceMs))) {
      if (g.generation !== gen) this.scheduleSettle();
      return g.table;
    }
    const table = new RouteTable(this.topology.peers(), this.name, 'gossip');
    this.gossipTable = { table, generation: gen, at: now };
    return table;
  }

  /** Unicast next hop over all connections; a stale table that cannot route is rebuilt first. */
  private gossipNextHop(dst: PeerName): PeerName | undefined {
    let hop = this.gossipRoutes().unicastNextHop(dst);
    if (
      (hop === undefined || !this.registered.has(hop)) &&
      this.gossipTable?.generation !== this.topology.generation
    ) {
      hop = this.gossipRoutes(true).unicastNextHop(dst);
    }
    return hop;
  }

  private freshDataTable(): RouteTable {
    const gen = this.topology.generation;
    if (this.dataTable?.generation !== gen) {
      this.dataTable = { table: new RouteTable(this.topology.peers(), this.name, 'data'), generation: gen };
    }
    return this.dataTable.table;
  }

  private dataRoutes(): RouteTable {
    return this.dataTable?.table ?? this.freshDataTable();
  }

  /**
   * Where a broadcast from `src` goes next: our children in src's tree. Peers
   * we are connected to but the (possibly stale) table does not list as
   * neighbours get it too, and an unknown source is flooded to every
   * neighbour; the broadcast window drops any duplicate this causes.
   */
  private broadcastTargets(src: PeerName, from: PeerName | null): PeerName[] {
    const table = this.gossipRoutes();
    const hops = table.broadcastNextHops(src);
    const out = new Set<PeerName>();
    if (hops === undefined) {
      for (const p of this.registered.keys()) out.add(p);
    } else {
      for (const p of hops) out.add(p);
      const tableNeighbours = new Set(table.neighbours());
      for (const p of this.registered.keys()) if (!tableNeighbours.has(p)) out.add(p);
    }
    out.delete(src);
    if (from !== null) out.delete(from);
    return [...out];
  }

  // ======================= connection maker =======================

  private scheduleMaker(delayMs: number): void {
    if (!this.started || this.stopped) return;
    this.emit({ kind: 'set-timer', key: TIMER_MAKER, delayMs });
  }

  private runMaker(): void {
    const now = this.clock.now();
    const open = this.conns.size + this.dialing.size;
    const plan = this.maker.plan(
      now,
      (peer) => this.registered.has(peer),
      Math.max(0, this.connLimit - open),
    );
    for (const t of plan.dial) {
      const id = this.nextStreamId++;
      this.dialing.set(id, t.address);
      this.maker.attempting(t.address, id);
      this.log.debug({ target: t.address, attempt: t.failures + 1 }, 'mesh: dialling');
      this.emit({ kind: 'dial', stream: id, address: t.address, timeoutMs: this.t.dialTimeoutMs });
    }
    if (plan.dial.length > 0) this.emit({ kind: 'changed', what: 'targets' });
    const next =
      plan.wakeAt === undefined ? this.t.connectionMakerIntervalMs : Math.max(0, plan.wakeAt - now);
    this.emit({
      kind: 'set-timer',
      key: TIMER_MAKER,
      delayMs: Math.min(next, this.t.connectionMakerIntervalMs),
    });
  }

  private persistTargets(): void {
    this.emit({ kind: 'persist-targets', addresses: this.maker.directAddresses() });
  }

  /** Run another component's callback; a throw is logged (it must not take the mesh down). */
  private guard<T>(what: string, f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      this.log.error({ error: (e as Error)?.message ?? String(e) }, `mesh: ${what} threw`);
      return undefined;
    }
  }

  private emit(e: MeshEffect): void {
    this.opts.effects(e);
  }
}

function randomU64(random: Random): bigint {
  let v = 0n;
  for (const b of random.bytes(8)) v = (v << 8n) | BigInt(b);
  return v;
}

/** "host:port" → host (IPv6 brackets removed). */
export function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  const host = i < 0 ? address : address.slice(0, i);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function withDefaultPort(address: string): string {
  return /:\d+$/.test(address) ? address : `${address}:${DEFAULT_MESH_PORT}`;
}

function describeCause(c: CloseCause): string {
  switch (c.kind) {
    case 'refused-by-us':
      return `refused (${c.reason}): ${c.message}`;
    case 'refused-by-peer':
      return `refused by peer (${c.reason}): ${c.message}`;
    case 'stream':
      return c.reason.kind === 'error'
        ? `connection error: ${c.reason.message}`
        : `closed (${c.reason.kind})`;
    default:
      return `${c.kind}: ${c.message}`;
  }
}

function connectionInfo(c: MeshConnection): string {
  switch (c.state) {
    case 'intro':
      return 'exchanging intros';
    case 'handshake':
      return 'Noise handshake';
    case 'hello':
      return 'exchanging hellos';
    case 'prepared':
      return 'waiting for the data path';
    case 'established':
      return c.encrypted ? 'established, encrypted' : 'established';
    default:
      return c.state;
  }
}
