/**
 * The IPAM core: one peer's view of the ring, its allocations, its pending
 * operations and its part in bootstrap consensus. Single-threaded and pure:
 * every input (an API operation, a message from the mesh, a timer, a change of
 * reachable peers) returns the effects to perform, in order — first one
 * `persist` (the shell makes it durable before anything else), then messages,
 * replies and the next `wake` time. The shell never decides anything.
 *
 * Why duplicates cannot happen:
 * - we allocate only from ranges our current ring says we own, and record the
 *   allocation durably before answering;
 * - ownership moves only by its owner's transfer (donation, claim grant, reset)
 *   — persisted before it is sent — or by rmpeer of an owner proven gone, with
 *   a deterministic heir so concurrent rmpeers agree;
 * - a merge that would take away space holding our allocations is refused;
 * - a peer that lost its data dir, or was removed while down, becomes a new
 *   incarnation that owns nothing, so it cannot reuse what it handed out before.
 */
import type { Clock } from '../common/clock.js';
import { WeftError } from '../common/errors.js';
import {
  type Cidr,
  cidrContains,
  cidrContainsCidr,
  cidrNetwork,
  cidrSize,
  formatCidr,
  formatIp,
} from '../common/ip.js';
import type { Logger } from '../common/logger.js';
import type { Random } from '../common/random.js';
import { err, ok, type Result } from '../common/result.js';
import { AddressBook, type Allocation } from './address-book.js';
import { decodeMessage, encodeMessage, type IpamMessage, IpamTag } from './codec.js';
import {
  type ClaimsMap,
  consensusSummary,
  decided,
  initialClaims,
  mergeClaims,
  type NodeClaims,
  propose,
  quorumFor,
  respond,
} from './consensus.js';
import { chooseDonor, type DonorChoice, donationSpan } from './donation.js';
import {
  isValidPeerName,
  newIncarnation,
  type OwnerId,
  ownerId,
  ownerPeer,
  SEED_INCARNATION,
} from './owner.js';
import {
  effectiveFree,
  entryEnd,
  entryIndexAt,
  hasLeft,
  initialRing,
  isDead,
  markDead,
  mergeRing,
  ownedSpans,
  ownerAt,
  type Ring,
  type RingEntry,
  type RingRejection,
  reassignOwner,
  rendezvousHeir,
  ringOwners,
  transferSpan,
  withFreeCounts,
} from './ring.js';
import { type Span, spansTotal } from './span.js';
import {
  type AllocationOp,
  IPAM_DEFAULTS,
  type IpamAnswer,
  type IpamConfig,
  type IpamEffect,
  type IpamState,
  type IpamStatus,
  type OwnerSummary,
  type PersistChange,
  type PersistedIpam,
  type RingConflict,
} from './types.js';

export interface IpamDeps {
  clock: Clock;
  random: Random;
  logger: Logger;
}

/** Where a message came from: gossip has no known sender, broadcast and unicast do. */
export type Via = 'gossip' | 'broadcast' | 'unicast';

/** How many proposal delays a bootstrap waits for all initial peers before settling for a quorum. */
const WAIT_FOR_ALL = 10;

/** Status lists a peer's ring conflict while it recurs, and for this long after. */
const CONFLICT_SHOWN_MS = 60_000;

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@=+-]{0,254}$/;

interface PendingOp {
  op: number;
  kind: 'allocate' | 'claim';
  containerId: string;
  subnet: Cidr;
  /** For claims. */
  addr?: number;
  deadline: number;
}

interface OutstandingRequest {
  reqId: number;
  to: OwnerId;
  until: number;
}

export class IpamCore {
  private readonly cfg: Required<Omit<IpamConfig, 'defaultSubnet'>> & { defaultSubnet: Cidr };
  private readonly rangeStart: number;
  private readonly rangeEnd: number;
  private readonly rangeReserved: number[];
  private self: OwnerId;
  private ring: Ring | null;
  private claims: Map<OwnerId, NodeClaims> | null = null;
  private readonly book: AddressBook;
  private mySpans: Span[] = [];
  private left: boolean;
  private reachable = new Set<string>();
  private readonly pending = new Map<number, PendingOp>();
  private readonly spaceRequests = new Map<string, OutstandingRequest>();
  private readonly claimRequests = new Map<number, OutstandingRequest>();
  /** Donors that did not answer: skipped for a while, but their space may still come. */
  private readonly donorBackoff = new Map<OwnerId, number>();
  /** "owner|subnet" → until: donors that said they have nothing there. */
  private readonly donorRefused = new Map<string, number>();
  private readonly ringAnswered = new Map<string, number>();
  private readonly conflicts = new Map<string, RingConflict>();
  private decodeErrors = 0;
  private nextReqId = 1;
  private freeReportAt: number | null = null;
  private proposeAt: number | null = null;
  private proposalDeferred = false;
  private consensusSince = 0;
  /** Ring ids we gave up (DELETE /ring): never adopted again by this process. */
  private readonly abandoned = new Set<string>();
  private retryAt: number | null = null;
  private lastWake: number | null = null;
  private restoredReincarnate = false;
  private ownerOnDisk = false;
  /** Until this time (or until a peer's ring arrives) we do not allocate: see `startFenceMs`. */
  private fenceUntil: number | null = null;
  /** No allocation before this time (after taking over a ring nobody else was left to inherit). */
  private holdUntil: number | null = null;
  /** Our share of a freshly built seed ring, to recognise traces of a past life in peers' rings. */
  private seedShare: RingEntry[] | null = null;

  // Effects of the step in progress.
  private change: PersistChange | null = null;
  private fx: IpamEffect[] = [];

