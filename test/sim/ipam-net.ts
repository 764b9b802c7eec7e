/**
 * A deterministic network of IPAM cores for simulation tests: virtual time,
 * seeded randomness, message latency, partitions and heals, crashes (all
 * in-memory state lost, the persisted "disk" kept) and restarts, rmpeer and
 * reset — plus a ledger of every acknowledged allocation that detects a
 * duplicate the moment a second container is told it holds a taken address.
 *
 * Gossip semantics follow router/mesh/gossip-api.ts: `broadcast` reaches every
 * peer we can reach, `gossip` goes to a few random neighbours and whatever was
 * new to them spreads on, `unicast` reaches its destination if it is reachable
 * when the message arrives, and newly connected peers exchange full state. The
 * whole run is a function of the seed.
 *
 *   const net = new IpamNet({ seed, peers: ['a','b','c'], range, init: … });
 *   net.allocate('a', 'c1'); net.runFor(5_000);
 *   net.partition([['a'], ['b','c']]); net.crash('b'); net.restart('b'); net.heal();
 *   net.checkNoDuplicates(); net.checkConverged();
 */
import { ManualClock } from '../../common/clock.js';
import type { WeftError } from '../../common/errors.js';
import { type Cidr, cidrSize, formatIp } from '../../common/ip.js';
import { nullLogger, RecordingLogger } from '../../common/logger.js';
import { SeededRandom, shuffled } from '../../common/random.js';
import type { Result } from '../../common/result.js';
import { IpamCore, type Via } from '../../ipam/allocator.js';
import { applyPersistChange } from '../../ipam/memory-state.js';
import { ownerPeer } from '../../ipam/owner.js';
import { ownedSpans, type Ring } from '../../ipam/ring.js';
import { spansTotal } from '../../ipam/span.js';
import type { InitMode, IpamAnswer, IpamConfig, IpamEffect, PersistedIpam } from '../../ipam/types.js';
import { EventQueue, type SimEvent } from './event-queue.js';

export interface IpamNetOptions {
  seed: number;
  peers: readonly string[];
  range: Cidr;
  init: InitMode | ((peer: string) => InitMode);
  /** One-way message delay is uniform in [min, max] ms. */
  latencyMs?: [number, number];
  /** Neighbours each gossip message goes to. */
  gossipFanout?: number;
  /** Full-state gossip to a random neighbour this often (the mesh's periodic gossip). */
  gossipIntervalMs?: number;
  core?: Partial<IpamConfig>;
  /** Keep log records (slower); off by default. */
  recordLogs?: boolean;
  /** Called with a line for every ring a peer persists (for debugging a failing seed). */
  trace?: (line: string) => void;
}

interface SimPeer {
  name: string;
  config: IpamConfig;
  disk: PersistedIpam | null;
  core: IpamCore | null;
  wake: SimEvent | null;
  /** Bumped on every crash so that stale timers and replies are ignored. */
  epoch: number;
  gone: boolean;
}

export interface LedgerEntry {
  peer: string;
  /** The incarnation that acknowledged it (a peer that lost its disk is another owner). */
  owner: string;
  containerId: string;
  addr: number;
}

type OpKind = 'allocate' | 'claim' | 'release' | 'rmpeer' | 'reset' | 'abandon';

export interface OpRecord {
  op: number;
  peer: string;
  kind: OpKind;
  containerId?: string;
  result?: Result<IpamAnswer, WeftError>;
}

export class DuplicateAllocation extends Error {}

/** One line per ring: "offset:owner@version" per entry, then the dead owners. */
export function describeRing(r: Ring): string {
  const e = r.entries.map((x) => `${x.token - r.start}:${x.owner}@${x.version}`).join(' ');
  return `${e}${r.dead.length ? ` dead=${r.dead.join(',')}` : ''}${r.left.length ? ` left=${r.left.join(',')}` : ''}`;
}

