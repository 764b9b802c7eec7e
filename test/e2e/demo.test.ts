/**
 * `weft demo` (what the README's first command ends in, `npm run demo`): it
 * launches three routers with `weft launch`, attaches two containers per host
 * through the installed CNI plugin, shows status and ps, pings across hosts,
 * and leaves nothing behind — on a normal run and on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { sh } from '../netns/lab.js';
import { assertBuilt, REPO_ROOT, WEFT_BIN } from '../netns/routers.js';

interface DemoRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `weft demo …`, or with no arguments exactly the README's command, `npm run demo`. */
function runDemo(args: string[], viaNpm = false): DemoRun {
  const child = viaNpm
    ? spawn('npm', ['run', 'demo'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [WEFT_BIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  return {
    child,
    output: () => out,
    exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))),
  };
}

/** Not running: gone, or a zombie (detached routers are reparented to init, which reaps them when it likes). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Everything the demo made must be gone: namespaces, router processes, data dirs. */
async function expectCleanedUp(output: string): Promise<void> {
  const lab = /\(lab (wt[0-9a-z]+)\)/.exec(output)?.[1];
  expect(lab, output).toBeDefined();
  expect(output).toContain(`demo: cleaned up (lab ${lab})`);
  const netns = await sh('ip', ['netns', 'list']);
  expect(netns.stdout).not.toContain(lab!);
  const pids = [...output.matchAll(/: weft launch .*\(router pid (\d+),/g)].map((m) => Number(m[1]));
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) expect(running(pid), `router pid ${pid}`).toBe(false);
  expect(readdirSync(tmpdir()).filter((d) => d.startsWith(`weft-demo-${lab}`))).toEqual([]);
  const links = await sh('ip', ['-o', 'link', 'show']);
  expect(links.stdout).not.toMatch(/\bweft|vxlan-weft/);
}

beforeAll(() => assertBuilt());

describe('weft demo', () => {
  it('npm run demo: an encrypted 3-router mesh, 6 containers attached by CNI, pings across hosts, cleaned up', async () => {
    const run = runDemo([], true);
    const exit = await run.exited;
    const out = run.output();
    expect(exit, out).toEqual({ code: 0, signal: null });
    expect(out).toMatch(/weft setup-cni installed 3 files/);
    expect([
      ...out.matchAll(
        /: host[123]: weft launch --nickname host[123] 198\.18\.0\.1 198\.18\.0\.2 198\.18\.0\.3 /g,
      ),
    ]).toHaveLength(3);
    expect(out).toContain('demo: mesh formed, address ring ready');
    expect(out).toMatch(/Encryption: enabled/);
    expect(out).toMatch(/Peers: 3 \(with 6 established connections\)/);
    expect(out).toMatch(/Service: ipam\n\s+Status: ready/);
    // Two containers per host, each with its own ring address.
    const attached = [...out.matchAll(/^demo: {3}host([123])\/c[12] .* eth0 (10\.\d+\.\d+\.\d+)\/12$/gm)];
    expect(attached.map((m) => m[1]).sort()).toEqual(['1', '1', '2', '2', '3', '3']);
    expect(new Set(attached.map((m) => m[2])).size).toBe(6);
    // weft ps on host1 shows its two CNI attachments.
    expect([...out.matchAll(/^demo-host1-c[12]:eth0 +([0-9a-f]{2}:){5}[0-9a-f]{2} +10\./gm)]).toHaveLength(2);
    // Every container reached a container on the next host.
    const pings = [...out.matchAll(/^demo: {3}host(\d)\/c\d \S+ → host(\d)\/c\d \S+: (\d)\/3 replies/gm)];
    expect(pings).toHaveLength(6);
    for (const p of pings) {
      expect(p[1]).not.toBe(p[2]);
      expect(Number(p[3])).toBeGreaterThan(0);
    }
    expect(out).toContain('demo: all 6 containers reached a container on another host');
    expect(out).toContain('docs/user-guide.md');
    await expectCleanedUp(out);
  });

  it('with --keep it runs until Ctrl-C, then cleans up', async () => {
    const run = runDemo(['--keep']);
    const deadline = Date.now() + 90_000;
    while (!run.output().includes('press Ctrl-C') && Date.now() < deadline) {
      if (run.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(run.output()).toContain('press Ctrl-C');
    // Still running a moment later.
    await new Promise((r) => setTimeout(r, 1000));
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGINT');
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    await expectCleanedUp(run.output());
  });

  it('refuses bad options in one line', async () => {
    const run = runDemo(['--hosts', '1']);
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/^weft: --hosts: want 2-9, got 1\n$/);
  });
});
