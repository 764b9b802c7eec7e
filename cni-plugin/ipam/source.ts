/**
 * Where container addresses come from, seen by the verbs: weft's router (its
 * HTTP API) or any IPAM plugin named in `ipam.type` (executed from CNI_PATH).
 * Both return IPAM-shaped results: addresses without interface indexes.
 */
import { type RequestedIp, requestedIp } from '../requested.js';
import type { Invocation } from '../skel.js';
import type { Attachment } from '../spec/gc.js';
import type { CniResult } from '../spec/result.js';

/** One attachment's identity, as every IPAM call needs it. */
export interface IpamContext {
  readonly network: string;
  readonly containerId: string;
  readonly ifname: string;
  readonly requested?: RequestedIp;
}

export interface IpamSource {
  /** Allocate (or claim `requested`). */
  add(ctx: IpamContext): Promise<CniResult>;
  /**
   * Release everything for the attachment; success when there is nothing.
   * With `after`, the release may prepare itself at once but happens only
   * once `after` resolves — never if it rejects (the device removal failed).
   */
  del(ctx: IpamContext, opts?: { after?: Promise<unknown> }): Promise<void>;
  /** Fail unless the attachment still holds the addresses of `prev` (our interface's only). */
  check(ctx: IpamContext, prevAddresses: readonly string[]): Promise<void>;
  /** Release allocations of this network that are not in `valid`. */
  gc(network: string, valid: readonly Attachment[]): Promise<void>;
  /** Fail with code 50/51 unless an ADD could succeed now. */
  status(): Promise<void>;
}

/** The attachment's identity from a call, with the requested address when `withRequest` (ADD). */
export function ipamContext(inv: Invocation, withRequest: boolean): IpamContext {
  const requested = withRequest ? requestedIp(inv.conf, inv.args) : undefined;
  return {
    network: inv.conf.name,
    containerId: inv.env.containerId,
    ifname: inv.env.ifname,
    ...(requested ? { requested } : {}),
  };
}