export class IpamNet {
  readonly clock = new ManualClock(0);
  readonly rng: SeededRandom;
  readonly logger: RecordingLogger | typeof nullLogger;
  private readonly agenda = new EventQueue();
  readonly peers = new Map<string, SimPeer>();
  private groups = new Map<string, number>();
  /** addr → holder, for every acknowledged and unreleased allocation. */
  readonly ledger = new Map<number, LedgerEntry>();
  readonly ops = new Map<number, OpRecord>();
  private nextOp = 1;
  messages = 0;
  bytes = 0;
  private readonly latency: [number, number];
  private readonly fanout: number;

  constructor(readonly opts: IpamNetOptions) {
    this.rng = new SeededRandom(opts.seed);
    this.logger = opts.recordLogs ? new RecordingLogger() : nullLogger;
    this.latency = opts.latencyMs ?? [1, 30];
    this.fanout = opts.gossipFanout ?? 2;
    for (const name of opts.peers) this.addPeer(name);
    for (const p of this.peers.values()) this.boot(p);
    this.updateReachability();
    this.schedulePeriodicGossip();
  }

  now(): number {
    return this.clock.now();
  }

  addPeer(name: string, init?: InitMode): void {
    const mode = init ?? (typeof this.opts.init === 'function' ? this.opts.init(name) : this.opts.init);
    const config: IpamConfig = { ...this.opts.core, peer: name, range: this.opts.range, init: mode };
    this.peers.set(name, { name, config, disk: null, core: null, wake: null, epoch: 0, gone: false });
    this.groups.set(name, 0);
  }

  /** Start a peer added after construction. */
  join(name: string, init?: InitMode): void {
    this.addPeer(name, init);
    this.boot(this.peers.get(name)!);
    this.updateReachability();
  }

  private boot(p: SimPeer): void {
    const rnd = this.rng.fork();
    p.core = new IpamCore(
      p.config,
      { clock: this.clock, random: rnd, logger: this.logger.child({ peer: p.name }) },
      p.disk,
    );
    this.apply(p, p.core.start());
  }

  private alive(p: SimPeer | undefined): p is SimPeer & { core: IpamCore } {
    return !!p && !!p.core && !p.gone;
  }

  canTalk(a: string, b: string): boolean {
    const pa = this.peers.get(a);
    const pb = this.peers.get(b);
    return this.alive(pa) && this.alive(pb) && this.groups.get(a) === this.groups.get(b);
  }

  reachableFrom(name: string): string[] {
    return [...this.peers.keys()].filter((o) => o !== name && this.canTalk(name, o));
  }

  // -------------------------------------------------------------------------
  // Effects and message delivery

  private apply(p: SimPeer, effects: IpamEffect[]): void {
    const epoch = p.epoch;
    for (const e of effects) {
      switch (e.kind) {
        case 'persist':
          p.disk = applyPersistChange(p.disk, e.change);
          if (this.opts.trace && e.change.ring) {
            this.opts.trace(`t=${this.now()} ${p.name} ring ${describeRing(e.change.ring)}`);
          }
          if (this.opts.trace && (e.change.allocations || e.change.owner)) {
            const ops = (e.change.allocations ?? []).map((o) =>
              'clear' in o
                ? 'clear'
                : 'put' in o
                  ? `+${o.put.addr - this.opts.range.addr}`
                  : `-${o.del - this.opts.range.addr}`,
            );
            this.opts.trace(`t=${this.now()} ${p.name} disk owner=${p.disk.owner} ${ops.join(' ')}`);
          }
          break;
        case 'reply':
          this.onReply(p, e.op, e.result);
          break;
        case 'wake':
          if (p.wake) p.wake.cancelled = true;
          p.wake =
            e.at === null
              ? null
              : this.agenda.push(Math.max(e.at, this.now()), () => {
                  if (p.epoch !== epoch || !this.alive(p)) return;
                  p.wake = null;
                  this.apply(p, p.core.tick());
                });
          break;
        case 'broadcast':
          for (const o of this.reachableFrom(p.name)) this.send(p.name, o, e.msg, 'broadcast');
          break;
        case 'gossip':
          this.gossipOn(p.name, e.msg);
          break;
        case 'unicast':
          this.send(p.name, e.to, e.msg, 'unicast');
          break;
      }
    }
  }

