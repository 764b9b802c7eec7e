/**
 * A tiny container image for tests, built from Debian's busybox-static (no
 * registry is reachable): /bin/busybox plus a symlink per applet (sh, ping, ip,
 * ifconfig, nc, wget, httpd, sleep, …), a root user, and the directories a
 * runtime mounts over. The rootfs tarball is built once per machine state and
 * cached under /tmp (keyed by the busybox binary, so an upgrade rebuilds it);
 * `importDockerImage` / `importPodmanImage` turn it into a local image.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mustSh } from '../netns/lab.js';

export const BUSYBOX = '/bin/busybox';
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

function busyboxApplets(): string[] {
  return execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((a) => a.trim())
    .filter((a) => /^[a-z0-9_.[-]+$/i.test(a) && a !== 'busybox');
}

function cacheKey(): string {
  const st = statSync(BUSYBOX);
  return createHash('sha256').update(`${st.size}:${st.mtimeMs}:v1`).digest('hex').slice(0, 16);
}

/** Path of the cached rootfs tarball, building it on first use. Requires busybox-static. */
export function busyboxRootfsTar(): string {
  if (!existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} is missing: install Debian's busybox-static (scripts/install.sh does)`);
  }
  const tar = join(tmpdir(), `weft-busybox-rootfs-${cacheKey()}.tar`);
  if (existsSync(tar)) return tar;
  const applets = busyboxApplets();
  const missing = REQUIRED_APPLETS.filter((a) => !applets.includes(a));
  if (missing.length > 0) throw new Error(`${BUSYBOX} lacks applets: ${missing.join(', ')}`);

  const work = mkdtempSync(join(tmpdir(), 'weft-busybox-build-'));
  try {
    const root = join(work, 'rootfs');
    for (const d of [
      'bin',
      'sbin',
      'usr/bin',
      'usr/sbin',
      'etc',
      'proc',
      'sys',
      'dev',
      'tmp',
      'root',
      'var/www',
      'run',
    ]) {
      mkdirSync(join(root, d), { recursive: true });
    }
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
    writeFileSync(
      join(root, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
    );
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    writeFileSync(join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(root, 'etc', 'resolv.conf'), '');
    const partial = `${tar}.${process.pid}.partial`;
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', partial, '.']);
    // Atomic: a concurrent builder or a crash never leaves a half tarball under the final name.
    renameSync(partial, tar);
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
  await docker(['import', busyboxRootfsTar(), ref]);
  return ref;
}

/**
 * Import the rootfs into podman's local storage (`podman import`); extra
 * global flags (e.g. `--root`, `--runroot` for a private store) go first.
 */
export async function importPodmanImage(opts: { ref?: string; podmanArgs?: string[] } = {}): Promise<string> {
  const ref = opts.ref ?? BUSYBOX_PODMAN_IMAGE;
  await mustSh('podman', [...(opts.podmanArgs ?? []), 'import', busyboxRootfsTar(), ref], {
    timeoutMs: 120_000,
  });
  return ref;
}
