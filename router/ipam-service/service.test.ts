import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.js';
import { mustParseCidr, mustParseIp } from '../../common/ip.js';
import { nullLogger, type RecordingLogger } from '../../common/logger.js';
import { SeededRandom } from '../../common/random.js';
import type { InitMode } from '../../ipam/types.js';
import { installErrorHandlers } from '../api/errors.js';
import { Database } from '../store/database.js';
import { IpamStore } from '../store/ipam-store.js';
import { ipamApiExtension } from './routes.js';
import { IpamService } from './service.js';
import { FakeMeshNet } from './test-mesh.js';

const RANGE = mustParseCidr('10.32.0.0/12');
const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tmpDb(): { db: Database; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ipam-svc-'));
  const path = join(dir, 'weft.db');
  const db = Database.open(path);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return { db, path };
}

function peer(
  net: FakeMeshNet,
  name: string,
  init: InitMode,
  opts: { db?: Database; logger?: RecordingLogger; timeoutMs?: number } = {},
): IpamService {
  const db = opts.db ?? tmpDb().db;
  const svc = new IpamService({
    config: {
      peer: name,
      range: RANGE,
      init,
      allocationTimeoutMs: opts.timeoutMs ?? 5_000,
      proposeDelayMs: 20,
    },
    mesh: net.join(name),
    store: new IpamStore(db),
    clock: systemClock,
    random: new SeededRandom(name.length * 7919 + name.charCodeAt(0)),
    logger: opts.logger ?? nullLogger,
  });
  cleanup.push(() => {
    svc.stop();
    if (!opts.db) db.close();
  });
  svc.start();
  return svc;
}

async function api(svc: IpamService, onLeave?: () => void): Promise<FastifyInstance> {
  // As buildApi (router/api/app.ts) configures it: unknown fields are errors.
  const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false } } });
  installErrorHandlers(app);
  await ipamApiExtension({ ipam: svc, ringWaitMs: 2_000, ...(onLeave ? { onLeave } : {}) }).routes!(app);
  await app.ready();
  cleanup.push(() => app.close());
  return app;
}

