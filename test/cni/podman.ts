/**
 * podman 4.3 with its CNI backend on a simulated host: a private
 * containers.conf (CONTAINERS_CONF) pointing at our plugin directory and a
 * conflist directory of the test's own, private storage (--root/--runroot,
 * vfs), and a busybox-static image imported from a tarball (no registry).
 *
 * podman runs under `nsenter --net=…`, not `ip netns exec`: the latter mounts
 * a fresh /sys, which hides the cgroup hierarchy runc needs.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecResult, Host } from '../netns/lab.js';
import type { Conflist } from './runtime.js';
import { spawnCollect } from './spawn.js';

export const BUSYBOX = '/bin/busybox';
export const havePodman = (): boolean =>
  existsSync('/usr/bin/podman') && existsSync(BUSYBOX) && existsSync('/usr/bin/nsenter');

/** A rootfs tarball with busybox-static and its applets. */
export async function busyboxTarball(dir: string): Promise<string> {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  const { copyFileSync, chmodSync } = await import('node:fs');
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  const list = await run('busybox', ['--list']);
  for (const applet of list.stdout.split('\n').filter((a) => a && a !== 'busybox'))
    symlinkSync('busybox', join(root, 'bin', applet));
  const tar = join(dir, 'rootfs.tar');
  const r = await run('tar', ['-C', root, '-cf', tar, '.']);
  if (r.code !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return tar;
}

const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ExecResult> =>
  spawnCollect(cmd, args, { ...(env ? { env } : {}), timeoutMs });

export class PodmanHost {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly host: Host,
    pluginDir: string,
    conflist: Conflist,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `weft-podman-h${host.index}-`));
    const confDir = join(this.dir, 'net.d');
    mkdirSync(confDir);
    writeFileSync(join(confDir, '10-weft.conflist'), JSON.stringify(conflist, null, 2));
    const conf = join(this.dir, 'containers.conf');
    writeFileSync(
      conf,
      [
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${pluginDir}", "/usr/lib/cni"]`,
        `network_config_dir = "${confDir}"`,
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `tmp_dir = "${join(this.dir, 'tmp')}"`,
        '',
      ].join('\n'),
    );
    this.env = { PATH: process.env.PATH, CONTAINERS_CONF: conf, HOME: this.dir };
  }

  /** Run podman in the host's network namespace. */
  podman(args: string[], timeoutMs = 120_000): Promise<ExecResult> {
    return run(
      'nsenter',
      [
        `--net=/var/run/netns/${this.host.ns}`,
        'podman',
        '--root',
        join(this.dir, 'root'),
        '--runroot',
        join(this.dir, 'runroot'),
        '--storage-driver',
        'vfs',
        ...args,
      ],
      this.env,
      timeoutMs,
    );
  }

  async must(args: string[]): Promise<string> {
    const r = await this.podman(args);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** `podman run -d` a busybox container on the weft network; returns its address. */
  async runContainer(name: string, image = 'localhost/bb'): Promise<string> {
    // This VM refuses podman's default rlimits (machine.md): give small explicit ones.
    await this.must([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'weft',
      '--ulimit',
      'nofile=10000:10000',
      '--ulimit',
      'nproc=4096:4096',
      image,
      'sleep',
      '3600',
    ]);
    return this.must(['inspect', name, '--format', '{{.NetworkSettings.Networks.weft.IPAddress}}']);
  }

  /** Remove every container and the private storage. */
  async cleanup(): Promise<void> {
    await this.podman(['rm', '-a', '-f', '-t', '0']);
    // vfs layers can hold read-only directories; rm -rf as root copes.
    if (existsSync(this.dir)) {
      for (const e of readdirSync(this.dir)) rmSync(join(this.dir, e), { recursive: true, force: true });
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
