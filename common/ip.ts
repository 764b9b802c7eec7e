import { WeftError } from './errors.js';

/**
 * IPv4 addresses as unsigned 32-bit numbers, and CIDRs over them. Shared by
 * IPAM, the CNI plugin and the CLI so that every component parses addresses
 * the same (strict) way: no leading zeros, no shorthand, no IPv6.
 */
export interface Cidr {
  /** Network address (host bits cleared unless `parseCidr(.., {host: true})`). */
  readonly addr: number;
  readonly prefix: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

export function parseIp(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

export function mustParseIp(s: string): number {
  const v = parseIp(s);
  if (v === undefined) throw new WeftError('INVALID_ADDRESS', `invalid IPv4 address: ${JSON.stringify(s)}`);
  return v;
}

export function formatIp(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/**
 * Parse "a.b.c.d/n". With `host: false` (default) the host bits must be zero,
 * so "10.32.0.1/12" is refused as a range; with `host: true` the address is
 * kept as given (an interface address).
 */
export function parseCidr(s: string, opts: { host?: boolean } = {}): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIp(s.slice(0, slash));
  const ps = s.slice(slash + 1);
  if (addr === undefined || !/^(0|[1-9][0-9]?)$/.test(ps)) return undefined;
  const prefix = Number(ps);
  if (prefix > 32) return undefined;
  if (!opts.host && (addr & ~prefixMask(prefix)) >>> 0 !== 0) return undefined;
  return { addr, prefix };
}

export function mustParseCidr(s: string, opts: { host?: boolean } = {}): Cidr {
  const c = parseCidr(s, opts);
  if (!c) throw new WeftError('INVALID_CIDR', `invalid IPv4 CIDR: ${JSON.stringify(s)}`);
  return c;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.addr)}/${c.prefix}`;
}

export function cidrNetwork(c: Cidr): number {
  return (c.addr & prefixMask(c.prefix)) >>> 0;
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return (ip & prefixMask(c.prefix)) >>> 0 === cidrNetwork(c);
}

export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.addr);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}
