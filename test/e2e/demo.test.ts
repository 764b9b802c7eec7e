/**
 * `weft demo` (what the README's first command ends in): it builds the mesh,
 * shows it, and leaves nothing behind — on a normal run and on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { processAlive } from '../../router/daemon/data-dir.js';
import { sh } from '../netns/lab.js';
import { assertBuilt, WEFT_BIN } from '../netns/routers.js';

interface DemoRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runDemo(args: string[]): DemoRun {
  const child = spawn(process.execPath, [WEFT_BIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Everything the demo made must be gone: namespaces, router processes, data dirs. */
async function expectCleanedUp(output: string): Promise<void> {
  const lab = /\(lab (wt[0-9a-z]+)\)/.exec(output)?.[1];
  expect(lab, output).toBeDefined();
  expect(output).toContain(`demo: cleaned up (lab ${lab})`);
  const netns = await sh('ip', ['netns', 'list']);
  expect(netns.stdout).not.toContain(lab!);
  const pids = [...output.matchAll(/: weft router.*\(pid (\d+),/g)].map((m) => Number(m[1]));
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) expect(processAlive(pid), `router pid ${pid}`).toBe(false);
  expect(readdirSync(tmpdir()).filter((d) => d.startsWith(`weft-demo-${lab}`))).toEqual([]);
  const links = await sh('ip', ['-o', 'link', 'show']);
  expect(links.stdout).not.toMatch(/\bweft|vxlan-weft/);
}

beforeAll(() => assertBuilt());

describe('weft demo', () => {
  it('forms an encrypted 3-router mesh, shows status and peers, and cleans up', async () => {
    const run = runDemo([]);
    const exit = await run.exited;
    const out = run.output();
    expect(exit, out).toEqual({ code: 0, signal: null });
    expect(out).toContain('demo: mesh formed');
    expect(out).toMatch(/Encryption: enabled/);
    expect(out).toMatch(/Peers: 3 \(with 6 established connections\)/);
    // The peer list: one unindented line per peer, all three hosts.
    const peers = [...out.matchAll(/^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\((host[123])\)$/gm)]
      .map((m) => m[1])
      .sort();
    expect(peers).toEqual(['host1', 'host2', 'host3']);
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
