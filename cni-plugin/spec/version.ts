/**
 * CNI specification versions this plugin speaks, and the features each one
 * switches on. Every version-dependent decision in the plugin asks this file,
 * so that "which version added X" is written down exactly once.
 */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest version: the shape the plugin builds results in before converting. */
export const CURRENT_VERSION: CniVersion = '1.1.0';

/** A config without `cniVersion` is a pre-0.3 config (libcni treats it as 0.1.0). */
export const IMPLICIT_VERSION: CniVersion = '0.1.0';

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Compare two supported versions: negative, zero or positive like a sort comparator. */
export function compareVersions(a: CniVersion, b: CniVersion): number {
  return SUPPORTED_VERSIONS.indexOf(a) - SUPPORTED_VERSIONS.indexOf(b);
}

export function atLeast(v: CniVersion, min: CniVersion): boolean {
  return compareVersions(v, min) >= 0;
}

/** The three result layouts the spec has used. */
export type ResultShape = 'legacy' | 'v04' | 'v1';

export function resultShape(v: CniVersion): ResultShape {
  if (!atLeast(v, '0.3.0')) return 'legacy'; // ip4/ip6 objects
  if (!atLeast(v, '1.0.0')) return 'v04'; // interfaces + ips with "version"
  return 'v1'; // ips without "version"
}

/** Verbs and the first version that has them. */
export const VERB_MIN_VERSION = {
  ADD: '0.1.0',
  DEL: '0.1.0',
  VERSION: '0.1.0',
  CHECK: '0.4.0',
  GC: '1.1.0',
  STATUS: '1.1.0',
} as const satisfies Record<string, CniVersion>;

export type CniCommand = keyof typeof VERB_MIN_VERSION;

export function isCniCommand(s: string): s is CniCommand {
  return Object.hasOwn(VERB_MIN_VERSION, s);
}