  constructor(
    config: IpamConfig,
    private readonly deps: IpamDeps,
    restored: PersistedIpam | null = null,
  ) {
    const range = config.range;
    if (cidrNetwork(range) !== range.addr) throw new WeftError('INVALID_CIDR', 'the range has host bits set');
    const defaultSubnet = config.defaultSubnet ?? range;
    if (!cidrContainsCidr(range, defaultSubnet)) {
      throw new WeftError(
        'OUT_OF_RANGE',
        `default subnet ${formatCidr(defaultSubnet)} is not inside ${formatCidr(range)}`,
      );
    }
    if (config.init.kind === 'consensus' && !(config.init.size >= 1)) {
      throw new WeftError('BAD_REQUEST', 'consensus needs at least one peer');
    }
    if (config.init.kind === 'seed' && config.init.peers.length === 0) {
      throw new WeftError('BAD_REQUEST', 'seed needs at least one peer name');
    }
    this.cfg = { ...IPAM_DEFAULTS, ...config, defaultSubnet };
    this.rangeStart = range.addr;
    this.rangeEnd = range.addr + cidrSize(range);
    this.rangeReserved = range.prefix > 30 ? [] : [this.rangeStart, this.rangeEnd - 1];

    // State from disk counts only if it is ours (same peer name) and for this range.
    const mine = restored && ownerPeer(restored.owner) === config.peer ? restored : null;
    if (mine?.ring && (mine.ring.start !== this.rangeStart || mine.ring.end !== this.rangeEnd)) {
      throw new WeftError(
        'RING_CONFLICT',
        `the data dir holds a ring for ${formatIp(mine.ring.start)}+${mine.ring.end - mine.ring.start} addresses, ` +
          `but the range is ${formatCidr(range)}: start with the old range, or reset this peer's IPAM state`,
      );
    }
    this.self = mine?.owner ?? this.freshOwner();
    this.ownerOnDisk = mine !== null;
    this.ring = mine?.ring ?? null;
    this.book = new AddressBook(mine?.allocations ?? []);
    this.left = mine?.left ?? false;
    if (this.ring && isDead(this.ring, this.self)) this.restoredReincarnate = true;
    if (this.left) this.restoredReincarnate = true;
    if (!this.ring && this.cfg.init.kind === 'consensus' && !this.restoredReincarnate) {
      this.claims = new Map([[this.self, mine?.claims ?? initialClaims(this.quorum)]]);
    }
    if (this.ring) this.mySpans = ownedSpans(this.ring, this.self);
    if (this.ring && !this.restoredReincarnate && this.hasOtherLiveOwners()) this.fence();
  }

  private hasOtherLiveOwners(): boolean {
    const ring = this.ring!;
    return ring.entries.some((e) => e.owner !== this.self && !isDead(ring, e.owner));
  }

  /**
   * Hold allocations until a peer's ring arrives. A restarted peer waits at
   * most `startFenceMs` (then trusts its own ring); a fresh seed peer waits
   * for as long as it takes, and persists nothing meanwhile, so that a crash
   * before contact leaves it fresh (and checked) again.
   */
  private fence(): void {
    this.fenceUntil = this.seedShare ? Number.POSITIVE_INFINITY : this.now() + this.cfg.startFenceMs;
  }

  /**
   * A peer's ring reached us: the start fence lifts. A fresh seed peer first
   * checks it for signs that its seed share was used before (a past life
   * whose data dir is gone): then the share is not ours to reuse.
   */
  private liftFence(incoming: Ring): void {
    if (this.fenceUntil === null) return;
    this.fenceUntil = null;
    const share = this.seedShare;
    this.seedShare = null;
    if (!share) return;
    this.persist({ owner: this.self });
    this.persistRing();
    // Pristine means: the peers' ring shows exactly our seed entries, unchanged,
    // and nothing else of ours (space inherited by a past life counts too).
    const theirs = incoming.entries.filter((x) => x.owner === this.self);
    const used =
      theirs.length !== share.length ||
      share.some((e) => {
        const x = incoming.entries[entryIndexAt(incoming, e.token)];
        return !x || x.token !== e.token || x.version > 0 || x.owner !== this.self;
      });
    const splits = incoming.entries.some(
      (x) => x.owner !== this.self && this.mySpans.some((s) => x.token > s.start && x.token < s.end),
    );
    if (used || splits) {
      const old = this.self;
      this.reincarnate('the seed space of this peer was in use before (lost data dir?)');
      this.ring = markDead(this.ring!, [old]);
      this.afterRingChange();
      this.broadcastState();
    }
  }

