/**
 * Names derived from an attachment's identity, so that every verb (and every
 * host process: `weft attach`, GC after a reboot) finds the same objects
 * without any state file:
 *
 * - the host end of the veth: `wfc` + 12 hex digits of FNV-1a-64(container id,
 *   ifname) — 15 bytes, the kernel's limit. DEL deletes it by name even when
 *   the container's namespace is gone or was never given.
 * - the router allocation id: `cni:<network>:<container id>:<ifname>`. The
 *   network name and container id cannot contain ':' (spec patterns) and the
 *   ifname cannot either, so the id is unambiguous; it carries the network so
 *   that GC of one network never releases another network's addresses. The
 *   router accepts ids of [A-Za-z0-9_.:@=+-] up to 255 characters, so bytes of
 *   an ifname outside [A-Za-z0-9_.-] are written `=hh` (hex).
 */
/** Host veths of CNI attachments; GC removes stale ones with this prefix only. */
export const HOST_VETH_PREFIX = 'wfc';
/** For `weft attach` (Docker and co.): same scheme, a prefix CNI GC never touches. */
export const ATTACH_VETH_PREFIX = 'wfa';
const HASH_HEX = 12;

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/**
 * FNV-1a, 64 bits, over the UTF-8 bytes. A name needs no cryptographic hash,
 * and node:crypto would cost every CNI call ~5 ms of start-up.
 */
export function fnv1a64(s: string): bigint {
  let h = FNV64_OFFSET;
  for (const b of Buffer.from(s, 'utf8')) h = ((h ^ BigInt(b)) * FNV64_PRIME) & MASK64;
  return h;
}

export function hostVethName(containerId: string, ifname: string, prefix = HOST_VETH_PREFIX): string {
  // NUL cannot occur in either part, so ("ab","c") and ("a","bc") differ.
  const h = fnv1a64(`${containerId}\u0000${ifname}`);
  return prefix + (h >> 16n).toString(16).padStart(HASH_HEX, '0');
}

export function isHostVethName(name: string, prefix = HOST_VETH_PREFIX): boolean {
  return (
    name.length === prefix.length + HASH_HEX &&
    name.startsWith(prefix) &&
    /^[0-9a-f]+$/.test(name.slice(prefix.length))
  );
}

export const ALLOCATION_ID_PREFIX = 'cni:';
/** The router's limit on an id's length (ipam/allocator.ts CONTAINER_ID). */
export const MAX_ALLOCATION_ID = 255;

const SAFE = /^[A-Za-z0-9_.-]$/;

function escapeIfname(ifname: string): string {
  let out = '';
  for (const b of Buffer.from(ifname, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && SAFE.test(c) ? c : `=${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function unescapeIfname(s: string): string | undefined {
  if (!/^([A-Za-z0-9_.-]|=[0-9a-f]{2})*$/.test(s)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=') {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

export function allocationId(network: string, containerId: string, ifname: string): string {
  const id = `${ALLOCATION_ID_PREFIX}${network}:${containerId}:${escapeIfname(ifname)}`;
  // Too long for the router: a stable digest instead. GC cannot read such an
  // id back, so it never releases one (DEL still does).
  return id.length <= MAX_ALLOCATION_ID ? id : `${ALLOCATION_ID_PREFIX}h:${fnv1a64(id).toString(16)}`;
}

/** The (network, container, ifname) of one of our allocation ids, or undefined for any other id. */
export function parseAllocationId(
  id: string,
): { network: string; containerId: string; ifname: string } | undefined {
  if (!id.startsWith(ALLOCATION_ID_PREFIX)) return undefined;
  const parts = id.slice(ALLOCATION_ID_PREFIX.length).split(':');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  const [network, containerId, escaped] = parts as [string, string, string];
  const ifname = unescapeIfname(escaped);
  return ifname === undefined ? undefined : { network, containerId, ifname };
}
