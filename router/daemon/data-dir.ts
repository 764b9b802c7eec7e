/**
 * The router's data directory: created private (0700: it holds the peer name,
 * the address ring and, later, key material), and locked with a pid file so
 * two routers never share one (which would make them the same peer).
 */
import {
  chmodSync,
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { WeftError } from '../../common/errors.js';

export const PID_FILE = 'router.pid';

export function prepareDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new WeftError('BAD_REQUEST', `--data-dir: ${dir} is not a directory`);
  // mkdir leaves an existing directory's mode alone; tighten it.
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

/** Whether a process exists (EPERM: it exists but is not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the data dir for this process. A pid file left by a router that died
 * (kill -9) is taken over; one whose process is alive is refused. Returns the
 * release function (idempotent).
 */
export function lockDataDir(dir: string, pid = process.pid): () => void {
  const path = join(dir, PID_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // Written whole under a temporary name, then linked into place: link() fails if the pid
      // file exists, like O_EXCL, and nobody can ever read it empty or half-written.
      const tmp = join(dir, `.${PID_FILE}.${pid}.tmp`);
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(tmp, path);
      } finally {
        rmSync(tmp, { force: true });
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(path, 'utf8').trim() === String(pid)) rmSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const other = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isSafeInteger(other) && other > 0 && other !== pid && processAlive(other)) {
        throw new WeftError(
          'BAD_REQUEST',
          `--data-dir: ${dir} is in use by another weft router (pid ${other})`,
          {
            pid: other,
          },
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new WeftError('INTERNAL', `could not lock ${path}`);
}
