/**
 * Whether this plugin process runs from the V8 code cache made at build time
 * (see scripts/bundle.mjs): 'used', 'rejected' by V8 (another node binary or
 * other V8 flags — slower, same behaviour), 'absent', or undefined when not
 * started by the bundle's launcher (tests, sources). Logged with each ADD/DEL.
 */
export function codeCacheState(): string | undefined {
  const v = (globalThis as Record<symbol, unknown>)[Symbol.for('weft.codeCache')];
  return typeof v === 'string' ? v : undefined;
}
