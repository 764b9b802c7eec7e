/**
 * `weft attach` / `weft detach`: give a running container (a network
 * namespace: a path, a PID or a Docker container, see router/docker) an
 * interface on the overlay after the fact, and take it away again — with the
 * CNI plugin's own kernel code (router/kernel/attach.ts) and the router's IPAM
 * API, under the names of attachment-ids.ts:
 *
 *   attach:  MTU from the router (/report overlay.mtu) → addresses (POST
 *            /ip/attach:<key>[/net/len] or PUT for an exact address) → veth
 *            pair wfa…/ethwe on the bridge → addresses and routes in the
 *            container. A failure undoes what this call did, the device before
 *            the addresses; attaching again is harmless (same addresses).
 *   detach:  the host veth (its pair goes with it) → DELETE /ip/attach:<key>.
 *
 * Routes in the container: the address's subnet (the kernel adds it), the
 * whole allocation range when the subnet is smaller, and multicast
 * (224.0.0.0/4) over the overlay, as Weave did.
 */
import { isWeftError, WeftError } from '../../common/errors.js';
import { cidrNetwork, formatCidr, parseCidr } from '../../common/ip.js';
import type { ResolvedTarget } from '../docker/attach-target.js';
import { ATTACH_IFNAME, attachAllocationId, attachHostVeth } from '../host/attachment-ids.js';
import {
  attachVeth,
  type ContainerRoute,
  configureContainerInterface,
  detachVeth,
  isAlreadyAttached,
} from '../kernel/attach.js';
import type { KernelNet, NetnsRef } from '../kernel/kernel-net.js';
import type { HttpMethod } from './api-client.js';

export const MULTICAST_ROUTE = '224.0.0.0/4';

export interface RouterApi {
  json<T>(method: HttpMethod, path: string, body?: unknown): Promise<T>;
}

export interface AttachKernel {
  host(): KernelNet;
  openNetns(path: string): { readonly ref: NetnsRef; kernel(): KernelNet; close(): void };
}

export interface AttachDeps {
  api: RouterApi;
  kernel: AttachKernel;
  bridge: string;
}

interface IpamAddress {
  address: string;
  range: string;
}

export interface AttachResult {
  addresses: string[];
  hostVeth: string;
  mtu: number;
  /** The interface was there already (attach run twice). */
  already: boolean;
}

const ipPath = (key: string) => `/ip/${encodeURIComponent(attachAllocationId(key))}`;

async function held(api: RouterApi, key: string): Promise<IpamAddress[]> {
  try {
    return (await api.json<{ addresses: IpamAddress[] }>('GET', ipPath(key))).addresses;
  } catch (e) {
    if (isWeftError(e) && e.code === 'NOT_FOUND') return [];
    throw e;
  }
}

/** One requested address: a subnet (allocate in it) or an exact address (claim it). */
async function obtain(api: RouterApi, key: string, cidr: string): Promise<IpamAddress> {
  const subnet = parseCidr(cidr);
  if (subnet) {
    const [net, len] = formatCidr(subnet).split('/');
    return api.json<IpamAddress>('POST', `${ipPath(key)}/${net}/${len}`);
  }
  const exact = parseCidr(cidr, { host: true });
  if (!exact) {
    throw new WeftError(
      'INVALID_CIDR',
      `--cidr ${JSON.stringify(cidr)}: want a.b.c.d/n (a subnet to allocate from, or an exact address)`,
    );
  }
  const [ip, len] = cidr.split('/');
  return api.json<IpamAddress>('PUT', `${ipPath(key)}/${ip}/${len}`);
}

export function containerRoutes(addresses: readonly IpamAddress[]): ContainerRoute[] {
  const routes: ContainerRoute[] = [];
  const nets = new Set(
    addresses.map((a) => {
      const c = parseCidr(a.address, { host: true })!;
      return formatCidr({ addr: cidrNetwork(c), prefix: c.prefix });
    }),
  );
  for (const range of new Set(addresses.map((a) => a.range))) {
    if (!nets.has(range)) routes.push({ dst: range });
  }
  routes.push({ dst: MULTICAST_ROUTE });
  return routes;
}

async function overlayMtu(api: RouterApi): Promise<number> {
  const report = await api.json<{ overlay?: { mtu?: number } }>('GET', '/report');
  const mtu = report.overlay?.mtu;
  if (typeof mtu !== 'number') {
    throw new WeftError('NOT_FOUND', 'the router reports no overlay: it runs without its data plane');
  }
  return mtu;
}

export async function attach(
  deps: AttachDeps,
  target: ResolvedTarget,
  cidrs: readonly string[],
): Promise<AttachResult> {
  const { api } = deps;
  const mtu = await overlayMtu(api);
  const before = await held(api, target.key);
  const got: IpamAddress[] = [];
  const ctr = deps.kernel.openNetns(target.netnsPath);
  const hostVeth = attachHostVeth(target.key);
  let created = false;
  try {
    if (cidrs.length === 0) {
      got.push(...(before.length > 0 ? before : [await api.json<IpamAddress>('POST', ipPath(target.key))]));
    } else {
      for (const c of cidrs) got.push(await obtain(api, target.key, c));
    }
    let already = false;
    try {
      await attachVeth(deps.kernel.host(), {
        bridge: deps.bridge,
        createBridge: false,
        hostVeth,
        containerIf: ATTACH_IFNAME,
        netns: ctr.ref,
        mtu,
        hairpin: true,
      });
      created = true;
    } catch (e) {
      if (!isAlreadyAttached(e)) throw e;
      already = true;
    }
    const addresses = [...new Set(got.map((a) => a.address))];
    await configureContainerInterface(ctr.kernel(), ATTACH_IFNAME, addresses, containerRoutes(got));
    return { addresses, hostVeth, mtu, already };
  } catch (e) {
    if (created) await detachVeth(deps.kernel.host(), hostVeth).catch(() => undefined);
    const old = new Set(before.map((a) => a.address));
    for (const a of got.filter((x) => !old.has(x.address))) {
      const ip = a.address.split('/')[0];
      await api.json('DELETE', `${ipPath(target.key)}/${ip}`).catch(() => undefined);
    }
    throw e;
  } finally {
    ctr.close();
  }
}

export interface DetachResult {
  removedDevice: boolean;
  released: string[];
}

/** Detach by attachment key (a resolved target's, or the `attach:<key>` id `weft ps` shows). */
export async function detach(deps: AttachDeps, key: string, label: string): Promise<DetachResult> {
  const removedDevice = await detachVeth(deps.kernel.host(), attachHostVeth(key));
  const { released } = await deps.api.json<{ released: string[] }>('DELETE', ipPath(key));
  if (!removedDevice && released.length === 0) throw new WeftError('NOT_FOUND', `${label} is not attached`);
  return { removedDevice, released };
}
