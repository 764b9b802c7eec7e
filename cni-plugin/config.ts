/**
 * weft's own keys in the network configuration, for `weft-net` and for the
 * `weft-ipam` section. Defaults are the ones a user of `weft setup-cni` gets:
 *
 *   {"type":"weft-net","bridge":"weft","router":"127.0.0.1:6784","hairpinMode":true,
 *    "mtu":<bridge's>,"defaultRoute":false,"gateway":<ip>,"multicast":false,
 *    "routerTimeoutMs":10000,"subnet":<cidr>,"logFile":<path>,"logLevel":"warn",
 *    "ipam":{"type":"weft-ipam"|<any IPAM plugin>, …}}
 */
import { type Cidr, parseCidr, parseIp } from '../common/ip.js';
import { ifnameProblem } from './spec/env.js';
import { CniCode, CniError } from './spec/errors.js';
import type { NetConf } from './spec/netconf.js';
import { type CniRoute, decodeResult } from './spec/result.js';

export const DEFAULT_BRIDGE = 'weft';
export const DEFAULT_ROUTER = '127.0.0.1:6784';
/** Long enough for an allocation that waits on a peer, short enough that kubelet gets an answer. */
export const DEFAULT_ROUTER_TIMEOUT_MS = 10_000;
export const WEFT_IPAM_TYPE = 'weft-ipam';
/** The route containers get for multicast when `multicast` is on (as Weave's attach did). */
export const MULTICAST_DST = '224.0.0.0/4';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RouterEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface WeftIpamConfig {
  readonly router: RouterEndpoint;
  readonly timeoutMs: number;
  /** Allocate inside this subnet of the range instead of the router's default. */
  readonly subnet?: Cidr;
  /** Extra routes to hand out with the address (only what the user configured). */
  readonly routes: readonly CniRoute[];
  readonly gateway?: string;
}

export type IpamChoice =
  | { readonly kind: 'weft'; readonly config: WeftIpamConfig }
  | { readonly kind: 'delegate'; readonly type: string };

export interface WeftNetConfig {
  readonly bridge: string;
  readonly hairpin: boolean;
  readonly mtu?: number;
  readonly defaultRoute: boolean;
  readonly gateway?: string;
  readonly multicast: boolean;
  readonly ipam: IpamChoice;
  readonly log: LogConfig;
}

export interface LogConfig {
  readonly file?: string;
  readonly level: LogLevel;
}

function bad(key: string, why: string): never {
  throw new CniError(CniCode.INVALID_CONFIG, `"${key}" ${why}`);
}

function optBool(o: Readonly<Record<string, unknown>>, key: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') bad(key, 'must be true or false');
  return v;
}

function optInt(
  o: Readonly<Record<string, unknown>>,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    bad(key, `must be an integer in ${min}..${max}`);
  return v;
}

function optIp(o: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || parseIp(v) === undefined) bad(key, 'must be an IPv4 address');
  return v;
}

export function parseRouterEndpoint(s: unknown, key = 'router'): RouterEndpoint {
  if (s === undefined || s === null || s === '') s = DEFAULT_ROUTER;
  if (typeof s !== 'string') bad(key, 'must be "host:port"');
  const m = /^(.+):([0-9]{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) bad(key, `must be "host:port", not ${JSON.stringify(s)}`);
  const host = m[1]!;
  if (parseIp(host) === undefined && host !== 'localhost')
    bad(key, 'host must be an IPv4 address or localhost');
  return { host, port };
}

/** `logFile` and `logLevel` from an object (weft-net's config, or weft-ipam's `ipam` section). */
export function parseLogKeys(o: Readonly<Record<string, unknown>>): LogConfig {
  const file = o.logFile;
  if (file !== undefined && (typeof file !== 'string' || !file.startsWith('/')))
    bad('logFile', 'must be an absolute path');
  const level = o.logLevel ?? 'warn';
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error')
    bad('logLevel', 'must be debug, info, warn or error');
  return { ...(file ? { file } : {}), level };
}

/**
 * The weft-ipam section. `fallback` holds weft-net's top-level keys, which
 * apply when weft-net uses the built-in allocator without an `ipam` section.
 */
export function parseWeftIpamConfig(
  ipam: Readonly<Record<string, unknown>>,
  fallback: Readonly<Record<string, unknown>> = {},
): WeftIpamConfig {
  const router = parseRouterEndpoint(ipam.router ?? fallback.router);
  const timeoutMs =
    optInt(ipam, 'timeoutMs', 100, 600_000) ??
    optInt(fallback, 'routerTimeoutMs', 100, 600_000) ??
    DEFAULT_ROUTER_TIMEOUT_MS;
  const subnetRaw = ipam.subnet ?? fallback.subnet;
  let subnet: Cidr | undefined;
  if (subnetRaw !== undefined && subnetRaw !== null && subnetRaw !== '') {
    subnet = typeof subnetRaw === 'string' ? parseCidr(subnetRaw) : undefined;
    if (!subnet) bad('subnet', 'must be an IPv4 CIDR with zero host bits');
  }
  const routes =
    ipam.routes === undefined
      ? []
      : decodeResult({ routes: ipam.routes }, '1.0.0', CniCode.INVALID_CONFIG, 'ipam').routes;
  const gateway = optIp(ipam, 'gateway');
  return { router, timeoutMs, ...(subnet ? { subnet } : {}), routes, ...(gateway ? { gateway } : {}) };
}

export function parseWeftNetConfig(conf: NetConf): WeftNetConfig {
  const o = conf.raw;
  const bridge = o.bridge ?? DEFAULT_BRIDGE;
  if (typeof bridge !== 'string' || ifnameProblem(bridge)) bad('bridge', 'must be a valid interface name');
  const mtu = optInt(o, 'mtu', 576, 65535);
  const gateway = optIp(o, 'gateway');
  const ipam: IpamChoice =
    !conf.ipam || conf.ipam.type === WEFT_IPAM_TYPE
      ? { kind: 'weft', config: parseWeftIpamConfig(conf.ipam ?? {}, o) }
      : { kind: 'delegate', type: conf.ipam.type };
  return {
    bridge,
    hairpin: optBool(o, 'hairpinMode', true),
    ...(mtu !== undefined ? { mtu } : {}),
    defaultRoute: optBool(o, 'defaultRoute', false),
    ...(gateway ? { gateway } : {}),
    multicast: optBool(o, 'multicast', false),
    ipam,
    log: parseLogKeys(o),
  };
}
