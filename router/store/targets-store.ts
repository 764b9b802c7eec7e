/**
 * The router's direct peers (command-line peers and /connect targets), kept
 * so that a restarted router tries them again. Order is kept as given.
 */
import type { Database, Migration } from './database.js';

export const TARGETS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'direct peers',
    up: (sql) =>
      sql.exec('CREATE TABLE targets (position INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE)'),
  },
];

export class TargetsStore {
  constructor(private readonly db: Database) {
    db.migrate('targets', TARGETS_MIGRATIONS);
  }

  list(): string[] {
    return (
      this.db.sql.prepare('SELECT address FROM targets ORDER BY position').all() as { address: string }[]
    ).map((r) => r.address);
  }

  /** Replace the whole list atomically (duplicates keep their first place). */
  replace(addresses: readonly string[]): void {
    const unique = [...new Set(addresses)];
    this.db.transaction(() => {
      this.db.sql.prepare('DELETE FROM targets').run();
      const insert = this.db.sql.prepare('INSERT INTO targets (position, address) VALUES (?, ?)');
      for (const [i, a] of unique.entries()) insert.run(i, a);
    });
  }

  add(addresses: readonly string[]): void {
    this.replace([...this.list(), ...addresses]);
  }

  remove(addresses: readonly string[]): void {
    const drop = new Set(addresses);
    this.replace(this.list().filter((a) => !drop.has(a)));
  }
}
