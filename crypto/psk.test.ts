import { describe, expect, it } from 'vitest';
import { toHex } from './bytes.js';
import { derivePsk, derivePskAsync, PSK_BYTES } from './psk.js';

// Each derivation costs ~0.2 s by design; this file derives only a handful.
describe('derivePsk (Argon2id)', () => {
  const key = derivePsk('correct horse battery staple');

  it('is deterministic: every peer derives the same 32-byte key from the same password', () => {
    expect(key).toHaveLength(PSK_BYTES);
    expect(derivePsk('correct horse battery staple')).toEqual(key);
  });

  it('gives a different key for a different password', () => {
    expect(derivePsk('correct horse battery stapl3')).not.toEqual(key);
  });

  it('async variant gives the same key as the sync one', async () => {
    expect(await derivePskAsync('correct horse battery staple')).toEqual(key);
  });

  it('normalises to NFC: composed and decomposed spellings of a password agree', () => {
    const composed = 'caf\u00e9';
    const decomposed = 'cafe\u0301';
    expect(composed).not.toBe(decomposed);
    expect(derivePsk(decomposed)).toEqual(derivePsk(composed));
  });

  it('keeps the v1 parameters: the key for "weft" is pinned (changing salt/params breaks every mixed-version mesh)', () => {
    // Recorded once from this implementation; a change here is a wire-protocol change.
    expect(toHex(derivePsk('weft'))).toBe(PINNED_WEFT_KEY);
  });

  it('refuses an empty password (no password means no encryption, decided by the caller)', () => {
    expect(() => derivePsk('')).toThrow(RangeError);
  });
});

// Computed outside this module with raw crypto_pwhash("weft", salt "weft/psk/v1/salt", ops 3, mem 128 MiB, argon2id13).
const PINNED_WEFT_KEY = 'd82a3f2ca03df11f81eb012bc741574e8ffbcfe0dcf58b2f42b72658ad878ae7';