  private get quorum(): number {
    return this.cfg.init.kind === 'consensus' ? quorumFor(this.cfg.init.size) : 0;
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  private now(): number {
    return this.deps.clock.now();
  }

  private freshOwner(): OwnerId {
    const { init, peer } = this.cfg;
    if (init?.kind === 'seed' && init.peers.includes(peer)) return ownerId(peer, SEED_INCARNATION);
    return ownerId(peer, newIncarnation(this.deps.random));
  }

  // -------------------------------------------------------------------------
  // Step bookkeeping

  private run(body: () => void): IpamEffect[] {
    this.change = null;
    this.fx = [];
    body();
    const out: IpamEffect[] = [];
    if (this.change) out.push({ kind: 'persist', change: this.change });
    out.push(...this.fx);
    const wake = this.nextWake();
    if (wake !== this.lastWake) {
      this.lastWake = wake;
      out.push({ kind: 'wake', at: wake });
    }
    this.change = null;
    this.fx = [];
    return out;
  }

  private persist(c: PersistChange): void {
    if (!this.change) this.change = {};
    const cur = this.change;
    // Whatever reaches the disk first says whose state it is.
    if (!this.ownerOnDisk) {
      cur.owner = this.self;
      this.ownerOnDisk = true;
    }
    if (c.owner !== undefined) cur.owner = c.owner;
    if (c.ring !== undefined) cur.ring = c.ring;
    if (c.ring === null) cur.ring = null;
    if (c.claims !== undefined) cur.claims = c.claims;
    if (c.left !== undefined) cur.left = c.left;
    if (c.allocations) cur.allocations = [...(cur.allocations ?? []), ...c.allocations];
  }

  private persistRing(): void {
    if (this.ring && !this.seedShare) this.persist({ ring: this.ring });
  }

  private reply(op: number, result: Result<IpamAnswer, WeftError>): void {
    this.fx.push({ kind: 'reply', op, result });
  }

  private fail(
    op: number,
    code: WeftError['code'],
    message?: string,
    details?: Record<string, unknown>,
  ): void {
    this.reply(op, err(new WeftError(code, message, details)));
  }

  private stateMessage(): Uint8Array | null {
    if (!this.ring && !this.claims) return null;
    return encodeMessage({
      tag: IpamTag.State,
      from: this.self,
      ring: this.ring,
      consensus: this.ring ? null : this.claims,
    });
  }

  private broadcastState(): void {
    const msg = this.stateMessage();
    if (msg) this.fx.push({ kind: 'broadcast', msg });
  }

  private gossipState(): void {
    const msg = this.stateMessage();
    if (msg) this.fx.push({ kind: 'gossip', msg });
  }

  private send(to: string, m: IpamMessage): void {
    this.fx.push({ kind: 'unicast', to, msg: encodeMessage(m) });
  }

  private nextWake(): number | null {
    let t: number | null = null;
    const consider = (x: number | null | undefined) => {
      if (x !== null && x !== undefined && (t === null || x < t)) t = x;
    };
    if (this.pending.size > 0) {
      consider(this.retryAt);
      for (const p of this.pending.values()) consider(p.deadline);
    }
    consider(this.freeReportAt);
    if (this.fenceUntil !== null && Number.isFinite(this.fenceUntil)) consider(this.fenceUntil);
    consider(this.holdUntil);
    if (this.claims && !this.ring) consider(this.proposeAt);
    for (const r of this.spaceRequests.values()) consider(r.until);
    for (const r of this.claimRequests.values()) consider(r.until);
    return t;
  }

  // -------------------------------------------------------------------------
  // Lifecycle

  /** The effects of starting up: persist who we are, announce our state, start consensus. */
  start(): IpamEffect[] {
    return this.run(() => {
      if (this.restoredReincarnate) {
        this.reincarnate(
          this.left ? 'this peer handed its space over (reset) before' : 'this peer was removed (rmpeer)',
        );
      }
      const freshSeed = !this.ring && this.cfg.init.kind === 'seed';
      if (!freshSeed) this.persist({ owner: this.self });
      if (!this.ring && this.cfg.init.kind === 'seed') {
        const owners = this.cfg.init.peers.map((p) => ownerId(p, SEED_INCARNATION));
        this.ring = initialRing(this.rangeStart, this.rangeEnd, owners);
        this.log.info(
          { ringId: this.ring.id, seeds: this.cfg.init.peers },
          'ipam: ring built from seed list',
        );
        if (this.hasOtherLiveOwners() && this.ring.entries.some((e) => e.owner === this.self)) {
          this.seedShare = this.ring.entries.filter((e) => e.owner === this.self);
          this.fence();
        } else {
          this.persist({ owner: this.self });
        }
        this.afterRingChange();
      } else if (this.ring) {
        this.afterRingChange();
      } else if (this.claims) {
        this.persist({ claims: this.claims.get(this.self)! });
        this.consensusSince = this.now();
        this.proposeAt = this.now() + (this.quorum === 1 ? 0 : this.cfg.proposeDelayMs);
      }
      this.broadcastState();
      if (this.proposeAt !== null && this.proposeAt <= this.now()) this.consensusTick();
    });
  }

  /**
   * Become a new incarnation that owns nothing: our old owner id is gone from
   * the ring's point of view, and the addresses it handed out may be reused by
   * whoever inherited its space, so we must not keep answering for them.
   */
  private reincarnate(reason: string): void {
    const old = this.self;
    const lost = this.book.clear();
    this.self = ownerId(this.cfg.peer, newIncarnation(this.deps.random));
    this.left = false;
    this.mySpans = [];
    this.fenceUntil = null;
    this.seedShare = null;
    this.persist({ owner: this.self, left: false, allocations: [{ clear: true }] });
    this.log.error(
      {
        old,
        self: this.self,
        reason,
        lostAllocations: lost.length,
        containers: [...new Set(lost.map((a) => a.containerId))].slice(0, 50),
      },
      'ipam: starting as a new owner; addresses held under the old one are no longer ours (restart those containers)',
    );
    if (!this.ring && this.cfg.init.kind === 'consensus') {
      this.claims = new Map([[this.self, initialClaims(this.quorum)]]);
      this.persist({ claims: this.claims.get(this.self)! });
    }
  }

  // -------------------------------------------------------------------------
  // API operations

  private checkContainerId(op: number, id: string): boolean {
    if (CONTAINER_ID.test(id)) return true;
    this.fail(op, 'INVALID_CONTAINER_ID', `invalid container id ${JSON.stringify(id.slice(0, 80))}`);
    return false;
  }

  private checkUsable(op: number): boolean {
    if (this.left) {
      this.fail(op, 'SHUTTING_DOWN', 'this peer handed its address space over and is leaving');
      return false;
    }
    // A bounded queue: each waits up to allocationTimeoutMs, so without a cap a flood of
    // requests while the ring is not ready (or space is short) would pile up without end.
    if (this.pending.size >= this.cfg.maxPendingOps) {
      this.fail(op, 'TOO_MANY_PENDING', `${this.pending.size} allocations and claims are already waiting`);
      return false;
    }
    return true;
  }

  /** Allocate an address for `containerId` in `subnet` (default subnet if omitted). Idempotent per subnet. */
  allocate(op: number, containerId: string, subnet?: Cidr): IpamEffect[] {
    return this.run(() => {
      if (!this.checkContainerId(op, containerId) || !this.checkUsable(op)) return;
      const s = subnet ?? this.cfg.defaultSubnet;
      if (cidrNetwork(s) !== s.addr)
        return this.fail(op, 'INVALID_CIDR', `${formatCidr(s)} has host bits set`);
      if (!cidrContainsCidr(this.cfg.range, s)) {
        return this.fail(op, 'OUT_OF_RANGE', `${formatCidr(s)} is not inside ${formatCidr(this.cfg.range)}`);
      }
      this.pending.set(op, {
        op,
        kind: 'allocate',
        containerId,
        subnet: s,
        deadline: this.now() + this.cfg.allocationTimeoutMs,
      });
      this.processPending();
    });
  }

  /** Claim a specific address (a container that already has it, e.g. after a restart). */
  claim(op: number, containerId: string, addr: number, prefix: number): IpamEffect[] {
    return this.run(() => {
      if (!this.checkContainerId(op, containerId) || !this.checkUsable(op)) return;
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32)
        return this.fail(op, 'INVALID_CIDR', 'bad prefix');
      const subnet = { addr: cidrNetwork({ addr, prefix }), prefix };
      if (!cidrContainsCidr(this.cfg.range, subnet)) {
        return this.fail(
          op,
          'OUT_OF_RANGE',
          `${formatIp(addr)}/${prefix} is not inside ${formatCidr(this.cfg.range)}`,
        );
      }
      if (isReserved(addr, subnet)) {
        return this.fail(
          op,
          'INVALID_ADDRESS',
          `${formatIp(addr)} is the network or broadcast address of its subnet`,
        );
      }
      this.pending.set(op, {
        op,
        kind: 'claim',
        containerId,
        subnet,
        addr,
        deadline: this.now() + this.cfg.allocationTimeoutMs,
      });
      this.processPending();
    });
  }