  private gossipOn(from: string, msg: Uint8Array): void {
    for (const o of shuffled(this.reachableFrom(from), this.rng).slice(0, this.fanout)) {
      this.send(from, o, msg, 'gossip');
    }
  }

  private send(from: string, to: string, msg: Uint8Array, via: Via): void {
    if (!this.canTalk(from, to)) return;
    this.messages++;
    this.bytes += msg.length;
    const [lo, hi] = this.latency;
    const at = this.now() + lo + this.rng.int(hi - lo + 1);
    this.agenda.push(at, () => {
      const p = this.peers.get(to);
      // A message in flight is lost if the receiver crashed or a partition came
      // between them meanwhile (what a sender wrote before it died still arrives).
      if (!this.alive(p) || this.groups.get(from) !== this.groups.get(to)) return;
      const { effects, relay } = p.core.receive(msg, via, via === 'gossip' ? null : from);
      this.apply(p, effects);
      if (relay && via === 'gossip') this.gossipOn(to, relay);
    });
  }

  private schedulePeriodicGossip(): void {
    const interval = this.opts.gossipIntervalMs ?? 5_000;
    const round = () => {
      for (const p of this.peers.values()) {
        if (!this.alive(p)) continue;
        const msg = p.core.gossip();
        if (!msg) continue;
        const [o] = shuffled(this.reachableFrom(p.name), this.rng);
        if (o) this.send(p.name, o, msg, 'gossip');
      }
      this.agenda.push(this.now() + interval, round);
    };
    this.agenda.push(this.now() + interval, round);
  }

  /** Tell every live core whom it can reach; newly connected pairs exchange full state. */
  private updateReachability(before?: Map<string, Set<string>>): void {
    for (const p of this.peers.values()) {
      if (!this.alive(p)) continue;
      const now = this.reachableFrom(p.name);
      this.apply(p, p.core.setReachable(now));
      const msg = p.core.gossip();
      if (!msg) continue;
      for (const o of now) if (!before?.get(p.name)?.has(o)) this.send(p.name, o, msg, 'gossip');
    }
  }

  private snapshotReachability(): Map<string, Set<string>> {
    return new Map([...this.peers.keys()].map((n) => [n, new Set(this.reachableFrom(n))]));
  }

  // -------------------------------------------------------------------------
  // Operations

  private onReply(p: SimPeer, op: number, result: Result<IpamAnswer, WeftError>): void {
    const rec = this.ops.get(op);
    if (!rec) return;
    rec.result = result;
    if (!result.ok) return;
    const v = result.value;
    if (v.kind === 'address') {
      const owner = p.core!.owner();
      const held = this.ledger.get(v.addr);
      if (held && (held.owner !== owner || held.containerId !== v.containerId)) {
        throw new DuplicateAllocation(
          `seed ${this.opts.seed}: ${formatIp(v.addr)} given to ${p.name}/${v.containerId} ` +
            `while ${held.peer}/${held.containerId} holds it (t=${this.now()})`,
        );
      }
      this.ledger.set(v.addr, { peer: p.name, owner, containerId: v.containerId, addr: v.addr });
    } else if (v.kind === 'released') {
      for (const a of v.addresses) {
        const held = this.ledger.get(a);
        if (held?.owner === p.core!.owner()) this.ledger.delete(a);
      }
    }
  }

  private run(
    peer: string,
    kind: OpKind,
    call: (core: IpamCore, op: number) => IpamEffect[],
    containerId?: string,
  ): OpRecord {
    const op = this.nextOp++;
    const rec: OpRecord = { op, peer, kind, ...(containerId ? { containerId } : {}) };
    this.ops.set(op, rec);
    const p = this.peers.get(peer);
    if (this.alive(p)) this.apply(p, call(p.core, op));
    return rec;
  }

