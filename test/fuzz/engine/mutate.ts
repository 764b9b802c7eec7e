/**
 * Byte-level mutations, after libFuzzer's MutationDispatcher: bit/byte
 * changes, interesting integers (both byte orders, since weft's wire formats
 * are big-endian and virtio/LE fields exist too), arithmetic on integers,
 * erase/insert/duplicate ranges, crossover with another corpus entry, tokens
 * from the dictionary (literals of the code under test), and comparison
 * operands traced at run time (replace the bytes that produced one side of a
 * failed comparison with the other side).
 */

/** xorshift32: fast and seeded, so a run can be replayed. Not for anything but fuzzing. */
export class FastRandom {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Uniform-ish integer in [0, n) (n > 0). */
  below(n: number): number {
    return this.u32() % n;
  }
  chance(oneIn: number): boolean {
    return this.u32() % oneIn === 0;
  }
}

/** Recent comparison operand pairs (libFuzzer's "table of recent compares"). */
export class CmpTable {
  readonly a: (number | string | bigint)[] = [];
  readonly b: (number | string | bigint)[] = [];
  private next = 0;
  constructor(private readonly size = 512) {}
  add(x: number | string | bigint, y: number | string | bigint): void {
    const i = this.next;
    this.a[i] = x;
    this.b[i] = y;
    this.next = (i + 1) % this.size;
  }
  get length(): number {
    return this.a.length;
  }
}

const INTERESTING_8 = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 0x10, 0x20, 0x40];
const INTERESTING_16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0x400, 0x7fff, 0x8000, 0xffff];
const INTERESTING_32 = [
  0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0xffff, 0x100000, 0x800000, 0x800001, 0x1000000,
];

