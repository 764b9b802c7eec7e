/**
 * Request → plan, pure: from the validated request, what the kernel adapter
 * must create (names, MTU, MAC, hairpin), and — once IPAM has answered and the
 * bridge is known — which addresses and routes the container gets and what
 * the result says. No clocks, no I/O: every fact about the outside world comes
 * in as an argument, so every decision here is table-tested.
 */
import { cidrContains, cidrNetwork, formatCidr, parseCidr, parseIp } from '../common/ip.js';
import { MULTICAST_DST, type WeftNetConfig } from './config.js';
import { hostVethName } from './naming.js';
import { getCi } from './spec/case-insensitive.js';
import type { CniEnv } from './spec/env.js';
import { CniCode, CniError } from './spec/errors.js';
import type { NetConf } from './spec/netconf.js';
import {
  type CniDns,
  type CniInterface,
  type CniIp,
  type CniResult,
  type CniRoute,
  ipFamily,
} from './spec/result.js';

export const DEFAULT_DST = '0.0.0.0/0';

export interface InterfacePlan {
  readonly bridge: string;
  /** Create the bridge when it is missing (delegated IPAM); with weft IPAM the router owns it. */
  readonly createBridge: boolean;
  readonly hostVeth: string;
  readonly containerIf: string;
  readonly netns: string;
  /** Explicit MTU from the config; otherwise the bridge's (the router sets it). */
  readonly mtu?: number;
  readonly mac?: string;
  readonly hairpin: boolean;
}

export function planInterfaces(env: CniEnv, weft: WeftNetConfig, mac: string | undefined): InterfacePlan {
  return {
    bridge: weft.bridge,
    createBridge: weft.ipam.kind === 'delegate',
    hostVeth: hostVethName(env.containerId, env.ifname),
    containerIf: env.ifname,
    netns: env.netns,
    ...(weft.mtu !== undefined ? { mtu: weft.mtu } : {}),
    ...(mac ? { mac } : {}),
    hairpin: weft.hairpin,
  };
}

/** What the kernel says about the bridge when addresses are planned. */
export interface BridgeFacts {
  readonly name: string;
  readonly mac: string;
  /** The bridge's own IPv4 addresses ("10.32.0.1/12" after `weft expose`). */
  readonly addresses: readonly string[];
}

export interface AddressingPlan {
  /** Addresses for the container interface, host form ("10.32.0.5/12"). */
  readonly addresses: readonly string[];
  /** Routes as they appear in the result. */
  readonly routes: readonly CniRoute[];
  /** Routes to install: the result's minus those the kernel adds itself for an address. */
  readonly kernelRoutes: readonly CniRoute[];
  readonly gateway?: string;
}

function connectedNetworks(addresses: readonly string[]): Set<string> {
  const nets = new Set<string>();
  for (const a of addresses) {
    const c = parseCidr(a, { host: true });
    if (c) nets.add(formatCidr({ addr: cidrNetwork(c), prefix: c.prefix }));
  }
  return nets;
}

/** Normalise a route destination so "10.32.0.9/12" and "10.32.0.0/12" compare equal. */
function normDst(dst: string): string {
  const c = parseCidr(dst, { host: true });
  return c ? formatCidr({ addr: cidrNetwork(c), prefix: c.prefix }) : dst;
}

/**
 * The gateway, in order of preference: the IPAM result's, the config's, the
 * bridge's own address in the container's subnet (set by `weft expose`).
 */
function chooseGateway(weft: WeftNetConfig, ipamIp: CniIp, bridge: BridgeFacts): string | undefined {
  if (ipamIp.gateway) return ipamIp.gateway;
  if (weft.gateway) return weft.gateway;
  const mine = parseCidr(ipamIp.address, { host: true })!;
  for (const a of bridge.addresses) {
    const b = parseCidr(a, { host: true });
    if (b && b.prefix === mine.prefix && cidrContains(mine, b.addr)) return a.slice(0, a.indexOf('/'));
  }
  return undefined;
}