  allocate(peer: string, containerId: string, subnet?: Cidr): OpRecord {
    return this.run(peer, 'allocate', (c, op) => c.allocate(op, containerId, subnet), containerId);
  }

  claim(peer: string, containerId: string, addr: number, prefix: number): OpRecord {
    return this.run(peer, 'claim', (c, op) => c.claim(op, containerId, addr, prefix), containerId);
  }

  release(peer: string, containerId: string, addr?: number): OpRecord {
    return this.run(peer, 'release', (c, op) => c.release(op, containerId, addr), containerId);
  }

  /**
   * rmpeer `targets` from `by`. The operator asserts they are gone for good:
   * their containers are gone too, so they leave the ledger (first: the heirs
   * may hand the space out at once; back again if rmpeer is refused).
   */
  rmpeer(by: string, targets: string | readonly string[], opts: { force?: boolean } = {}): OpRecord {
    const list = typeof targets === 'string' ? [targets] : targets;
    const forgotten = list.flatMap((t) => (this.alive(this.peers.get(t)) ? [] : this.forgetLedger(t)));
    const rec = this.run(by, 'rmpeer', (c, op) => c.rmpeer(op, list, opts));
    if (!rec.result?.ok) for (const e of forgotten) this.ledger.set(e.addr, e);
    return rec;
  }

  /** `peer` hands its space over and leaves for good (its containers are gone). */
  reset(peer: string): OpRecord {
    const rec = this.run(peer, 'reset', (c, op) => c.reset(op));
    if (rec.result?.ok) {
      this.forgetLedger(peer);
      const before = this.snapshotReachability();
      const p = this.peers.get(peer)!;
      p.gone = true;
      if (p.wake) p.wake.cancelled = true;
      this.updateReachability(before);
    }
    return rec;
  }

  /** `peer` gives up its ring (its containers restart: they leave the ledger). */
  abandonRing(peer: string): OpRecord {
    this.forgetLedger(peer);
    return this.run(peer, 'abandon', (c, op) => c.abandonRing(op));
  }

