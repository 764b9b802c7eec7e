/**
 * CNI errors: the spec's own numeric codes (a protocol constant like an HTTP
 * status, so they live here rather than in common/errors.ts), and the one
 * function that turns anything thrown into the JSON error document printed on
 * stdout. Weft's own errors (WeftError) map through the catalogue's `cni` code.
 */
import { isWeftError } from '../../common/errors.js';

/** Codes defined by the CNI specification. 100+ are ours. */
export const CniCode = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENVIRONMENT: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  INVALID_NETNS: 8,
  TRY_AGAIN_LATER: 11,
  PLUGIN_NOT_AVAILABLE: 50,
  LIMITED_CONNECTIVITY: 51,
  /** The attachment does not match `prevResult` (CHECK). */
  CHECK_FAILED: 100,
  /** The (container, ifname) already has an address (IPAM ADD twice). */
  ALREADY_ALLOCATED: 101,
  /** A delegated IPAM plugin could not be run or printed nonsense. */
  DELEGATE_FAILED: 102,
  INTERNAL: 999,
} as const;

export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
  }
}

/** The error document of the spec: `{cniVersion, code, msg, details?}`. */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export function toCniErrorJson(e: unknown, cniVersion: string): CniErrorJson {
  if (e instanceof CniError) {
    return { cniVersion, code: e.code, msg: e.message, ...(e.details ? { details: e.details } : {}) };
  }
  if (isWeftError(e)) {
    const detail = e.details?.detail;
    return {
      cniVersion,
      code: e.cniCode,
      msg: e.message,
      ...(typeof detail === 'string' && detail ? { details: detail } : { details: e.code }),
    };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { cniVersion, code: CniCode.INTERNAL, msg };
}
