/**
 * The IPAM core (ipam/allocator.ts) running inside the router: a thin shell
 * that feeds it mesh gossip, reachability changes, timers and API calls, and
 * performs its effects in order — persist (IpamStore, durable on return),
 * then messages (the mesh's "ipam" channel), replies (promises), the next
 * timer. No decision is taken here.
 *
 * API calls that arrive in the same turn of the event loop are run together
 * and their writes committed in one transaction before any of them is
 * answered (group commit): throughput without weakening "durable before
 * acknowledged".
 *
 *   const ipam = new IpamService({ config, mesh, store, clock, random, logger });
 *   ipam.start();
 *   const a = await ipam.allocate('container-1');   // { address: '10.32.0.1/12', … }
 */
import type { Clock } from '../../common/clock.js';
import { WeftError } from '../../common/errors.js';
import { type Cidr, cidrNetwork, formatCidr, formatIp } from '../../common/ip.js';
import type { Logger } from '../../common/logger.js';
import type { Random } from '../../common/random.js';
import type { Result } from '../../common/result.js';
import type { Allocation } from '../../ipam/address-book.js';
import { IpamCore, type Via } from '../../ipam/allocator.js';
import type { IpamAnswer, IpamConfig, IpamEffect, IpamStatus, PersistChange } from '../../ipam/types.js';
import type { Gossiper, GossipRegistry, GossipSender, PeerName } from '../mesh/gossip-api.js';
import type { IpamStore } from '../store/ipam-store.js';
import { type RingView, ringView } from './ring-view.js';

/** What the service needs from the mesh; `MeshRouter` provides it. */
export interface IpamMesh extends GossipRegistry {
  /** `relayAlways`: broadcasts travel the whole tree even where they were not new (MeshRouter's option). */
  registerChannel(name: string, gossiper: Gossiper, opts?: { relayAlways?: boolean }): GossipSender;
  onPeersChanged(listener: (c: { added: PeerName[]; removed: PeerName[] }) => void): void;
  /** Reachable peers (ourselves included). */
  peers(): ReadonlyArray<{ readonly name: PeerName }>;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface IpamServiceOptions {
  config: IpamConfig;
  mesh: IpamMesh;
  store: IpamStore;
  clock: Clock;
  random: Random;
  logger: Logger;
  timers?: Timers;
  /** Called once if the store fails: the service stops answering; the daemon should exit. */
  onFatal?: (err: unknown) => void;
  /** Runs the next group commit (default setImmediate: after the I/O of this event-loop turn). */
  defer?: (fn: () => void) => void;
}

/** An address as the API and the CNI plugin want it. */
export interface IpamAddress {
  containerId: string;
  /** "10.32.0.5/12": the address with the prefix of its subnet. */
  address: string;
  ip: string;
  prefix: number;
  /** The subnet it came from ("10.32.0.0/12") and the whole allocation range. */
  subnet: string;
  range: string;
}

export const IPAM_CHANNEL = 'ipam';

interface Waiter {
  resolve(v: IpamAnswer): void;
  reject(e: unknown): void;
}

export class IpamService {
  private readonly core: IpamCore;
  private sender: GossipSender | null = null;
  private readonly waiters = new Map<number, Waiter>();
  private nextOp = 1;
  private timer: unknown = null;
  private readonly timers: Timers;
  private readonly queue: Array<() => IpamEffect[]> = [];
  private flushScheduled = false;
  private failed: unknown = null;
  private stopped = false;
  private ringWaiters: Array<() => void> = [];
  private readonly log: Logger;

  constructor(private readonly opts: IpamServiceOptions) {
    this.timers = opts.timers ?? nodeTimers;
    this.log = opts.logger;
    this.core = new IpamCore(
      opts.config,
      { clock: opts.clock, random: opts.random, logger: opts.logger },
      opts.store.load(),
    );
  }

