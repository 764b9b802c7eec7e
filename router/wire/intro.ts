/**
 * The versioned intro: the first 8 bytes each side sends on a new mesh TCP
 * connection, before anything else (both sides send at once; neither waits).
 *
 *    0     1     2     3     4          5          6        7
 *  +-----+-----+-----+-----+----------+----------+--------+----------+
 *  | 'w' | 'e' | 'f' | 't' | min ver  | max ver  | flags  | reserved |
 *  +-----+-----+-----+-----+----------+----------+--------+----------+
 *  flags bit 0: this side has a password and requires encryption
 *  other flag bits and the reserved byte: sent as 0, ignored on receipt
 *
 * Fixed size and not framed, so a non-weft peer (or a port scanner) is told
 * apart after 8 bytes. Both intros, as sent, become the Noise prologue, so a
 * man in the middle who rewrites a version range or clears the encryption flag
 * breaks the handshake.
 */
import type { Result } from '../../common/result.js';
import { err, ok } from '../../common/result.js';
import { type DecodeError, decodeError } from './errors.js';

export const PROTOCOL_NAME = 'weft';
export const INTRO_BYTES = 8;
/** Versions this code speaks. Version 1: everything in docs/protocol.md (mesh part). */
export const PROTOCOL_MIN_VERSION = 1;
export const PROTOCOL_MAX_VERSION = 1;

const MAGIC = [0x77, 0x65, 0x66, 0x74]; // "weft"
const FLAG_ENCRYPTION = 0x01;

export interface Intro {
  minVersion: number;
  maxVersion: number;
  /** This side has a password: it will only talk through a Noise session. */
  encryption: boolean;
}

export function encodeIntro(intro: Intro): Uint8Array {
  const { minVersion, maxVersion } = intro;
  if (!validVersion(minVersion) || !validVersion(maxVersion) || minVersion > maxVersion) {
    throw new RangeError(`intro: bad version range ${minVersion}..${maxVersion}`);
  }
  const out = new Uint8Array(INTRO_BYTES);
  out.set(MAGIC, 0);
  out[4] = minVersion;
  out[5] = maxVersion;
  out[6] = intro.encryption ? FLAG_ENCRYPTION : 0;
  out[7] = 0;
  return out;
}

function validVersion(v: number): boolean {
  return Number.isInteger(v) && v >= 1 && v <= 255;
}

/** Decode exactly INTRO_BYTES bytes. */
export function decodeIntro(bytes: Uint8Array): Result<Intro, DecodeError> {
  if (bytes.length < INTRO_BYTES) return err(decodeError('truncated', `intro of ${bytes.length} bytes`));
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i])
      return err(decodeError('bad-magic', 'the peer does not speak the weft protocol'));
  }
  const minVersion = bytes[4]!;
  const maxVersion = bytes[5]!;
  if (minVersion === 0 || minVersion > maxVersion) {
    return err(decodeError('bad-version', `the peer announced version range ${minVersion}..${maxVersion}`));
  }
  return ok({ minVersion, maxVersion, encryption: (bytes[6]! & FLAG_ENCRYPTION) !== 0 });
}

/** Why two intros cannot talk, in words for both sides' logs. */
export type IntroMismatch =
  | { kind: 'version'; message: string }
  | { kind: 'peer-unencrypted'; message: string }
  | { kind: 'peer-encrypted'; message: string };

/**
 * The highest version both speak, and that both agree on encryption. With a
 * password we require encryption; without one we cannot provide it, so a
 * difference is always a refusal (never a silent downgrade).
 */
export function negotiate(ours: Intro, theirs: Intro): Result<{ version: number }, IntroMismatch> {
  const version = Math.min(ours.maxVersion, theirs.maxVersion);
  if (version < Math.max(ours.minVersion, theirs.minVersion)) {
    return err({
      kind: 'version',
      message: `no common protocol version: we speak ${ours.minVersion}..${ours.maxVersion}, the peer ${theirs.minVersion}..${theirs.maxVersion}`,
    });
  }
  if (ours.encryption && !theirs.encryption) {
    return err({
      kind: 'peer-unencrypted',
      message: 'the peer has no password but we require encryption',
    });
  }
  if (!ours.encryption && theirs.encryption) {
    return err({
      kind: 'peer-encrypted',
      message: 'the peer requires encryption (it has a password) but we have none',
    });
  }
  return ok({ version });
}
