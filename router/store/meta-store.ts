/**
 * Small named values (peer name, settings, markers) in the router database.
 * Strings in, strings out; `getJson`/`setJson` for structured values. Each
 * `set` is its own durable transaction unless called inside one.
 */
import type { Database, Migration } from './database.js';

export const META_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'meta key/value table',
    up: (sql) => sql.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)'),
  },
];

export class MetaStore {
  constructor(private readonly db: Database) {
    db.migrate('meta', META_MIGRATIONS);
  }

  get(key: string): string | undefined {
    const row = this.db.sql.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  set(key: string, value: string): void {
    this.db.sql
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  delete(key: string): void {
    this.db.sql.prepare('DELETE FROM meta WHERE key = ?').run(key);
  }

  /** The parsed value, or undefined when absent or not valid JSON. */
  getJson<T = unknown>(key: string): T | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      return undefined;
    }
  }

  setJson(key: string, value: unknown): void {
    this.set(key, JSON.stringify(value));
  }
}
