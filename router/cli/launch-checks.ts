/**
 * What `weft launch` checks against the host before it starts the router.
 * Pure: the routes, links and addresses are read by the caller (through the
 * kernel adapter).
 *
 * 1. Peers that are this host's own addresses are dropped: the usual way to
 *    start a cluster is the same `weft launch host1 host2 host3` on every
 *    host, and counting ourselves would make the consensus cluster one
 *    bigger than it is (and leave a target that can only fail).
 *
 * 2. An allocation range that overlaps a route the host already has is
 *    refused (Weave did the same): containers would get addresses the host
 *    sends elsewhere, and the failure would show up much later as "some
 *    containers cannot reach some hosts".
 *
 * Not conflicts: the default route (it overlaps everything and is what
 * everything else falls back to), and routes through weft's own bridge (left
 * by an earlier run or by `weft expose`).
 */
import { WeftError } from '../../common/errors.js';
import { type Cidr, cidrsOverlap, formatCidr, parseCidr } from '../../common/ip.js';
import type { AddressInfo, Link, RouteInfo } from '../kernel/kernel-net.js';

export function conflictingRoute(
  range: Cidr,
  routes: readonly RouteInfo[],
  links: readonly Link[],
  ownDevices: readonly string[],
): RouteInfo | undefined {
  const own = new Set(links.filter((l) => ownDevices.includes(l.name)).map((l) => l.index));
  return routes.find((r) => {
    if (r.devIndex !== undefined && own.has(r.devIndex)) return false;
    const dst = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`, { host: true });
    if (!dst || dst.prefix === 0) return false;
    return cidrsOverlap(range, { addr: dst.addr, prefix: dst.prefix });
  });
}

export function mustNotOverlapRoutes(
  range: Cidr,
  routes: readonly RouteInfo[],
  links: readonly Link[],
  ownDevices: readonly string[],
): void {
  const r = conflictingRoute(range, routes, links, ownDevices);
  if (!r) return;
  const dev = links.find((l) => l.index === r.devIndex)?.name;
  const via = `${r.gateway ? ` via ${r.gateway}` : ''}${dev ? ` dev ${dev}` : ''}`;
  throw new WeftError(
    'OUT_OF_RANGE',
    `--ipalloc-range ${formatCidr(range)} overlaps the host route ${r.dst}${via}: choose another range with --ipalloc-range`,
    { range: formatCidr(range), route: r.dst },
  );
}

/** Split normalised peers ("host:port") into others and those naming this host (by IPv4 address). */
export function splitOwnPeers(
  peers: readonly string[],
  addresses: readonly AddressInfo[],
): { others: string[]; own: string[] } {
  const mine = new Set(addresses.map((a) => a.cidr.split('/')[0]!));
  const others: string[] = [];
  const own: string[] = [];
  for (const p of peers) {
    const host = p.slice(0, p.lastIndexOf(':'));
    (mine.has(host) || host.startsWith('127.') || host === 'localhost' ? own : others).push(p);
  }
  return { others, own };
}
