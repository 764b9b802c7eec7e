/**
 * How an attachment made by `weft attach` is named, so that attach, detach,
 * `weft ps` (the router's GET /attachments) and `weft reset` all find the same
 * objects without any state file — the same idea as the CNI plugin's names
 * (cni-plugin/naming.ts), with a prefix of their own so neither ever touches
 * the other's:
 *
 *   IPAM allocation id   attach:<key>          key = Docker container id, or
 *                                              netns-<dev>-<inode> for a namespace/PID
 *   host veth            wfa + 12 hex digits   FNV-1a-64(key, "ethwe"), as the CNI plugin hashes
 *   container interface  ethwe                 (Weave's name for it)
 *
 * The host address of `weft expose` is allocated as `weft:expose`.
 */
import { ATTACH_VETH_PREFIX, hostVethName, isHostVethName } from '../../cni-plugin/naming.js';

export const ATTACH_ID_PREFIX = 'attach:';
export const ATTACH_IFNAME = 'ethwe';
export const EXPOSE_ID = 'weft:expose';

export function attachAllocationId(key: string): string {
  return `${ATTACH_ID_PREFIX}${key}`;
}

/** The key of an `attach:` allocation id, or undefined for any other id. */
export function attachKeyOf(id: string): string | undefined {
  return id.startsWith(ATTACH_ID_PREFIX) && id.length > ATTACH_ID_PREFIX.length
    ? id.slice(ATTACH_ID_PREFIX.length)
    : undefined;
}

export function attachHostVeth(key: string): string {
  return hostVethName(key, ATTACH_IFNAME, ATTACH_VETH_PREFIX);
}

export function isAttachHostVeth(name: string): boolean {
  return isHostVethName(name, ATTACH_VETH_PREFIX);
}
