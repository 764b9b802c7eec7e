/**
 * A deterministic simulation of many weft routers: real MeshRouter cores
 * (through the real MeshDriver) on the in-memory network of network.ts,
 * under one virtual clock and one seeded PRNG. See index.ts for the API.
 */
import { ManualClock } from '../../common/clock.js';
import { type Logger, nullLogger } from '../../common/logger.js';
import { SeededRandom } from '../../common/random.js';
import type { MeshTuning } from '../../router/mesh/constants.js';
import { MeshDriver, type Scheduler } from '../../router/mesh/driver.js';
import type { Overlay } from '../../router/mesh/overlay-api.js';
import type { MeshReport } from '../../router/mesh/report.js';
import type { MeshRouter } from '../../router/mesh/router.js';
import { EventQueue, type SimEvent } from './event-queue.js';
import { type NetworkOptions, SimNetwork } from './network.js';

export interface SimulationOptions {
  seed?: number;
  /** One-way latency between hosts (default 1 ms). */
  latencyMs?: number;
  jitterMs?: number;
  dialTimeoutMs?: number;
  /** Mesh tuning for every peer (peers can override). */
  tuning?: Partial<MeshTuning>;
  logger?: Logger;
}

/** What a peer's setup hook gets, on every (re)start. */
export interface SimPeerContext {
  sim: Simulation;
  peer: SimPeer;
  router: MeshRouter;
  /** Survives crashes and restarts: a subsystem's persisted state. */
  storage: Map<string, unknown>;
}

export interface SimPeerOptions {
  /** Peer name (default: derived from the index, "02:00:00:00:xx:xx"). */
  name?: string;
  nickname?: string;
  /** Host address (default 198.18.x.y by index). */
  ip?: string;
  port?: number;
  /** Initial direct targets ("ip:port" or SimPeers). */
  targets?: (string | SimPeer)[];
  /** 32-byte PSK (use one derived once per test: Argon2id is slow). */
  psk?: Uint8Array | null;
  discovery?: boolean;
  connLimit?: number;
  tuning?: Partial<MeshTuning>;
  overlay?: () => Overlay;
  /** Register gossip channels etc.; runs on every start, before the router starts. */
  setup?: (ctx: SimPeerContext) => void;
  /** Start at once (default true). */
  start?: boolean;
}

export class SimPeer {
  readonly name: string;
  readonly nickname: string;
  readonly ip: string;
  readonly port: number;
  /** Persisted across restarts, as the daemon's data dir would be. */
  readonly storage = new Map<string, unknown>();
  persistedTargets: string[];
  driver: MeshDriver | null = null;
  /** Times this peer was started. */
  incarnations = 0;

  constructor(
    readonly index: number,
    readonly opts: SimPeerOptions,
    name: string,
    ip: string,
    targets: string[],
  ) {
    this.name = name;
    this.nickname = opts.nickname ?? `host${index}`;
    this.ip = ip;
    this.port = opts.port ?? 6783;
    this.persistedTargets = targets;
  }

  get address(): string {
    return `${this.ip}:${this.port}`;
  }

  get running(): boolean {
    return this.driver !== null;
  }

  get router(): MeshRouter {
    if (!this.driver) throw new Error(`sim: peer ${this.nickname} is not running`);
    return this.driver.router;
  }

  report(): MeshReport {
    return this.router.report();
  }
}

function nameFor(i: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `02:00:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`;
}

