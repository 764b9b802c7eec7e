/**
 * IPAM's durable state in the router database: our owner id, the ring, our
 * consensus claims, whether we left, and our allocations. `apply` writes one
 * `persist` effect of the IPAM core in one transaction (several, in order, in
 * one transaction with `applyAll`), so an allocation is on disk before the
 * API answers and a donation before it is sent. The semantics are exactly
 * those of ipam/memory-state.ts (the simulator's disk).
 */
import type { Allocation } from '../../ipam/address-book.js';
import { decodeRing, encodeRing } from '../../ipam/codec.js';
import type { NodeClaims } from '../../ipam/consensus.js';
import { isValidOwnerId } from '../../ipam/owner.js';
import type { PersistChange, PersistedIpam } from '../../ipam/types.js';
import type { Database, Migration } from './database.js';

export const IPAM_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'ipam state and allocations',
    up: (sql) =>
      sql.exec(`
        CREATE TABLE ipam_state (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        CREATE TABLE ipam_allocations (
          addr INTEGER PRIMARY KEY,
          container TEXT NOT NULL,
          prefix INTEGER NOT NULL CHECK (prefix BETWEEN 0 AND 32)
        );
        CREATE INDEX ipam_allocations_container ON ipam_allocations (container);
      `),
  },
];

export class IpamStoreError extends Error {
  override readonly name = 'IpamStoreError';
}

export class IpamStore {
  private readonly putState;
  private readonly delState;
  private readonly putAlloc;
  private readonly delAlloc;
  private readonly clearAllocs;

  constructor(private readonly db: Database) {
    db.migrate('ipam', IPAM_MIGRATIONS);
    const sql = db.sql;
    this.putState = sql.prepare(
      'INSERT INTO ipam_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.delState = sql.prepare('DELETE FROM ipam_state WHERE key = ?');
    this.putAlloc = sql.prepare(
      'INSERT INTO ipam_allocations (addr, container, prefix) VALUES (?, ?, ?) ' +
        'ON CONFLICT(addr) DO UPDATE SET container = excluded.container, prefix = excluded.prefix',
    );
    this.delAlloc = sql.prepare('DELETE FROM ipam_allocations WHERE addr = ?');
    this.clearAllocs = sql.prepare('DELETE FROM ipam_allocations');
  }

  /** What the core restores from; null on a fresh data dir. Throws IpamStoreError if the data is corrupt. */
  load(): PersistedIpam | null {
    const rows = this.db.sql.prepare('SELECT key, value FROM ipam_state').all() as {
      key: string;
      value: unknown;
    }[];
    const state = new Map(rows.map((r) => [r.key, r.value]));
    const owner = state.get('owner');
    if (owner === undefined) return null;
    if (typeof owner !== 'string' || !isValidOwnerId(owner))
      throw new IpamStoreError('corrupt IPAM owner id');
    let ring: PersistedIpam['ring'] = null;
    const ringBlob = state.get('ring');
    if (ringBlob !== undefined) {
      if (!(ringBlob instanceof Uint8Array)) throw new IpamStoreError('corrupt IPAM ring');
      const d = decodeRing(ringBlob);
      if (!d.ok) throw new IpamStoreError(`corrupt IPAM ring: ${d.error.message}`);
      ring = d.value;
    }
    let claims: NodeClaims | null = null;
    const claimsText = state.get('claims');
    if (typeof claimsText === 'string') {
      try {
        claims = JSON.parse(claimsText) as NodeClaims;
      } catch {
        throw new IpamStoreError('corrupt IPAM consensus claims');
      }
    }
    const allocations = (
      this.db.sql.prepare('SELECT addr, container, prefix FROM ipam_allocations ORDER BY addr').all() as {
        addr: number;
        container: string;
        prefix: number;
      }[]
    ).map((r): Allocation => ({ addr: r.addr, containerId: r.container, prefix: r.prefix }));
    return { owner, ring, claims, allocations, left: state.get('left') === '1' };
  }

  /** Make one change durable (one transaction). */
  apply(change: PersistChange): void {
    this.db.transaction(() => this.write(change));
  }

  /** Make several changes durable, in order, in one transaction (group commit). */
  applyAll(changes: readonly PersistChange[]): void {
    if (changes.length === 0) return;
    this.db.transaction(() => {
      for (const c of changes) this.write(c);
    });
  }

  private write(c: PersistChange): void {
    if (c.owner !== undefined) this.putState.run('owner', c.owner);
    if (c.ring === null) this.delState.run('ring');
    else if (c.ring !== undefined) this.putState.run('ring', Buffer.from(encodeRing(c.ring)));
    if (c.claims !== undefined) {
      if (c.claims === null) this.delState.run('claims');
      else this.putState.run('claims', JSON.stringify(c.claims));
    }
    if (c.left !== undefined) this.putState.run('left', c.left ? '1' : '0');
    for (const op of c.allocations ?? []) {
      if ('clear' in op) this.clearAllocs.run();
      else if ('put' in op) this.putAlloc.run(op.put.addr, op.put.containerId, op.put.prefix);
      else this.delAlloc.run(op.del);
    }
  }

  /** Forget all IPAM state (the documented way out of a ring conflict: this peer starts afresh). */
  wipe(): void {
    this.db.transaction(() => {
      this.db.sql.prepare('DELETE FROM ipam_state').run();
      this.clearAllocs.run();
    });
  }
}
