/**
 * Attaching a container's network namespace to a host bridge with a veth
 * pair, and taking it off again: the kernel half of the CNI plugin and of
 * `weft attach`. Everything goes through KernelNet (netlink), never `ip`.
 *
 *   host namespace                           container namespace
 *   ┌──────────────┐   veth pair            ┌───────────────────────┐
 *   │ bridge weft  ├── <hostVeth> ══════════╡ <containerIf>          │
 *   └──────────────┘   (master weft,        │ addresses, routes, up │
 *                       hairpin, up)        └───────────────────────┘
 *
 * The container end is created directly inside the container's namespace
 * (IFLA_NET_NS_FD), so nothing with the container's interface name ever
 * appears on the host. The host end has a caller-chosen deterministic name:
 * deleting it (the pair goes with it) is a complete detach that needs neither
 * the container's namespace nor any state file.
 */
import { isWeftError, WeftError } from '../../common/errors.js';
import { isExists, isNotFound, kernelErrno } from './kernel-errors.js';
import type { AddressInfo, KernelNet, Link, NetnsRef, RouteInfo } from './kernel-net.js';

export interface VethAttachRequest {
  readonly bridge: string;
  /** Create the bridge when it is missing (otherwise its absence is an error: the router owns it). */
  readonly createBridge: boolean;
  /** MTU for a bridge we create. */
  readonly bridgeMtu?: number;
  readonly hostVeth: string;
  readonly containerIf: string;
  readonly netns: NetnsRef;
  /** Default: the bridge's MTU, which the router sets to the overlay's. */
  readonly mtu?: number;
  readonly mac?: string;
  readonly hairpin: boolean;
}

export interface VethAttachment {
  readonly bridge: Link;
  readonly host: Link;
  readonly mtu: number;
}

/** Find the bridge, creating it (and tolerating a concurrent creator) when allowed. Always up. */
export async function ensureBridge(
  host: KernelNet,
  name: string,
  opts: { create: boolean; mtu?: number },
): Promise<Link> {
  let bridge = await host.getLink(name);
  if (!bridge) {
    if (!opts.create)
      throw new WeftError(
        'ROUTER_UNAVAILABLE',
        `bridge ${name} does not exist: is the weft router running?`,
        {
          detail: 'the router creates its bridge at launch (`weft launch`)',
        },
      );
    try {
      bridge = await host.createBridge(name, { up: true });
      // An MTU given at creation floats with the ports (back to 1500 when the
      // last one leaves); one set afterwards is the bridge's own and sticks.
      if (opts.mtu) {
        await host.setLink(bridge.index, { mtu: opts.mtu });
        bridge = { ...bridge, mtu: opts.mtu };
      }
    } catch (e) {
      // Another ADD created it between our look and our create: theirs is as good as ours.
      if (!isExists(e)) throw e;
      bridge = await host.getLink(name);
      if (!bridge) throw e;
    }
  }
  if (bridge.kind !== undefined && bridge.kind !== 'bridge')
    throw kernelErrno('use bridge', 'EINVAL', {
      name,
      kind: bridge.kind,
      reason: `${name} is a ${bridge.kind}, not a bridge`,
    });
  if (!bridge.up) await host.setLink(bridge.index, { up: true });
  return bridge;
}

/**
 * Create the veth pair and plug its host end into the bridge. On failure
 * after the pair exists, the pair is deleted again: a failed attach leaves
 * nothing behind (CNI plugins#29 leaked veths here).
 */
