/**
 * A private Docker engine for one test: Debian's `dockerd` (20.10) started by
 * the test, with everything it owns under one temp dir, and stopped — with
 * every process it started — by PID on cleanup.
 *
 * Where it runs, and why:
 *
 *   test process (root netns, root mount ns)
 *     └─ unshare --mount --propagation slave      private mount namespace
 *          └─ nsenter --net=/run/netns/<id>-dk    a network namespace of its own
 *               └─ dockerd  (same PID: both exec)  --bridge=none --iptables=false
 *                    └─ containerd, shims                  --ip6tables=false --ip-forward=false …
 *   containers (--network none): a fresh netns each, made by runc
 *
 * - Its own network namespace: whatever networking dockerd does despite the
 *   flags (sysctls it flips, links or rules it might add) lands in a
 *   namespace we delete, never in the host's. Containers started with
 *   `--network none` get their own namespace anyway, so where dockerd runs
 *   does not change what a test can attach to them.
 * - Its own mount namespace (slave: host mounts still reach it, its mounts
 *   do not reach the host): the mounts of dockerd/containerd/runc vanish with
 *   the last process in it, so even a SIGKILLed test leaves no mounts behind.
 *   Not `ip netns exec`: that remounts /sys and so hides /sys/fs/cgroup, which
 *   runc needs.
 * - Its own data-root, exec-root, pidfile, socket, config file, key file and
 *   cgroup parent, all named after the engine: nothing of the host's Docker
 *   (if any) is read or touched. The vfs storage driver: no overlay mounts,
 *   and the busybox image is tiny.
 *
 * dockerd still insists on creating /run/docker/plugins; we remove it again
 * when we created it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerClient } from '../../router/docker/engine-client.js';
import { type ExecResult, LAB_PREFIX, mustSh, sh } from '../netns/lab.js';
import { BUSYBOX_IMAGE } from './busybox-image.js';

export const DOCKERD = '/usr/sbin/dockerd';
/** The client that matches Debian's engine; `docker` on PATH otherwise. */
export const DOCKER_CLI = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const CGROUP_ROOT = '/sys/fs/cgroup';
const DIR_PREFIX = 'weft-dockerd-';

export interface DockerEngineOptions {
  /** How long to wait for the engine to answer (default 60 s). */
  startTimeoutMs?: number;
}