export function planAddressing(weft: WeftNetConfig, ipam: CniResult, bridge: BridgeFacts): AddressingPlan {
  if (ipam.ips.length === 0) throw new CniError(CniCode.DELEGATE_FAILED, 'IPAM returned no address');
  const v6 = ipam.ips.find((ip) => ipFamily(ip.address) !== '4');
  if (v6)
    throw new CniError(CniCode.INVALID_CONFIG, `IPAM returned ${v6.address}: weft-net attaches IPv4 only`);
  const first = ipam.ips[0]!;
  const gateway = chooseGateway(weft, first, bridge);
  const addresses = ipam.ips.map((ip) => ip.address);

  const routes: CniRoute[] = [];
  const seen = new Set<string>();
  const add = (r: CniRoute) => {
    const key = normDst(r.dst);
    if (seen.has(key)) return;
    seen.add(key);
    routes.push(r);
  };
  // The overlay: the network of each address, always, so containers that
  // rewrite their routing table (or runtimes that read the result) see it.
  for (const net of connectedNetworks(addresses)) add({ dst: net });
  for (const r of ipam.routes) {
    if (ipFamily(r.dst) !== '4') throw new CniError(CniCode.INVALID_CONFIG, `IPAM route ${r.dst}: IPv4 only`);
    add(r.gw || !gateway || normDst(r.dst) !== DEFAULT_DST ? r : { ...r, gw: gateway });
  }
  if (weft.multicast) add({ dst: MULTICAST_DST });
  if (weft.defaultRoute) {
    if (!gateway)
      throw new CniError(
        CniCode.INVALID_CONFIG,
        'defaultRoute needs a gateway',
        'set "gateway", or give the host an overlay address with `weft expose`',
      );
    add({ dst: DEFAULT_DST, gw: gateway });
  }
  const connected = connectedNetworks(addresses);
  const kernelRoutes = routes
    .filter((r) => r.gw !== undefined || !connected.has(normDst(r.dst)))
    // On-link routes first: a gateway must be reachable before a route can use it.
    .sort((a, b) => Number(a.gw !== undefined) - Number(b.gw !== undefined));
  if (gateway && parseIp(gateway) === undefined)
    throw new CniError(CniCode.INVALID_CONFIG, `gateway ${gateway}: IPv4 only`);
  return { addresses, routes, kernelRoutes, ...(gateway ? { gateway } : {}) };
}

/** DNS for the result: runtimeConfig.dns (a capability) over the config's over IPAM's. */
export function planDns(conf: NetConf, ipam: CniDns): CniDns {
  const rc = getCi(conf.runtimeConfig, 'dns');
  const list = (v: unknown) =>
    Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined;
  const fromRuntime: CniDns = {};
  const servers = list(getCi(rc, 'servers'));
  const searches = list(getCi(rc, 'searches'));
  const options = list(getCi(rc, 'options'));
  if (servers?.length) fromRuntime.nameservers = servers;
  if (searches?.length) fromRuntime.search = searches;
  if (options?.length) fromRuntime.options = options;
  return { ...ipam, ...conf.dns, ...fromRuntime };
}

/** What the kernel reports after the attachment exists. */
export interface AttachmentFacts {
  readonly bridge: { readonly name: string; readonly mac: string };
  readonly host: { readonly name: string; readonly mac: string; readonly mtu: number };
  readonly container: { readonly name: string; readonly mac: string; readonly mtu: number };
}

/** Index of the container interface in `interfaces`; every IP points at it. */
export const CONTAINER_INTERFACE_INDEX = 2;

export function buildResult(
  netns: string,
  facts: AttachmentFacts,
  addressing: AddressingPlan,
  dns: CniDns,
): CniResult {
  const interfaces: CniInterface[] = [
    { name: facts.bridge.name, mac: facts.bridge.mac },
    { name: facts.host.name, mac: facts.host.mac, mtu: facts.host.mtu },
    { name: facts.container.name, mac: facts.container.mac, mtu: facts.container.mtu, sandbox: netns },
  ];
  return {
    interfaces,
    ips: addressing.addresses.map((address) => ({
      address,
      ...(addressing.gateway ? { gateway: addressing.gateway } : {}),
      interface: CONTAINER_INTERFACE_INDEX,
    })),
    routes: [...addressing.routes],
    dns,
  };
}
