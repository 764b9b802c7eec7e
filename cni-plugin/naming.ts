/**
 * Names derived from an attachment's identity, so that every verb (and every
 * host process: `weft attach`, GC after a reboot) finds the same objects
 * without any state file:
 *
 * - the host end of the veth: `wfc` + 12 hex digits of SHA-256(container id,
 *   ifname) — 15 bytes, the kernel's limit. DEL deletes it by name even when
 *   the container's namespace is gone or was never given.
 * - the router allocation id: `cni:<network>:<container id>:<ifname>`. The
 *   network name and container id cannot contain ':' (spec patterns) and the
 *   ifname cannot either, so the id is unambiguous; it carries the network so
 *   that GC of one network never releases another network's addresses.
 */
import { createHash } from 'node:crypto';

export const HOST_VETH_PREFIX = 'wfc';
const HASH_HEX = 12;

export function hostVethName(containerId: string, ifname: string): string {
  const h = createHash('sha256').update(containerId).update('\u0000').update(ifname).digest('hex');
  return HOST_VETH_PREFIX + h.slice(0, HASH_HEX);
}

export function isHostVethName(name: string): boolean {
  return name.length === HOST_VETH_PREFIX.length + HASH_HEX && name.startsWith(HOST_VETH_PREFIX);
}

export const ALLOCATION_ID_PREFIX = 'cni:';

export function allocationId(network: string, containerId: string, ifname: string): string {
  return `${ALLOCATION_ID_PREFIX}${network}:${containerId}:${ifname}`;
}

/** The (network, container, ifname) of one of our allocation ids, or undefined for any other id. */
export function parseAllocationId(
  id: string,
): { network: string; containerId: string; ifname: string } | undefined {
  if (!id.startsWith(ALLOCATION_ID_PREFIX)) return undefined;
  const parts = id.slice(ALLOCATION_ID_PREFIX.length).split(':');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  const [network, containerId, ifname] = parts as [string, string, string];
  return { network, containerId, ifname };
}
