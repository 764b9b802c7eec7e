/**
 * The data plane as the daemon starts it (`weft router`): an OverlayFactory
 * (router/daemon/subsystem.ts) that opens the netlink adapter in the router's
 * namespace, creates the devices and the sleeve engine, and contributes the
 * `overlay` section of /report and a status block. Stopping leaves the bridge
 * and devices in place (containers keep their links); `weft reset` removes
 * them (`resetDataplane`).
 */

import type { StatusBlock } from '../api/status-text.js';
import type { OverlayFactory } from '../daemon/subsystem.js';
import type { KernelNet } from '../kernel/kernel-net.js';
import { openNetlinkKernel } from '../kernel/netlink-kernel.js';
import { DEFAULT_DEVICES, type DeviceNames, removeDevices } from './devices.js';
import { dataplaneMetricsSource } from './metrics-source.js';
import { DEFAULT_UNDERLAY_MTU } from './mtu.js';
import { WeftOverlay } from './overlay.js';

export interface DataplaneConfig {
  /** Mesh port (sleeve UDP uses it, fastdp port + 1). */
  port: number;
  /** Mesh bind address ("" = all). */
  host: string;
  /** false: --no-fastdp. */
  fastdp?: boolean;
  /** --mtu. */
  mtu?: number;
}

export function dataplaneOverlay(cfg: DataplaneConfig): OverlayFactory {
  return async (ctx) => {
    const kernel = openNetlinkKernel();
    try {
      const underlayMtu = await underlayMtuOf(kernel, cfg.host);
      const overlay = new WeftOverlay({
        self: ctx.name,
        meshPort: cfg.port,
        ...(cfg.host ? { bindIp: cfg.host, localIp: cfg.host } : {}),
        // A password means every peer is on the encrypted sleeve, so fastdp is never used; its
        // VXLAN port must not even exist: on the bridge it would take unauthenticated,
        // unencrypted frames from anyone who can send UDP to port + 1.
        fastdp: cfg.fastdp !== false && ctx.config.password === undefined,
        ...(cfg.mtu ? { mtu: cfg.mtu } : {}),
        underlayMtu,
        kernel,
        clock: ctx.clock,
        logger: ctx.logger,
      });
      await overlay.start();
      return {
        overlay,
        subsystem: {
          name: 'dataplane',
          api: {
            name: 'overlay',
            report: () => overlay.report(),
            status: (): StatusBlock => [
              [
                'Data plane',
                `MTU ${overlay.mtu}, fastdp ${cfg.fastdp === false ? 'disabled (--no-fastdp)' : ctx.config.password !== undefined ? 'disabled (password: encrypted sleeve only)' : 'enabled'}`,
              ],
              ...overlay
                .report()
                .connections.map((c): [string, string] => [
                  c.peer,
                  `${c.info.path}${c.info.encrypted ? ', encrypted' : ''}${c.info.healthy ? '' : ' (unhealthy)'}`,
                ]),
            ],
          },
          metrics: {
            dataplane: dataplaneMetricsSource({
              sleeve: () => overlay.stats(),
              ...(cfg.fastdp === false ? {} : { fastdpDevice: DEFAULT_DEVICES.vxlan }),
            }),
          },
          stop: async () => {
            await overlay.stop();
            kernel.close();
          },
        },
      };
    } catch (e) {
      kernel.close();
      throw e;
    }
  };
}

/** Remove the data plane's devices (bridge included): `weft reset`. */
export async function resetDataplane(kernel: KernelNet, names: DeviceNames = DEFAULT_DEVICES): Promise<void> {
  await removeDevices(kernel, names, { bridge: true });
}

/**
 * MTU of the underlay: the interface holding the bind address, else the one
 * with the default route, else the first other interface that is up with an
 * IPv4 address (a lab host has no default route).
 */
async function underlayMtuOf(kernel: KernelNet, host: string): Promise<number> {
  const [links, addrs, routes] = await Promise.all([
    kernel.listLinks(),
    kernel.listAddresses(),
    kernel.listRoutes(),
  ]);
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const ours = new Set(Object.values(DEFAULT_DEVICES));
  const pick = (index: number | undefined) => (index === undefined ? undefined : byIndex.get(index)?.mtu);
  if (host) {
    const a = addrs.find((x) => x.cidr.split('/')[0] === host);
    const m = pick(a?.index);
    if (m) return m;
  }
  const def = routes.find((r) => r.dst === '0.0.0.0/0' && r.devIndex !== undefined);
  const m = pick(def?.devIndex);
  if (m) return m;
  for (const a of addrs) {
    const l = byIndex.get(a.index);
    if (l?.up && l.name !== 'lo' && !ours.has(l.name) && !a.cidr.startsWith('127.')) return l.mtu;
  }
  return DEFAULT_UNDERLAY_MTU;
}
