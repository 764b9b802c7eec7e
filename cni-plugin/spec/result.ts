/**
 * The CNI result in the plugin's own (newest, 1.1.0) model, and the exact
 * conversions between it and every version's JSON:
 *
 *   0.1.0 / 0.2.0   {cniVersion, ip4:{ip,gateway,routes}, ip6:{…}, dns}
 *   0.3.x / 0.4.0   {cniVersion, interfaces, ips:[{version,interface,address,gateway}], routes, dns}
 *   1.0.0           as 0.4.0 without ips[].version
 *   1.1.0           adds interface mtu/socketPath/pciID, route mtu/advmss/priority/table/scope
 *
 * Down-conversion to 0.1/0.2 keeps only the first IPv4 and first IPv6 address
 * and splits routes by the family of `dst`; with no address at all it fails as
 * libcni does ("cannot convert: no valid IP addresses"). Decoding never throws
 * anything but a CniError with the code the caller chose.
 */
import { CniCode, CniError } from './errors.js';
import { type CniVersion, isSupportedVersion, resultShape } from './version.js';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface CniIp {
  /** Host address with prefix, e.g. "10.32.0.5/12". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`; absent when the producer (an IPAM plugin) does not know it. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: CniDns;
}

export function emptyResult(): CniResult {
  return { interfaces: [], ips: [], routes: [], dns: {} };
}

const V4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** IPv6 text form (RFC 4291 §2.2, with an optional trailing IPv4); no zone ids. */
export function isIPv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const all = [...head, ...tail];
  let words = all.length;
  const last = all[all.length - 1];
  if (last?.includes('.')) {
    if (!V4.test(last)) return false;
    all.pop();
    words += 1; // an IPv4 tail fills two 16-bit groups
  }
  if (!all.every((g) => HEXTET.test(g))) return false;
  return halves.length === 2 ? words <= 7 : words === 8;
}

/** 4, 6 or 0 like node:net's isIP (which costs start-up time to load). */
function isIP(s: string): 0 | 4 | 6 {
  if (V4.test(s)) return 4;
  return isIPv6(s) ? 6 : 0;
}

/** "4" or "6" for an address with or without a prefix; undefined when it is neither. */
export function ipFamily(cidrOrIp: string): '4' | '6' | undefined {
  const slash = cidrOrIp.indexOf('/');
  const ip = slash < 0 ? cidrOrIp : cidrOrIp.slice(0, slash);
  const fam = isIP(ip);
  if (fam === 0) return undefined;
  if (slash >= 0) {
    const p = cidrOrIp.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > (fam === 4 ? 32 : 128)) return undefined;
  }
  return fam === 4 ? '4' : '6';
}

// ───────────────────────── encoding ─────────────────────────

type Json = Record<string, unknown>;

/** Copy the keys of `src` that Go's `omitempty` would keep: not unset, 0, "" or an empty list. */
function copySet(o: Json, src: object, keys: readonly string[]): Json {
  for (const k of keys) {
    const v = (src as Record<string, unknown>)[k];
    if (v === undefined || v === 0 || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    o[k] = v;
  }
  return o;
}

function dnsJson(d: CniDns): Json {
  return copySet({}, d, ['nameservers', 'domain', 'search', 'options']);
}

function routeJson(r: CniRoute, rich: boolean): Json {
  const o = copySet({ dst: r.dst }, r, rich ? ['gw', 'mtu', 'advmss', 'priority', 'table'] : ['gw']);
  // scope is a pointer in libcni: 0 (universe) is a value and is emitted.
  if (rich && r.scope !== undefined) o.scope = r.scope;
  return o;
}

function interfaceJson(i: CniInterface, rich: boolean): Json {
  return copySet(
    { name: i.name },
    i,
    rich ? ['mac', 'mtu', 'socketPath', 'pciID', 'sandbox'] : ['mac', 'sandbox'],
  );
}

function legacyJson(r: CniResult, version: CniVersion): Json {
  const out: Json = { cniVersion: version };
  const pick = (fam: '4' | '6') => r.ips.find((ip) => ipFamily(ip.address) === fam);
  for (const fam of ['4', '6'] as const) {
    const ip = pick(fam);
    if (!ip) continue;
    const routes = r.routes.filter((rt) => ipFamily(rt.dst) === fam).map((rt) => routeJson(rt, false));
    out[`ip${fam}`] = {
      ip: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
      ...(routes.length ? { routes } : {}),
    };
  }
  if (!out.ip4 && !out.ip6) throw new CniError(CniCode.INTERNAL, 'cannot convert: no valid IP addresses');
  out.dns = dnsJson(r.dns);
  return out;
}

/** The result as the runtime asked for it (`version` = the config's cniVersion). */
export function encodeResult(r: CniResult, version: CniVersion): Json {
  const shape = resultShape(version);
  if (shape === 'legacy') return legacyJson(r, version);
  const rich = version === '1.1.0';
  const out: Json = { cniVersion: version };
  if (r.interfaces.length) out.interfaces = r.interfaces.map((i) => interfaceJson(i, rich));
  if (r.ips.length) {
    out.ips = r.ips.map((ip) => {
      const o: Json = {};
      if (shape === 'v04') o.version = ipFamily(ip.address) ?? '4';
      // `interface` is an index: 0 is a real value and is emitted.
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway) o.gateway = ip.gateway;
      return o;
    });
  }
  if (r.routes.length) out.routes = r.routes.map((rt) => routeJson(rt, rich));
  out.dns = dnsJson(r.dns);
  return out;
}

// ───────────────────────── decoding ─────────────────────────

