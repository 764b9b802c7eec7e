/**
 * Every error a user or a peer can see carries a stable code from this one
 * catalogue. The HTTP API maps it to a status with `httpStatus`, the CNI plugin
 * to a CNI error code with `cniCode`; nothing else maps errors. Codes are never
 * reused for another meaning; add new ones at the end of their group.
 */
export const ERROR_CATALOGUE = {
  // Input the caller got wrong.
  BAD_REQUEST: { http: 400, cni: 7, summary: 'the request is malformed' },
  INVALID_CIDR: { http: 400, cni: 7, summary: 'not a valid IPv4 CIDR' },
  INVALID_ADDRESS: { http: 400, cni: 7, summary: 'not a valid IPv4 address' },
  INVALID_PEER_ADDRESS: { http: 400, cni: 7, summary: 'not a valid peer address (host[:port])' },
  INVALID_PEER_NAME: { http: 400, cni: 7, summary: 'not a valid peer name (xx:xx:xx:xx:xx:xx)' },
  INVALID_CONTAINER_ID: { http: 400, cni: 4, summary: 'not a valid container id' },
  OUT_OF_RANGE: { http: 400, cni: 7, summary: 'address or subnet is outside the allocation range' },
  // State conflicts.
  NOT_FOUND: { http: 404, cni: 3, summary: 'no such object' },
  ADDRESS_IN_USE: { http: 409, cni: 100, summary: 'the address is held by another container' },
  PEER_IS_LIVE: { http: 409, cni: 100, summary: 'refusing to remove a peer that is reachable' },
  PEER_IS_SELF: { http: 409, cni: 100, summary: 'refusing to remove ourselves' },
  RING_CONFLICT: { http: 409, cni: 100, summary: 'the address ring disagrees with a peer' },
  CONTAINER_NOT_RUNNING: { http: 409, cni: 100, summary: 'the container is not running' },
  OWNERS_UNREACHABLE: {
    http: 409,
    cni: 100,
    summary: 'other address owners are unreachable and may know more of the peer to remove',
  },
  // Temporarily unavailable: the caller should retry.
  RING_NOT_READY: { http: 503, cni: 11, summary: 'the address ring is not yet agreed' },
  NO_FREE_ADDRESSES: { http: 503, cni: 11, summary: 'no free address is available now' },
  ALLOCATION_TIMEOUT: { http: 504, cni: 11, summary: 'timed out waiting for address space from peers' },
  ROUTER_UNAVAILABLE: { http: 503, cni: 11, summary: 'the weft router is not reachable' },
  SHUTTING_DOWN: { http: 503, cni: 11, summary: 'the router is shutting down' },
  DOCKER_UNAVAILABLE: { http: 503, cni: 11, summary: 'the Docker daemon is not reachable' },
  // Ours.
  KERNEL_ERROR: { http: 500, cni: 5, summary: 'a kernel operation failed' },
  INTERNAL: { http: 500, cni: 999, summary: 'internal error' },
  // Appended: a bounded queue is full (retry later).
  TOO_MANY_PENDING: { http: 503, cni: 11, summary: 'too many requests are already waiting' },
} as const satisfies Record<string, { http: number; cni: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class WeftError extends Error {
  override readonly name = 'WeftError';
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message ?? ERROR_CATALOGUE[code].summary);
  }
  get httpStatus(): number {
    return ERROR_CATALOGUE[this.code].http;
  }
  get cniCode(): number {
    return ERROR_CATALOGUE[this.code].cni;
  }
  /** The body every API error response has. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

export function isWeftError(e: unknown): e is WeftError {
  return e instanceof WeftError;
}
