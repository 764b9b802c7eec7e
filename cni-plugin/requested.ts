/**
 * What the runtime asks for beyond "an interface": a specific address (CNI_ARGS
 * `IP=`, `runtimeConfig.ips`, `args.cni.ips` — podman and CRI-O use all three)
 * and a specific MAC (CNI_ARGS `MAC=`, `runtimeConfig.mac`). weft hands out
 * one IPv4 address per interface, so more than one distinct request is refused.
 */
import { type Cidr, parseCidr, parseIp } from '../common/ip.js';
import { getCi } from './spec/case-insensitive.js';
import type { CniArgs } from './spec/cni-args.js';
import { CniCode, CniError } from './spec/errors.js';
import type { NetConf } from './spec/netconf.js';

/** An address the runtime wants; `prefix` is absent when it gave a bare IP. */
export interface RequestedIp {
  readonly ip: number;
  readonly prefix?: number;
}

function parseOne(s: string, source: string): RequestedIp {
  const c: Cidr | undefined = s.includes('/') ? parseCidr(s, { host: true }) : undefined;
  if (c) return { ip: c.addr, prefix: c.prefix };
  const ip = parseIp(s);
  if (ip !== undefined) return { ip };
  throw new CniError(
    CniCode.INVALID_CONFIG,
    `${source}: ${JSON.stringify(s)} is not an IPv4 address`,
    'weft allocates IPv4 only',
  );
}

function stringList(v: unknown, source: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    throw new CniError(CniCode.INVALID_CONFIG, `${source} must be an array of strings`);
  return v as string[];
}

export function requestedIp(conf: NetConf, args: CniArgs): RequestedIp | undefined {
  const found: Array<{ req: RequestedIp; source: string }> = [];
  const fromArgs = args.known.get('IP');
  if (fromArgs)
    for (const s of fromArgs.split(',')) found.push({ req: parseOne(s, 'CNI_ARGS IP'), source: 'CNI_ARGS' });
  for (const s of stringList(getCi(conf.runtimeConfig, 'ips'), 'runtimeConfig.ips'))
    found.push({ req: parseOne(s, 'runtimeConfig.ips'), source: 'runtimeConfig' });
  for (const s of stringList(getCi(getCi(conf.args, 'cni'), 'ips'), 'args.cni.ips'))
    found.push({ req: parseOne(s, 'args.cni.ips'), source: 'args' });
  const distinct = new Set(found.map((f) => f.req.ip));
  if (distinct.size > 1)
    throw new CniError(
      CniCode.INVALID_CONFIG,
      'more than one address requested for one interface',
      found.map((f) => `${f.source}`).join(', '),
    );
  // A request with a prefix says more than a bare one for the same address.
  return found.find((f) => f.req.prefix !== undefined)?.req ?? found[0]?.req;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export function requestedMac(conf: NetConf, args: CniArgs): string | undefined {
  const v = args.known.get('MAC') ?? getCi(conf.runtimeConfig, 'mac');
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !MAC.test(v))
    throw new CniError(CniCode.INVALID_CONFIG, `invalid MAC address ${JSON.stringify(v)}`);
  // The low bit of the first octet marks multicast: such a MAC cannot be an interface's.
  if (Number.parseInt(v.slice(0, 2), 16) & 1)
    throw new CniError(CniCode.INVALID_CONFIG, `MAC address ${v} is a multicast address`);
  return v.toLowerCase();
}
