/**
 * Exponential back-off with jitter for reconnect attempts (Weave's defaults:
 * 2 s × 1.5 per failure, ±50 % jitter, at most 6 min, reset once a connection
 * stayed up for a minute). Pure: the caller passes a Random.
 */
import type { Random } from '../../common/random.js';

export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** Fraction: 0.5 means the delay is uniformly within ±50 % of the nominal one. */
  jitter: number;
}

/** Nominal delay before retry number `failures` (1 = after the first failure). */
export function nominalDelay(p: BackoffPolicy, failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(p.maxMs, p.initialMs * p.factor ** (failures - 1));
}

/** The delay to wait, with jitter drawn from `random`; never negative, never above maxMs·(1+jitter). */
export function backoffDelay(p: BackoffPolicy, failures: number, random: Random): number {
  const nominal = nominalDelay(p, failures);
  const spread = nominal * p.jitter;
  return Math.max(0, Math.round(nominal - spread + random.next() * 2 * spread));
}