  /** Join the mesh's "ipam" channel, learn who is reachable, announce ourselves. */
  start(): void {
    const core = this.core;
    this.sender = this.opts.mesh.registerChannel(
      IPAM_CHANNEL,
      {
        onGossipUnicast: (src, msg) => this.receive(msg, 'unicast', src),
        onGossipBroadcast: (src, update) => this.receive(update, 'broadcast', src),
        gossip: () => (this.failed ? null : core.gossip()),
        onGossip: (update) => this.receive(update, 'gossip', null),
      },
      { relayAlways: true },
    );
    this.exec(core.start());
    this.opts.mesh.onPeersChanged(() => this.peersChanged());
    this.peersChanged();
  }

  private peersChanged(): void {
    if (this.failed || this.stopped) return;
    const own = this.opts.config.peer;
    const names = this.opts.mesh
      .peers()
      .map((p) => p.name)
      .filter((n) => n !== own);
    this.exec(this.core.setReachable(names));
  }

  private receive(bytes: Uint8Array, via: Via, src: PeerName | null): Uint8Array | null {
    if (this.failed || this.stopped) return null;
    const { effects, relay } = this.core.receive(bytes, via, src);
    this.exec(effects);
    return this.failed ? null : relay;
  }

  // -------------------------------------------------------------------------
  // Effects

  private exec(effects: IpamEffect[]): void {
    const persists = effects.filter(
      (e): e is { kind: 'persist'; change: PersistChange } => e.kind === 'persist',
    );
    try {
      this.opts.store.applyAll(persists.map((p) => p.change));
    } catch (e) {
      this.fatal(e);
      return;
    }
    for (const e of effects) {
      switch (e.kind) {
        case 'persist':
          break;
        case 'broadcast':
          this.sender?.broadcast(e.msg);
          break;
        case 'gossip':
          this.sender?.gossipNeighbourSubset(e.msg);
          break;
        case 'unicast':
          this.sender?.unicast(e.to, e.msg);
          break;
        case 'reply':
          this.settle(e.op, e.result);
          break;
        case 'wake':
          this.arm(e.at);
          break;
      }
    }
    if (this.ringWaiters.length > 0 && this.core.currentRing()) {
      for (const w of this.ringWaiters.splice(0)) w();
    }
  }

  private settle(op: number, result: Result<IpamAnswer, WeftError>): void {
    const w = this.waiters.get(op);
    if (!w) return;
    this.waiters.delete(op);
    if (result.ok) w.resolve(result.value);
    else w.reject(result.error);
  }

