/**
 * Addresses from the local weft router's IPAM API (the same ring every host
 * shares):
 *
 *   POST   /ip/{id}                    allocate in the default subnet → "10.32.0.5/12"
 *   POST   /ip/{id}/{net}/{prefix}     allocate inside a subnet
 *   PUT    /ip/{id}/{ip}/{prefix}      claim a specific address
 *   GET    /ip/{id}                    what {id} holds (404: nothing)
 *   DELETE /ip/{id}                    release everything {id} holds (404: nothing)
 *
 * {id} is `allocationId(network, container, ifname)` (naming.ts). Every call
 * has a deadline; a router that is down or slow is CNI code 11.
 */
import { ERROR_CATALOGUE, type ErrorCode, WeftError } from '../../common/errors.js';
import { cidrContains, cidrNetwork, formatCidr, formatIp, parseCidr } from '../../common/ip.js';
import type { WeftIpamConfig } from '../config.js';
import { allocationId, parseAllocationId } from '../naming.js';
import { CniCode, CniError } from '../spec/errors.js';
import { attachmentKey } from '../spec/gc.js';
import { type CniResult, emptyResult } from '../spec/result.js';
import { type HttpRequestFn, type HttpResponse, httpRequest } from './http.js';
import type { IpamContext, IpamSource } from './source.js';

function isCatalogued(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code);
}

