/**
 * The kernel devices the data plane owns, programmed through the KernelNet
 * adapter (netlink): the `weft` bridge, the sleeve TAP port (opened by the
 * engine), and for fastdp a VXLAN port plus a VXLAN device for heartbeats.
 *
 *                         bridge "weft"
 *        ┌───────────────┬─────┴──────────┬───────────────┐
 *   container veths   weft-sleeve (TAP)  weft-fastdp (VXLAN, VNI 0x7765)
 *   (not isolated)    isolated           isolated, learning off, no flooding
 *                     learning, flooding
 *   weft-fdp-hb (VXLAN, VNI 0x7766, same UDP port, not on the bridge): fastdp heartbeats
 *
 * Why: broadcast, multicast and unknown unicast reach the TAP only, and the
 * sleeve engine sends them along the mesh's broadcast tree, so every peer
 * gets each exactly once. The VXLAN port carries only unicast to MACs pinned
 * to it (sticky static entries, see fastdp-fdb.ts). The two ports are
 * isolated from each other, so a frame arriving over VXLAN can never leave
 * through the TAP (or the reverse): no loop between the paths is possible.
 */
import type { Logger } from '../../common/logger.js';
import { isExists } from '../kernel/kernel-errors.js';
import type { KernelNet, Link } from '../kernel/kernel-net.js';

export interface DeviceNames {
  bridge: string;
  tap: string;
  vxlan: string;
  heartbeat: string;
}

export const DEFAULT_DEVICES: DeviceNames = {
  bridge: 'weft',
  tap: 'weft-sleeve',
  vxlan: 'weft-fastdp',
  heartbeat: 'weft-fdp-hb',
};

/** VXLAN network identifiers: data, and heartbeats (a separate device, so heartbeats never touch the bridge). */
export const FASTDP_VNI = 0x7765;
export const FASTDP_HEARTBEAT_VNI = 0x7766;

export interface FastdpDeviceOptions {
  port: number;
  mtu: number;
  /** Source address for encapsulated packets (default: chosen by the kernel's routing). */
  local?: string;
}

/** Create the bridge if it is missing (the CNI plugin may have made it first), MTU set, up. */
export async function ensureBridge(kernel: KernelNet, name: string, mtu: number): Promise<Link> {
  let link = await kernel.getLink(name);
  if (!link) {
    try {
      link = await kernel.createBridge(name, { mtu, up: true });
    } catch (e) {
      if (!isExists(e)) throw e;
      link = await kernel.getLink(name);
    }
  }
  if (!link) throw new Error(`bridge ${name} vanished while being created`);
  if (link.kind !== 'bridge')
    throw new Error(`${name} exists and is not a bridge (${link.kind ?? 'unknown kind'})`);
  await kernel.setLink(name, { up: true });
  return link;
}

/**
 * Our ports are layer-2 only: no IPv6 on them, so they add no link-local
 * addresses, router solicitations or MLD reports to the overlay's broadcast
 * traffic. Best effort (IPv6 may be off altogether).
 */
async function noIpv6(kernel: KernelNet, dev: string): Promise<void> {
  await kernel.setSysctl(`net/ipv6/conf/${dev}/disable_ipv6`, 1).catch(() => {});
}

/** Attach the engine's TAP: it receives every flood, learns, and is isolated from the VXLAN port. */
export async function attachSleevePort(kernel: KernelNet, names: DeviceNames, mtu: number): Promise<void> {
  await noIpv6(kernel, names.tap);
  await kernel.setLink(names.tap, { mtu, master: names.bridge, up: true });
  await kernel.setBridgePort(names.tap, {
    learning: true,
    unicastFlood: true,
    multicastFlood: true,
    broadcastFlood: true,
    isolated: true,
  });
}

/** (Re)create the fastdp VXLAN port and the heartbeat device, with no forwarding entries. */
export async function createFastdpDevices(
  kernel: KernelNet,
  names: DeviceNames,
  opts: FastdpDeviceOptions,
  log: Logger,
): Promise<void> {
  // A previous run's devices carry stale forwarding entries: start clean.
  for (const n of [names.vxlan, names.heartbeat]) {
    if (await kernel.deleteLink(n, { missingOk: true }))
      log.info({ device: n }, 'dataplane: removed a stale device');
  }
  const common = { port: opts.port, learning: false, ...(opts.local ? { local: opts.local } : {}) };
  await kernel.createVxlan(names.vxlan, { ...common, vni: FASTDP_VNI, mtu: opts.mtu });
  await noIpv6(kernel, names.vxlan);
  await kernel.setLink(names.vxlan, { master: names.bridge, up: true });
  await kernel.setBridgePort(names.vxlan, {
    learning: false,
    unicastFlood: false,
    multicastFlood: false,
    broadcastFlood: false,
    isolated: true,
  });
  await kernel.createVxlan(names.heartbeat, { ...common, vni: FASTDP_HEARTBEAT_VNI });
  await noIpv6(kernel, names.heartbeat);
  await kernel.setLink(names.heartbeat, { up: true });
}

/** Remove what the data plane created (`weft reset`): VXLAN devices, TAP, bridge. */
export async function removeDevices(
  kernel: KernelNet,
  names: DeviceNames,
  opts: { bridge: boolean },
): Promise<void> {
  for (const n of [names.vxlan, names.heartbeat, names.tap]) await kernel.deleteLink(n, { missingOk: true });
  if (opts.bridge) await kernel.deleteLink(names.bridge, { missingOk: true });
}

/** Pin mac to the VXLAN port, behind the VTEP at ip. */
export async function pinFastdpMac(kernel: KernelNet, vxlan: string, mac: string, ip: string): Promise<void> {
  await kernel.addFdb({ link: vxlan, mac, where: 'self', dst: ip }, { mode: 'replace' });
  await kernel.addFdb(
    { link: vxlan, mac, where: 'master', state: 'static', sticky: true },
    { mode: 'replace' },
  );
}

export async function unpinFastdpMac(
  kernel: KernelNet,
  vxlan: string,
  mac: string,
  ip: string,
): Promise<void> {
  await kernel.deleteFdb({ link: vxlan, mac, where: 'master' }, { missingOk: true });
  await kernel.deleteFdb({ link: vxlan, mac, where: 'self', dst: ip }, { missingOk: true });
}

/** MACs of local containers: learned by the bridge on ports other than our own two. */
export async function localMacs(kernel: KernelNet, names: DeviceNames): Promise<Set<string>> {
  const [bridge, tap, vxlan] = await Promise.all([
    kernel.getLink(names.bridge),
    kernel.getLink(names.tap),
    kernel.getLink(names.vxlan),
  ]);
  if (!bridge) return new Set();
  const ours = new Set([bridge.index, tap?.index, vxlan?.index]);
  const entries = await kernel.listFdb({ where: 'master' });
  return new Set(
    entries
      .filter((e) => e.masterIndex === bridge.index && !ours.has(e.linkIndex) && e.state !== 'permanent')
      .map((e) => e.mac),
  );
}