/** Encodings of a traced operand as bytes: integers in 1/2/4/8 bytes both orders, strings as UTF-8. */
export function operandBytes(v: number | string | bigint, rng: FastRandom): Uint8Array | null {
  if (typeof v === 'string') return new TextEncoder().encode(v);
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (Number.isInteger(v)) n = BigInt(v);
  else return null;
  if (n < 0n) n = BigInt.asUintN(64, n);
  const widths = n < 0x100n ? [1, 2, 4] : n < 0x10000n ? [2, 4] : n < 0x100000000n ? [4, 8] : [8];
  const w = widths[rng.below(widths.length)]!;
  const out = new Uint8Array(w);
  let x = n;
  for (let i = w - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  if (rng.chance(3)) out.reverse();
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

export interface MutationContext {
  rng: FastRandom;
  maxLen: number;
  dictionary: readonly Uint8Array[];
  cmp: CmpTable;
  /** Another corpus entry, for crossover. */
  other(): Uint8Array;
}

type Mutator = (d: Uint8Array, c: MutationContext) => Uint8Array;

function writeInt(d: Uint8Array, pos: number, width: number, v: number, littleEndian: boolean): void {
  for (let i = 0; i < width && pos + i < d.length; i++) {
    const shift = littleEndian ? i : width - 1 - i;
    d[pos + i] = Math.floor(v / 2 ** (8 * shift)) & 0xff;
  }
}

function readInt(d: Uint8Array, pos: number, width: number, littleEndian: boolean): number {
  let v = 0;
  for (let i = 0; i < width; i++) {
    const b = d[pos + (littleEndian ? width - 1 - i : i)] ?? 0;
    v = v * 256 + b;
  }
  return v;
}

function insertAt(d: Uint8Array, pos: number, bytes: Uint8Array, maxLen: number): Uint8Array {
  const out = new Uint8Array(Math.min(maxLen, d.length + bytes.length));
  out.set(d.subarray(0, pos));
  const room = out.length - pos;
  out.set(bytes.subarray(0, Math.min(bytes.length, room)), pos);
  const rest = d.subarray(pos, pos + Math.max(0, out.length - pos - bytes.length));
  out.set(rest, pos + Math.min(bytes.length, room));
  return out;
}

function overwriteAt(d: Uint8Array, pos: number, bytes: Uint8Array): Uint8Array {
  const out = d.slice();
  out.set(bytes.subarray(0, Math.max(0, out.length - pos)), pos);
  return out;
}

const MUTATORS: Mutator[] = [
  // flip a bit
  (d, c) => {
    if (d.length === 0) return d;
    const out = d.slice();
    const i = c.rng.below(out.length);
    out[i] = out[i]! ^ (1 << c.rng.below(8));
    return out;
  },
  // random byte
  (d, c) => {
    if (d.length === 0) return d;
    const out = d.slice();
    out[c.rng.below(out.length)] = c.rng.below(256);
    return out;
  },
  // interesting integer of width 1/2/4, either byte order
  (d, c) => {
    if (d.length === 0) return d;
    const out = d.slice();
    const w = [1, 2, 4][c.rng.below(3)]!;
    const table = w === 1 ? INTERESTING_8 : w === 2 ? INTERESTING_16 : INTERESTING_32;
    writeInt(out, c.rng.below(out.length), w, table[c.rng.below(table.length)]!, c.rng.chance(2));
    return out;
  },
  // add/subtract a small delta to an integer field
  (d, c) => {
    if (d.length === 0) return d;
    const out = d.slice();
    const w = [1, 2, 4][c.rng.below(3)]!;
    const pos = c.rng.below(out.length);
    const le = c.rng.chance(2);
    const delta = (c.rng.below(35) + 1) * (c.rng.chance(2) ? 1 : -1);
    const mod = 2 ** (8 * w);
    writeInt(out, pos, w, (((readInt(out, pos, w, le) + delta) % mod) + mod) % mod, le);
    return out;
  },
  // erase a range
  (d, c) => {
    if (d.length <= 1) return d;
    const pos = c.rng.below(d.length);
    const n = 1 + c.rng.below(Math.min(d.length - pos, 16));
    const out = new Uint8Array(d.length - n);
    out.set(d.subarray(0, pos));
    out.set(d.subarray(pos + n), pos);
    return out;
  },
  // insert random bytes or a repeated byte
  (d, c) => {
    const n = 1 + c.rng.below(c.rng.chance(8) ? 128 : 8);
    const bytes = new Uint8Array(n);
    if (c.rng.chance(2)) bytes.fill(c.rng.below(256));
    else for (let i = 0; i < n; i++) bytes[i] = c.rng.below(256);
    return insertAt(d, c.rng.below(d.length + 1), bytes, c.maxLen);
  },
  // copy a range of the input onto/into another place
  (d, c) => {
    if (d.length < 2) return d;
    const from = c.rng.below(d.length);
    const n = 1 + c.rng.below(Math.min(d.length - from, 64));
    const part = d.slice(from, from + n);
    const to = c.rng.below(d.length);
    return c.rng.chance(2) ? overwriteAt(d, to, part) : insertAt(d, to, part, c.maxLen);
  },
  // crossover: a prefix of one, a suffix of another
  (d, c) => {
    const o = c.other();
    if (o.length === 0) return d;
    const cut = c.rng.below(d.length + 1);
    const from = c.rng.below(o.length);
    const out = new Uint8Array(Math.min(c.maxLen, cut + o.length - from));
    out.set(d.subarray(0, Math.min(cut, out.length)));
    out.set(o.subarray(from, from + out.length - Math.min(cut, out.length)), Math.min(cut, out.length));
    return out;
  },
  // dictionary token: insert or overwrite
  (d, c) => {
    if (c.dictionary.length === 0) return d;
    const t = c.dictionary[c.rng.below(c.dictionary.length)]!;
    const pos = c.rng.below(d.length + 1);
    return c.rng.chance(2) ? insertAt(d, pos, t, c.maxLen) : overwriteAt(d, pos, t);
  },
  // traced comparison: find one operand's bytes and write the other's there (else anywhere)
  (d, c) => {
    if (c.cmp.length === 0) return d;
    const i = c.rng.below(c.cmp.length);
    const swap = c.rng.chance(2);
    const from = operandBytes(swap ? c.cmp.b[i]! : c.cmp.a[i]!, c.rng);
    const to = operandBytes(swap ? c.cmp.a[i]! : c.cmp.b[i]!, c.rng);
    if (!to) return d;
    if (from && from.length === to.length) {
      const at = indexOf(d, from, c.rng.below(d.length + 1));
      const pos = at >= 0 ? at : indexOf(d, from, 0);
      if (pos >= 0) return overwriteAt(d, pos, to);
    }
    const pos = c.rng.below(d.length + 1);
    return c.rng.chance(2) ? overwriteAt(d, pos, to) : insertAt(d, pos, to, c.maxLen);
  },
  // truncate
  (d, c) => (d.length === 0 ? d : d.slice(0, c.rng.below(d.length))),
];

/** One to eight stacked mutations, never longer than maxLen. */
export function mutate(input: Uint8Array, c: MutationContext): Uint8Array {
  let d = input;
  const n = 1 + c.rng.below(c.rng.chance(4) ? 8 : 3);
  for (let i = 0; i < n; i++) d = MUTATORS[c.rng.below(MUTATORS.length)]!(d, c);
  return d.length > c.maxLen ? d.slice(0, c.maxLen) : d;
}
