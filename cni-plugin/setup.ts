/**
 * `weft setup-cni`: install the CNI plugin executables and the weft
 * conflist. The executables are small launchers that run this installation's
 * bundles (dist/cni/*.cjs) with an absolute node path — runtimes such as
 * Mesos call plugins with almost no environment, so nothing may depend on
 * PATH. Files are written to a temporary name and renamed into place, so a
 * runtime executing a plugin meanwhile sees the old file or the new one,
 * never half of one.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WeftError } from '../common/errors.js';

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
export const CONFLIST_NAME = '10-weft.conflist';
export const PLUGINS = ['weft-net', 'weft-ipam'] as const;

/** The conflist `setup-cni` writes; deploy/10-weft.conflist is the same document (a test keeps them equal). */
export const WEFT_CONFLIST = {
  cniVersion: '1.0.0',
  name: 'weft',
  plugins: [
    {
      type: 'weft-net',
      bridge: 'weft',
      router: '127.0.0.1:6784',
      hairpinMode: true,
      capabilities: { ips: true, mac: true },
    },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
} as const;

export interface SetupCniOptions {
  /** Where runtimes look for plugin executables (default /opt/cni/bin). */
  binDir?: string;
  /** Where runtimes look for network configurations (default /etc/cni/net.d). */
  confDir?: string;
  /** The weft-net `router` address, when the router's API is not on 127.0.0.1:6784. */
  router?: string;
  /** Write only the executables. */
  skipConflist?: boolean;
  /** Directory of weft-net.cjs / weft-ipam.cjs (default: found from this installation). */
  bundleDir?: string;
  /** The node binary the launchers run (default: the one running now). */
  nodePath?: string;
}

export interface SetupCniResult {
  /** Paths written, executables first. */
  readonly written: string[];
}

/** dist/cni of the installation this module belongs to (sources, dist/ or a bundle). */
export function findBundleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'dist', 'cni');
    if (existsSync(join(candidate, 'weft-net.cjs'))) return candidate;
    const parent = resolve(dir, '..');
    if (parent === dir)
      throw new WeftError('NOT_FOUND', 'the CNI plugin bundles are not built: run `npm run build` first');
    dir = parent;
  }
}

const shQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

export function launcherScript(plugin: string, nodePath: string, bundle: string): string {
  return (
    '#!/bin/sh\n' +
    `# ${plugin} CNI plugin, installed by \`weft setup-cni\`: runs this weft installation's bundle.\n` +
    `exec ${shQuote(nodePath)} ${shQuote(bundle)} "$@"\n`
  );
}

function writeAtomically(path: string, content: string, mode: number): void {
  const tmp = `${path}.weft-tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function conflistFor(opts: Pick<SetupCniOptions, 'router'> = {}): unknown {
  const doc = structuredClone(WEFT_CONFLIST) as unknown as { plugins: Array<Record<string, unknown>> };
  if (opts.router) doc.plugins[0]!.router = opts.router;
  return doc;
}

export function setupCni(opts: SetupCniOptions = {}): SetupCniResult {
  const binDir = opts.binDir ?? DEFAULT_BIN_DIR;
  const confDir = opts.confDir ?? DEFAULT_CONF_DIR;
  const bundleDir = resolve(opts.bundleDir ?? findBundleDir());
  const nodePath = opts.nodePath ?? process.execPath;
  const written: string[] = [];
  mkdirSync(binDir, { recursive: true });
  for (const plugin of PLUGINS) {
    const bundle = join(bundleDir, `${plugin}.cjs`);
    if (!existsSync(bundle))
      throw new WeftError('NOT_FOUND', `${bundle} does not exist: run \`npm run build\` first`);
    const dest = join(binDir, plugin);
    writeAtomically(dest, launcherScript(plugin, nodePath, bundle), 0o755);
    written.push(dest);
  }
  if (!opts.skipConflist) {
    mkdirSync(confDir, { recursive: true });
    const dest = join(confDir, CONFLIST_NAME);
    writeAtomically(dest, `${JSON.stringify(conflistFor(opts), null, 2)}\n`, 0o644);
    written.push(dest);
  }
  return { written };
}
