/**
 * Where weft is installed and which version it is: found by walking up from
 * this module to weft's package.json (the source tree under vitest, dist/
 * after the build), so there is one place to bump the version.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { root: string; version: string } | undefined;

function findPackage(): { root: string; version: string } {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'weft' && pkg.version) {
        cached = { root: dir, version: pkg.version };
        return cached;
      }
    } catch {
      /* keep looking upwards */
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find weft package.json above the CLI');
}

export function weftVersion(): string {
  return findPackage().version;
}

/** The checkout/installation root (holds package.json, bin/, dist/). */
export function packageRoot(): string {
  return findPackage().root;
}

/** Path of the `weft` executable, for starting routers as child processes. */
export function weftBin(): string {
  return join(packageRoot(), 'bin', 'weft');
}