  /**
   * Release `containerId`'s addresses (all, or just `addr`). Idempotent:
   * releasing what is not there succeeds. Pending operations of the container
   * are cancelled (a CNI DEL after an ADD that timed out).
   */
  release(op: number, containerId: string, addr?: number): IpamEffect[] {
    return this.run(() => {
      if (!this.checkContainerId(op, containerId)) return;
      const ops: AllocationOp[] = [];
      const released: number[] = [];
      if (addr !== undefined) {
        const a = this.book.get(addr);
        if (a && a.containerId !== containerId) {
          return this.fail(op, 'ADDRESS_IN_USE', `${formatIp(addr)} is held by another container`);
        }
        if (a) released.push(addr);
      } else {
        for (const a of this.book.of(containerId)) released.push(a.addr);
      }
      for (const x of released) {
        this.book.remove(x);
        ops.push({ del: x });
      }
      for (const p of [...this.pending.values()]) {
        if (p.containerId === containerId && (addr === undefined || p.addr === addr)) {
          this.pending.delete(p.op);
          this.fail(p.op, 'NOT_FOUND', 'the container was released while its request was pending');
        }
      }
      if (ops.length) {
        this.persist({ allocations: ops });
        this.markFreeDirty();
      }
      this.reply(op, ok({ kind: 'released', addresses: released }));
    });
  }

  /** The addresses a container holds here. */
  lookup(containerId: string): Allocation[] {
    return this.book.of(containerId);
  }

  /**
   * rmpeer: take over the space of peers that are gone. Refused for a peer we
   * can reach (PEER_IS_LIVE) and for ourselves (PEER_IS_SELF), except for
   * incarnations already proven gone (a lost data dir). Also refused while
   * another owner is unreachable (OWNERS_UNREACHABLE) unless `force`: it may
   * hold newer state of the removed peer — space it was given — that our ring
   * lacks; remove such peers together, in one call. Each entry goes to a
   * deterministic heir among the remaining owners, so two peers running rmpeer
   * for the same dead peer produce the same ring.
   */
  rmpeer(op: number, peers: readonly string[], opts: { force?: boolean } = {}): IpamEffect[] {
    return this.run(() => {
      const bad = peers.find((p) => !isValidPeerName(p));
      if (bad !== undefined || peers.length === 0) {
        return this.fail(op, 'INVALID_PEER_NAME', `invalid peer name ${JSON.stringify(bad ?? '')}`);
      }
      const ring = this.ring;
      if (!ring) return this.fail(op, 'RING_NOT_READY', 'there is no ring yet', { state: this.state() });
      const targets: OwnerId[] = [];
      for (const peer of new Set(peers)) {
        let mine = ringOwners(ring).filter((o) => ownerPeer(o) === peer && o !== this.self);
        if (peer === this.cfg.peer) {
          if (mine.length === 0) return this.fail(op, 'PEER_IS_SELF', 'refusing to remove ourselves');
        } else if (this.reachable.has(peer)) {
          mine = mine.filter((o) => isDead(ring, o));
          if (mine.length === 0) return this.fail(op, 'PEER_IS_LIVE', `${peer} is reachable`);
        }
        targets.push(...mine);
      }
      const gone = new Set(targets);
      const unreachable = ringOwners(ring).filter(
        (o) => !gone.has(o) && o !== this.self && !isDead(ring, o) && !this.reachable.has(ownerPeer(o)),
      );
      if (targets.length > 0 && unreachable.length > 0 && !opts.force) {
        const names = [...new Set(unreachable.map(ownerPeer))];
        return this.fail(
          op,
          'OWNERS_UNREACHABLE',
          `${names.join(', ')} cannot be reached and may hold newer state of the peers to remove: ` +
            'remove them together, wait for them, or force',
          { unreachable: names },
        );
      }
      let addresses = 0;
      if (targets.length > 0) {
        let heirs = ringOwners(ring).filter((o) => !gone.has(o) && !isDead(ring, o));
        if (heirs.length === 0) {
          // Nobody left to inherit but us: we take it, but hold off allocating
          // for a while, so that another peer doing the same at the same time
          // (the same version, a deterministic winner) cannot have handed any
          // of it out when the loser learns it lost.
          heirs = [this.self];
          this.holdUntil = this.now() + this.cfg.startFenceMs;
        }
        let next = ring;
        for (const t of targets) {
          addresses += spansTotal(ownedSpans(next, t));
          next = reassignOwner(next, t, (token) => rendezvousHeir(token, heirs), { takeover: true });
        }
        this.ring = next;
        this.log.warn(
          { peers, owners: targets, addresses, force: !!opts.force },
          'ipam: rmpeer took over the space of removed peers',
        );
        this.afterRingChange();
        this.broadcastState();
      }
      this.reply(op, ok({ kind: 'removed', owners: targets, addresses }));
    });
  }

  /**
   * reset: hand all our space to live heirs and stop allocating (DELETE
   * /peer, before this router goes away for good). Our allocations are
   * forgotten: whoever inherits the space may reuse them.
   */
  reset(op: number): IpamEffect[] {
    return this.run(() => {
      if (this.left) return this.reply(op, ok({ kind: 'left', heirs: [], addresses: 0 }));
      const ring = this.ring;
      let heirs: OwnerId[] = [];
      let addresses = 0;
      if (ring) {
        const others = ringOwners(ring).filter((o) => o !== this.self && !isDead(ring, o));
        const live = others.filter((o) => this.reachable.has(ownerPeer(o)));
        const cands = live.length > 0 ? live : others;
        addresses = spansTotal(this.mySpans);
        this.ring = reassignOwner(ring, this.self, (token) => rendezvousHeir(token, cands), { left: true });
        heirs = [
          ...new Set(this.mySpans.map((s) => rendezvousHeir(s.start, cands)).filter((h) => h !== undefined)),
        ];
        this.mySpans = [];
        this.persistRing();
        this.broadcastState();
      }
      this.book.clear();
      this.left = true;
      this.persist({ left: true, allocations: [{ clear: true }] });
      for (const p of this.pending.values()) this.fail(p.op, 'SHUTTING_DOWN', 'this peer is leaving');
      this.pending.clear();
      this.log.info({ heirs, addresses }, 'ipam: handed our space over');
      this.reply(op, ok({ kind: 'left', heirs, addresses }));
    });
  }

  /**
   * Give up our ring (the way out of a ring conflict, on every router of the
   * side whose ring should go): forget it and our allocations, start as a new
   * incarnation that owns nothing, and adopt the next ring a peer sends.
   * The containers that held our addresses must be restarted.
   */
  abandonRing(op: number): IpamEffect[] {
    return this.run(() => {
      const ringId = this.ring?.id ?? null;
      const allocations = this.book.size;
      if (this.ring) {
        this.abandoned.add(this.ring.id);
        this.reincarnate('the ring was abandoned (ring conflict resolution)');
        this.ring = null;
        this.mySpans = [];
        this.conflicts.clear();
        this.persist({ ring: null });
        if (this.cfg.init.kind === 'consensus') {
          this.claims = new Map([[this.self, initialClaims(this.quorum)]]);
          this.consensusSince = this.now();
          this.proposeAt = this.now() + WAIT_FOR_ALL * this.cfg.proposeDelayMs;
          this.persist({ claims: this.claims.get(this.self)! });
          this.broadcastState();
        }
      }
      this.reply(op, ok({ kind: 'abandoned', ringId, allocations }));
    });
  }

