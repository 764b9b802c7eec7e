import type { FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE } from '../../../common/errors.js';
import { nullLogger } from '../../../common/logger.js';
import { SeededRandom } from '../../../common/random.js';
import { buildApi } from '../../../router/api/app.js';
import { hostApiExtension } from '../../../router/host/routes.js';
import { ipamApiExtension } from '../../../router/ipam-service/routes.js';
import { IpamService } from '../../../router/ipam-service/service.js';
import { FakeMeshNet } from '../../../router/ipam-service/test-mesh.js';
import { MeshRouter } from '../../../router/mesh/router.js';
import { Database } from '../../../router/store/database.js';
import { IpamStore } from '../../../router/store/ipam-store.js';
import { check, type FuzzTarget, utf8 } from './target.js';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;
const NAME = '02:00:00:00:00:01';
const TARGET_RE = /^[^\s/]+:\d{1,5}$/;

let app: FastifyInstance | undefined;
let mesh: MeshRouter;
let ipamService: IpamService | undefined;
/** What the routes handed to the mesh that they should have refused. */
const leaks: string[] = [];

/**
 * The router's real API app (router/api/app.ts) with its real routes: the
 * mesh's over a real MeshRouter core (effects dropped), IPAM's over a real
 * IpamService (one seed peer, in-memory SQLite, short waits), the host's over
 * a fake expose control (it would program nftables).
 */
async function theApp(): Promise<FastifyInstance> {
  if (app) return app;
  mesh = new MeshRouter({
    name: NAME,
    nickname: 'fuzz',
    listenPort: 6783,
    clock: { now: () => 0 },
    random: new SeededRandom(1),
    effects: (e) => {
      if (e.kind === 'dial' && !TARGET_RE.test(e.address)) leaks.push(`dial ${e.address}`);
    },
  });
  const ipam = new IpamService({
    config: {
      peer: NAME,
      range: { addr: 0x0a200000, prefix: 12 },
      init: { kind: 'seed', peers: [NAME] },
      allocationTimeoutMs: 100,
    },
    mesh: new FakeMeshNet().join(NAME),
    store: new IpamStore(Database.open(':memory:')),
    clock: { now: () => Date.now() },
    random: new SeededRandom(2),
    logger: nullLogger,
  });
  ipam.start();
  ipamService = ipam;
  const expose = {
    state: async () => ({ addresses: [], masqueraded: [] }),
    expose: async (r: { cidrs: readonly string[]; masquerade: boolean }) => {
      for (const c of r.cidrs) if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c)) leaks.push(`expose ${c}`);
      return { addresses: [], masqueraded: [] };
    },
    hide: async () => ({ addresses: [], masqueraded: [] }),
  };
  app = await buildApi({
    mesh,
    version: '0.0.0-fuzz',
    extensions: [
      ipamApiExtension({ ipam, ringWaitMs: 50, onLeave: () => {} }),
      hostApiExtension({ expose, attachments: async () => [] }),
    ],
  });
  await app.ready();
  return app;
}

const req = (method: number, url: string, type = '', body = '') =>
  utf8([String.fromCharCode(method), url, type, body].join('\0'));

/**
 * Input: [method, url, content-type, body] (NUL-separated), injected into
 * the app. Whatever arrives, the answer is never a 500 and every error is
 * the catalogue's JSON body with the status of its code.
 */
export const target: FuzzTarget = {
  name: 'http-api',
  decoder: 'router/api (fastify schemas, routes: mesh, ipam, host), common/errors',
  maxLen: 2048,
  seeds: () => [
    req(0, '/status'),
    req(0, '/status/peers'),
    req(0, '/report'),
    req(1, '/connect', 'application/json', '{"peers":["198.18.0.2","198.18.0.3:7000"],"replace":true}'),
    req(1, '/connect?peer=198.18.0.9&replace=true'),
    req(1, '/forget', 'application/json', '{"peers":["198.18.0.2"]}'),
    req(1, '/ip/c1'),
    req(1, '/ip/c2?subnet=10.32.1.0/24'),
    req(1, '/ip/c3/10.32.0.0/16'),
    req(2, '/ip/c4/10.32.0.77/12'),
    req(0, '/ip/c1'),
    req(0, '/ip'),
    req(3, '/ip/c1'),
    req(3, '/ip/c4/10.32.0.77'),
    req(0, '/ring?wait=true&timeout=10'),
    req(3, '/peer/02:00:00:00:00:09?force=true'),
    req(1, '/expose', 'application/json', '{"cidrs":["10.40.0.0/16"],"masquerade":false}'),
    req(3, '/expose?cidr=10.40.0.0%2F16&cidr=10.32.0.1%2F12'),
    req(0, '/attachments'),
    req(1, '/connect', 'text/plain', 'peers=x'),
  ],
  async run(data) {
    if (data.length === 0) return;
    const a = await theApp();
    const [url = '/', type = '', body = ''] = Buffer.from(data.subarray(1)).toString('latin1').split('\0');
    const method = METHODS[data[0]! % METHODS.length]!;
    leaks.length = 0;
    let r: Awaited<ReturnType<FastifyInstance['inject']>>;
    try {
      r = await a.inject({
        method,
        url: url.startsWith('/') ? url : `/${url}`,
        headers: type ? { 'content-type': type } : {},
        ...(body && method !== 'GET' && method !== 'HEAD' ? { payload: body } : {}),
      });
    } catch (e) {
      // light-my-request refuses some URLs/headers itself before the app sees them.
      if (e instanceof TypeError || (e as { code?: string }).code?.startsWith('ERR_')) return;
      throw e;
    }
    check(leaks.length === 0, `invalid input reached a subsystem: ${leaks.join(', ')}`);
    check(r.statusCode !== 500, `500 for ${method} ${url}: ${r.body.slice(0, 200)}`);
    if (r.statusCode >= 400 && method !== 'HEAD') {
      const doc = r.json() as { error?: { code?: string; message?: string } };
      const code = doc.error?.code as keyof typeof ERROR_CATALOGUE | undefined;
      check(
        code !== undefined && code in ERROR_CATALOGUE,
        `error body without a catalogue code: ${r.body.slice(0, 200)}`,
      );
      check(typeof doc.error?.message === 'string', 'error body without a message');
      // Fastify's own 4xx (413, 415, …) keep their more precise status as BAD_REQUEST (router/api/errors.ts).
      const fastify4xx = code === 'BAD_REQUEST' && r.statusCode >= 400 && r.statusCode < 500;
      check(
        fastify4xx || ERROR_CATALOGUE[code!].http === r.statusCode,
        `${code} answered with HTTP ${r.statusCode}`,
      );
    }
    if (mesh.directTargets().length > 64) mesh.forget(mesh.directTargets());
    // Abandoning the ring or leaving (rmpeer of ourselves) leaves a peer that owns nothing and
    // waits for peers that do not exist; start from a fresh router so later inputs are not all timeouts.
    if (method === 'DELETE' && r.statusCode < 300 && /^\/*(ring|peer)/.test(url)) await target.dispose?.();
  },
  async dispose() {
    await app?.close();
    ipamService?.stop();
    app = undefined;
  },
};