  private forgetLedger(peer: string): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    for (const [a, e] of this.ledger) {
      if (e.peer !== peer) continue;
      this.ledger.delete(a);
      out.push(e);
    }
    return out;
  }

  /** Lose all in-memory state of `peer` (kill -9). Its disk survives. */
  crash(peer: string): void {
    const p = this.peers.get(peer)!;
    if (!p.core) return;
    const before = this.snapshotReachability();
    p.core = null;
    p.epoch++;
    if (p.wake) p.wake.cancelled = true;
    p.wake = null;
    this.updateReachability(before);
  }

  /** Start `peer` again from its disk; every allocation it acknowledged must still be there. */
  restart(peer: string, opts: { loseDisk?: boolean } = {}): void {
    const p = this.peers.get(peer)!;
    if (p.core || p.gone) return;
    if (opts.loseDisk) p.disk = null;
    const hadDisk = p.disk !== null;
    const before = this.snapshotReachability();
    this.boot(p);
    this.updateReachability(before);
    // With a disk, every acknowledged allocation must be back. (Without one — lost, or never
    // written because a fresh seed peer crashed before meeting anyone — the peer starts fresh.)
    if (hadDisk) this.checkNothingLost(peer);
  }

  partition(groups: readonly (readonly string[])[]): void {
    const before = this.snapshotReachability();
    groups.forEach((g, i) => {
      for (const n of g) this.groups.set(n, i + 1);
    });
    this.updateReachability(before);
  }

  heal(): void {
    const before = this.snapshotReachability();
    for (const n of this.groups.keys()) this.groups.set(n, 0);
    this.updateReachability(before);
  }

  // -------------------------------------------------------------------------
  // Time

  runFor(ms: number): void {
    this.runUntil(this.now() + ms);
  }

  runUntil(t: number): void {
    for (;;) {
      const e = this.agenda.peek();
      if (!e || e.at > t) break;
      this.agenda.pop();
      if (e.at > this.now()) this.clock.set(e.at);
      e.fn();
    }
    if (t > this.now()) this.clock.set(t);
  }

  // -------------------------------------------------------------------------
  // Inspection and checks

  core(peer: string): IpamCore {
    const p = this.peers.get(peer);
    if (!this.alive(p)) throw new Error(`${peer} is not running`);
    return p.core;
  }

  livePeers(): string[] {
    return [...this.peers.values()].filter((p) => this.alive(p)).map((p) => p.name);
  }

  disk(peer: string): PersistedIpam | null {
    return this.peers.get(peer)!.disk;
  }

  /** A restarted peer still holds every allocation it acknowledged (unless it was removed meanwhile). */
  checkNothingLost(peer: string): void {
    const core = this.core(peer);
    const mine = new Set(core.allocations().map((a) => `${a.addr}|${a.containerId}`));
    for (const e of this.ledger.values()) {
      if (e.owner === core.owner() && !mine.has(`${e.addr}|${e.containerId}`)) {
        throw new Error(
          `seed ${this.opts.seed}: ${peer} lost acknowledged ${formatIp(e.addr)} (${e.containerId}) on restart`,
        );
      }
    }
  }

  /** Every address in the ledger is held once, by the peer whose ring says it owns it. */
  checkNoDuplicates(): void {
    const seen = new Map<number, string>();
    for (const name of this.livePeers()) {
      for (const a of this.core(name).allocations()) {
        const other = seen.get(a.addr);
        if (other)
          throw new DuplicateAllocation(
            `seed ${this.opts.seed}: ${formatIp(a.addr)} held by ${other} and ${name}`,
          );
        seen.set(a.addr, name);
      }
    }
  }

  /**
   * After healing and quiescence: all live peers hold the same ring, its
   * entries cover the range exactly (tokens from the start, in order, each
   * up to the next), every live peer's allocations lie in space it owns,
   * and no live peer reports a ring conflict.
   */
  checkConverged(): Ring | null {
    const live = this.livePeers();
    const rings = live.map((n) => this.core(n).currentRing());
    // Every peer that held a ring is gone (and the rest cannot reach their
    // quorum): nothing to converge on; they must all say they are waiting.
    if (rings.every((r) => r === null)) {
      for (const n of live) {
        const st = this.core(n).status().state;
        if (st !== 'awaiting-consensus' && st !== 'awaiting-ring')
          throw new Error(`seed ${this.opts.seed}: ${n} is ${st}`);
      }
      return null;
    }
    const first = rings[0];
    if (!first) throw new Error(`seed ${this.opts.seed}: ${live[0]} has no ring`);
    for (let i = 1; i < rings.length; i++) {
      if (JSON.stringify(rings[i]) !== JSON.stringify(first)) {
        throw new Error(`seed ${this.opts.seed}: ${live[i]} and ${live[0]} hold different rings`);
      }
    }
    const size = cidrSize(this.opts.range);
    const owners = [...new Set(first.entries.map((e) => e.owner))];
    const covered = owners.reduce((n, o) => n + spansTotal(ownedSpans(first, o)), 0);
    if (first.entries[0]!.token !== this.opts.range.addr || covered !== size) {
      throw new Error(`seed ${this.opts.seed}: ring covers ${covered} of ${size} addresses`);
    }
    for (const n of live) {
      const c = this.core(n);
      const spans = ownedSpans(first, c.owner());
      for (const a of c.allocations()) {
        if (!spans.some((s) => a.addr >= s.start && a.addr < s.end)) {
          throw new Error(`seed ${this.opts.seed}: ${n} holds ${formatIp(a.addr)} outside its space`);
        }
      }
      const conflicts = c.status().conflicts;
      if (conflicts.length > 0) {
        throw new Error(`seed ${this.opts.seed}: ${n} saw ring conflicts: ${JSON.stringify(conflicts)}`);
      }
    }
    return first;
  }

  ownerPeerOf(owner: string): string {
    return ownerPeer(owner);
  }
}
