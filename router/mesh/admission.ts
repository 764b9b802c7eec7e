/**
 * Admission control for accepted mesh streams, pure: what an unauthenticated
 * host that can reach port 6783 can make the router hold. Until a connection's
 * hello is accepted it is "pending" (intro, Noise handshake, hello); each
 * pending connection costs a state machine, a small frame buffer
 * (MAX_PREAUTH_FRAME_BYTES), a setup timer and, with a password, one X25519
 * key agreement. Limits:
 *
 *   - accept rate: a token bucket per source address, so one host cannot
 *     use up the accepts of everyone else, and one over all sources, so a
 *     flood of connects costs us at most `rate` handshakes a second;
 *   - pending connections in total, and per source IP address, so one host
 *     holding sockets open (slowloris) cannot take every slot: legitimate
 *     peers from other addresses still get in, and our own outbound dials
 *     (which form the mesh just as well) are never limited here.
 *
 * A refused stream is closed at once, before our intro is sent.
 */

export interface AdmissionLimits {
  acceptRatePerSecond: number;
  acceptBurst: number;
  acceptRatePerSource: number;
  acceptBurstPerSource: number;
  maxPending: number;
  maxPendingPerSource: number;
}

export type RefusalReason = 'rate' | 'source-rate' | 'pending' | 'source';
export type AdmissionDecision = { admit: true } | { admit: false; reason: RefusalReason };

export interface AdmissionStats {
  pending: number;
  refusedRate: number;
  refusedSourceRate: number;
  refusedPending: number;
  refusedSource: number;
}

/** Sources whose rate we remember (least recently seen forgotten first: a full bucket is the default anyway). */
const MAX_TRACKED_SOURCES = 4096;

class TokenBucket {
  private last: number | null = null;
  private tokens: number;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  /** Refill to `now`; true if a token is there (not taken). */
  has(now: number): boolean {
    if (this.last !== null)
      this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) * this.rate) / 1000);
    this.last = now;
    return this.tokens >= 1;
  }
  take(): void {
    this.tokens -= 1;
  }
}

/** "1.2.3.4:5678" → "1.2.3.4"; "[::1]:5" → "::1". Unknown shapes count as one source each. */
export function sourceOf(remoteAddress: string): string {
  const m = /^\[([^\]]*)\]:\d+$/.exec(remoteAddress) ?? /^([^:]*):\d+$/.exec(remoteAddress);
  return m ? m[1]! : remoteAddress;
}

export class Admission {
  private readonly global: TokenBucket;
  private readonly sourceBuckets = new Map<string, TokenBucket>();
  private readonly pending = new Map<number, string>();
  private readonly perSource = new Map<string, number>();
  private readonly refused: Record<RefusalReason, number> = {
    rate: 0,
    'source-rate': 0,
    pending: 0,
    source: 0,
  };

  constructor(private readonly limits: AdmissionLimits) {
    this.global = new TokenBucket(limits.acceptRatePerSecond, limits.acceptBurst);
  }

  /** A stream was accepted from `remoteAddress` at `now` (ms): hold it, or refuse it. */
  admit(stream: number, remoteAddress: string, now: number): AdmissionDecision {
    const l = this.limits;
    const source = sourceOf(remoteAddress);
    // Most specific limit first, so a refused stream does not spend anyone else's token.
    if (this.pending.size >= l.maxPending) return this.refuse('pending');
    if ((this.perSource.get(source) ?? 0) >= l.maxPendingPerSource) return this.refuse('source');
    const bucket = this.bucketOf(source);
    if (!bucket.has(now)) return this.refuse('source-rate');
    if (!this.global.has(now)) return this.refuse('rate');
    bucket.take();
    this.global.take();
    this.pending.set(stream, source);
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    return { admit: true };
  }

  /** The stream's hello was accepted, or it closed: it no longer counts as pending. Idempotent. */
  release(stream: number): void {
    const source = this.pending.get(stream);
    if (source === undefined) return;
    this.pending.delete(stream);
    const n = (this.perSource.get(source) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(source);
    else this.perSource.set(source, n);
  }

  get stats(): AdmissionStats {
    return {
      pending: this.pending.size,
      refusedRate: this.refused.rate,
      refusedSourceRate: this.refused['source-rate'],
      refusedPending: this.refused.pending,
      refusedSource: this.refused.source,
    };
  }

  /** The source's bucket, most recently used last (so the oldest is forgotten first). */
  private bucketOf(source: string): TokenBucket {
    let b = this.sourceBuckets.get(source);
    if (b) this.sourceBuckets.delete(source);
    else b = new TokenBucket(this.limits.acceptRatePerSource, this.limits.acceptBurstPerSource);
    this.sourceBuckets.set(source, b);
    if (this.sourceBuckets.size > MAX_TRACKED_SOURCES) {
      this.sourceBuckets.delete(this.sourceBuckets.keys().next().value as string);
    }
    return b;
  }

  private refuse(reason: RefusalReason): AdmissionDecision {
    this.refused[reason]++;
    return { admit: false, reason };
  }
}
