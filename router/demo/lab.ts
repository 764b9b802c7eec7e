/**
 * A lab of simulated hosts on one machine: what `weft demo` builds its
 * cluster on, and what every test that needs the kernel uses (test/netns/lab.ts
 * re-exports this module). Each host is a network namespace with an `eth0` on
 * a shared underlay bridge (itself in the lab's own namespace), addressed from
 * 198.18.0.0/15, the benchmarking range: nothing here is routed off the machine.
 *
 *        ┌──────────── <id>-ul (namespace) ────────────┐
 *        │                  bridge ul0                  │
 *        └───────┬──────────────┬──────────────┬────────┘
 *           veth │         veth │         veth │
 *        ┌───────┴──┐    ┌──────┴───┐   ┌──────┴───┐
 *        │ <id>-h1  │    │ <id>-h2  │   │ <id>-h3  │   eth0 = 198.18.0.1/24, .2, .3
 *        └──────────┘    └──────────┘   └──────────┘
 *
 * Names are unique per lab and carry the creating PID, so a lab left behind by
 * a crashed test run is recognisably stale and `sweepStaleLabs` removes it.
 * Every process started through the lab is tracked and killed (by PID) on
 * cleanup, which also runs on process exit. Processes that detach themselves
 * (`weft launch` starts the router in a new session) are found by the
 * namespace they run in: whatever still runs inside one of the lab's own
 * namespaces at cleanup was started by the lab's user, and is killed too.
 *
 * Unlike the rest of weft's product code this uses `ip netns`/`ip link`: it
 * builds simulated *machines*, the way a person would by hand, and is never on
 * a path a real deployment runs.
 */
