/**
 * A stand-in for the router's IPAM HTTP API, for tests that must not depend
 * on a running router: the routes the CNI plugins call, an in-memory
 * allocation table over 10.32.0.0/12, and switches for the failures the
 * plugins must handle (down, hanging, not ready, 5xx). Answers have the shapes
 * of router/api/routes/ipam.ts; error bodies are the API's `{error:{code,message}}`.
 *
 * `listen()` binds without a host so the socket is created synchronously: a
 * test can call it inside `withNetns` and the server then lives in that
 * namespace, where plugin processes reach it at 127.0.0.1.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WeftError } from '../../common/errors.js';
import { cidrContains, formatIp, mustParseCidr, parseCidr, parseIp, prefixMask } from '../../common/ip.js';

export type FakeRouterMode = 'ok' | 'hang' | 'not-ready' | 'error-500';

export class FakeRouter {
  /** id → "a.b.c.d/prefix" */
  readonly held = new Map<string, string>();
  readonly requests: string[] = [];
  mode: FakeRouterMode = 'ok';
  private readonly range = mustParseCidr('10.32.0.0/12');
  private next = 1;
  private readonly servers: Server[] = [];
  private readonly hanging = new Set<ServerResponse>();

  /** Port of the first server (most tests run one). */
  get port(): number {
    return (this.servers[0]!.address() as AddressInfo).port;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /**
   * Start listening (on `port`, default an ephemeral one), creating the socket
   * synchronously; resolves to the port. Listening again after close() keeps
   * the allocations (a router that went down and came back); listening in
   * several namespaces shares them (one ring seen from several hosts).
   */
  listen(port = 0): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    this.servers.push(server);
    const ready = new Promise<number>((resolve) =>
      server.once('listening', () => resolve((server.address() as AddressInfo).port)),
    );
    server.listen(port);
    return ready;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.hanging.clear();
    const all = this.servers.splice(0);
    await Promise.all(
      all.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  private used(ip: number): boolean {
    return [...this.held.values()].some((c) => mustParseCidr(c, { host: true }).addr === ip);
  }

  private allocate(id: string, subnet = this.range): string {
    const existing = this.held.get(id);
    if (existing) return existing;
    for (let i = 0; i < 4096; i++) {
      const ip = (subnet.addr + ((this.next + i) % (2 ** (32 - subnet.prefix) - 2)) + 1) >>> 0;
      if (!this.used(ip)) {
        this.next += i + 1;
        const cidr = `${formatIp(ip)}/${subnet.prefix === 32 ? this.range.prefix : subnet.prefix}`;
        this.held.set(id, cidr);
        return cidr;
      }
    }
    throw new WeftError('NO_FREE_ADDRESSES');
  }

  /** An address answer as router/api/routes/ipam.ts gives it. */
  private answer(id: string, cidr: string) {
    const c = mustParseCidr(cidr, { host: true });
    const net = formatIp((c.addr & prefixMask(c.prefix)) >>> 0);
    return {
      containerId: id,
      address: cidr,
      ip: formatIp(c.addr),
      prefix: c.prefix,
      subnet: `${net}/${c.prefix}`,
      range: '10.32.0.0/12',
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}`);
    if (this.mode === 'hang') {
      this.hanging.add(res);
      return;
    }
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const fail = (e: WeftError) => send(e.httpStatus, e.toJSON());
    try {
      if (this.mode === 'error-500') throw new WeftError('INTERNAL');
      const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
      if (parts[0] === 'ring' && req.method === 'GET') {
        const ready = this.mode !== 'not-ready';
        return send(200, {
          state: ready ? 'ready' : 'awaiting-consensus',
          ringId: ready ? 'r1' : null,
          range: '10.32.0.0/12',
          entries: [],
          dead: [],
          left: [],
        });
      }
      if (this.mode === 'not-ready' && url.pathname !== '/ip') throw new WeftError('RING_NOT_READY');
      if (parts[0] !== 'ip') throw new WeftError('NOT_FOUND', `no route ${req.method} ${url.pathname}`);
      if (parts.length === 1 && req.method === 'GET')
        return send(200, { addresses: [...this.held].map(([id, c]) => this.answer(id, c)) });
      const id = parts[1] ?? '';
      // The router's own rule for ids (ipam/allocator.ts).
      if (!/^[A-Za-z0-9][A-Za-z0-9_.:@=+-]{0,254}$/.test(id)) throw new WeftError('INVALID_CONTAINER_ID');
      if (parts.length === 2) {
        if (req.method === 'POST') return send(200, this.answer(id, this.allocate(id)));
        if (req.method === 'GET') {
          const c = this.held.get(id);
          if (!c) throw new WeftError('NOT_FOUND', `no address for ${id}`);
          return send(200, { containerId: id, addresses: [this.answer(id, c)] });
        }
        if (req.method === 'DELETE') {
          const c = this.held.get(id);
          this.held.delete(id);
          return send(200, { released: c ? [c] : [] });
        }
      }
      if (parts.length === 4) {
        const ip = parseIp(parts[2]!);
        const cidr = parseCidr(`${parts[2]}/${parts[3]}`, { host: true });
        if (ip === undefined || !cidr) throw new WeftError('INVALID_CIDR');
        if (req.method === 'POST')
          return send(200, this.answer(id, this.allocate(id, mustParseCidr(`${parts[2]}/${parts[3]}`))));
        if (req.method === 'PUT') {
          if (!cidrContains(this.range, ip)) throw new WeftError('OUT_OF_RANGE');
          for (const [other, c] of this.held)
            if (other !== id && mustParseCidr(c, { host: true }).addr === ip)
              throw new WeftError('ADDRESS_IN_USE', `${parts[2]} is held by ${other}`);
          this.held.set(id, `${parts[2]}/${parts[3]}`);
          return send(200, this.answer(id, `${parts[2]}/${parts[3]}`));
        }
      }
      throw new WeftError('NOT_FOUND', `no route ${req.method} ${url.pathname}`);
    } catch (e) {
      fail(e instanceof WeftError ? e : new WeftError('INTERNAL'));
    }
  }
}
