/**
 * Kernel failures as WeftError KERNEL_ERROR, with the operation and the errno
 * name in `details` so callers (and logs) can tell "already exists" from "not
 * there" from real failures without parsing messages.
 */
import { isWeftError, WeftError } from '../../common/errors.js';

/** errno names that mean "the thing is not there", depending on the object. */
const NOT_FOUND = new Set(['ENOENT', 'ENODEV', 'ESRCH', 'EADDRNOTAVAIL', 'ENXIO']);

/** Extract an errno name from what the netlink package, Node or our addon threw. */
export function errnoOf(e: unknown): string | undefined {
  if (isWeftError(e)) return typeof e.details?.errno === 'string' ? e.details.errno : undefined;
  if (e && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    const msg = (e as { message?: unknown }).message;
    // The netlink package reports kernel NLMSG_ERRORs as "Request rejected: EEXIST".
    if (typeof msg === 'string') {
      const m = /Request rejected: (E[A-Z0-9]+|-?\d+)/.exec(msg);
      if (m) return m[1];
    }
  }
  return undefined;
}

/**
 * The kernel's own explanation of a netlink refusal (its extended ACK), as
 * weft_sys reports it: "netlink: Invalid argument (EINVAL): mtu less than
 * device minimum".
 */
function kernelExplanation(cause: unknown): string | undefined {
  if (!(cause instanceof Error) || (cause as { syscall?: unknown }).syscall !== 'netlink') return undefined;
  return /^netlink: [^(]*\(E[A-Z0-9]+\): (.+)$/.exec(cause.message)?.[1];
}

export function kernelError(op: string, cause: unknown, details: Record<string, unknown> = {}): WeftError {
  if (isWeftError(cause) && cause.code === 'KERNEL_ERROR') return cause;
  const errno = errnoOf(cause) ?? 'EUNKNOWN';
  const reason = cause instanceof Error ? cause.message : String(cause);
  const explanation = kernelExplanation(cause);
  return new WeftError(
    'KERNEL_ERROR',
    `${op} failed: ${errno === 'EUNKNOWN' ? reason : errno}${explanation ? ` (${explanation})` : ''}`,
    { op, errno, ...(explanation ? { kernelMessage: explanation } : {}), ...details },
  );
}

/** Make a KERNEL_ERROR from a bare errno name (the fake kernel's way of failing). */
export function kernelErrno(op: string, errno: string, details: Record<string, unknown> = {}): WeftError {
  return new WeftError('KERNEL_ERROR', `${op} failed: ${errno}`, { op, errno, ...details });
}

export function isExists(e: unknown): boolean {
  return errnoOf(e) === 'EEXIST';
}

export function isNotFound(e: unknown): boolean {
  const n = errnoOf(e);
  return n !== undefined && NOT_FOUND.has(n);
}

/**
 * Run `op`; map any failure to KERNEL_ERROR. When `tolerate` says the failure is
 * the acceptable one (e.g. EEXIST with existOk), return `fallback` instead.
 */
export async function kernelCall<T>(
  name: string,
  details: Record<string, unknown>,
  op: () => Promise<T>,
  tolerate?: { when: (e: unknown) => boolean; value: T },
): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (tolerate?.when(e)) return tolerate.value;
    throw kernelError(name, e, details);
  }
}
