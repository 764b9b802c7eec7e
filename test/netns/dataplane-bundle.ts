/**
 * Bundle a TypeScript entry point into one ES module that `node` can run in a
 * namespace (test harness processes, bench nodes), with esbuild, on demand:
 * always built from the current sources, no dependency on `npm run build`.
 * Packages stay external (resolved from the repo's node_modules), and the
 * output lives under build/ so the native addons are found from it.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const built = new Map<string, Promise<string>>();

/** Path of the bundled module for `entry` (repo-relative .ts path). */
export function bundled(entry: string): Promise<string> {
  let p = built.get(entry);
  if (!p) {
    const outDir = join(REPO, 'build', 'bundles');
    mkdirSync(outDir, { recursive: true });
    const outfile = join(outDir, `${basename(entry, '.ts')}.mjs`);
    p = build({
      entryPoints: [join(REPO, entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile,
      logLevel: 'warning',
      sourcemap: 'inline',
    }).then(() => outfile);
    built.set(entry, p);
  }
  return p;
}
