/**
 * A tiny container image for tests, built from Debian's busybox-static (no
 * registry is reachable): /bin/busybox plus a symlink per applet (sh, ping, ip,
 * ifconfig, nc, wget, httpd, sleep, …). The rootfs is the one the CNI tests
 * build (`busyboxTarball`, test/cni/podman.ts); here it is built once per
 * machine state and cached under /tmp (keyed by the busybox binary, so an
 * upgrade rebuilds it), and `importDockerImage` / `importPodmanImage` turn it
 * into a local image.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX, busyboxTarball } from '../cni/podman.js';
import { mustSh } from '../netns/lab.js';

export { BUSYBOX };
/** Image names the helpers import under (docker: local repo; podman: localhost/). */
export const BUSYBOX_IMAGE = 'weft-test/busybox:latest';
export const BUSYBOX_PODMAN_IMAGE = 'localhost/weft-test-busybox:latest';

/** Applets the tests rely on; the build fails if busybox lacks one (a different busybox build). */
export const REQUIRED_APPLETS = [
  'sh',
  'ping',
  'ip',
  'ifconfig',
  'nc',
  'wget',
  'httpd',
  'sleep',
  'cat',
  'route',
] as const;

function cacheKey(): string {
  const st = statSync(BUSYBOX);
  return createHash('sha256').update(`${st.size}:${st.mtimeMs}:v2`).digest('hex').slice(0, 16);
}

/** Path of the cached rootfs tarball, building it on first use. Requires busybox-static. */
export async function busyboxRootfsTar(): Promise<string> {
  if (!existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} is missing: install Debian's busybox-static (scripts/install.sh does)`);
  }
  const tar = join(tmpdir(), `weft-busybox-rootfs-${cacheKey()}.tar`);
  if (existsSync(tar)) return tar;
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n');
  const missing = REQUIRED_APPLETS.filter((a) => !applets.includes(a));
  if (missing.length > 0) throw new Error(`${BUSYBOX} lacks applets: ${missing.join(', ')}`);
  const work = mkdtempSync(join(tmpdir(), 'weft-busybox-build-'));
  try {
    // Atomic: a concurrent builder or a crash never leaves a half tarball under the final name.
    renameSync(await busyboxTarball(work), tar);
    return tar;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Import the rootfs into a Docker engine (`docker import`); returns the image ref. */
export async function importDockerImage(
  docker: (args: string[]) => Promise<string>,
  ref: string = BUSYBOX_IMAGE,
): Promise<string> {
  await docker(['import', await busyboxRootfsTar(), ref]);
  return ref;
}

/**
 * Import the rootfs into podman's local storage (`podman import`); extra
 * global flags (e.g. `--root`, `--runroot` for a private store) go first.
 */
export async function importPodmanImage(opts: { ref?: string; podmanArgs?: string[] } = {}): Promise<string> {
  const ref = opts.ref ?? BUSYBOX_PODMAN_IMAGE;
  await mustSh('podman', [...(opts.podmanArgs ?? []), 'import', await busyboxRootfsTar(), ref], {
    timeoutMs: 120_000,
  });
  return ref;
}