import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const LAB_PREFIX = 'wt';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export async function sh(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as { code?: unknown }).code === 'number'
            ? (error as { code: number }).code
            : 1
          : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export async function mustSh(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await sh(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export interface Host {
  /** 1-based index. */
  readonly index: number;
  /** Network namespace name. */
  readonly ns: string;
  /** Underlay address (no prefix). */
  readonly ip: string;
}

export class Lab {
  readonly hosts: Host[] = [];
  readonly underlayNs: string;
  private readonly procs = new Set<ChildProcess>();
  private readonly extraNs = new Set<string>();
  private cleaned = false;
  private readonly exitHook = () => this.cleanupSync();

  private constructor(readonly id: string) {
    this.underlayNs = `${id}-ul`;
    process.once('exit', this.exitHook);
  }

  /** Create a lab with `n` hosts. */
  static async create(n: number, opts: { subnet?: string } = {}): Promise<Lab> {
    await sweepStaleLabs();
    const id = `${LAB_PREFIX}${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    const lab = new Lab(id);
    try {
      const base = opts.subnet ?? '198.18.0';
      await mustSh('ip', ['netns', 'add', lab.underlayNs]);
      await lab.ipIn(lab.underlayNs, ['link', 'set', 'lo', 'up']);
      await lab.ipIn(lab.underlayNs, ['link', 'add', 'name', 'ul0', 'type', 'bridge']);
      await lab.ipIn(lab.underlayNs, ['link', 'set', 'ul0', 'up']);
      for (let i = 1; i <= n; i++) {
        const host: Host = { index: i, ns: `${id}-h${i}`, ip: `${base}.${i}` };
        await lab.addHostNs(host.ns);
        // The veth is created inside the host namespace and its peer moved to
        // the underlay: nothing ever appears in the root namespace.
        await lab.ipIn(host.ns, [
          'link',
          'add',
          'eth0',
          'type',
          'veth',
          'peer',
          'name',
          `p${i}`,
          'netns',
          lab.underlayNs,
        ]);
        await lab.ipIn(host.ns, ['addr', 'add', `${host.ip}/24`, 'dev', 'eth0']);
        await lab.ipIn(host.ns, ['link', 'set', 'eth0', 'up']);
        await lab.ipIn(lab.underlayNs, ['link', 'set', `p${i}`, 'master', 'ul0']);
        await lab.ipIn(lab.underlayNs, ['link', 'set', `p${i}`, 'up']);
        lab.hosts.push(host);
      }
      return lab;
    } catch (e) {
      await lab.cleanup();
      throw e;
    }
  }

  host(i: number): Host {
    const h = this.hosts[i - 1];
    if (!h) throw new Error(`no host ${i} in lab ${this.id}`);
    return h;
  }

  /** Create an extra namespace owned by this lab (e.g. a "container"); removed on cleanup. */
  async addNamespace(suffix: string): Promise<string> {
    const ns = `${this.id}-${suffix}`;
    await this.addHostNs(ns);
    return ns;
  }

  private async addHostNs(ns: string): Promise<void> {
    // Registered first: a process dying while `ip netns add` runs must not leak it
    // (names carry this lab's unique id, so deleting one never hits another's).
    this.extraNs.add(ns);
    await mustSh('ip', ['netns', 'add', ns]);
    await this.ipIn(ns, ['link', 'set', 'lo', 'up']);
  }

  async ipIn(ns: string, args: string[]): Promise<string> {
    return mustSh('ip', ['-n', ns, ...args]);
  }

  /** Run a command inside a namespace and wait for it. */
  async exec(
    ns: string,
    cmd: string,
    args: string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
  }

  async mustExec(
    ns: string,
    cmd: string,
    args: string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<string> {
    return mustSh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
  }

  /** Start a long-running process inside a namespace; it is killed on cleanup. */
  spawn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...opts,
    });
    this.procs.add(child);
    child.once('exit', () => this.procs.delete(child));
    return child;
  }

  /** Kill a process we started, by PID, and wait for it to exit. */
  async kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (child.pid) {
      try {
        process.kill(child.pid, signal);
      } catch {
        /* already gone */
      }
    }
    await exited;
  }

  /** Load an nftables ruleset into a namespace (e.g. to block a link). */
  async nft(ns: string, ruleset: string): Promise<void> {
    await mustSh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset });
  }

  /**
   * Drop all underlay traffic between hosts a and b (both directions), or only
   * UDP to `udpPort` when given, using a table of the lab's own in each host.
   */
  async block(a: Host, b: Host, opts: { udpPort?: number; table?: string } = {}): Promise<void> {
    const table = opts.table ?? 'weftlab';
    const match = opts.udpPort !== undefined ? `udp dport ${opts.udpPort} ` : '';
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      await this.nft(
        x.ns,
        `table inet ${table} {}\nflush table inet ${table}\ntable inet ${table} {\n` +
          `  chain out { type filter hook output priority 0; ip daddr ${y.ip} ${match}drop; }\n` +
          `  chain in { type filter hook input priority 0; ip saddr ${y.ip} ${match}drop; }\n}\n`,
      );
    }
  }

  async unblock(a: Host, b: Host, opts: { table?: string } = {}): Promise<void> {
    const table = opts.table ?? 'weftlab';
    for (const x of [a, b]) await sh('ip', ['netns', 'exec', x.ns, 'nft', 'delete', 'table', 'inet', table]);
  }

  /** Every namespace this lab made (hosts, extra namespaces, the underlay). */
  namespaces(): string[] {
    return [...this.extraNs, this.underlayNs];
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    process.removeListener('exit', this.exitHook);
    await Promise.all([...this.procs].map((p) => this.kill(p)));
    for (const ns of this.namespaces()) await killPidsIn(ns);
    for (const ns of this.extraNs) await sh('ip', ['netns', 'delete', ns]);
    await sh('ip', ['netns', 'delete', this.underlayNs]);
  }

  /** Last resort on process exit: synchronous kill and delete. */
  private cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const p of this.procs) {
      try {
        if (p.pid) process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of this.namespaces()) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
        for (const pid of pids.split('\n').filter(Boolean)) killQuietly(Number(pid));
      } catch {
        /* no such namespace */
      }
      try {
        execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
  }
}

/** Remove namespaces left by labs whose creating process no longer exists. */
export async function sweepStaleLabs(): Promise<void> {
  const r = await sh('ip', ['netns', 'list']);
  for (const line of r.stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^wt([0-9a-z]+?)([0-9a-f]{4})-/.exec(name);
    if (!m) continue;
    const pid = Number.parseInt(m[1]!, 36);
    if (pid === process.pid || isAlive(pid)) continue;
    // Kill anything still running inside before deleting.
    await killPidsIn(name);
    await sh('ip', ['netns', 'delete', name]);
  }
}

function killQuietly(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** SIGKILL every process inside a namespace and wait (briefly) until they are gone. */
async function killPidsIn(ns: string): Promise<void> {
  const r = await sh('ip', ['netns', 'pids', ns]);
  const pids = r.stdout.split('\n').filter(Boolean).map(Number);
  for (const pid of pids) killQuietly(pid);
  const deadline = Date.now() + 5_000;
  while (pids.some((pid) => pid !== process.pid && isAlive(pid)) && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 20));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