  /** The set of peers the mesh can reach changed. */
  setReachable(peers: Iterable<string>): IpamEffect[] {
    return this.run(() => {
      this.reachable = new Set(peers);
      this.processPending();
    });
  }

  /** A timer requested through a `wake` effect fired (calling it early is harmless). */
  tick(): IpamEffect[] {
    // The shell's timer has fired: whatever we ask for next must be asked anew.
    this.lastWake = null;
    return this.run(() => {
      const now = this.now();
      for (const [key, r] of this.spaceRequests) {
        if (now >= r.until) {
          this.spaceRequests.delete(key);
          this.backoffDonor(r.to);
        }
      }
      for (const [addr, r] of this.claimRequests) if (now >= r.until) this.claimRequests.delete(addr);
      if (this.holdUntil !== null && now >= this.holdUntil) this.holdUntil = null;
      if (this.fenceUntil !== null && now >= this.fenceUntil) {
        this.fenceUntil = null;
        this.seedShare = null;
        this.log.warn({}, 'ipam: no peer sent the ring since start; allocating from the ring we have');
      }
      if (this.claims && !this.ring && this.proposeAt !== null && now >= this.proposeAt) this.consensusTick();
      if (this.freeReportAt !== null && now >= this.freeReportAt) this.reportFree();
      if (this.pending.size > 0 && (this.retryAt === null || now >= this.retryAt)) this.processPending();
      else this.expirePending();
    });
  }

  // -------------------------------------------------------------------------
  // Messages from the mesh

  /** Our full state for the mesh's periodic gossip and for new connections. */
  gossip(): Uint8Array | null {
    return this.stateMessage();
  }

  /**
   * A message on the ipam channel. Returns the effects and, for gossip and
   * broadcast, what to pass on (null when nothing was new to us).
   */
  receive(
    bytes: Uint8Array,
    via: Via,
    src: string | null,
  ): { effects: IpamEffect[]; relay: Uint8Array | null } {
    let relay: Uint8Array | null = null;
    const effects = this.run(() => {
      const d = decodeMessage(bytes);
      if (!d.ok) {
        this.decodeErrors++;
        this.log.warn(
          { src, via, kind: d.error.kind, err: d.error.message },
          'ipam: dropped a malformed message',
        );
        return;
      }
      const m = d.value;
      const peer = src ?? ownerPeer(m.from);
      if (src !== null && ownerPeer(m.from) !== src) {
        this.decodeErrors++;
        this.log.warn({ src, from: m.from }, 'ipam: dropped a message whose sender is not its source');
        return;
      }
      switch (m.tag) {
        case IpamTag.State: {
          const changed = this.onState(m.ring, m.consensus, peer);
          if (changed) relay = via === 'broadcast' ? bytes : this.stateMessage();
          break;
        }
        case IpamTag.SpaceRequest:
          this.onSpaceRequest(m, peer);
          break;
        case IpamTag.SpaceReply:
          this.onSpaceReply(m, peer);
          break;
        case IpamTag.ClaimRequest:
          this.onClaimRequest(m, peer);
          break;
        case IpamTag.ClaimReply:
          this.onClaimReply(m, peer);
          break;
      }
    });
    return { effects, relay };
  }

  private onState(ring: Ring | null, consensus: ClaimsMap | null, peer: string): boolean {
    let changed = false;
    if (ring) changed = this.acceptRing(ring, peer);
    if (consensus) {
      if (this.ring) this.answerWithRing(peer);
      else if (this.claims) changed = this.mergeConsensus(consensus) || changed;
    }
    return changed;
  }

  /** A peer still bootstrapping sent consensus claims: it needs the ring we already have. */
  private answerWithRing(peer: string): void {
    const now = this.now();
    if ((this.ringAnswered.get(peer) ?? -Infinity) > now) return;
    this.ringAnswered.set(peer, now + this.cfg.retryIntervalMs);
    this.send(peer, { tag: IpamTag.State, from: this.self, ring: this.ring, consensus: null });
  }

  private recordConflict(peer: string, r: RingRejection): void {
    const now = this.now();
    const c = this.conflicts.get(peer);
    const theirRingId = r.kind === 'foreign' ? r.theirId : undefined;
    if (c) {
      c.count++;
      c.lastAt = now;
      c.kind = r.kind;
      c.reason = r.reason;
      if (theirRingId) c.theirRingId = theirRingId;
    } else {
      this.conflicts.set(peer, {
        peer,
        kind: r.kind,
        reason: r.reason,
        count: 1,
        firstAt: now,
        lastAt: now,
        ...(theirRingId ? { theirRingId } : {}),
      });
    }
    const first = !c || c.count === 2 || c.count % 100 === 0;
    if (first) {
      this.log.error(
        {
          peer,
          kind: r.kind,
          reason: r.reason,
          count: c?.count ?? 1,
          ...(r.kind === 'foreign' ? { ourRingId: r.ourId, theirRingId: r.theirId } : {}),
          ...(r.kind === 'takes-allocated'
            ? { spans: r.spans.map((s) => `${formatIp(s.start)}+${s.end - s.start}`) }
            : {}),
        },
        r.kind === 'foreign'
          ? 'ipam: refusing a ring from another bootstrap; reset the IPAM state of one side (docs/architecture.md)'
          : 'ipam: refusing a ring update',
      );
    }
  }

  /** Merge (or adopt) a ring from `peer`. Returns whether our ring changed. */
  private acceptRing(incoming: Ring, peer: string): boolean {
    if (!this.ring && this.abandoned.has(incoming.id)) {
      // A copy of the ring we gave up (from a router of our side that has not given it up yet).
      this.recordConflict(peer, {
        kind: 'foreign',
        reason: 'the peer still holds the ring we abandoned',
        theirId: incoming.id,
        ourId: '',
      });
      return false;
    }
    if (!this.ring) {
      if (incoming.start !== this.rangeStart || incoming.end !== this.rangeEnd) {
        this.recordConflict(peer, {
          kind: 'foreign',
          reason: 'the peer uses a different allocation range',
          theirId: incoming.id,
          ourId: '',
        });
        return false;
      }
      this.ring = incoming;
      this.claims = null;
      this.proposeAt = null;
      this.log.info({ ringId: incoming.id, from: peer }, 'ipam: adopted the ring from a peer');
      this.afterRingChange();
      return true;
    }
    const outcome = mergeRing(this.ring, incoming, this.self, (a, b) => this.book.anyIn(a, b));
    if (outcome.kind === 'rejected') {
      this.recordConflict(peer, outcome.rejection);
      return false;
    }
    if (outcome.kind === 'unchanged') {
      if (this.fenceUntil !== null) {
        this.liftFence(incoming);
        this.processPending();
      }
      return false;
    }
    this.ring = outcome.ring;
    if (outcome.selfRemoved) {
      this.reincarnate('another peer removed us with rmpeer');
    } else if (outcome.lost.length > 0) {
      this.log.warn(
        { from: peer, lost: outcome.lost.map((s) => `${formatIp(s.start)}+${s.end - s.start}`) },
        'ipam: a merge moved unallocated space of ours to another owner',
      );
    }
    this.liftFence(incoming);
    this.afterRingChange();
    return true;
  }

