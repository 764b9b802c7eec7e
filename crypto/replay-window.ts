/**
 * Anti-replay window over 64-bit packet counters (RFC 6479 style), for the
 * sleeve's UDP packets, which may arrive late, twice or out of order.
 *
 * A ring of 2048 bits in 32-bit blocks remembers which recent counters were
 * accepted. With `max` the highest accepted counter, counter c is accepted iff
 * it was never accepted and (nothing accepted yet, or c > max, or
 * max − c < WINDOW). Moving `max` forward clears only the blocks it passes
 * over, so each packet costs O(1) amortised. WINDOW = 2048 − 64 keeps one spare
 * 64-bit block (the native engine's word size) so both implementations accept
 * exactly the same counters.
 *
 * Pure: no clocks, no I/O. Counters are bigint so the full 64-bit range of the
 * wire format is handled exactly.
 *
 * Use `check` before spending work on decryption (no state change) and
 * `accept` only after the packet authenticated (so forgeries never move it).
 */

export const REPLAY_BITMAP_BITS = 2048;
export const REPLAY_WINDOW = 1984n;
export const MAX_COUNTER = (1n << 64n) - 1n;

const BLOCK_BITS = 32n;
const BLOCK_SHIFT = 5n;
const BLOCKS = REPLAY_BITMAP_BITS / 32;
const BLOCKS_N = BigInt(BLOCKS);

export class ReplayWindow {
  private readonly bitmap = new Uint32Array(BLOCKS);
  /** Highest accepted counter, or -1 before the first. */
  private max = -1n;

  /** The highest counter accepted so far, or null if none. */
  get highest(): bigint | null {
    return this.max < 0n ? null : this.max;
  }

  /** Would `counter` be accepted now? Does not change the window. */
  check(counter: bigint): boolean {
    if (counter < 0n || counter > MAX_COUNTER) return false;
    if (this.max < 0n || counter > this.max) return true;
    if (this.max - counter >= REPLAY_WINDOW) return false;
    return (this.bitmap[blockIndex(counter)]! & bitMask(counter)) === 0;
  }

  /** Accept `counter` if it is fresh, marking it seen; false if replayed or too old. */
  accept(counter: bigint): boolean {
    if (!this.check(counter)) return false;
    if (counter > this.max) {
      const fromBlock = this.max >> BLOCK_SHIFT; // -1 before the first packet
      const toBlock = counter >> BLOCK_SHIFT;
      const passed = toBlock - fromBlock;
      const clear = passed > BLOCKS_N ? BLOCKS : Number(passed);
      for (let i = 1; i <= clear; i++) this.bitmap[ringIndex(fromBlock + BigInt(i))] = 0;
      this.max = counter;
    }
    this.bitmap[blockIndex(counter)]! |= bitMask(counter);
    return true;
  }
}

function ringIndex(block: bigint): number {
  return Number(((block % BLOCKS_N) + BLOCKS_N) % BLOCKS_N);
}

function blockIndex(counter: bigint): number {
  return ringIndex(counter >> BLOCK_SHIFT);
}

function bitMask(counter: bigint): number {
  return (1 << Number(counter % BLOCK_BITS)) >>> 0;
}
