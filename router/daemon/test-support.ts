/**
 * Small helpers shared by the daemon/API/CLI unit tests (not shipped logic).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftError } from '../../common/errors.js';

/** Run `f`, which must throw a WeftError, and return it (anything else fails the test). */
export function weftErrorOf(f: () => unknown): WeftError {
  try {
    f();
  } catch (e) {
    if (e instanceof WeftError) return e;
    throw e;
  }
  throw new Error('expected a WeftError, nothing was thrown');
}

/** Temp directories for one test file: `make()` creates one, `removeAll()` (in afterEach) deletes them. */
export function tempDirs(prefix: string): { make(): string; removeAll(): void } {
  const dirs: string[] = [];
  return {
    make() {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    removeAll() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