  private arm(at: number | null): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    if (at === null || this.stopped) return;
    const delay = Math.max(0, at - this.opts.clock.now());
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (!this.failed && !this.stopped) this.exec(this.core.tick());
    }, delay);
  }

  private fatal(e: unknown): void {
    if (this.failed) return;
    this.failed = e;
    this.log.error(
      { err: e instanceof Error ? e.message : String(e) },
      'ipam: persisting state failed; IPAM stops',
    );
    const err = new WeftError('INTERNAL', 'IPAM storage failed');
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
    this.arm(null);
    this.opts.onFatal?.(e);
  }

  /** Run an operation of the core in the next group commit; resolves with its answer. */
  private call(run: (core: IpamCore, op: number) => IpamEffect[]): Promise<IpamAnswer> {
    if (this.failed) return Promise.reject(new WeftError('INTERNAL', 'IPAM storage failed'));
    if (this.stopped) return Promise.reject(new WeftError('SHUTTING_DOWN'));
    const op = this.nextOp++;
    const p = new Promise<IpamAnswer>((resolve, reject) => this.waiters.set(op, { resolve, reject }));
    this.queue.push(() => run(this.core, op));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      (this.opts.defer ?? setImmediate)(() => this.flush());
    }
    return p;
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue.splice(0);
    // Their callers were already told SHUTTING_DOWN: do not act on them.
    if (batch.length === 0 || this.failed || this.stopped) return;
    this.exec(batch.flatMap((run) => run()));
  }

  // -------------------------------------------------------------------------
  // API

  private toAddress(a: { containerId: string; addr: number; prefix: number }): IpamAddress {
    const subnet = { addr: cidrNetwork({ addr: a.addr, prefix: a.prefix }), prefix: a.prefix };
    return {
      containerId: a.containerId,
      address: `${formatIp(a.addr)}/${a.prefix}`,
      ip: formatIp(a.addr),
      prefix: a.prefix,
      subnet: formatCidr(subnet),
      range: formatCidr(this.opts.config.range),
    };
  }

  private address(v: IpamAnswer): IpamAddress {
    if (v.kind !== 'address') throw new WeftError('INTERNAL', `unexpected answer ${v.kind}`);
    return this.toAddress(v);
  }

  /** An address for `containerId` in `subnet` (default subnet when omitted); the same one again on repeats. */
  async allocate(containerId: string, subnet?: Cidr): Promise<IpamAddress> {
    return this.address(await this.call((c, op) => c.allocate(op, containerId, subnet)));
  }

  /** Claim `ip`/`prefix` for `containerId` (idempotent; ADDRESS_IN_USE if another container has it). */
  async claim(containerId: string, ip: number, prefix: number): Promise<IpamAddress> {
    return this.address(await this.call((c, op) => c.claim(op, containerId, ip, prefix)));
  }

  /** Release `containerId`'s addresses (or just `ip`); succeeds when there is nothing to release. */
  async release(containerId: string, ip?: number): Promise<{ released: string[] }> {
    const v = await this.call((c, op) => c.release(op, containerId, ip));
    if (v.kind !== 'released') throw new WeftError('INTERNAL', `unexpected answer ${v.kind}`);
    return { released: v.addresses.map(formatIp) };
  }

  lookup(containerId: string): IpamAddress[] {
    return this.core.lookup(containerId).map((a: Allocation) => this.toAddress(a));
  }

  /** Every allocation of this peer. */
  all(): IpamAddress[] {
    return this.core.allocations().map((a) => this.toAddress(a));
  }

  /** Take over the space of peers that are gone for good (see IpamCore.rmpeer for when it is refused). */
  async rmpeer(
    peers: string | readonly string[],
    opts: { force?: boolean } = {},
  ): Promise<{ owners: string[]; addresses: number }> {
    const list = typeof peers === 'string' ? [peers] : peers;
    const v = await this.call((c, op) => c.rmpeer(op, list, opts));
    if (v.kind !== 'removed') throw new WeftError('INTERNAL', `unexpected answer ${v.kind}`);
    return { owners: v.owners, addresses: v.addresses };
  }

  /** Hand all our space to live peers and stop allocating (before this router goes away for good). */
  async reset(): Promise<{ heirs: string[]; addresses: number }> {
    const v = await this.call((c, op) => c.reset(op));
    if (v.kind !== 'left') throw new WeftError('INTERNAL', `unexpected answer ${v.kind}`);
    return { heirs: v.heirs, addresses: v.addresses };
  }

  /** Give up our ring and allocations (ring-conflict way out; see IpamCore.abandonRing). */
  async abandonRing(): Promise<{ ringId: string | null; allocations: number }> {
    const v = await this.call((c, op) => c.abandonRing(op));
    if (v.kind !== 'abandoned') throw new WeftError('INTERNAL', `unexpected answer ${v.kind}`);
    return { ringId: v.ringId, allocations: v.allocations };
  }

  status(): IpamStatus {
    return this.core.status();
  }

  ring(): RingView {
    return ringView(this.core.currentRing(), this.core.status());
  }

  /** Resolves with the ring once there is one (at once if there is), or after `timeoutMs` with what there is. */
  waitForRing(timeoutMs: number): Promise<RingView> {
    if (this.core.currentRing() || timeoutMs <= 0) return Promise.resolve(this.ring());
    return new Promise((resolve) => {
      const done = () => {
        this.timers.clearTimeout(t);
        this.ringWaiters = this.ringWaiters.filter((w) => w !== done);
        resolve(this.ring());
      };
      const t = this.timers.setTimeout(done, timeoutMs);
      this.ringWaiters.push(done);
    });
  }

  /** Stop answering: pending operations fail with SHUTTING_DOWN. Nothing is lost: all acknowledged state is on disk. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.arm(null);
    const err = new WeftError('SHUTTING_DOWN');
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
    for (const w of this.ringWaiters.splice(0)) w();
  }
}
