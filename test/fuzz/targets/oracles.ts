import { check } from './target.js';

/**
 * router/wire's `decodeWith` turns any exception of a field reader into a
 * 'malformed' error prefixed "decoder failed:" so that a connection never
 * crashes; for the fuzzer that prefix means a reader had a bug (it threw
 * something other than its own FieldError), which must not go unnoticed.
 */
export function noReaderBug(e: { kind: string; message: string }): void {
  check(!e.message.startsWith('decoder failed:'), `a reader threw: ${e.message}`);
}
