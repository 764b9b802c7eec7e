/**
 * `weft router [flags] [peer…]`: run the router in the foreground (systemd,
 * Kubernetes, tests). Flags are declared here and validated by
 * parseRouterConfig; later subsystems add theirs to ROUTER_FLAGS' neighbours
 * (IPAM: --ipalloc-*, data plane: --no-fastdp, --mtu, metrics: --metrics-addr).
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { DEFAULT_IPALLOC_RANGE, type IpallocFlags, parseIpallocFlags } from '../ipam-service/flags.js';
import { parseRouterConfig, ROUTER_DEFAULTS, type RouterFlags } from './router-config.js';

export function registerRouterCommand(program: Command): void {
  program
    .command('router')
    .description('run the weft router in the foreground')
    .argument('[peers...]', 'host[:port] of peers to connect to')
    .option('--name <mac>', 'peer name (xx:xx:xx:xx:xx:xx); default derived from the machine id and data dir')
    .option('--nickname <name>', 'human-friendly name shown in status (default: hostname)')
    .option('--port <port>', `mesh TCP port (default ${ROUTER_DEFAULTS.port})`)
    .option('--host <ip>', 'address to bind the mesh port to (default: all)')
    .option('--http-addr <host:port>', `HTTP API address (default ${ROUTER_DEFAULTS.httpAddr})`)
    .option(
      '--metrics-addr <host:port>',
      `Prometheus metrics address, or "off" (default ${ROUTER_DEFAULTS.metricsAddr})`,
    )
    .option('--data-dir <dir>', `state directory (default ${ROUTER_DEFAULTS.dataDir})`)
    .option(
      '--password <password>',
      'encrypt and authenticate the mesh with this password (or env WEFT_PASSWORD)',
    )
    .option('--conn-limit <n>', `maximum number of connections (default ${ROUTER_DEFAULTS.connLimit})`)
    .option('--no-discovery', 'do not connect to peers learned from other peers')
    .option('--log-level <level>', `trace, debug, info, warn or error (default ${ROUTER_DEFAULTS.logLevel})`)
    .option('--no-fastdp', 'never use the kernel VXLAN fast path: all traffic through the sleeve')
    .option('--mtu <bytes>', 'overlay MTU for containers (default: underlay MTU - 110)')
    .option('--ipalloc-range <cidr>', `address range for containers (default ${DEFAULT_IPALLOC_RANGE})`)
    .option('--ipalloc-init <mode>', 'consensus[=N] (default), seed=name,name,… or observer')
    .option('--ipalloc-default-subnet <cidr>', 'subnet of the range to allocate from by default')
    .action(async (peers: string[], flags: RouterFlags & IpallocFlags) => {
      const config = parseRouterConfig(flags, peers, process.env, {
        hostname: hostname(),
        cwd: process.cwd(),
      });
      const ipam = parseIpallocFlags(flags, process.env, config.peers.length);
      // Loaded only here so that client subcommands do not pay for the daemon's imports.
      const { runRouter } = await import('../daemon/run.js');
      const { dataplaneOverlay } = await import('../dataplane/subsystem.js');
      const { ipamSubsystem } = await import('../ipam-service/subsystem.js');
      const { hostSubsystem } = await import('../daemon/host-subsystem.js');
      // expose and ps need the IPAM service: the IPAM subsystem hands it over.
      let ipamService: import('../ipam-service/service.js').IpamService | undefined;
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