function ipFor(i: number): string {
  // 198.18.0.0/15: 131072 addresses; skip .0 of each /24.
  const k = i - 1;
  const n = Math.floor(k / 254) * 256 + (k % 254) + 1;
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export class Simulation {
  readonly clock = new ManualClock(0);
  readonly queue = new EventQueue();
  readonly random: SeededRandom;
  readonly network: SimNetwork;
  readonly peers: SimPeer[] = [];
  private readonly opts: SimulationOptions;
  private settled = false;

  constructor(opts: SimulationOptions = {}) {
    this.opts = opts;
    this.random = new SeededRandom(opts.seed ?? 1);
    const netOpts: NetworkOptions = {
      latencyMs: opts.latencyMs ?? 1,
      jitterMs: opts.jitterMs ?? 0,
      dialTimeoutMs: opts.dialTimeoutMs ?? 10_000,
    };
    this.network = new SimNetwork(this.clock, this.queue, this.random.fork(), netOpts, () => {
      this.settled = true;
    });
  }

  get now(): number {
    return this.clock.now();
  }

  private scheduler(): Scheduler {
    return {
      setTimeout: (fn, ms) => this.queue.push(this.clock.now() + Math.max(0, ms), fn),
      clearTimeout: (h) => {
        (h as SimEvent).cancelled = true;
      },
    };
  }

  /** Add a host running a router (started unless `start: false`). */
  addPeer(opts: SimPeerOptions = {}): SimPeer {
    const index = this.peers.length + 1;
    const targets = (opts.targets ?? []).map((t) => (typeof t === 'string' ? t : t.address));
    const peer = new SimPeer(index, opts, opts.name ?? nameFor(index), opts.ip ?? ipFor(index), targets);
    this.network.addHost(peer.ip);
    this.peers.push(peer);
    if (opts.start !== false) this.start(peer);
    return peer;
  }

  /** Start (or restart) a peer: a new process with a new UID, same name, persisted targets and storage. */
  start(peer: SimPeer): void {
    if (peer.driver) throw new Error(`sim: ${peer.nickname} is already running`);
    this.network.revive(peer.ip);
    peer.incarnations++;
    const driver = new MeshDriver({
      name: peer.name,
      nickname: peer.nickname,
      listenPort: peer.port,
      psk: peer.opts.psk ?? null,
      clock: this.clock,
      random: this.random.fork(),
      logger: (this.opts.logger ?? nullLogger).child({ host: peer.nickname }),
      ...(peer.opts.overlay ? { overlay: peer.opts.overlay() } : {}),
      discovery: peer.opts.discovery ?? true,
      ...(peer.opts.connLimit !== undefined ? { connLimit: peer.opts.connLimit } : {}),
      targets: peer.persistedTargets,
      tuning: { ...this.opts.tuning, ...peer.opts.tuning },
      transport: this.network.transport(peer.ip),
      scheduler: this.scheduler(),
      onPersistTargets: (a) => {
        peer.persistedTargets = a;
      },
    });
    peer.driver = driver;
    peer.opts.setup?.({ sim: this, peer, router: driver.router, storage: peer.storage });
    // The simulated listener binds synchronously (its promise is already resolved).
    void driver.listen(peer.address);
    driver.start();
  }

  /** Kill a peer's process: peers see its connections reset (or nothing at all, with `silent`). */
  crash(peer: SimPeer, opts: { silent?: boolean } = {}): void {
    if (!peer.driver) return;
    peer.driver.kill();
    peer.driver = null;
    this.network.crash(peer.ip, opts);
  }

  /** Stop a peer cleanly (it tells its peers). */
  async stop(peer: SimPeer): Promise<void> {
    if (!peer.driver) return;
    const d = peer.driver;
    peer.driver = null;
    await d.stop();
  }

  restart(peer: SimPeer): void {
    this.crash(peer);
    this.start(peer);
  }

  /** Split the hosts into groups that cannot reach each other. */
  partition(...groups: SimPeer[][]): void {
    this.network.partition(groups.map((g) => g.map((p) => p.ip)));
  }

  heal(): void {
    this.network.heal();
  }

  /** Reset the connections between two peers (or all of one peer's, or all). */
  resetConnections(a?: SimPeer, b?: SimPeer): number {
    return this.network.reset((e) => {
      if (!a) return true;
      const remote = e.remoteAddress.slice(0, e.remoteAddress.lastIndexOf(':'));
      return e.host === a.ip && (!b || remote === b.ip);
    });
  }

  /** For the next `forMs`, reset a random connection every ~`meanMs` (simulated loss). */
  lossy(meanMs: number, forMs: number): void {
    this.network.randomResets(meanMs, this.clock.now() + forMs);
  }

  running(): SimPeer[] {
    return this.peers.filter((p) => p.running);
  }

  // ---- running ----

  /** Run one event; false if nothing is scheduled. */
  private async step(until: number): Promise<boolean> {
    const e = this.queue.peek();
    if (!e || e.at > until) return false;
    this.queue.pop();
    if (e.at > this.clock.now()) this.clock.set(e.at);
    this.queue.executed++;
    e.fn();
    if (this.settled) {
      // A dial promise settled: let its continuations (in the driver) run before the next event.
      this.settled = false;
      await new Promise<void>((r) => setImmediate(r));
    }
    return true;
  }

  /** Advance virtual time by `ms`, running everything due. */
  async runFor(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (await this.step(end)) {}
    this.clock.set(end);
  }

  /**
   * Run until `done()` holds (checked every `checkEveryMs` of virtual time) or
   * `maxMs` passes. Returns whether it held; the clock stops at the first check
   * that saw it.
   */
  async runUntil(
    done: () => boolean,
    opts: { maxMs?: number; checkEveryMs?: number } = {},
  ): Promise<boolean> {
    const end = this.clock.now() + (opts.maxMs ?? 60_000);
    const every = opts.checkEveryMs ?? 10;
    for (;;) {
      if (done()) return true;
      if (this.clock.now() >= end) return false;
      await this.runFor(Math.min(every, end - this.clock.now()));
    }
  }

  /** Every running peer (or every peer of `group`) agrees on the topology and knows exactly the group. */
  agreed(group: SimPeer[] = this.running()): boolean {
    if (group.length === 0) return true;
    const d = group[0]!.router.topologyDigest();
    if (!d.startsWith(`${group.length}:`)) return false;
    return group.every((p) => p.router.topologyDigest() === d);
  }

  async runUntilConverged(opts: { maxMs?: number; group?: SimPeer[] } = {}): Promise<boolean> {
    return this.runUntil(() => this.agreed(opts.group), { maxMs: opts.maxMs ?? 120_000 });
  }

  /**
   * Run until nothing is in flight: no bytes on the wire, no dial pending and
   * no router with work queued (batched gossip, pending settle). Periodic
   * timers (heartbeats, gossip rounds, back-off) do not count.
   */
  async runUntilQuiescent(opts: { maxMs?: number } = {}): Promise<boolean> {
    return this.runUntil(() => this.network.idle && this.running().every((p) => p.router.idle), {
      maxMs: opts.maxMs ?? 120_000,
      checkEveryMs: 1,
    });
  }

  /** Bytes each host has written so far. */
  bytesSent(peer: SimPeer): number {
    return this.network.bytesSent.get(peer.ip) ?? 0;
  }
}
