/**
 * Per-connection data-path selection (pure): which path carries unicast
 * frames to one directly connected peer, from heartbeats and their
 * acknowledgements. Time comes in with every input; output is a list of
 * effects the connection shell performs (send a heartbeat through the
 * engine, send a control message over the mesh connection, report).
 *
 *   sleeve   UDP heartbeats (sealed like data) every second, each acked over
 *            the mesh connection. The first ack makes the connection
 *            *established*; none for `sleeveTimeoutMs` makes it *failed*.
 *   fastdp   VXLAN heartbeats on the heartbeat VNI, acked the same way, only
 *            when both sides allow fastdp (no password, no --no-fastdp). The
 *            path is healthy while our heartbeats are acked (our → peer works)
 *            AND the peer's heartbeats reach us (peer → our works), each
 *            within `fastdpTimeoutMs`. After a failure it must see
 *            `fastdpRecoverAcks` consecutive heartbeats acked before it is
 *            used again, so a flapping path does not flap traffic.
 *   PMTU     after establishment, DF probes of the configured datagram size;
 *            unanswered ones start a binary search down to what passes.
 *
 * Unicast goes over fastdp when it is healthy, else over sleeve; broadcast
 * always goes over sleeve (docs/architecture.md, "Data plane").
 */
import type { OverlayPath } from '../mesh/overlay-api.js';
import type { AckKind, ControlMessage, HelloMessage } from './control-codec.js';
import { MIN_DATAGRAM } from './mtu.js';

export interface PathTuning {
  /** Interval of every heartbeat once the sleeve is established. */
  heartbeatMs: number;
  /** Sleeve heartbeat interval until the first ack. */
  establishHeartbeatMs: number;
  fastdpTimeoutMs: number;
  fastdpRecoverAcks: number;
  /** No sleeve ack for this long after establishment: the connection failed. */
  sleeveTimeoutMs: number;
  /** Never established within this long: failed. */
  establishTimeoutMs: number;
  pmtuProbeMs: number;
  /** Unanswered probes of one size before it counts as too big. */
  pmtuProbeTries: number;
  /** Search again (a path may have grown) this long after a search ended. */
  pmtuRecheckMs: number;
  /** The search stops when the bounds are this close. */
  pmtuPrecision: number;
}

export const PATH_DEFAULTS: PathTuning = {
  heartbeatMs: 1000,
  establishHeartbeatMs: 250,
  fastdpTimeoutMs: 3500,
  fastdpRecoverAcks: 3,
  sleeveTimeoutMs: 60_000,
  establishTimeoutMs: 60_000,
  pmtuProbeMs: 500,
  pmtuProbeTries: 3,
  pmtuRecheckMs: 600_000,
  pmtuPrecision: 8,
};

export interface PathConfig {
  /** We may use fastdp for this connection (fastdp on locally and the connection is not encrypted). */
  fastdpLocal: boolean;
  /** Configured largest datagram (path MTU − 28 from the underlay MTU). */
  maxDatagram: number;
}

export type PathInput =
  | { kind: 'tick' }
  | { kind: 'control'; msg: HelloMessage | { tag: 'ack'; kind: AckKind; seq: bigint; size: number } }
  /** The peer's heartbeat reached us on that path. */
  | { kind: 'heartbeat'; path: AckKind; seq: bigint; size: number };

export type PathEffect =
  | { kind: 'send-sleeve-heartbeat'; seq: bigint }
  | { kind: 'send-pmtu-probe'; seq: bigint; size: number }
  | { kind: 'send-fastdp-heartbeat'; seq: bigint; hello: HelloMessage }
  | { kind: 'send-control'; msg: ControlMessage }
  | { kind: 'established' }
  | { kind: 'failed'; reason: string }
  | { kind: 'path-changed'; path: OverlayPath }
  | { kind: 'max-datagram'; size: number };

export interface PathInfo {
  path: OverlayPath;
  established: boolean;
  fastdp: { allowed: boolean; healthy: boolean; lastAckAgoMs?: number; lastHeardAgoMs?: number };
  sleeve: { lastAckAgoMs?: number };
  pmtu: { searching: boolean; maxDatagram: number };
}

interface Direction {
  nextSeq: bigint;
  lastSentAt: number;
  lastAckAt?: number;
  lastAckedSeq: bigint;
}