class Reader {
  constructor(
    private readonly code: number,
    private readonly what: string,
  ) {}
  fail(path: string, why: string): never {
    throw new CniError(this.code, `invalid ${this.what}: ${path} ${why}`);
  }
  obj(v: unknown, path: string): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be an object');
    return v as Json;
  }
  arr(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(path, 'must be an array');
    return v;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, 'must be a string');
    return v;
  }
  optStr(v: unknown, path: string): string | undefined {
    if (v === undefined || v === null || v === '') return undefined;
    return this.str(v, path);
  }
  optInt(v: unknown, path: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      this.fail(path, 'must be a non-negative integer');
    return v;
  }
  strList(v: unknown, path: string): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    return this.arr(v, path).map((s, i) => this.str(s, `${path}[${i}]`));
  }
  cidr(v: unknown, path: string): string {
    const s = this.str(v, path);
    if (!s.includes('/') || !ipFamily(s))
      this.fail(path, `is not an address with prefix: ${JSON.stringify(s)}`);
    return s;
  }
  optIp(v: unknown, path: string): string | undefined {
    const s = this.optStr(v, path);
    if (s !== undefined && (s.includes('/') || !ipFamily(s)))
      this.fail(path, `is not an IP address: ${JSON.stringify(s)}`);
    return s;
  }
}

function decodeRoute(rd: Reader, v: unknown, path: string): CniRoute {
  const o = rd.obj(v, path);
  const r: CniRoute = { dst: rd.cidr(o.dst, `${path}.dst`) };
  const gw = rd.optIp(o.gw, `${path}.gw`);
  if (gw) r.gw = gw;
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const n = rd.optInt(o[k], `${path}.${k}`);
    if (n !== undefined) r[k] = n;
  }
  return r;
}

function decodeDns(rd: Reader, v: unknown): CniDns {
  if (v === undefined || v === null) return {};
  const o = rd.obj(v, 'dns');
  const d: CniDns = {};
  const ns = rd.strList(o.nameservers, 'dns.nameservers');
  if (ns?.length) d.nameservers = ns;
  const domain = rd.optStr(o.domain, 'dns.domain');
  if (domain) d.domain = domain;
  const search = rd.strList(o.search, 'dns.search');
  if (search?.length) d.search = search;
  const options = rd.strList(o.options, 'dns.options');
  if (options?.length) d.options = options;
  return d;
}

function decodeLegacy(rd: Reader, o: Json): CniResult {
  const r = emptyResult();
  for (const fam of ['4', '6'] as const) {
    const key = `ip${fam}`;
    if (o[key] === undefined || o[key] === null) continue;
    const c = rd.obj(o[key], key);
    const address = rd.cidr(c.ip, `${key}.ip`);
    if (ipFamily(address) !== fam) rd.fail(`${key}.ip`, `is not an IPv${fam} address`);
    const gateway = rd.optIp(c.gateway, `${key}.gateway`);
    r.ips.push({ address, ...(gateway ? { gateway } : {}) });
    rd.arr(c.routes, `${key}.routes`).forEach((rt, i) => {
      r.routes.push(decodeRoute(rd, rt, `${key}.routes[${i}]`));
    });
  }
  r.dns = decodeDns(rd, o.dns);
  return r;
}

function decodeRich(rd: Reader, o: Json): CniResult {
  const r = emptyResult();
  rd.arr(o.interfaces, 'interfaces').forEach((v, i) => {
    const p = `interfaces[${i}]`;
    const io = rd.obj(v, p);
    const itf: CniInterface = { name: rd.str(io.name, `${p}.name`) };
    for (const k of ['mac', 'sandbox', 'socketPath', 'pciID'] as const) {
      const s = rd.optStr(io[k], `${p}.${k}`);
      if (s) itf[k] = s;
    }
    const mtu = rd.optInt(io.mtu, `${p}.mtu`);
    if (mtu) itf.mtu = mtu;
    r.interfaces.push(itf);
  });
  rd.arr(o.ips, 'ips').forEach((v, i) => {
    const p = `ips[${i}]`;
    const io = rd.obj(v, p);
    const ip: CniIp = { address: rd.cidr(io.address, `${p}.address`) };
    if (io.version !== undefined && io.version !== ipFamily(ip.address))
      rd.fail(`${p}.version`, `does not match the address family of ${ip.address}`);
    const gateway = rd.optIp(io.gateway, `${p}.gateway`);
    if (gateway) ip.gateway = gateway;
    const idx = rd.optInt(io.interface, `${p}.interface`);
    if (idx !== undefined) ip.interface = idx;
    r.ips.push(ip);
  });
  rd.arr(o.routes, 'routes').forEach((v, i) => {
    r.routes.push(decodeRoute(rd, v, `routes[${i}]`));
  });
  r.dns = decodeDns(rd, o.dns);
  return r;
}

/**
 * Parse a result of any supported version into the plugin's model. The
 * version is the document's own `cniVersion`, else `fallback` (prevResult is
 * written in the config's version). `code` is the CNI error code to fail with.
 */
export function decodeResult(v: unknown, fallback: CniVersion, code: number, what = 'result'): CniResult {
  const rd: Reader = new Reader(code, what);
  const o = rd.obj(v, what);
  let version = fallback;
  const declared = o.cniVersion;
  if (declared !== undefined && declared !== '') {
    if (isSupportedVersion(declared)) version = declared;
    else rd.fail('cniVersion', `${JSON.stringify(declared)} is not supported`);
  }
  return resultShape(version) === 'legacy' ? decodeLegacy(rd, o) : decodeRich(rd, o);
}
