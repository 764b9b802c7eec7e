/**
 * IPAM benchmarks (`npm run bench:ipam`): prints one table.
 *
 * - core: CPU time of one local allocation in the pure allocator (no I/O),
 *   with an empty book and with 20 000 addresses already allocated;
 * - API: POST /ip/{id} through fastify (inject) into an IpamService whose
 *   store is SQLite on disk (WAL, synchronous=FULL): one at a time (each
 *   answer waits for its fsync) and 64 at a time (one group commit for many);
 * - donation: an observer whose every allocation needs space from a peer
 *   first (two services on an in-process mesh; the donor halves its largest
 *   free block each time);
 * - merge: merging a ring of 1000 owners / ~4000 entries in which 10 % of the
 *   entries changed, from bytes (decode + merge) and as data; encoding it.
 *
 * Numbers are for comparison within one run on one machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { ManualClock, systemClock } from '../common/clock.js';
import { mustParseCidr } from '../common/ip.js';
import { nullLogger } from '../common/logger.js';
import { SeededRandom } from '../common/random.js';
import { IpamCore } from '../ipam/allocator.js';
import { decodeMessage, encodeMessage, IpamTag } from '../ipam/codec.js';
import { ownerId } from '../ipam/owner.js';
import { initialRing, mergeRing, type Ring, transferSpan } from '../ipam/ring.js';
import type { InitMode } from '../ipam/types.js';
import { installErrorHandlers } from '../router/api/errors.js';
import { ipamRoutes } from '../router/ipam-service/routes.js';
import { IpamService } from '../router/ipam-service/service.js';
import { FakeMeshNet } from '../router/ipam-service/test-mesh.js';
import { Database } from '../router/store/database.js';
import { IpamStore } from '../router/store/ipam-store.js';

const RANGE = mustParseCidr('10.32.0.0/12');
const rows: Array<[string, string, string]> = [];

function row(what: string, value: string, note = ''): void {
  rows.push([what, value, note]);
  console.error(`  ${what}: ${value}`);
}

function stats(samples: number[]): { p50: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: q(0.5), p99: q(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const msStr = (ms: number) => `${ms.toFixed(2)} ms`;

// ---------------------------------------------------------------------------

function benchCore(): void {
  const core = new IpamCore(
    { peer: 'a', range: RANGE, init: { kind: 'seed', peers: ['a'] } },
    { clock: new ManualClock(0), random: new SeededRandom(1), logger: nullLogger },
  );
  core.start();
  let op = 1;
  const time = (n: number, prefix: string) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) core.allocate(op++, `${prefix}${i}`);
    return (performance.now() - t0) / n;
  };
  time(2_000, 'warm');
  const empty = time(5_000, 'a');
  time(13_000, 'fill');
  const full = time(5_000, 'b');
  row('core: one local allocation (CPU)', us(empty), '~5k allocated');
  row('core: one local allocation (CPU), 25k allocated', us(full), 'sorted array insert');
}

function tmpDb(): { db: Database; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-ipam-'));
  const db = Database.open(join(dir, 'weft.db'));
  return {
    db,
    done: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function service(net: FakeMeshNet, name: string, init: InitMode, db: Database): IpamService {
  const svc = new IpamService({
    config: { peer: name, range: RANGE, init, proposeDelayMs: 10 },
    mesh: net.join(name),
    store: new IpamStore(db),
    clock: systemClock,
    random: new SeededRandom(name.charCodeAt(0)),
    logger: nullLogger,
  });
  svc.start();
  return svc;
}

async function benchApi(): Promise<void> {
  const { db, done } = tmpDb();
  const svc = service(new FakeMeshNet(), 'a', { kind: 'seed', peers: ['a'] }, db);
  const app = Fastify({ logger: false });
  installErrorHandlers(app);
  await app.register(ipamRoutes, { ipam: svc });
  await app.ready();
  const post = async (id: string) => {
    const r = await app.inject({ method: 'POST', url: `/ip/${id}` });
    if (r.statusCode !== 200) throw new Error(r.body);
  };
  for (let i = 0; i < 50; i++) await post(`warm${i}`);
  const lat: number[] = [];
  const n = 400;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await post(`seq${i}`);
    lat.push(performance.now() - t);
  }
  const seqRate = n / ((performance.now() - t0) / 1000);
  const s = stats(lat);
  row(
    'API: POST /ip one at a time (durable)',
    `${msStr(s.p50)} p50, ${msStr(s.p99)} p99`,
    `${seqRate.toFixed(0)}/s`,
  );
  const batches = 40;
  t0 = performance.now();
  for (let b = 0; b < batches; b++)
    await Promise.all(Array.from({ length: 64 }, (_, i) => post(`par${b}-${i}`)));
  const parRate = (batches * 64) / ((performance.now() - t0) / 1000);
  row('API: POST /ip 64 concurrent (group commit)', `${parRate.toFixed(0)}/s`, 'all durable before answered');
  // The CPU part of one API allocation (fastify + service + core), without the fsync.
  db.sql.pragma('synchronous = OFF');
  const cpu: number[] = [];
  for (let i = 0; i < 400; i++) {
    const t = performance.now();
    await post(`cpu${i}`);
    cpu.push(performance.now() - t);
  }
  row(
    'API: POST /ip router time without fsync',
    `${msStr(stats(cpu).p50)} p50`,
    'fastify inject + service + core',
  );
  svc.stop();
  await app.close();
  done();
}

async function benchDonation(): Promise<void> {
  const a = tmpDb();
  const b = tmpDb();
  const net = new FakeMeshNet();
  const donor = service(net, 'a', { kind: 'seed', peers: ['a'] }, a.db);
  const obs = service(net, 'o', { kind: 'observer' }, b.db);
  while (obs.status().state !== 'ready') await new Promise((r) => setTimeout(r, 5));
  const n = 300;
  const t0 = performance.now();
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    // Each time the observer runs out it asks again; make every allocation need space by
    // releasing nothing and counting how often the ring gave it more.
    const t = performance.now();
    await obs.allocate(`c${i}`);
    lat.push(performance.now() - t);
  }
  const rate = n / ((performance.now() - t0) / 1000);
  const entries = obs.status().ringEntries;
  const first = lat[0]!;
  row(
    'donation: first allocation on an observer (asks a peer)',
    msStr(first),
    'space request + donation + merge',
  );
  row(
    'donation: observer allocations incl. donations',
    `${rate.toFixed(0)}/s`,
    `${entries - 1} ring splits for ${n}`,
  );
  // Force a request per allocation: a fresh observer for each of a few allocations.
  const per: number[] = [];
  for (let i = 0; i < 20; i++) {
    const d = tmpDb();
    const o = service(net, `q${i}`, { kind: 'observer' }, d.db);
    while (o.status().state !== 'ready') await new Promise((r) => setTimeout(r, 2));
    const t = performance.now();
    await o.allocate('x');
    per.push(performance.now() - t);
    o.stop();
    net.remove(`q${i}`);
    d.done();
  }
  row(
    'donation: allocation that must ask a peer first',
    `${msStr(stats(per).p50)} p50`,
    'in-process mesh, both stores fsync',
  );
  donor.stop();
  obs.stop();
  a.done();
  b.done();
}

function bigRing(owners: number): Ring {
  const ids = Array.from({ length: owners }, (_, i) =>
    ownerId(
      `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      i + 1,
    ),
  );
  let r = initialRing(RANGE.addr, RANGE.addr + 2 ** 20, ids);
  const shares = r.entries.map((e) => [e.owner, e.token] as const);
  // Each owner gives part of its initial share to the next: ~3 entries per owner.
  for (const [i, [owner, token]] of shares.entries()) {
    const start = token + 256;
    r = transferSpan(r, owner, { start, end: start + 64 }, shares[(i + 1) % owners]![0]);
  }
  return r;
}

function benchMerge(): void {
  const local = bigRing(1000);
  // Another view: 10 % of the entries at a newer version (free counts reported).
  const incoming: Ring = {
    ...local,
    entries: local.entries.map((e, i) =>
      i % 10 === 0 ? { ...e, version: e.version + 1, free: Math.max(0, e.free - 1) } : e,
    ),
  };
  const bytes = encodeMessage({
    tag: IpamTag.State,
    from: local.entries[0]!.owner,
    ring: incoming,
    consensus: null,
  });
  const self = local.entries[5]!.owner;
  const never = () => false;
  const time = (n: number, f: () => void) => {
    for (let i = 0; i < 5; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return (performance.now() - t0) / n;
  };
  const merge = time(300, () => {
    const o = mergeRing(local, incoming, self, never);
    if (o.kind !== 'updated') throw new Error(o.kind);
  });
  const fromBytes = time(300, () => {
    const d = decodeMessage(bytes);
    if (!d.ok || d.value.tag !== IpamTag.State || !d.value.ring) throw new Error('decode');
    mergeRing(local, d.value.ring, self, never);
  });
  const encode = time(300, () =>
    encodeMessage({ tag: IpamTag.State, from: self, ring: local, consensus: null }),
  );
  const unchanged = time(300, () => mergeRing(local, local, self, never));
  row(`merge: 1000-owner ring (${local.entries.length} entries), 10 % changed`, msStr(merge));
  row(
    'merge: same, from the wire (decode + merge)',
    msStr(fromBytes),
    `${(bytes.length / 1024).toFixed(0)} KiB message`,
  );
  row('merge: nothing new (idempotent merge)', msStr(unchanged));
  row('encode: 1000-owner ring', msStr(encode));
}

function printTable(): void {
  const w0 = Math.max(...rows.map((r) => r[0].length), 6);
  const w1 = Math.max(...rows.map((r) => r[1].length), 5);
  const line = (a: string, b: string, c: string) => `| ${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c} |`;
  console.log(line('IPAM benchmark', 'value', 'note'));
  console.log(`|${'-'.repeat(w0 + 2)}|${'-'.repeat(w1 + 2)}|------|`);
  for (const [a, b, c] of rows) console.log(line(a, b, c));
}

async function main(): Promise<void> {
  benchCore();
  await benchApi();
  await benchDonation();
  benchMerge();
  printTable();
}

void main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
