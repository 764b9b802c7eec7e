/**
 * Subkeys from a session's directional keys.
 *
 * subkey = BLAKE2b-256(key = directional key,
 *                      message = "weft kdf v1" ‖ len32(label) ‖ label ‖ len32(context) ‖ context)
 *
 * Keyed BLAKE2b is a PRF, so distinct labels give independent keys; the length
 * prefixes make (label, context) pairs unambiguous. Using the same derivation
 * with the same label on both directional keys of a session yields mirrored
 * pairs: what one side derives as "send" the other derives as "recv".
 */
import { concatBytes, lengthPrefixed, utf8Bytes } from './bytes.js';
import { sodium } from './sodium.js';

export const SUBKEY_BYTES = 32;
const KDF_DOMAIN = utf8Bytes('weft kdf v1');
export const MAX_LABEL_BYTES = 255;

export function deriveSubkey(
  key: Uint8Array,
  label: string,
  context: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const labelBytes = utf8Bytes(label);
  if (labelBytes.length === 0 || labelBytes.length > MAX_LABEL_BYTES) {
    throw new RangeError(`deriveSubkey: label must be 1..${MAX_LABEL_BYTES} bytes`);
  }
  if (
    key.length < sodium.crypto_generichash_KEYBYTES_MIN ||
    key.length > sodium.crypto_generichash_KEYBYTES_MAX
  ) {
    throw new RangeError('deriveSubkey: key has the wrong size');
  }
  const out = new Uint8Array(SUBKEY_BYTES);
  sodium.crypto_generichash(
    out,
    concatBytes(KDF_DOMAIN, lengthPrefixed(labelBytes), lengthPrefixed(context)),
    key,
  );
  return out;
}
