import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPersistChange } from '../../ipam/memory-state.js';
import { initialRing, transferSpan } from '../../ipam/ring.js';
import { peerOwner } from '../../ipam/test-arbitraries.js';
import type { PersistChange, PersistedIpam } from '../../ipam/types.js';
import { Database, type Migration } from './database.js';
import { IpamStore, IpamStoreError } from './ipam-store.js';
import { MetaStore } from './meta-store.js';
import { SqliteRouterState } from './router-state-store.js';
import { TargetsStore } from './targets-store.js';

const dirs: string[] = [];
function freshPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'weft-store-'));
  dirs.push(d);
  return join(d, 'weft.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Database', () => {
  it('opens in WAL mode with synchronous=FULL', () => {
    const db = Database.open(freshPath());
    expect(db.sql.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.sql.pragma('synchronous', { simple: true })).toBe(2); // FULL
    db.close();
  });

  it('applies each migration once, in order, and refuses a newer schema', () => {
    const path = freshPath();
    const ran: number[] = [];
    const m = (version: number): Migration => ({
      version,
      description: `v${version}`,
      up: (sql) => {
        ran.push(version);
        sql.exec(`CREATE TABLE t${version} (x INTEGER)`);
      },
    });
    let db = Database.open(path);
    db.migrate('x', [m(1)]);
    db.migrate('x', [m(1), m(2)]);
    db.migrate('x', [m(1), m(2)]);
    expect(ran).toEqual([1, 2]);
    expect(db.schemaVersion('x')).toBe(2);
    db.close();
    db = Database.open(path);
    expect(() => db.migrate('x', [m(1)])).toThrow(/newer/);
    expect(() => db.migrate('y', [m(2)])).toThrow(/numbered/);
    db.close();
  });

  it('a failing migration leaves nothing behind', () => {
    const db = Database.open(freshPath());
    const bad: Migration = {
      version: 1,
      description: 'half',
      up: (sql) => {
        sql.exec('CREATE TABLE half (x INTEGER)');
        throw new Error('boom');
      },
    };
    expect(() => db.migrate('z', [bad])).toThrow('boom');
    expect(db.schemaVersion('z')).toBe(0);
    expect(db.sql.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    db.close();
  });
});

describe('MetaStore and TargetsStore', () => {
  it('keep small values and direct peers across reopening', () => {
    const path = freshPath();
    let db = Database.open(path);
    let meta = new MetaStore(db);
    let targets = new TargetsStore(db);
    meta.set('a', '1');
    meta.set('a', '2');
    meta.setJson('j', { x: [1, 2] });
    targets.replace(['198.18.0.2:6783', '198.18.0.3:6783', '198.18.0.2:6783']);
    targets.add(['198.18.0.4:6783']);
    targets.remove(['198.18.0.3:6783']);
    db.close();
    db = Database.open(path);
    meta = new MetaStore(db);
    targets = new TargetsStore(db);
    expect(meta.get('a')).toBe('2');
    expect(meta.getJson('j')).toEqual({ x: [1, 2] });
    expect(meta.get('missing')).toBeUndefined();
    meta.set('bad', '{');
    expect(meta.getJson('bad')).toBeUndefined();
    meta.delete('a');
    expect(meta.get('a')).toBeUndefined();
    expect(targets.list()).toEqual(['198.18.0.2:6783', '198.18.0.4:6783']);
    db.close();
  });

  it('SqliteRouterState implements the daemon seam', () => {
    const db = Database.open(freshPath());
    const s = new SqliteRouterState(db, true);
    expect(s.peerName()).toBeUndefined();
    s.setPeerName('02:00:00:00:00:01');
    s.setDirectPeers(['198.18.0.2:6783']);
    expect(s.peerName()).toBe('02:00:00:00:00:01');
    expect(s.directPeers()).toEqual(['198.18.0.2:6783']);
    s.close();
    expect(() => db.sql.prepare('SELECT 1').get()).toThrow();
  });
});

describe('IpamStore', () => {
  const ring0 = initialRing(0x0a200000, 0x0a200100, [peerOwner(1), peerOwner(2)]);
  const changeArb: fc.Arbitrary<PersistChange> = fc.record(
    {
      owner: fc.constantFrom(peerOwner(1), peerOwner(3)),
      ring: fc.constantFrom(
        ring0,
        transferSpan(ring0, peerOwner(1), { start: 0x0a200010, end: 0x0a200020 }, peerOwner(2)),
      ),
      claims: fc.constantFrom(null, {
        version: 3,
        quorum: 2,
        promise: { round: 1, node: peerOwner(1) },
        accepted: null,
        value: null,
      }),
      left: fc.boolean(),
      allocations: fc.array(
        fc.oneof(
          fc
            .record({
              addr: fc.integer({ min: 0x0a200000, max: 0x0a200010 }),
              c: fc.integer({ min: 0, max: 5 }),
              p: fc.constantFrom(24, 28),
            })
            .map(({ addr, c, p }) => ({ put: { addr, containerId: `c${c}`, prefix: p } })),
          fc.integer({ min: 0x0a200000, max: 0x0a200010 }).map((addr) => ({ del: addr })),
          fc.constant({ clear: true as const }),
        ),
        { maxLength: 6 },
      ),
    },
    { requiredKeys: [] },
  );

  it('loads exactly what the in-memory reference semantics say, after any sequence of changes', () => {
    fc.assert(
      fc.property(fc.array(changeArb, { maxLength: 12 }), fc.boolean(), (changes, grouped) => {
        const path = freshPath();
        let db = Database.open(path);
        let store = new IpamStore(db);
        expect(store.load()).toBeNull();
        const first: PersistChange = { owner: peerOwner(1) };
        const all = [first, ...changes];
        if (grouped) store.applyAll(all);
        else for (const c of all) store.apply(c);
        let want: PersistedIpam | null = null;
        for (const c of all) want = applyPersistChange(want, c);
        db.close();
        db = Database.open(path);
        store = new IpamStore(db);
        expect(store.load()).toEqual(want);
        db.close();
      }),
      { numRuns: 60 },
    );
  });

  it('refuses corrupt state instead of starting from it', () => {
    const db = Database.open(freshPath());
    const store = new IpamStore(db);
    store.apply({ owner: peerOwner(1), ring: ring0 });
    db.sql.prepare("UPDATE ipam_state SET value = ? WHERE key = 'ring'").run(Buffer.from([1, 2, 3]));
    expect(() => store.load()).toThrow(IpamStoreError);
    store.wipe();
    expect(store.load()).toBeNull();
    db.close();
  });

  it('rolls back a group commit that fails half way', () => {
    const db = Database.open(freshPath());
    const store = new IpamStore(db);
    store.apply({ owner: peerOwner(1) });
    const bad = { put: { addr: 1, containerId: 'x', prefix: 99 } };
    expect(() =>
      store.applyAll([
        { allocations: [{ put: { addr: 2, containerId: 'y', prefix: 24 } }] },
        { allocations: [bad] },
      ]),
    ).toThrow();
    expect(store.load()?.allocations).toEqual([]);
    db.close();
  });

  it('writes a ring blob that a fresh process can read (file on disk, not cached)', () => {
    const path = freshPath();
    const db = Database.open(path);
    new IpamStore(db).apply({ owner: peerOwner(1), ring: ring0 });
    db.close();
    writeFileSync(`${path}.touch`, '');
    const again = Database.open(path, { readonly: true });
    expect(new IpamStore(again).load()?.ring).toEqual(ring0);
    again.close();
  });
});
