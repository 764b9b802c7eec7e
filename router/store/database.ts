/**
 * The router's embedded database: one SQLite file under --data-dir
 * (better-sqlite3), opened in WAL mode with synchronous=FULL so that a
 * committed transaction survives a kill -9 or a power cut. Every subsystem
 * keeps its tables here and brings its own migrations, namespaced so that
 * they apply once each and in order:
 *
 *   const db = openDatabase(join(dataDir, 'weft.db'));
 *   db.migrate('ipam', IPAM_MIGRATIONS);
 *   db.transaction(() => { ... });   // atomic, durable on return
 *
 * Calls are synchronous: a write has reached the disk when the call returns,
 * which is what "persist before acknowledging" needs.
 */
import { chmodSync, existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';

export type Sql = BetterSqlite3.Database;

export interface Migration {
  /** 1, 2, 3… within its namespace; applied in order, each exactly once. */
  version: number;
  description: string;
  up(sql: Sql): void;
}

export const DATABASE_FILE = 'weft.db';

export class Database {
  private closed = false;

  private constructor(readonly sql: Sql) {}

  static open(path: string, opts: { readonly?: boolean } = {}): Database {
    const sql = new BetterSqlite3(path, { readonly: opts.readonly ?? false, timeout: 5_000 });
    try {
      if (!opts.readonly) {
        // 0600 before WAL mode: SQLite gives the -wal and -shm files the database file's mode.
        if (existsSync(path)) chmodSync(path, 0o600);
        sql.pragma('journal_mode = WAL');
        // FULL: the WAL is fsynced at every commit, so a commit that returned is on disk.
        sql.pragma('synchronous = FULL');
      }
      sql.pragma('foreign_keys = ON');
      sql.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        namespace TEXT NOT NULL,
        version INTEGER NOT NULL,
        description TEXT NOT NULL,
        PRIMARY KEY (namespace, version)
      )`);
    } catch (e) {
      sql.close();
      throw e;
    }
    return new Database(sql);
  }

  /** Apply the migrations of `namespace` that have not run yet, each in its own transaction. */
  migrate(namespace: string, migrations: readonly Migration[]): void {
    const versions = migrations.map((m) => m.version);
    if (versions.some((v, i) => v !== i + 1)) {
      throw new Error(`migrations of ${namespace} must be numbered 1, 2, 3…`);
    }
    const row = this.sql
      .prepare('SELECT MAX(version) AS v FROM schema_migrations WHERE namespace = ?')
      .get(namespace) as { v: number | null };
    const done = row.v ?? 0;
    if (done > migrations.length) {
      throw new Error(
        `the database has ${namespace} schema version ${done}, newer than this weft knows (${migrations.length}): refusing to downgrade`,
      );
    }
    const record = this.sql.prepare(
      'INSERT INTO schema_migrations (namespace, version, description) VALUES (?, ?, ?)',
    );
    for (const m of migrations.slice(done)) {
      this.sql.transaction(() => {
        m.up(this.sql);
        record.run(namespace, m.version, m.description);
      })();
    }
  }

  schemaVersion(namespace: string): number {
    const row = this.sql
      .prepare('SELECT MAX(version) AS v FROM schema_migrations WHERE namespace = ?')
      .get(namespace) as { v: number | null };
    return row.v ?? 0;
  }

  /** Run `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.sql.transaction(fn)();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sql.close();
  }
}

export function openDatabase(path: string, opts: { readonly?: boolean } = {}): Database {
  return Database.open(path, opts);
}
