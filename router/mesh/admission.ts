/**
 * Admission control for accepted mesh streams, pure: what an unauthenticated
 * host that can reach port 6783 can make the router hold. Until a connection's
 * hello is accepted it is "pending" (intro, Noise handshake, hello); each
 * pending connection costs a state machine, a small frame buffer
 * (MAX_PREAUTH_FRAME_BYTES), a setup timer and, with a password, one X25519
 * key agreement. Limits:
 *
 *   - accept rate: a token bucket (rate per second, burst) over all sources,
 *     so a flood of connects costs us at most `rate` handshakes a second;
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
  maxPending: number;
  maxPendingPerSource: number;
}

export type AdmissionDecision = { admit: true } | { admit: false; reason: 'rate' | 'pending' | 'source' };

export interface AdmissionStats {
  pending: number;
  refusedRate: number;
  refusedPending: number;
  refusedSource: number;
}

/** "1.2.3.4:5678" → "1.2.3.4"; "[::1]:5" → "::1". Unknown shapes count as one source each. */
export function sourceOf(remoteAddress: string): string {
  const m = /^\[([^\]]*)\]:\d+$/.exec(remoteAddress) ?? /^([^:]*):\d+$/.exec(remoteAddress);
  return m ? m[1]! : remoteAddress;
}

export class Admission {
  private tokens: number;
  private last: number | null = null;
  private readonly pending = new Map<number, string>();
  private readonly perSource = new Map<string, number>();
  private readonly refused = { rate: 0, pending: 0, source: 0 };

  constructor(private readonly limits: AdmissionLimits) {
    this.tokens = limits.acceptBurst;
  }

  /** A stream was accepted from `remoteAddress` at `now` (ms): hold it, or refuse it. */
  admit(stream: number, remoteAddress: string, now: number): AdmissionDecision {
    const l = this.limits;
    if (this.last !== null) {
      this.tokens = Math.min(
        l.acceptBurst,
        this.tokens + (Math.max(0, now - this.last) * l.acceptRatePerSecond) / 1000,
      );
    }
    this.last = now;
    const source = sourceOf(remoteAddress);
    // Check the cheap-to-hold limits first so a refused stream does not also spend a token.
    if (this.pending.size >= l.maxPending) return this.refuse('pending');
    if ((this.perSource.get(source) ?? 0) >= l.maxPendingPerSource) return this.refuse('source');
    if (this.tokens < 1) return this.refuse('rate');
    this.tokens -= 1;
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
      refusedPending: this.refused.pending,
      refusedSource: this.refused.source,
    };
  }

  private refuse(reason: 'rate' | 'pending' | 'source'): AdmissionDecision {
    this.refused[reason]++;
    return { admit: false, reason };
  }
}
