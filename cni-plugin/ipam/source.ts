/**
 * Where container addresses come from, seen by the verbs: weft's router (its
 * HTTP API) or any IPAM plugin named in `ipam.type` (executed from CNI_PATH).
 * Both return IPAM-shaped results: addresses without interface indexes.
 */
import type { RequestedIp } from '../requested.js';
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
  /** Release everything for the attachment; success when there is nothing. */
  del(ctx: IpamContext): Promise<void>;
  /** Fail unless the attachment still holds the addresses of `prev` (our interface's only). */
  check(ctx: IpamContext, prevAddresses: readonly string[]): Promise<void>;
  /** Release allocations of this network that are not in `valid`. */
  gc(network: string, valid: readonly Attachment[]): Promise<void>;
  /** Fail with code 50/51 unless an ADD could succeed now. */
  status(): Promise<void>;
}
