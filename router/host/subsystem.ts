/**
 * The host subsystem: `weft expose` / `weft hide` (POST/DELETE /expose) and
 * `weft ps` (GET /attachments). It needs the IPAM service (addresses for the
 * host, the allocations to list), handed over by the IPAM subsystem's
 * `onService`, and the kernel of the router's namespace: a netlink socket,
 * opened on first use, and the `nft` program.
 *
 *   let ipam: IpamService | undefined;
 *   subsystems: [ipamSubsystem({ ...opts, onService: (s) => { ipam = s; } }),
 *                hostSubsystem({ ipam: () => ipam })]
 */

import type { SubsystemFactory } from '../daemon/subsystem.js';
import { DEFAULT_DEVICES } from '../dataplane/devices.js';
import type { KernelNet } from '../kernel/kernel-net.js';
import { openNetlinkKernel } from '../kernel/netlink-kernel.js';
import { Nftables } from '../kernel/nftables.js';
import { joinAttachments } from './attachments.js';
import { type ExposeIpam, ExposeService } from './expose-service.js';
import { type ExposeControl, hostApiExtension } from './routes.js';

export interface HostIpam extends ExposeIpam {
  all?(): ReadonlyArray<{ containerId: string; address: string }>;
}

export interface HostSubsystemOptions {
  ipam: () => HostIpam | undefined;
  bridge?: string;
  /** Another kernel than the router namespace's (tests). */
  kernel?: () => KernelNet;
}

export function hostSubsystem(opts: HostSubsystemOptions): SubsystemFactory {
  return (ctx) => {
    const bridge = opts.bridge ?? DEFAULT_DEVICES.bridge;
    let kernel: KernelNet | undefined;
    const k = () => {
      kernel ??= opts.kernel ? opts.kernel() : openNetlinkKernel();
      return kernel;
    };
    // The netlink socket is opened by the first request, not at start.
    let service: ExposeService | undefined;
    const svc = () => {
      service ??= new ExposeService({
        ipam: opts.ipam,
        deps: { kernel: k(), nft: new Nftables() },
        bridge,
        logger: ctx.logger.child({ component: 'expose' }),
      });
      return service;
    };
    const expose: ExposeControl = {
      state: () => svc().state(),
      expose: (req) => svc().expose(req),
      hide: (req) => svc().hide(req),
    };
    const attachments = async () => {
      const kn = k();
      const br = await kn.getLink(bridge);
      const [links, fdb] = br
        ? await Promise.all([kn.listLinks(), kn.listFdb({ where: 'master' })])
        : [[], []];
      return joinAttachments({ allocations: opts.ipam()?.all?.() ?? [], bridge: br, links, fdb });
    };
    return {
      name: 'host',
      api: hostApiExtension({ expose, attachments }),
      stop: () => {
        if (kernel && !opts.kernel) kernel.close();
        kernel = undefined;
        service = undefined;
      },
    };
  };
}