export interface DockerEngine {
  /** Short unique id; names the temp dir, the namespace and the cgroup parent. */
  readonly id: string;
  readonly dir: string;
  readonly socketPath: string;
  /** `unix://<socket>`: what DOCKER_HOST should be for clients of this engine. */
  readonly dockerHost: string;
  /** PID of dockerd. */
  readonly pid: number;
  /** Network namespace dockerd runs in. */
  readonly netns: string;
  /** Inode of dockerd's private mount namespace (to find its processes). */
  readonly mountNs: string;
  readonly cgroupParent: string;
  readonly client: DockerClient;
  /** Run the docker CLI against this engine. */
  cli(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Same, throwing on a non-zero exit; returns stdout trimmed. */
  mustCli(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /**
   * `docker run -d --network none --name <name> <image> <command…>` (default
   * image: the busybox one, command: sleep for an hour); returns the container id.
   */
  runDetached(name: string, opts?: { image?: string; command?: string[]; network?: string }): Promise<string>;
  /** Text dockerd logged so far (for failure messages). */
  log(): string;
  /** Remove every container, stop dockerd and everything it started, remove all its files. Idempotent. */
  stop(): Promise<void>;
}

function cliEnv(dir: string, socketPath: string): NodeJS.ProcessEnv {
  // The CLI writes ~/.docker unless told otherwise; keep it in the engine's dir.
  return { ...process.env, DOCKER_HOST: `unix://${socketPath}`, DOCKER_CONFIG: join(dir, 'cli-config') };
}

function runCli(
  dir: string,
  socketPath: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
) {
  return new Promise<ExecResult>((resolve) => {
    const child = spawn(DOCKER_CLI, args, { env: cliEnv(dir, socketPath), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      stderr += String(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? -1 });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** PIDs of processes in the mount namespace `mntNs` ("mnt:[…]"). */
export function pidsInMountNs(mntNs: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/ns/mnt`) === mntNs) out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Every directory named `name` directly under a cgroup hierarchy (v1: one per controller; v2: one). */
export function cgroupDirs(name: string): string[] {
  const dirs: string[] = [];
  const direct = join(CGROUP_ROOT, name);
  if (existsSync(direct)) dirs.push(direct);
  for (const h of readdirSync(CGROUP_ROOT)) {
    const d = join(CGROUP_ROOT, h, name);
    try {
      if (statSync(d).isDirectory()) dirs.push(d);
    } catch {
      /* not in this hierarchy */
    }
  }
  return dirs;
}

/** PIDs in a cgroup subtree (container processes, even if their shim is gone). */
export function pidsInCgroups(dirs: string[]): number[] {
  const pids = new Set<number>();
  const walk = (d: string) => {
    try {
      for (const p of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    } catch {
      /* removed meanwhile */
    }
  };
  for (const d of dirs) walk(d);
  return [...pids];
}

function removeCgroupTree(d: string): void {
  try {
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) removeCgroupTree(join(d, e.name));
    rmdirSync(d);
  } catch {
    /* busy or gone: reported by the caller's leftover check */
  }
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    // Never 0 or negative: those mean process groups, or everything.
    if (!Number.isInteger(p) || p <= 1) continue;
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pids.some(isAlive)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !pids.some(isAlive);
}

/** True while `pid` exists (EPERM: it exists, we may not signal it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How many engines of this process are running: /run/docker is ours to remove only after the last one. */
let running = 0;
let runDockerWasOurs = false;

/** /run/docker as a crashed test engine leaves it: an empty plugins dir, and no dockerd running. */
function runDockerIsLeftover(): boolean {
  try {
    if (readdirSync('/run/docker').join() !== 'plugins' || readdirSync('/run/docker/plugins').length > 0)
      return false;
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        if (readFileSync(`/proc/${e}/comm`, 'utf8').trim() === 'dockerd') return false;
      } catch {
        /* exited meanwhile */
      }
    }
    return true;
  } catch {
    return false;
  }
}

function removeRunDockerIfOurs(): void {
  if (running > 0 || !runDockerWasOurs) return;
  try {
    rmdirSync('/run/docker/plugins');
    rmdirSync('/run/docker');
  } catch {
    /* something else put files there: leave it */
  }
  runDockerWasOurs = false;
}

/**
 * Engines left by test processes that died (their creating PID, encoded in
 * the dir name, is gone): kill what they left running, free their cgroups and
 * remove their dirs. The namespace is swept by the lab's sweepStaleLabs.
 */
export async function sweepStaleDockerEngines(): Promise<void> {
  for (const e of readdirSync(tmpdir())) {
    const m = new RegExp(`^${DIR_PREFIX}([0-9a-z]+)-([0-9a-f]{4})$`).exec(e);
    if (!m || Number.parseInt(m[1]!, 36) === process.pid || isAlive(Number.parseInt(m[1]!, 36))) continue;
    const dir = join(tmpdir(), e);
    const id = `${m[1]}-${m[2]}`;
    const victims: number[] = [];
    try {
      const pid = Number(readFileSync(join(dir, 'dockerd.pid'), 'utf8').trim());
      if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) victims.push(pid);
    } catch {
      /* no pidfile or already gone */
    }
    const cgroups = cgroupDirs(`weft-dockerd-${id}`);
    victims.push(...pidsInCgroups(cgroups));
    let ns: string | undefined;
    try {
      ns = readFileSync(join(dir, 'netns'), 'utf8').trim();
      // containerd and the shims live in dockerd's namespace.
      victims.push(...(await sh('ip', ['netns', 'pids', ns])).stdout.split('\n').filter(Boolean).map(Number));
    } catch {
      /* no namespace recorded */
    }
    killAll(victims);
    await waitGone(victims, 10_000);
    for (const c of cgroups) removeCgroupTree(c);
    if (ns) await sh('ip', ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
  // Cgroups whose engine dir is already gone.
  const stale = new Set<string>();
  for (const h of [CGROUP_ROOT, ...readdirSync(CGROUP_ROOT).map((x) => join(CGROUP_ROOT, x))]) {
    try {
      for (const name of readdirSync(h)) {
        const m = /^weft-dockerd-([0-9a-z]+)-[0-9a-f]{4}$/.exec(name);
        if (m && Number.parseInt(m[1]!, 36) !== process.pid && !isAlive(Number.parseInt(m[1]!, 36)))
          stale.add(name);
      }
    } catch {
      /* not a directory */
    }
  }
  for (const name of stale) {
    const dirs = cgroupDirs(name);
    const victims = pidsInCgroups(dirs);
    killAll(victims);
    await waitGone(victims, 10_000);
    for (const d of dirs) removeCgroupTree(d);
  }
}

export async function startDockerEngine(opts: DockerEngineOptions = {}): Promise<DockerEngine> {
  await sweepStaleDockerEngines();
  const id = `${process.pid.toString(36)}-${randomBytes(2).toString('hex')}`;
  const dir = join(tmpdir(), `${DIR_PREFIX}${id}`);
  const netns = `${LAB_PREFIX}${process.pid.toString(36)}${id.slice(-4)}-dk`;
  const cgroupParent = `weft-dockerd-${id}`;
  const socketPath = join(dir, 'docker.sock');
  mkdirSync(dir, { mode: 0o700 });
  // The trust key goes to /etc/docker/key.json unless the config file says
  // otherwise (20.10 has no command-line flag for it).
  writeFileSync(
    join(dir, 'daemon.json'),
    `${JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') })}\n`,
  );
  writeFileSync(join(dir, 'netns'), `${netns}\n`);
  if (running === 0 && (!existsSync('/run/docker') || runDockerIsLeftover())) runDockerWasOurs = true;

  await mustSh('ip', ['netns', 'add', netns]);
  await mustSh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  const logFd = openSync(join(dir, 'dockerd.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'slave',
        '--',
        'nsenter',
        `--net=/run/netns/${netns}`,
        '--',
        DOCKERD,
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '--pidfile',
        join(dir, 'dockerd.pid'),
        '--config-file',
        join(dir, 'daemon.json'),
        '-H',
        `unix://${socketPath}`,
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--ip-forward=false',
        '--ip-masq=false',
        '--userland-proxy=false',
        '--storage-driver=vfs',
        '--exec-opt',
        'native.cgroupdriver=cgroupfs',
        '--cgroup-parent',
        `/${cgroupParent}`,
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
  } finally {
    closeSync(logFd);
  }
  running++;
  const pid = child.pid ?? -1;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  let spawnError = '';
  child.once('error', (e) => {
    spawnError = String(e);
    hasExited = true;
  });
  const readLog = () => {
    try {
      return readFileSync(join(dir, 'dockerd.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const client = new DockerClient({ socketPath, timeoutMs: 2_000 });
  let mountNs = '';
  let stopped: Promise<void> | undefined;

  const stopSync = () => {
    // Last resort on process exit (a test that forgot stop(), or a crash).
    killAll([pid, ...(mountNs ? pidsInMountNs(mountNs) : [])]);
    const cgroups = cgroupDirs(cgroupParent);
    killAll(pidsInCgroups(cgroups));
    try {
      execFileSync('ip', ['netns', 'delete', netns], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.removeListener('exit', stopSync);
      try {
        if (!hasExited && pid > 0) {
          const ids = await runCli(dir, socketPath, ['ps', '-aq'], { timeoutMs: 20_000 });
          const list = ids.stdout.split('\n').filter(Boolean);
          if (list.length > 0) await runCli(dir, socketPath, ['rm', '-f', ...list], { timeoutMs: 60_000 });
          process.kill(pid, 'SIGTERM');
          if (!(await waitGone([pid], 20_000))) killAll([pid]);
          await exited;
        }
        // Whatever dockerd left (shims of containers it failed to stop, a stuck containerd).
        const leftovers = mountNs ? pidsInMountNs(mountNs) : [];
        const cgroups = cgroupDirs(cgroupParent);
        const inCgroups = pidsInCgroups(cgroups);
        killAll([...leftovers, ...inCgroups]);
        await waitGone([...leftovers, ...inCgroups], 10_000);
        for (const c of cgroups) removeCgroupTree(c);
        await sh('ip', ['netns', 'delete', netns]);
        rmSync(dir, { recursive: true, force: true });
      } finally {
        running--;
        removeRunDockerIfOurs();
      }
    })();
    return stopped;
  };

  try {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
    for (;;) {
      if (hasExited)
        throw new Error(`dockerd exited during start-up: ${spawnError}\n${readLog().slice(-2000)}`);
      if (await client.ping().catch(() => false)) break;
      if (Date.now() > deadline)
        throw new Error(`dockerd did not answer within the timeout:\n${readLog().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const ns = readlinkSync(`/proc/${pid}/ns/mnt`);
    // Cleanup kills every process in this mount namespace: it must be dockerd's own.
    if (ns === readlinkSync('/proc/self/ns/mnt'))
      throw new Error('dockerd is not in a private mount namespace');
    mountNs = ns;
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    id,
    dir,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    pid,
    netns,
    mountNs,
    cgroupParent,
    client,
    cli: (args, o) => runCli(dir, socketPath, args, o),
    async mustCli(args, o) {
      const r = await runCli(dir, socketPath, args, o);
      if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout.trim();
    },
    async runDetached(name, o = {}) {
      const args = ['run', '-d', '--network', o.network ?? 'none', '--name', name, o.image ?? BUSYBOX_IMAGE];
      const r = await runCli(dir, socketPath, [...args, ...(o.command ?? ['sleep', '3600'])]);
      if (r.code !== 0) throw new Error(`docker run ${name} failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout.trim();
    },
    log: readLog,
    stop,
  };
}