const newDirection = (): Direction => ({
  nextSeq: 0n,
  lastSentAt: Number.NEGATIVE_INFINITY,
  lastAckedSeq: -1n,
});

export class PathSelector {
  private readonly t: PathTuning;
  private readonly startedAt: number;
  private remote: HelloMessage | null = null;
  private established = false;
  private failed = false;
  private path: OverlayPath = 'none';

  private readonly sleeve = newDirection();
  private readonly fastdp = newDirection();
  private fastdpHeardAt: number | undefined;
  private fastdpUp = false;
  private fastdpEverDown = false;
  private fastdpAcksInARow = 0;

  private readonly probe = newDirection();
  private maxDatagram: number;
  private search: { lo: number; hi: number; size: number; tries: number } | null = null;
  private recheckAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly cfg: PathConfig,
    now: number,
    tuning: Partial<PathTuning> = {},
  ) {
    this.t = { ...PATH_DEFAULTS, ...tuning };
    this.startedAt = now;
    this.maxDatagram = cfg.maxDatagram;
  }

  /** First effects: our hello and the first heartbeat. */
  start(hello: HelloMessage, now: number): PathEffect[] {
    const out: PathEffect[] = [{ kind: 'send-control', msg: hello }];
    this.evaluate(now, out);
    return out;
  }

  step(input: PathInput, now: number): PathEffect[] {
    const out: PathEffect[] = [];
    if (this.failed) return out;
    switch (input.kind) {
      case 'tick':
        break;
      case 'control':
        if (input.msg.tag === 'hello') this.remote = input.msg;
        else this.acked(input.msg.kind, input.msg.seq, input.msg.size, now, out);
        break;
      case 'heartbeat':
        if (input.path === 'fastdp') this.fastdpHeardAt = now;
        out.push({
          kind: 'send-control',
          msg: { tag: 'ack', kind: input.path, seq: input.seq, size: input.size },
        });
        break;
    }
    this.evaluate(now, out);
    return out;
  }

  get fastdpAllowed(): boolean {
    return this.cfg.fastdpLocal && this.remote?.fastdp === true;
  }

  info(now: number): PathInfo {
    const ago = (t: number | undefined) => (t === undefined ? {} : { x: now - t });
    const fa = ago(this.fastdp.lastAckAt).x;
    const fh = ago(this.fastdpHeardAt).x;
    const sa = ago(this.sleeve.lastAckAt).x;
    return {
      path: this.path,
      established: this.established,
      fastdp: {
        allowed: this.fastdpAllowed,
        healthy: this.fastdpUp,
        ...(fa !== undefined ? { lastAckAgoMs: fa } : {}),
        ...(fh !== undefined ? { lastHeardAgoMs: fh } : {}),
      },
      sleeve: sa !== undefined ? { lastAckAgoMs: sa } : {},
      pmtu: { searching: this.search !== null, maxDatagram: this.maxDatagram },
    };
  }

  private acked(kind: AckKind, seq: bigint, size: number, now: number, out: PathEffect[]): void {
    const d = kind === 'sleeve' ? this.sleeve : kind === 'fastdp' ? this.fastdp : this.probe;
    // Acks come over the ordered mesh connection: anything not newer is stale (or forged).
    if (seq <= d.lastAckedSeq || seq >= d.nextSeq) return;
    if (kind === 'fastdp')
      this.fastdpAcksInARow = seq === d.lastAckedSeq + 1n ? this.fastdpAcksInARow + 1 : 1;
    d.lastAckedSeq = seq;
    d.lastAckAt = now;
    if (kind === 'sleeve' && !this.established) {
      this.established = true;
      out.push({ kind: 'established' });
      this.startSearch(MIN_DATAGRAM, this.cfg.maxDatagram);
    }
    if (kind === 'probe' && this.search && size === this.search.size) this.probeAnswered(now, out);
  }

  private evaluate(now: number, out: PathEffect[]): void {
    // Failure of the connection as a whole.
    const sinceAck = this.sleeve.lastAckAt === undefined ? now - this.startedAt : now - this.sleeve.lastAckAt;
    if (!this.established && sinceAck > this.t.establishTimeoutMs) {
      this.fail(`no sleeve heartbeat answered within ${this.t.establishTimeoutMs} ms`, out);
      return;
    }
    if (this.established && sinceAck > this.t.sleeveTimeoutMs) {
      this.fail(`sleeve heartbeats unanswered for ${this.t.sleeveTimeoutMs} ms`, out);
      return;
    }

    // fastdp health, with hysteresis on the way back up.
    const fresh = (t: number | undefined) => t !== undefined && now - t <= this.t.fastdpTimeoutMs;
    const healthy = this.fastdpAllowed && fresh(this.fastdp.lastAckAt) && fresh(this.fastdpHeardAt);
    if (this.fastdpUp && !healthy) {
      this.fastdpUp = false;
      this.fastdpEverDown = true;
      this.fastdpAcksInARow = 0;
    } else if (!this.fastdpUp && healthy) {
      const needed = this.fastdpEverDown ? this.t.fastdpRecoverAcks : 1;
      if (this.fastdpAcksInARow >= needed) this.fastdpUp = true;
    }
    const path: OverlayPath = !this.established ? 'none' : this.fastdpUp ? 'fastdp' : 'sleeve';
    if (path !== this.path) {
      this.path = path;
      out.push({ kind: 'path-changed', path });
    }

    // Heartbeats due.
    const sleeveEvery = this.established ? this.t.heartbeatMs : this.t.establishHeartbeatMs;
    if (now - this.sleeve.lastSentAt >= sleeveEvery) {
      out.push({ kind: 'send-sleeve-heartbeat', seq: this.sent(this.sleeve, now) });
    }
    if (this.fastdpAllowed && this.remote && now - this.fastdp.lastSentAt >= this.t.heartbeatMs) {
      out.push({ kind: 'send-fastdp-heartbeat', seq: this.sent(this.fastdp, now), hello: this.remote });
    }
    this.probeStep(now, out);
  }

  private sent(d: Direction, now: number): bigint {
    d.lastSentAt = now;
    return d.nextSeq++;
  }

  // --- PMTU search: lo always passes (or is the floor), hi is the largest candidate. ---

  private startSearch(lo: number, hi: number): void {
    this.search = { lo: Math.min(lo, hi), hi, size: hi, tries: 0 };
    this.recheckAt = Number.POSITIVE_INFINITY;
  }

  private probeStep(now: number, out: PathEffect[]): void {
    if (!this.established) return;
    if (!this.search) {
      if (now >= this.recheckAt && this.maxDatagram < this.cfg.maxDatagram) {
        this.startSearch(this.maxDatagram, this.cfg.maxDatagram);
      }
      if (!this.search) return;
    }
    const s = this.search;
    if (now - this.probe.lastSentAt < this.t.pmtuProbeMs) return;
    if (s.tries >= this.t.pmtuProbeTries) {
      // Too big. Fall back to what is known to pass at once, then look between.
      s.hi = s.size - 1;
      if (this.maxDatagram > s.lo) this.setMaxDatagram(s.lo, out);
      if (!this.nextProbeSize(now)) return;
    }
    s.tries++;
    out.push({ kind: 'send-pmtu-probe', seq: this.sent(this.probe, now), size: s.size });
  }

  private probeAnswered(now: number, out: PathEffect[]): void {
    const s = this.search!;
    s.lo = s.size;
    if (this.maxDatagram < s.lo) this.setMaxDatagram(s.lo, out);
    this.nextProbeSize(now);
    // Probe the next candidate right away.
    this.probe.lastSentAt = Number.NEGATIVE_INFINITY;
  }

  /** Pick the next size to probe, or end the search. Returns false when it ended. */
  private nextProbeSize(now: number): boolean {
    const s = this.search!;
    if (s.hi - s.lo <= this.t.pmtuPrecision) {
      this.search = null;
      this.recheckAt = now + this.t.pmtuRecheckMs;
      return false;
    }
    s.size = Math.ceil((s.lo + s.hi) / 2);
    s.tries = 0;
    return true;
  }

  private setMaxDatagram(size: number, out: PathEffect[]): void {
    this.maxDatagram = size;
    out.push({ kind: 'max-datagram', size });
  }

  private fail(reason: string, out: PathEffect[]): void {
    this.failed = true;
    this.fastdpUp = false;
    if (this.path !== 'none') {
      this.path = 'none';
      out.push({ kind: 'path-changed', path: 'none' });
    }
    out.push({ kind: 'failed', reason });
  }
}
