/**
 * `weft router [flags] [peer…]`: run the router in the foreground (systemd,
 * Kubernetes, tests, and what `weft launch` starts in the background). The
 * flags are declared in router-options.ts and validated by parseRouterConfig
 * and parseIpallocFlags. Peers that are addresses of this host are left out,
 * so the same peer list can be given to every host.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { RouterConfig } from '../daemon/config.js';
import { parseIpallocFlags } from '../ipam-service/flags.js';
import type { IpamService } from '../ipam-service/service.js';
import type { AddressInfo } from '../kernel/kernel-net.js';
import { splitOwnPeers } from './launch-checks.js';
import { parseRouterConfig } from './router-config.js';
import { addRouterOptions, type RouterCommandFlags } from './router-options.js';

/**
 * Flags → validated router and IPAM configuration (one-line WeftErrors). Pure
 * but for the environment. With `ownAddresses`, peers naming this host are
 * left out before the consensus size (peers + 1) is derived from them.
 */
export function routerConfigFrom(
  flags: RouterCommandFlags,
  peers: string[],
  ownAddresses?: readonly AddressInfo[],
) {
  const parsed: RouterConfig = parseRouterConfig(flags, peers, process.env, {
    hostname: hostname(),
    cwd: process.cwd(),
  });
  const config = ownAddresses
    ? { ...parsed, peers: splitOwnPeers(parsed.peers, ownAddresses).others }
    : parsed;
  const ipam = parseIpallocFlags(flags, process.env, config.peers.length);
  return { config, ipam };
}

/** This host's addresses (to recognise its own entry in a shared peer list). */
export async function hostAddresses(): Promise<AddressInfo[]> {
  const { openNetlinkKernel } = await import('../kernel/netlink-kernel.js');
  const kernel = openNetlinkKernel();
  try {
    return await kernel.listAddresses();
  } finally {
    kernel.close();
  }
}

export function registerRouterCommand(program: Command): void {
  const cmd = program
    .command('router')
    .description('run the weft router in the foreground')
    .argument('[peers...]', 'host[:port] of peers to connect to');
  addRouterOptions(cmd).action(async (peers: string[], flags: RouterCommandFlags) => {
    routerConfigFrom(flags, peers); // bad flags fail before the kernel is asked anything
    const { config, ipam } = routerConfigFrom(flags, peers, await hostAddresses());
    // Loaded only here so that client subcommands do not pay for the daemon's imports.
    const { runRouter } = await import('../daemon/run.js');
    const { dataplaneOverlay } = await import('../dataplane/subsystem.js');
    const { ipamSubsystem } = await import('../ipam-service/subsystem.js');
    const { hostSubsystem } = await import('../host/subsystem.js');
    // expose and ps need the IPAM service: the IPAM subsystem hands it over.
    let ipamService: IpamService | undefined;
    await runRouter(config, {
      subsystems: [
        ipamSubsystem({
          ...ipam,
          onService: (s) => {
            ipamService = s;
          },
        }),
        hostSubsystem({ ipam: () => ipamService }),
      ],
      overlay: dataplaneOverlay({
        port: config.port,
        host: config.host,
        fastdp: config.fastdp,
        mtu: config.mtu,
      }),
    });
  });
}
