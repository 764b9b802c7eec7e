/**
 * Typed decode errors for everything that arrives from the network. Decoders
 * in router/wire never throw on hostile bytes: they return one of these, and
 * the connection state machine turns it into a refusal/close with the
 * message in the log.
 */
export type DecodeErrorKind =
  /** Not enough bytes for the structure (a complete buffer was expected). */
  | 'truncated'
  /** A length field exceeds its cap (frame, string, list). */
  | 'too-large'
  /** The intro does not start with the protocol name. */
  | 'bad-magic'
  /** Intro versions make no sense (min > max, 0). */
  | 'bad-version'
  /** The body is not valid MessagePack, or has trailing bytes. */
  | 'malformed'
  /** A message tag we do not know. */
  | 'unknown-tag'
  /** Valid MessagePack, but a field has the wrong type, range or shape. */
  | 'bad-field';

export interface DecodeError {
  kind: DecodeErrorKind;
  message: string;
}

export function decodeError(kind: DecodeErrorKind, message: string): DecodeError {
  return { kind, message };
}