/** The router's error body `{error:{code,message}}` as a WeftError (catalogue code → CNI code). */
export function routerError(r: HttpResponse, what: string): WeftError {
  try {
    const e = (JSON.parse(r.body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (e && isCatalogued(e.code))
      return new WeftError(e.code, `${what}: ${typeof e.message === 'string' ? e.message : e.code}`);
  } catch {
    /* not our error body */
  }
  const code: ErrorCode =
    r.status === 502 || r.status === 503 || r.status === 504 ? 'ROUTER_UNAVAILABLE' : 'INTERNAL';
  return new WeftError(code, `${what}: router answered HTTP ${r.status}`);
}

/**
 * Addresses in an answer: Weave-style plain text ("10.32.0.5/12"), a JSON
 * string, or a JSON object with `address`/`cidr` or an `addresses` list.
 */
export function addressesIn(body: string): string[] {
  const text = body.trim();
  if (text === '') return [];
  let doc: unknown = text;
  if (text.startsWith('{') || text.startsWith('[') || text.startsWith('"')) {
    try {
      doc = JSON.parse(text);
    } catch {
      return [];
    }
  }
  const list: unknown[] = [];
  const visit = (v: unknown) => {
    if (typeof v === 'string') list.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      for (const k of ['address', 'cidr', 'addresses']) if (o[k] !== undefined) visit(o[k]);
    }
  };
  visit(doc);
  return list
    .flatMap((s) => (typeof s === 'string' ? s.split(/[\s,]+/) : []))
    .filter((s) => parseCidr(s, { host: true }));
}

/** The allocation range in a JSON answer (`{"range":"10.32.0.0/12",…}`), if it names one. */
export function rangeIn(body: string): string | undefined {
  try {
    const doc = JSON.parse(body) as { range?: unknown } | null;
    const range = doc && typeof doc === 'object' ? doc.range : undefined;
    return typeof range === 'string' && parseCidr(range) ? range : undefined;
  } catch {
    return undefined;
  }
}

/** `state` of a `GET /ring` answer ("ready", "awaiting-consensus", …), if it has one. */
export function ringState(body: string): string | undefined {
  try {
    const doc = JSON.parse(body) as { state?: unknown; ringId?: unknown } | null;
    if (!doc || typeof doc.state !== 'string') return undefined;
    return doc.state === 'ready' && doc.ringId === null ? 'no ring' : doc.state;
  } catch {
    return undefined;
  }
}

export class RouterIpam implements IpamSource {
  constructor(
    private readonly cfg: WeftIpamConfig,
    /** How to reach the router: node:net by default; the plugin executables pass http-native's. */
    private readonly http: HttpRequestFn = httpRequest,
  ) {}

  private call(method: string, path: string, after?: Promise<unknown>): Promise<HttpResponse> {
    return this.http(this.cfg.router, method, path, {
      timeoutMs: this.cfg.timeoutMs,
      ...(after ? { after } : {}),
    });
  }

  private idPath(ctx: IpamContext): string {
    return `/ip/${encodeURIComponent(allocationId(ctx.network, ctx.containerId, ctx.ifname))}`;
  }

  /** The addresses the attachment holds now ([] when none). */
  async lookup(ctx: IpamContext): Promise<string[]> {
    const r = await this.call('GET', this.idPath(ctx));
    if (r.status === 404) return [];
    if (r.status >= 300) throw routerError(r, 'looking up the address');
    return addressesIn(r.body);
  }

  /** The IPAM result; `body` is the router's answer, which may name the whole range. */
  private result(cidr: string, body: string): CniResult {
    const res = emptyResult();
    res.ips.push({ address: cidr, ...(this.cfg.gateway ? { gateway: this.cfg.gateway } : {}) });
    // The overlay's whole range is reachable on the interface, also from an
    // address in a smaller subnet of it. When the address's own network is
    // the range, the kernel already has that route (and a main plugin such as
    // the reference bridge would fail adding it again: EEXIST).
    const range = rangeIn(body);
    const own = parseCidr(cidr, { host: true });
    if (range && own && formatCidr({ addr: cidrNetwork(own), prefix: own.prefix }) !== range)
      res.routes.push({ dst: range });
    res.routes.push(...this.cfg.routes);
    return res;
  }

  async add(ctx: IpamContext): Promise<CniResult> {
    const base = this.idPath(ctx);
    const req = ctx.requested;
    if (req) {
      const prefix = req.prefix ?? this.cfg.subnet?.prefix;
      if (prefix === undefined)
        throw new CniError(
          CniCode.INVALID_CONFIG,
          `requested address ${formatIp(req.ip)} has no prefix length`,
          'give it as a.b.c.d/n, or set "subnet" in the ipam config',
        );
      if (this.cfg.subnet && !cidrContains(this.cfg.subnet, req.ip))
        throw new CniError(
          CniCode.INVALID_CONFIG,
          `requested address ${formatIp(req.ip)} is outside ${formatCidr(this.cfg.subnet)}`,
        );
      const r = await this.call('PUT', `${base}/${formatIp(req.ip)}/${prefix}`);
      if (r.status >= 300) throw routerError(r, `claiming ${formatIp(req.ip)}`);
      return this.result(`${formatIp(req.ip)}/${prefix}`, r.body);
    }
    const path = this.cfg.subnet
      ? `${base}/${formatIp(this.cfg.subnet.addr)}/${this.cfg.subnet.prefix}`
      : base;
    const r = await this.call('POST', path);
    if (r.status >= 300) throw routerError(r, 'allocating an address');
    const cidr = addressesIn(r.body)[0];
    if (!cidr)
      throw new WeftError(
        'INTERNAL',
        `router answered the allocation without an address: ${r.body.slice(0, 100)}`,
      );
    return this.result(cidr, r.body);
  }

  async del(ctx: IpamContext, opts: { after?: Promise<unknown> } = {}): Promise<void> {
    const r = await this.call('DELETE', this.idPath(ctx), opts.after);
    if (r.status >= 300 && r.status !== 404) throw routerError(r, 'releasing the address');
  }

  async check(ctx: IpamContext, prevAddresses: readonly string[]): Promise<void> {
    const held = new Set(await this.lookup(ctx));
    const missing = prevAddresses.filter((a) => !held.has(a));
    if (missing.length)
      throw new CniError(
        CniCode.CHECK_FAILED,
        `the router does not hold ${missing.join(', ')} for this container`,
        `holds [${[...held].join(', ')}]`,
      );
  }

  async gc(network: string, valid: readonly { containerId: string; ifname: string }[]): Promise<void> {
    const r = await this.call('GET', '/ip');
    if (r.status >= 300) throw routerError(r, 'listing allocations');
    const keep = new Set(valid.map(attachmentKey));
    const errors: string[] = [];
    for (const id of allocationIdsIn(r.body)) {
      const a = parseAllocationId(id);
      if (!a || a.network !== network || keep.has(attachmentKey(a))) continue;
      try {
        await this.del({ network, containerId: a.containerId, ifname: a.ifname });
      } catch (e) {
        // GC goes on past a failure: one stuck entry must not keep the rest.
        errors.push(`${id}: ${(e as Error).message}`);
      }
    }
    if (errors.length)
      throw new WeftError('INTERNAL', `GC could not release ${errors.length} allocations`, {
        detail: errors.join('; '),
      });
  }

  async status(): Promise<void> {
    let r: HttpResponse;
    try {
      r = await this.call('GET', '/ring?wait=false');
    } catch (e) {
      throw new CniError(CniCode.PLUGIN_NOT_AVAILABLE, (e as Error).message);
    }
    if (r.status >= 300)
      throw new CniError(CniCode.PLUGIN_NOT_AVAILABLE, routerError(r, 'IPAM is not ready').message);
    // The ring view says whether addresses can be handed out now.
    const state = ringState(r.body);
    if (state !== undefined && state !== 'ready')
      throw new CniError(CniCode.PLUGIN_NOT_AVAILABLE, `the weft ring is not ready: ${state}`);
  }
}

/** Allocation ids in `GET /ip`'s answer: an object keyed by id, or a list of `{id}` records. */
export function allocationIdsIn(body: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return [];
  }
  if (Array.isArray(doc)) {
    // A list of records naming their owner as `id` or `containerId`.
    const ids = doc.map((e) => {
      const o = (typeof e === 'object' && e !== null ? e : {}) as { id?: unknown; containerId?: unknown };
      return typeof o.id === 'string' ? o.id : o.containerId;
    });
    return [...new Set(ids.filter((x): x is string => typeof x === 'string'))];
  }
  if (typeof doc === 'object' && doc !== null) {
    const o = doc as Record<string, unknown>;
    for (const k of ['addresses', 'allocations'])
      if (Array.isArray(o[k])) return allocationIdsIn(JSON.stringify(o[k]));
    return Object.keys(o);
  }
  return [];
}
