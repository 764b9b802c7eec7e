/**
 * The replay window's specification, written the slow obvious way: a set of
 * every accepted counter. Tests check the real window (and the golden vectors
 * the native engine uses) against it.
 */
import { MAX_COUNTER, REPLAY_WINDOW } from '../replay-window.js';

export class ReplaySetModel {
  readonly seen = new Set<bigint>();
  max: bigint | null = null;

  wouldAccept(c: bigint): boolean {
    if (c < 0n || c > MAX_COUNTER || this.seen.has(c)) return false;
    return this.max === null || c > this.max || this.max - c < REPLAY_WINDOW;
  }

  accept(c: bigint): boolean {
    if (!this.wouldAccept(c)) return false;
    this.seen.add(c);
    if (this.max === null || c > this.max) this.max = c;
    return true;
  }
}