export async function attachVeth(host: KernelNet, req: VethAttachRequest): Promise<VethAttachment> {
  const bridge = await ensureBridge(host, req.bridge, {
    create: req.createBridge,
    ...(req.bridgeMtu ? { mtu: req.bridgeMtu } : {}),
  });
  const mtu = req.mtu ?? bridge.mtu;
  let hostLink: Link;
  try {
    hostLink = await host.createVeth(
      req.hostVeth,
      { name: req.containerIf, netns: req.netns, mtu, ...(req.mac ? { mac: req.mac } : {}) },
      { mtu },
    );
  } catch (e) {
    if (!isExists(e)) throw e;
    const mine = await host.getLink(req.hostVeth);
    throw kernelErrno('create veth', 'EEXIST', {
      reason: mine
        ? `already attached: host interface ${req.hostVeth} exists`
        : `an interface named ${req.containerIf} already exists in the container's namespace`,
      ...(mine ? { alreadyAttached: true } : {}),
    });
  }
  try {
    await host.setLink(hostLink.index, { master: bridge.index, up: true });
    if (req.hairpin) await host.setBridgePort(hostLink.index, { hairpin: true });
    return { bridge, host: { ...hostLink, masterIndex: bridge.index, up: true }, mtu };
  } catch (e) {
    await host.deleteLink(hostLink.index, { missingOk: true }).catch(() => undefined);
    throw e;
  }
}

/** The attach failed because this very attachment (its host veth) already exists. */
export function isAlreadyAttached(e: unknown): boolean {
  return isWeftError(e) && e.details?.alreadyAttached === true;
}

export interface ContainerRoute {
  readonly dst: string;
  readonly gateway?: string;
}

/**
 * Inside the container's namespace (`ctr` is a KernelNet opened there): the
 * addresses, the link up, then the routes (on-link ones first, so gateways
 * are reachable). Existing identical addresses and routes are fine.
 */
export async function configureContainerInterface(
  ctr: KernelNet,
  ifname: string,
  addresses: readonly string[],
  routes: readonly ContainerRoute[],
): Promise<Link> {
  const link = await ctr.getLink(ifname);
  if (!link) throw kernelErrno('configure container interface', 'ENODEV', { ifname });
  for (const a of addresses) await ctr.addAddress(link.index, a, { existOk: true });
  if (!link.up) await ctr.setLink(link.index, { up: true });
  const ordered = [...routes].sort(
    (a, b) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined),
  );
  for (const r of ordered)
    await ctr.addRoute(
      { dst: r.dst, dev: link.index, ...(r.gateway ? { gateway: r.gateway } : {}) },
      { existOk: true },
    );
  return { ...link, up: true };
}

/** Delete the pair by its host end. False when it was already gone. */
export async function detachVeth(host: KernelNet, hostVeth: string): Promise<boolean> {
  const link = await host.getLink(hostVeth);
  if (!link) return false;
  if (link.kind !== undefined && link.kind !== 'veth')
    throw kernelErrno('detach', 'EINVAL', {
      name: hostVeth,
      reason: `${hostVeth} is a ${link.kind}, not a veth`,
    });
  try {
    return await host.deleteLink(link.index, { missingOk: true });
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** What CHECK compares with prevResult. Missing parts are undefined. */
export interface ObservedAttachment {
  readonly bridge?: Link;
  readonly host?: Link;
  readonly container?: Link;
  readonly containerAddresses: readonly string[];
  readonly containerRoutes: readonly RouteInfo[];
}

export async function observeAttachment(
  host: KernelNet,
  ctr: KernelNet | undefined,
  names: { bridge: string; hostVeth: string; containerIf: string },
): Promise<ObservedAttachment> {
  const [bridge, hostLink] = await Promise.all([host.getLink(names.bridge), host.getLink(names.hostVeth)]);
  let container: Link | undefined;
  let addrs: AddressInfo[] = [];
  let routes: RouteInfo[] = [];
  if (ctr) {
    container = await ctr.getLink(names.containerIf);
    if (container) {
      addrs = await ctr.listAddresses(container.index);
      routes = (await ctr.listRoutes()).filter((r) => r.devIndex === container!.index);
    }
  }
  return {
    ...(bridge ? { bridge } : {}),
    ...(hostLink ? { host: hostLink } : {}),
    ...(container ? { container } : {}),
    containerAddresses: addrs.map((a) => a.cidr),
    containerRoutes: routes,
  };
}

/** Host ends on `bridge` whose names `isOurs` claims (for GC). */
export async function listAttachedVeths(
  host: KernelNet,
  bridge: string,
  isOurs: (name: string) => boolean,
): Promise<Link[]> {
  const br = await host.getLink(bridge);
  if (!br) return [];
  return (await host.listLinks()).filter((l) => l.masterIndex === br.index && isOurs(l.name));
}
