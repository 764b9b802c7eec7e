/**
 * The network configuration a runtime writes on stdin: the keys the spec
 * defines for every plugin, validated with the spec's error codes. Keys the
 * spec leaves to plugins stay in `raw` for the plugin's own parser, and `args`
 * is kept opaque (podman and Mesos put their own keys there).
 */

import { NAME_PATTERN } from './env.js';
import { CniCode, CniError } from './errors.js';
import { type CniDns, decodeResult } from './result.js';
import {
  atLeast,
  type CniCommand,
  type CniVersion,
  IMPLICIT_VERSION,
  isSupportedVersion,
  SUPPORTED_VERSIONS,
  VERB_MIN_VERSION,
} from './version.js';

export interface NetConf {
  /** The version results are written in; IMPLICIT_VERSION when the config had none. */
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  /** `ipam` object with at least a string `type`, when present. */
  readonly ipam?: Readonly<Record<string, unknown>> & { readonly type: string };
  readonly dns: CniDns;
  readonly args?: Readonly<Record<string, unknown>>;
  readonly runtimeConfig: Readonly<Record<string, unknown>>;
  /** Undecoded: each verb decodes it with decodePrevResult when it needs it. */
  readonly prevResult?: unknown;
  /** The whole document, for plugin-specific keys. */
  readonly raw: Readonly<Record<string, unknown>>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(msg: string, details?: string): never {
  throw new CniError(CniCode.INVALID_CONFIG, msg, details);
}

/** Parse stdin for a verb other than VERSION. */
export function parseNetConf(stdin: string, command: CniCommand): NetConf {
  let doc: unknown;
  try {
    doc = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CniCode.DECODE_FAILURE, `error decoding network config: ${(e as Error).message}`);
  }
  if (!isObject(doc))
    throw new CniError(CniCode.DECODE_FAILURE, 'error decoding network config: not a JSON object');

  const rawVersion = doc.cniVersion;
  let cniVersion: CniVersion;
  if (rawVersion === undefined || rawVersion === '') cniVersion = IMPLICIT_VERSION;
  else if (isSupportedVersion(rawVersion)) cniVersion = rawVersion;
  else
    throw new CniError(
      CniCode.INCOMPATIBLE_VERSION,
      'incompatible CNI versions',
      `config is ${JSON.stringify(rawVersion)}, plugin supports ${JSON.stringify(SUPPORTED_VERSIONS)}`,
    );
  if (!atLeast(cniVersion, VERB_MIN_VERSION[command]))
    throw new CniError(
      CniCode.INCOMPATIBLE_VERSION,
      `config version does not allow ${command}`,
      `${command} needs cniVersion ${VERB_MIN_VERSION[command]} or later, config is ${cniVersion}`,
    );

  if (doc.name === undefined || doc.name === '') invalid('missing network name');
  if (typeof doc.name !== 'string' || !NAME_PATTERN.test(doc.name))
    invalid('invalid characters in network name', String(doc.name));
  if (doc.type !== undefined && typeof doc.type !== 'string') invalid('"type" must be a string');

  let ipam: NetConf['ipam'];
  if (doc.ipam !== undefined && doc.ipam !== null) {
    if (!isObject(doc.ipam)) invalid('"ipam" must be an object');
    if (typeof doc.ipam.type !== 'string' || doc.ipam.type === '')
      invalid('"ipam.type" must be a non-empty string');
    ipam = doc.ipam as NetConf['ipam'];
  }
  if (doc.args !== undefined && doc.args !== null && !isObject(doc.args)) invalid('"args" must be an object');
  if (doc.runtimeConfig !== undefined && doc.runtimeConfig !== null && !isObject(doc.runtimeConfig))
    invalid('"runtimeConfig" must be an object');
  // The config's dns has the result's dns shape; reuse its validating decoder.
  const dns =
    doc.dns === undefined
      ? {}
      : decodeResult({ dns: doc.dns }, '1.0.0', CniCode.INVALID_CONFIG, 'config').dns;

  return {
    cniVersion,
    name: doc.name,
    type: typeof doc.type === 'string' ? doc.type : '',
    ...(ipam ? { ipam } : {}),
    dns,
    ...(isObject(doc.args) ? { args: doc.args } : {}),
    runtimeConfig: isObject(doc.runtimeConfig) ? doc.runtimeConfig : {},
    ...(doc.prevResult !== undefined && doc.prevResult !== null ? { prevResult: doc.prevResult } : {}),
    raw: doc,
  };
}

/** VERSION answers in the caller's version when we support it, else in ours. */
export function versionRequested(stdin: string): string | undefined {
  try {
    const doc: unknown = JSON.parse(stdin);
    if (isObject(doc) && isSupportedVersion(doc.cniVersion)) return doc.cniVersion;
  } catch {
    /* VERSION tolerates any stdin */
  }
  return undefined;
}

/** prevResult in our model; a malformed one is an invalid config (code 7). */
export function decodePrevResult(conf: NetConf) {
  if (conf.prevResult === undefined) return undefined;
  return decodeResult(conf.prevResult, conf.cniVersion, CniCode.INVALID_CONFIG, 'prevResult');
}