  /** Bookkeeping after any change of `this.ring`. */
  private afterRingChange(): void {
    let ring = this.ring!;
    let announce = false;
    // Older incarnations of our own name are gone for sure: say so, so that
    // anyone may rmpeer them and nobody mistakes them for us.
    const stale = ringOwners(ring).filter(
      (o) => ownerPeer(o) === this.cfg.peer && o !== this.self && !isDead(ring, o),
    );
    if (stale.length > 0) {
      ring = markDead(ring, stale);
      announce = true;
      this.log.warn(
        { stale },
        'ipam: the ring holds space of an earlier incarnation of this peer (lost data dir?): it stays reserved until rmpeer',
      );
    }
    // Space that reached an owner after it left (a handover racing with its
    // own reset) goes on to the same deterministic heirs whoever does it.
    const departed = ringOwners(ring).filter((o) => hasLeft(ring, o));
    if (departed.length > 0) {
      const heirs = ringOwners(ring).filter((o) => !isDead(ring, o));
      if (heirs.length > 0) {
        for (const o of departed) {
          ring = reassignOwner(ring, o, (token) => rendezvousHeir(token, heirs), {
            left: true,
            takeover: true,
          });
        }
        announce = true;
      }
    }
    this.ring = ring;
    if (announce) this.broadcastState();
    this.mySpans = ownedSpans(ring, this.self);
    this.persistRing();
    this.markFreeDirty();
    this.processPending();
  }

  private mergeConsensus(incoming: ClaimsMap): boolean {
    const claims = this.claims!;
    const before = consensusSummary(claims).highestBallot;
    const merged = mergeClaims(claims, incoming, this.self);
    if (!merged.changed) return false;
    this.claims = merged.claims;
    this.respondConsensus();
    const after = consensusSummary(this.claims).highestBallot;
    if (
      after &&
      (!before || after.round !== before.round || after.node !== before.node) &&
      after.node !== this.self
    ) {
      // Someone else is driving a proposal: give it time before competing.
      this.proposeAt = Math.max(this.proposeAt ?? 0, this.now() + this.proposalBackoff(3));
    }
    this.checkDecided();
    return true;
  }

  private respondConsensus(): void {
    const r = respond(this.claims!, this.self);
    if (!r.changed) return;
    this.claims = r.claims;
    this.persist({ claims: r.claims.get(this.self)! });
    this.broadcastState();
  }

  private proposalBackoff(factor: number): number {
    return this.cfg.proposeDelayMs * factor + Math.floor(this.deps.random.next() * this.cfg.proposeDelayMs);
  }

  /** Our turn to (maybe) propose. The lowest-named participant goes first; others wait their rank. */
  private consensusTick(): void {
    const claims = this.claims!;
    const participants = [...claims.keys()].sort();
    const rank = participants.indexOf(this.self);
    const size = this.cfg.init.kind === 'consensus' ? this.cfg.init.size : 1;
    if (
      participants.length < size &&
      this.now() < this.consensusSince + WAIT_FOR_ALL * this.cfg.proposeDelayMs
    ) {
      // Give every initial peer a moment to show up, so that all of them get a
      // share in the first ring; after that a quorum is enough.
      this.proposeAt = this.now() + this.cfg.proposeDelayMs / 2;
      return;
    }
    if (rank > 0 && !this.proposalDeferred) {
      this.proposalDeferred = true;
      this.proposeAt = this.now() + this.cfg.proposeDelayMs * rank;
      return;
    }
    this.proposalDeferred = false;
    this.claims = propose(claims, this.self);
    this.persist({ claims: this.claims.get(this.self)! });
    this.respondConsensus();
    this.broadcastState();
    this.proposeAt = this.now() + this.proposalBackoff(3 + Math.max(rank, 0));
    this.checkDecided();
  }

  private checkDecided(): void {
    if (!this.claims || this.ring) return;
    const value = decided(this.claims, this.quorum);
    if (!value) return;
    this.ring = initialRing(this.rangeStart, this.rangeEnd, value);
    this.claims = null;
    this.proposeAt = null;
    this.persist({ claims: null });
    this.log.info({ ringId: this.ring.id, owners: value }, 'ipam: consensus reached; ring created');
    this.afterRingChange();
    this.broadcastState();
  }

  // -------------------------------------------------------------------------
  // Space: local allocation, asking peers, donating

  private markFreeDirty(): void {
    if (this.freeReportAt === null) this.freeReportAt = this.now() + this.cfg.freeReportDelayMs;
  }

  /** Free addresses in [start, end) as we report them: never the range's network or broadcast address. */
  private freeIn = (start: number, end: number): number => {
    let free = end - start - this.book.countIn(start, end);
    for (const r of this.rangeReserved) if (r >= start && r < end) free--;
    return free;
  };

  private refreshFree(): boolean {
    if (!this.ring) return false;
    const next = withFreeCounts(this.ring, this.self, this.freeIn);
    if (next === this.ring) return false;
    this.ring = next;
    this.persistRing();
    return true;
  }

  private reportFree(): void {
    this.freeReportAt = null;
    if (this.seedShare) {
      // A fresh seed peer reports nothing before it knows its share is unused.
      this.freeReportAt = this.now() + this.cfg.freeReportDelayMs;
      return;
    }
    if (this.refreshFree()) this.gossipState();
  }

  /** The lowest free address we own in `subnet`, skipping its network and broadcast addresses. */
  private findFree(subnet: Cidr): number | undefined {
    const lo = subnet.addr;
    const hi = lo + cidrSize(subnet);
    for (const span of this.mySpans) {
      const a = Math.max(span.start, lo);
      const b = Math.min(span.end, hi);
      let from = a;
      while (from < b) {
        const x = this.book.firstFree(from, b);
        if (x === undefined) break;
        if (!isReserved(x, subnet)) return x;
        from = x + 1;
      }
    }
    return undefined;
  }