const until = async (cond: () => boolean, ms = 5_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('IPAM HTTP API on one peer', () => {
  it('allocates, is idempotent, looks up, claims and releases with Weave paths and JSON answers', async () => {
    const app = await api(peer(new FakeMeshNet(), 'a', { kind: 'seed', peers: ['a'] }));
    const first = await app.inject({ method: 'POST', url: '/ip/c1' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({
      containerId: 'c1',
      address: '10.32.0.1/12',
      ip: '10.32.0.1',
      prefix: 12,
      subnet: '10.32.0.0/12',
      range: '10.32.0.0/12',
    });
    expect((await app.inject({ method: 'POST', url: '/ip/c1' })).json().address).toBe('10.32.0.1/12');
    expect((await app.inject({ method: 'POST', url: '/ip/c2?subnet=10.33.0.0/16' })).json().address).toBe(
      '10.33.0.1/16',
    );
    expect((await app.inject({ method: 'POST', url: '/ip/c3/10.34.1.0/24' })).json().address).toBe(
      '10.34.1.1/24',
    );
    const claim = await app.inject({ method: 'PUT', url: '/ip/c4/10.35.0.9/12' });
    expect(claim.json().address).toBe('10.35.0.9/12');
    const taken = await app.inject({ method: 'PUT', url: '/ip/c5/10.35.0.9/12' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('ADDRESS_IN_USE');
    expect((await app.inject({ method: 'GET', url: '/ip/c4' })).json()).toMatchObject({
      containerId: 'c4',
      addresses: [{ address: '10.35.0.9/12' }],
    });
    expect((await app.inject({ method: 'GET', url: '/ip' })).json().addresses).toHaveLength(4);
    expect((await app.inject({ method: 'DELETE', url: '/ip/c4/10.35.0.9' })).json()).toEqual({
      released: ['10.35.0.9'],
    });
    expect((await app.inject({ method: 'DELETE', url: '/ip/c1' })).json()).toEqual({
      released: ['10.32.0.1'],
    });
    expect((await app.inject({ method: 'DELETE', url: '/ip/c1' })).json()).toEqual({ released: [] });
    const gone = await app.inject({ method: 'GET', url: '/ip/c1' });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('NOT_FOUND');
  });

  it('answers bad input with the catalogue codes', async () => {
    const app = await api(peer(new FakeMeshNet(), 'a', { kind: 'seed', peers: ['a'] }));
    const cases: Array<[string, string, number, string]> = [
      ['POST', '/ip/c1?subnet=10.32.0.1/12', 400, 'INVALID_CIDR'],
      ['POST', '/ip/c1?subnet=10.64.0.0/16', 400, 'OUT_OF_RANGE'],
      ['POST', '/ip/c1?bogus=1', 400, 'BAD_REQUEST'],
      ['PUT', '/ip/c1/10.32.0.5/40', 400, 'BAD_REQUEST'],
      ['PUT', '/ip/c1/999.32.0.5/12', 400, 'INVALID_ADDRESS'],
      ['PUT', '/ip/c1/10.32.0.0/12', 400, 'INVALID_ADDRESS'],
      ['POST', '/ip/bad%20id', 400, 'INVALID_CONTAINER_ID'],
      ['DELETE', '/peer/a', 409, 'PEER_IS_SELF'],
      ['DELETE', '/peer/not%20a%20name', 400, 'INVALID_PEER_NAME'],
    ];
    for (const [method, url, status, code] of cases) {
      const r = await app.inject({ method: method as 'POST', url });
      expect([url, r.statusCode, r.json().error?.code]).toEqual([url, status, code]);
    }
  });

  it('GET /ring returns the ring, or the waiting state with wait=false; blocks until a ring exists', async () => {
    const net = new FakeMeshNet();
    const a = peer(net, 'a', { kind: 'consensus', size: 2 });
    const app = await api(a);
    const now = await app.inject({ method: 'GET', url: '/ring?wait=false' });
    expect(now.statusCode).toBe(200);
    expect(now.json()).toMatchObject({ state: 'awaiting-consensus', ringId: null, entries: [] });
    const timedOut = await app.inject({ method: 'GET', url: '/ring?timeout=50' });
    expect(timedOut.statusCode).toBe(503);
    expect(timedOut.json().error).toMatchObject({
      code: 'RING_NOT_READY',
      details: { state: 'awaiting-consensus' },
    });
    const waiting = app.inject({ method: 'GET', url: '/ring' });
    peer(net, 'b', { kind: 'consensus', size: 2 });
    const ring = (await waiting).json();
    expect(ring.state).toBe('ready');
    expect(ring.entries.map((e: { peer: string }) => e.peer).sort()).toEqual(['a', 'b']);
    expect(ring.entries[0]).toMatchObject({ first: '10.32.0.0', reachable: true, dead: false });
  });

  it('DELETE /peer hands the space over and then asks the router to leave', async () => {
    const net = new FakeMeshNet();
    const a = peer(net, 'a', { kind: 'seed', peers: ['a', 'b'] });
    const b = peer(net, 'b', { kind: 'seed', peers: ['a', 'b'] });
    await until(() => a.status().state === 'ready' && b.status().state === 'ready');
    let left = false;
    const app = await api(a, () => {
      left = true;
    });
    const r = await app.inject({ method: 'DELETE', url: '/peer' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ heirs: [b.status().self], addresses: 1 << 19 });
    expect(left).toBe(true);
    await until(() => b.status().owned === 1 << 20);
    expect((await app.inject({ method: 'POST', url: '/ip/x' })).json().error.code).toBe('SHUTTING_DOWN');
  });

  it('DELETE /ring gives the ring and its allocations up (the way out of a ring conflict)', async () => {
    const svc = peer(new FakeMeshNet(), 'a', { kind: 'seed', peers: ['a'] });
    const app = await api(svc);
    await app.inject({ method: 'POST', url: '/ip/c1' });
    const ringId = svc.status().ringId;
    const r = await app.inject({ method: 'DELETE', url: '/ring' });
    expect(r.json()).toEqual({ ringId, allocations: 1 });
    expect((await app.inject({ method: 'GET', url: '/ring?wait=false' })).json()).toMatchObject({
      state: 'awaiting-ring',
      ringId: null,
    });
    expect(svc.lookup('c1')).toEqual([]);
  });

  it('reports an ipam section and a status block', async () => {
    const ext = ipamApiExtension({ ipam: peer(new FakeMeshNet(), 'a', { kind: 'consensus', size: 3 }) });
    expect(ext.report!()).toMatchObject({ state: 'awaiting-consensus', range: '10.32.0.0/12' });
    expect(ext.status!()).toEqual(
      expect.arrayContaining([
        ['Service', 'ipam'],
        ['Status', 'awaiting consensus (quorum: 2, known: 1)'],
      ]),
    );
    expect(ext.statusView!()).toContain('awaiting consensus');
  });
});

describe('IpamService', () => {
  it('three peers agree by consensus and hand out unique addresses concurrently', async () => {
    const net = new FakeMeshNet();
    const peers = ['a', 'b', 'c'].map((n) => peer(net, n, { kind: 'consensus', size: 3 }));
    await until(() => peers.every((p) => p.status().state === 'ready'));
    expect(new Set(peers.map((p) => p.status().ringId)).size).toBe(1);
    const all = await Promise.all(Array.from({ length: 300 }, (_, i) => peers[i % 3]!.allocate(`c${i}`)));
    expect(new Set(all.map((a) => a.ip)).size).toBe(300);
  });

  it('commits concurrent calls in one transaction and answers only after it', async () => {
    const { db } = tmpDb();
    const svc = peer(new FakeMeshNet(), 'a', { kind: 'seed', peers: ['a'] }, { db });
    const store = (svc as unknown as { opts: { store: IpamStore } }).opts.store;
    const commits: number[] = [];
    const orig = store.applyAll.bind(store);
    store.applyAll = (changes) => {
      if (changes.length > 0) commits.push(changes.length);
      orig(changes);
    };
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => svc.allocate(`c${i}`)));
    expect(new Set(got.map((a) => a.ip)).size).toBe(50);
    expect(commits.length).toBeLessThan(5);
    // Everything answered is on disk: a second store on the same file sees it.
    expect(new IpamStore(db).load()?.allocations).toHaveLength(50);
  });

  it('a restarted service keeps its allocations and owner', async () => {
    const { db } = tmpDb();
    const net = new FakeMeshNet();
    const s1 = peer(net, 'a', { kind: 'seed', peers: ['a'] }, { db });
    const a1 = await s1.allocate('c1');
    const owner = s1.status().self;
    s1.stop();
    net.remove('a');
    const s2 = peer(net, 'a', { kind: 'seed', peers: ['a'] }, { db });
    expect(s2.status().self).toBe(owner);
    expect(s2.lookup('c1')).toEqual([a1]);
    expect((await s2.allocate('c2')).ip).toBe('10.32.0.2');
  });

  it('a failing store stops IPAM: the caller gets INTERNAL, the daemon is told', async () => {
    const { db } = tmpDb();
    let fatal: unknown = null;
    const store = new IpamStore(db);
    const svc = new IpamService({
      config: { peer: 'a', range: RANGE, init: { kind: 'seed', peers: ['a'] } },
      mesh: new FakeMeshNet().join('a'),
      store,
      clock: systemClock,
      random: new SeededRandom(1),
      logger: nullLogger,
      onFatal: (e) => {
        fatal = e;
      },
    });
    svc.start();
    store.applyAll = () => {
      throw new Error('disk full');
    };
    await expect(svc.allocate('c1')).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(String(fatal)).toContain('disk full');
    await expect(svc.allocate('c2')).rejects.toMatchObject({ code: 'INTERNAL' });
    svc.stop();
  });

  it('an allocation waiting for space fails with SHUTTING_DOWN when the service stops', async () => {
    const net = new FakeMeshNet();
    const a = peer(net, 'a', { kind: 'consensus', size: 2 });
    const p = a.allocate('c1');
    await new Promise((r) => setTimeout(r, 20));
    a.stop();
    await expect(p).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(mustParseIp('10.32.0.1')).toBeGreaterThan(0);
  });
});
