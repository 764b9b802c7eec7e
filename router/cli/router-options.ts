/**
 * The flags of `weft router`, declared once as data: `weft router` and
 * `weft launch` both register them, and `weft launch` turns the parsed flags
 * back into the argument list of the `weft router` it starts (`routerArgs`).
 */
import type { Command } from 'commander';
import { ROUTER_DEFAULTS } from '../daemon/config.js';
import { DEFAULT_IPALLOC_RANGE, type IpallocFlags } from '../ipam-service/flags.js';
import type { RouterFlags } from './router-config.js';

export type RouterCommandFlags = RouterFlags & IpallocFlags;

interface RouterOption {
  /** Commander's flag syntax. */
  flags: string;
  key: keyof RouterCommandFlags;
  help: string;
  /** A `--no-x` flag: commander sets `key` to false when given. */
  negated?: boolean;
}

export const ROUTER_OPTIONS: readonly RouterOption[] = [
  {
    flags: '--name <mac>',
    key: 'name',
    help: 'peer name (xx:xx:xx:xx:xx:xx); default derived from the machine id and data dir',
  },
  {
    flags: '--nickname <name>',
    key: 'nickname',
    help: 'human-friendly name shown in status (default: hostname)',
  },
  { flags: '--port <port>', key: 'port', help: `mesh TCP port (default ${ROUTER_DEFAULTS.port})` },
  { flags: '--host <ip>', key: 'host', help: 'address to bind the mesh port to (default: all)' },
  {
    flags: '--http-addr <host:port>',
    key: 'httpAddr',
    help: `HTTP API address (default ${ROUTER_DEFAULTS.httpAddr})`,
  },
  {
    flags: '--metrics-addr <host:port>',
    key: 'metricsAddr',
    help: `Prometheus metrics address, or "off" (default ${ROUTER_DEFAULTS.metricsAddr})`,
  },
  { flags: '--data-dir <dir>', key: 'dataDir', help: `state directory (default ${ROUTER_DEFAULTS.dataDir})` },
  {
    flags: '--password <password>',
    key: 'password',
    help: 'encrypt and authenticate the mesh with this password (or env WEFT_PASSWORD)',
  },
  {
    flags: '--conn-limit <n>',
    key: 'connLimit',
    help: `maximum number of connections (default ${ROUTER_DEFAULTS.connLimit})`,
  },
  {
    flags: '--no-discovery',
    key: 'discovery',
    negated: true,
    help: 'do not connect to peers learned from other peers',
  },
  {
    flags: '--log-level <level>',
    key: 'logLevel',
    help: `trace, debug, info, warn or error (default ${ROUTER_DEFAULTS.logLevel})`,
  },
  {
    flags: '--no-fastdp',
    key: 'fastdp',
    negated: true,
    help: 'never use the kernel VXLAN fast path: all traffic through the sleeve',
  },
  { flags: '--mtu <bytes>', key: 'mtu', help: 'overlay MTU for containers (default: underlay MTU - 110)' },
  {
    flags: '--ipalloc-range <cidr>',
    key: 'ipallocRange',
    help: `address range for containers (default ${DEFAULT_IPALLOC_RANGE})`,
  },
  {
    flags: '--ipalloc-init <mode>',
    key: 'ipallocInit',
    help: 'consensus[=N] (default), seed=name,name,… or observer',
  },
  {
    flags: '--ipalloc-default-subnet <cidr>',
    key: 'ipallocDefaultSubnet',
    help: 'subnet of the range to allocate from by default',
  },
];

export function addRouterOptions(cmd: Command): Command {
  for (const o of ROUTER_OPTIONS) cmd.option(o.flags, o.help);
  return cmd;
}

/**
 * The `weft router` arguments that reproduce `flags` (as commander parsed
 * them), with `override` replacing values (e.g. an absolute --data-dir) and
 * the keys in `omit` left out (the password travels in the environment).
 */
export function routerArgs(
  flags: RouterCommandFlags,
  opts: { override?: Partial<RouterCommandFlags>; omit?: ReadonlyArray<keyof RouterCommandFlags> } = {},
): string[] {
  const merged: RouterCommandFlags = { ...flags, ...opts.override };
  const args: string[] = [];
  for (const o of ROUTER_OPTIONS) {
    if (opts.omit?.includes(o.key)) continue;
    const v = merged[o.key];
    if (v === undefined) continue;
    const name = o.flags.split(' ')[0]!;
    if (o.negated) {
      if (v === false) args.push(name);
    } else args.push(name, String(v));
  }
  return args;
}