  private commit(p: PendingOp, addr: number): void {
    const a: Allocation = { addr, containerId: p.containerId, prefix: p.subnet.prefix };
    this.book.add(a);
    this.persist({ allocations: [{ put: a }] });
    const ring = this.ring!;
    if (ring.entries[entryIndexAt(ring, addr)]!.version === 0) {
      // The first allocation in a pristine entry is announced at once: a seed
      // peer that later loses its data dir recognises its past life by it.
      this.refreshFree();
      this.broadcastState();
    } else {
      this.markFreeDirty();
    }
    this.pending.delete(p.op);
    this.reply(p.op, ok({ kind: 'address', containerId: p.containerId, addr, prefix: p.subnet.prefix }));
  }

  private expirePending(): void {
    const now = this.now();
    for (const p of [...this.pending.values()]) {
      if (now < p.deadline) continue;
      this.pending.delete(p.op);
      if (!this.ring) {
        this.fail(p.op, 'RING_NOT_READY', `no ring yet: ${this.state()}`, this.readinessDetails());
      } else {
        this.fail(p.op, 'ALLOCATION_TIMEOUT', 'timed out waiting for address space from peers', {
          subnet: formatCidr(p.subnet),
          unreachableOwnersWithSpace: this.unreachableWithSpace(p.subnet),
        });
      }
    }
  }

  /** Try every pending operation; ask peers for what is missing. */
  private processPending(): void {
    this.expirePending();
    if (this.pending.size === 0) {
      this.retryAt = null;
      return;
    }
    this.retryAt = this.now() + this.cfg.retryIntervalMs;
    if (this.holdUntil !== null && this.now() >= this.holdUntil) this.holdUntil = null;
    if (!this.ring || this.fenceUntil !== null || this.holdUntil !== null) return;
    const needSpace = new Map<string, Cidr>();
    for (const p of [...this.pending.values()]) {
      if (p.kind === 'allocate') {
        const existing = this.book
          .of(p.containerId)
          .find((a) => a.prefix === p.subnet.prefix && cidrContains(p.subnet, a.addr));
        if (existing) {
          this.pending.delete(p.op);
          this.reply(
            p.op,
            ok({ kind: 'address', containerId: p.containerId, addr: existing.addr, prefix: existing.prefix }),
          );
          continue;
        }
        const x = this.findFree(p.subnet);
        if (x !== undefined) this.commit(p, x);
        else needSpace.set(formatCidr(p.subnet), p.subnet);
      } else {
        this.processClaim(p);
      }
    }
    for (const [key, subnet] of needSpace) this.askForSpace(key, subnet);
    if (this.pending.size === 0) this.retryAt = null;
  }

  private processClaim(p: PendingOp): void {
    const addr = p.addr!;
    const held = this.book.get(addr);
    if (held) {
      this.pending.delete(p.op);
      if (held.containerId === p.containerId) {
        this.reply(p.op, ok({ kind: 'address', containerId: p.containerId, addr, prefix: held.prefix }));
      } else {
        this.fail(p.op, 'ADDRESS_IN_USE', `${formatIp(addr)} is held by another container`);
      }
      return;
    }
    const ring = this.ring!;
    const owner = ownerAt(ring, addr);
    if (owner === this.self) {
      this.commit(p, addr);
      return;
    }
    if (owner === undefined || this.claimRequests.has(addr)) return;
    if (isDead(ring, owner) || !this.reachable.has(ownerPeer(owner))) return; // wait: maybe it comes back, maybe rmpeer
    const reqId = this.nextReqId++;
    this.claimRequests.set(addr, { reqId, to: owner, until: this.now() + this.cfg.retryIntervalMs });
    this.send(ownerPeer(owner), {
      tag: IpamTag.ClaimRequest,
      from: this.self,
      reqId,
      to: owner,
      ringId: ring.id,
      addr,
    });
  }

  private backoffDonor(owner: OwnerId): void {
    this.donorBackoff.set(owner, this.now() + this.cfg.retryIntervalMs * 5);
  }

  private donorSaidNo(owner: OwnerId, subnetKey: string): void {
    this.donorRefused.set(`${owner}|${subnetKey}`, this.now() + this.cfg.retryIntervalMs * 5);
  }

  private donorChoice(subnet: Cidr): DonorChoice {
    const now = this.now();
    return chooseDonor(this.ring!, subnet, this.self, {
      reachable: (o) => this.reachable.has(ownerPeer(o)),
      backedOff: (o) => (this.donorBackoff.get(o) ?? -Infinity) > now,
      refused: (o) => (this.donorRefused.get(`${o}|${formatCidr(subnet)}`) ?? -Infinity) > now,
      random: this.deps.random,
    });
  }

  private askForSpace(key: string, subnet: Cidr): void {
    if (this.spaceRequests.has(key)) return;
    const choice = this.donorChoice(subnet);
    if (choice.kind === 'donor') {
      const reqId = this.nextReqId++;
      this.spaceRequests.set(key, { reqId, to: choice.owner, until: this.now() + this.cfg.retryIntervalMs });
      this.send(ownerPeer(choice.owner), {
        tag: IpamTag.SpaceRequest,
        from: this.self,
        reqId,
        to: choice.owner,
        ringId: this.ring!.id,
        subnet,
      });
    } else if (choice.kind === 'none') {
      // Nobody in the ring reports free space in this subnet: say so now
      // rather than letting the caller wait for a timeout.
      for (const p of [...this.pending.values()]) {
        if (p.kind === 'allocate' && formatCidr(p.subnet) === key) {
          this.pending.delete(p.op);
          this.fail(p.op, 'NO_FREE_ADDRESSES', `no free address in ${key}`, { subnet: key });
        }
      }
    }
    // 'wait': space exists only with unreachable or recently refusing owners; retry later.
  }

  private unreachableWithSpace(subnet: Cidr): OwnerId[] {
    const ring = this.ring;
    if (!ring) return [];
    const out = new Set<OwnerId>();
    const lo = subnet.addr;
    const hi = lo + cidrSize(subnet);
    for (let i = 0; i < ring.entries.length; i++) {
      const e = ring.entries[i]!;
      if (e.owner === this.self || e.token >= hi || entryEnd(ring, i) <= lo || effectiveFree(ring, i) === 0)
        continue;
      if (isDead(ring, e.owner) || !this.reachable.has(ownerPeer(e.owner))) out.add(e.owner);
    }
    return [...out];
  }

