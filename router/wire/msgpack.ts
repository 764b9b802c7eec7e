/**
 * MessagePack with the sharp edges filed off, for bodies that come from the
 * network: no records extension, maps decoded as `Map` (never as plain
 * objects, so a "__proto__" key cannot reach an object's prototype), 64-bit
 * integers as bigint (never silently rounded), and every exception msgpackr
 * throws on bad input turned into a typed `DecodeError`.
 *
 * `Fields` reads a decoded array positionally with explicit checks; the
 * decoders in this folder never trust the shape of what they got.
 */
import { Packr, Unpackr } from 'msgpackr';
import type { Result } from '../../common/result.js';
import { err, ok } from '../../common/result.js';
import { type DecodeError, decodeError } from './errors.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'bigint' });

export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function unpack(bytes: Uint8Array): Result<unknown, DecodeError> {
  try {
    return ok(unpackr.unpack(bytes));
  } catch (e) {
    return err(decodeError('malformed', `not valid MessagePack: ${(e as Error).message}`));
  }
}

/** A MessagePack array header for `n` elements (for building arrays from pre-encoded parts). */
export function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >>> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/**
 * msgpackr's native string extraction returns slices of one big string made
 * from the whole message, so a 17-character peer name kept in a record would
 * pin the entire topology message it came in. Strings we keep are therefore
 * copied flat; names and addresses (repeated in every record that mentions
 * them) are also interned, in a bounded table so hostile input cannot grow it.
 */
const interned = new Map<string, string>();
const MAX_INTERNED = 1 << 16;

function flatten(s: string): string {
  return s.length === 0 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

export function intern(s: string): string {
  let v = interned.get(s);
  if (v === undefined) {
    v = flatten(s);
    if (interned.size < MAX_INTERNED) interned.set(v, v);
  }
  return v;
}

/** Thrown only inside this module's readers; `decodeWith` turns it into a DecodeError. */
class FieldError extends Error {}

export const PEER_NAME_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Positional reader over a decoded MessagePack array. */
export class Fields {
  private constructor(
    private readonly a: readonly unknown[],
    private readonly what: string,
  ) {}

  static of(value: unknown, what: string, minLen: number, maxLen = minLen): Fields {
    if (!Array.isArray(value)) throw new FieldError(`${what}: expected an array`);
    // Extra trailing fields are allowed up to maxLen so later versions can append.
    if (value.length < minLen || value.length > maxLen) {
      throw new FieldError(`${what}: expected ${minLen}..${maxLen} fields, got ${value.length}`);
    }
    return new Fields(value, what);
  }

  /** A top-level list of at most maxLen elements. */
  static list(value: unknown, what: string, maxLen: number): readonly unknown[] {
    if (!Array.isArray(value) || value.length > maxLen) {
      throw new FieldError(`${what}: expected an array of at most ${maxLen} elements`);
    }
    return value;
  }

  get length(): number {
    return this.a.length;
  }

  private fail(i: number, want: string): never {
    throw new FieldError(`${this.what}[${i}]: expected ${want}`);
  }

  private rawStr(i: number, maxLen: number, re?: RegExp): string {
    const v = this.a[i];
    if (typeof v !== 'string' || v.length > maxLen) this.fail(i, `a string of at most ${maxLen} characters`);
    if (re && !re.test(v)) this.fail(i, `a string matching ${re}`);
    return v;
  }

  str(i: number, maxLen: number, re?: RegExp): string {
    return flatten(this.rawStr(i, maxLen, re));
  }

  /** A string that recurs across messages (names, addresses, channels): interned. */
  token(i: number, maxLen: number, re?: RegExp): string {
    return intern(this.rawStr(i, maxLen, re));
  }

  peerName(i: number): string {
    return this.token(i, 17, PEER_NAME_RE);
  }

  int(i: number, min: number, max: number): number {
    const v = this.a[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(i, `an integer in ${min}..${max}`);
    }
    return v;
  }

  optInt(i: number, min: number, max: number): number | null {
    return this.a[i] === null || this.a[i] === undefined ? null : this.int(i, min, max);
  }

  bool(i: number): boolean {
    const v = this.a[i];
    if (typeof v !== 'boolean') this.fail(i, 'a boolean');
    return v;
  }

  bin(i: number, maxLen: number): Uint8Array {
    const v = this.a[i];
    if (!(v instanceof Uint8Array) || v.length > maxLen) this.fail(i, `binary of at most ${maxLen} bytes`);
    return v;
  }

  /** A 64-bit unsigned integer carried as 8 big-endian bytes. */
  u64(i: number): bigint {
    const b = this.bin(i, 8);
    if (b.length !== 8) this.fail(i, '8 bytes');
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    return v;
  }

  array(i: number, maxLen: number): readonly unknown[] {
    const v = this.a[i];
    if (!Array.isArray(v) || v.length > maxLen) this.fail(i, `an array of at most ${maxLen} elements`);
    return v;
  }
}

export function u64Bytes(v: bigint): Uint8Array {
  if (v < 0n || v >= 1n << 64n) throw new RangeError('u64 out of range');
  const out = new Uint8Array(8);
  let x = v;
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** Run a reader that may throw FieldError; anything it throws becomes a typed error. */
export function decodeWith<T>(read: () => T): Result<T, DecodeError> {
  try {
    return ok(read());
  } catch (e) {
    if (e instanceof FieldError) return err(decodeError('bad-field', e.message));
    // A bug in a reader, not hostile input; still never crash the connection's owner.
    return err(decodeError('malformed', `decoder failed: ${(e as Error).message}`));
  }
}

export function unpackWith<T>(bytes: Uint8Array, read: (value: unknown) => T): Result<T, DecodeError> {
  const v = unpack(bytes);
  if (!v.ok) return v;
  return decodeWith(() => read(v.value));
}
