/**
 * Hardening (issue 7): files under the data dir are private (0600 in a 0700
 * directory) and the pid file is never visible half-written.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDataDir, PID_FILE, prepareDataDir } from '../../router/daemon/data-dir.js';
import { tempDirs } from '../../router/daemon/test-support.js';
import { DATABASE_FILE, openDatabase } from '../../router/store/database.js';

const dirs = tempDirs('weft-fuzz-datadir-');
afterEach(() => dirs.removeAll());
const mode = (p: string) => statSync(p).mode & 0o777;

describe('data dir files', () => {
  it('the database and its WAL and shared-memory files are 0600, also when the file existed wider', () => {
    const dir = join(dirs.make(), 'data');
    prepareDataDir(dir);
    writeFileSync(join(dir, DATABASE_FILE), '', { mode: 0o644 });
    const db = openDatabase(join(dir, DATABASE_FILE));
    db.sql.exec('CREATE TABLE t (a)');
    db.sql.prepare('INSERT INTO t VALUES (1)').run();
    const files = readdirSync(dir).filter((f) => f.startsWith(DATABASE_FILE));
    expect(files.sort()).toEqual([DATABASE_FILE, `${DATABASE_FILE}-shm`, `${DATABASE_FILE}-wal`]);
    for (const f of files) expect(mode(join(dir, f)), f).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
    db.close();
  });

  it('the pid file is complete and 0600, no temporary file stays behind, a live owner is refused', () => {
    const dir = dirs.make();
    mkdirSync(dir, { recursive: true });
    const release = lockDataDir(dir, process.pid);
    expect(readFileSync(join(dir, PID_FILE), 'utf8')).toBe(`${process.pid}\n`);
    expect(mode(join(dir, PID_FILE))).toBe(0o600);
    expect(readdirSync(dir)).toEqual([PID_FILE]);
    // Another process (pid 1 is alive) holds it: refused, and nothing left behind either.
    writeFileSync(join(dir, PID_FILE), '1\n');
    expect(() => lockDataDir(dir, process.pid)).toThrow(/in use by another weft router \(pid 1\)/);
    expect(readdirSync(dir)).toEqual([PID_FILE]);
    release();
  });

  it('a pid file of a dead router (or an empty one) is taken over', () => {
    const dir = dirs.make();
    for (const stale of ['', '999999999\n', 'garbage']) {
      writeFileSync(join(dir, PID_FILE), stale);
      const release = lockDataDir(dir, process.pid);
      expect(readFileSync(join(dir, PID_FILE), 'utf8')).toBe(`${process.pid}\n`);
      release();
      expect(readdirSync(dir)).toEqual([]);
    }
  });
});