  /** Whether a space or claim request is addressed to us, in our ring, from a live owner. */
  private serves(m: { to: OwnerId; ringId: string; from: OwnerId }): boolean {
    const ring = this.ring;
    // Not while fenced or holding: we do not know yet what of our space is really ours.
    return (
      !!ring &&
      !this.left &&
      this.fenceUntil === null &&
      this.holdUntil === null &&
      m.to === this.self &&
      m.ringId === ring.id &&
      !isDead(ring, m.from) &&
      m.from !== this.self
    );
  }

  /** Hand `span` of our space to `to`, durably, and tell everyone. */
  private give(span: Span, to: OwnerId): void {
    this.ring = transferSpan(this.ring!, this.self, span, to);
    this.mySpans = ownedSpans(this.ring, this.self);
    this.refreshFree();
    this.persistRing();
    this.broadcastState();
  }

  private onSpaceRequest(m: Extract<IpamMessage, { tag: IpamTag.SpaceRequest }>, peer: string): void {
    const give = this.serves(m) ? donationSpan(this.mySpans, m.subnet, this.book) : undefined;
    if (give) {
      this.give(give, m.from);
      this.log.debug(
        { to: m.from, start: formatIp(give.start), size: give.end - give.start },
        'ipam: donated space',
      );
    } else {
      this.refreshFree();
    }
    this.send(peer, {
      tag: IpamTag.SpaceReply,
      from: this.self,
      reqId: m.reqId,
      granted: !!give,
      ring: this.ring,
    });
  }

  private onSpaceReply(m: Extract<IpamMessage, { tag: IpamTag.SpaceReply }>, peer: string): void {
    for (const [key, r] of this.spaceRequests) {
      if (r.reqId !== m.reqId) continue;
      this.spaceRequests.delete(key);
      if (!m.granted) this.donorSaidNo(r.to, key);
    }
    if (m.ring) this.acceptRing(m.ring, peer);
    this.processPending();
  }

  private onClaimRequest(m: Extract<IpamMessage, { tag: IpamTag.ClaimRequest }>, peer: string): void {
    let outcome: 'granted' | 'in-use' | 'not-owner' = 'not-owner';
    if (this.serves(m) && ownerAt(this.ring!, m.addr) === this.self) {
      outcome = this.book.get(m.addr) ? 'in-use' : 'granted';
    }
    if (outcome === 'granted') this.give({ start: m.addr, end: m.addr + 1 }, m.from);
    this.send(peer, { tag: IpamTag.ClaimReply, from: this.self, reqId: m.reqId, outcome, ring: this.ring });
  }

  private onClaimReply(m: Extract<IpamMessage, { tag: IpamTag.ClaimReply }>, peer: string): void {
    let addr: number | undefined;
    for (const [a, r] of this.claimRequests) {
      if (r.reqId === m.reqId) {
        addr = a;
        this.claimRequests.delete(a);
      }
    }
    if (m.ring) this.acceptRing(m.ring, peer);
    if (addr !== undefined && m.outcome === 'in-use') {
      for (const p of [...this.pending.values()]) {
        if (p.kind === 'claim' && p.addr === addr) {
          this.pending.delete(p.op);
          this.fail(p.op, 'ADDRESS_IN_USE', `${formatIp(addr)} is in use on peer ${peer}`);
        }
      }
    }
    this.processPending();
  }

  // -------------------------------------------------------------------------
  // Status

  state(): IpamState {
    if (this.left) return 'left';
    if (this.ring) return this.fenceUntil !== null ? 'syncing' : 'ready';
    return this.claims ? 'awaiting-consensus' : 'awaiting-ring';
  }

  private readinessDetails(): Record<string, unknown> {
    if (!this.claims) return { state: this.state() };
    const s = consensusSummary(this.claims);
    return { state: this.state(), quorum: this.quorum, participants: s.participants, quorums: s.quorums };
  }

  owner(): OwnerId {
    return this.self;
  }

  currentRing(): Ring | null {
    return this.ring;
  }

  allocations(): Allocation[] {
    return this.book.all();
  }

  status(): IpamStatus {
    const ring = this.ring;
    const owners = new Map<OwnerId, OwnerSummary>();
    if (ring) {
      for (let i = 0; i < ring.entries.length; i++) {
        const e = ring.entries[i]!;
        let s = owners.get(e.owner);
        if (!s) {
          s = {
            owner: e.owner,
            addresses: 0,
            free: 0,
            reachable: e.owner === this.self || this.reachable.has(ownerPeer(e.owner)),
            dead: isDead(ring, e.owner),
          };
          owners.set(e.owner, s);
        }
        s.addresses += entryEnd(ring, i) - e.token;
        s.free += effectiveFree(ring, i);
      }
    }
    const list = [...owners.values()].sort((a, b) => (a.owner < b.owner ? -1 : 1));
    const owned = spansTotal(this.mySpans);
    let pa = 0;
    let pc = 0;
    for (const p of this.pending.values()) p.kind === 'allocate' ? pa++ : pc++;
    const cs = this.claims && !ring ? consensusSummary(this.claims) : null;
    const init = this.cfg.init;
    return {
      state: this.state(),
      self: this.self,
      range: formatCidr(this.cfg.range),
      defaultSubnet: formatCidr(this.cfg.defaultSubnet),
      init:
        init.kind === 'consensus'
          ? `consensus=${init.size}`
          : init.kind === 'seed'
            ? `seed=${init.peers.join(',')}`
            : 'observer',
      ringId: ring?.id ?? null,
      owned,
      free: this.mySpans.reduce((n, sp) => n + this.freeIn(sp.start, sp.end), 0),
      allocated: this.book.size,
      ringEntries: ring?.entries.length ?? 0,
      owners: list,
      unreachable: list.filter((o) => o.owner !== this.self && (o.dead || !o.reachable)),
      pending: { allocate: pa, claim: pc },
      consensus: cs
        ? {
            quorum: this.quorum,
            participants: cs.participants,
            quorums: cs.quorums,
            highestRound: cs.highestBallot?.round ?? 0,
          }
        : null,
      conflicts: [...this.conflicts.values()]
        .filter((c) => c.lastAt >= this.now() - CONFLICT_SHOWN_MS)
        .map((c) => ({ ...c })),
      conflictsTotal: [...this.conflicts.values()].reduce((n, c) => n + c.count, 0),
      decodeErrors: this.decodeErrors,
    };
  }
}

/** Network and broadcast addresses of a subnet are never handed out (except in /31 and /32). */
export function isReserved(addr: number, subnet: Cidr): boolean {
  if (subnet.prefix >= 31) return false;
  const net = cidrNetwork(subnet);
  return addr === net || addr === net + cidrSize(subnet) - 1;
}
