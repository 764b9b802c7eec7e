/**
 * Private plugin bundles for one test file: built with scripts/bundle.mjs
 * into a directory of their own inside the repository (so the bundles still
 * find node_modules and the native addon), installed with setupCni into a
 * private CNI bin directory next to the reference plugins.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setupCni } from '../../cni-plugin/setup.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const REFERENCE_PLUGINS = '/usr/lib/cni';

export interface TestPlugins {
  /** Directory with weft-net and weft-ipam launchers. */
  readonly binDir: string;
  /** CNI_PATH: our directory first, then the reference plugins. */
  readonly cniPath: string;
  readonly bundleDir: string;
  cleanup(): void;
}

export function buildTestPlugins(opts: { linkReference?: string[] } = {}): TestPlugins {
  const bundleDir = join(REPO, 'dist', `cni-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const r = spawnSync(process.execPath, ['scripts/bundle.mjs', '--outdir', bundleDir], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bundling failed: ${r.stderr}`);
  const binDir = mkdtempSync(join(tmpdir(), 'weft-cni-bin-'));
  setupCni({ binDir, bundleDir, skipConflist: true });
  for (const p of opts.linkReference ?? []) symlinkSync(join(REFERENCE_PLUGINS, p), join(binDir, p));
  return {
    binDir,
    bundleDir,
    cniPath: `${binDir}:${REFERENCE_PLUGINS}`,
    cleanup() {
      rmSync(bundleDir, { recursive: true, force: true });
      rmSync(binDir, { recursive: true, force: true });
    },
  };
}
