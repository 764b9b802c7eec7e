/**
 * `weft` as a user runs it: one-line errors and non-zero exits for bad input,
 * help and version, and the data dir lock between two routers.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../netns/lab.js';
import {
  assertBuilt,
  makeDataRoot,
  removeDataRoot,
  startRouter,
  WEFT_BIN,
  weftCli,
} from '../netns/routers.js';

function weft(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [WEFT_BIN, ...args],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

beforeAll(() => assertBuilt());

describe('weft CLI errors', () => {
  it.each([
    [['router', '198.18.0.300'], /^weft: invalid peer address "198\.18\.0\.300"/],
    [['router', '--name', 'bogus'], /^weft: invalid peer name "bogus"/],
    [['router', '--port', '0'], /^weft: --port: port out of range/],
    [['router', '--http-addr', 'localhost'], /^weft: --http-addr: want host:port/],
    [['router', '--log-level', 'loud'], /^weft: --log-level: want one of/],
    [['router', '--bogus-flag'], /^weft: unknown option '--bogus-flag'/],
    [['connect', '1.2.3'], /^weft: invalid peer address "1\.2\.3"/],
    [
      ['status', '--http-addr', '127.0.0.1:1'],
      /^weft: router not running at 127\.0\.0\.1:1 \(start it with weft launch\)\n$/,
    ],
    [['nonsense'], /^weft: unknown command 'nonsense'/],
  ])('weft %j exits 1 with one line', async (args, pattern) => {
    const r = await weft(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('help lists the router flags; version prints the version', async () => {
    const help = await weft(['router', '--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--name',
      '--nickname',
      '--port',
      '--host',
      '--http-addr',
      '--data-dir',
      '--password',
      '--conn-limit',
      '--no-discovery',
      '--log-level',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    const top = await weft(['--help']);
    expect(top.stdout).toMatch(/router \[options\] \[peers\.\.\.\]/);
    const v = await weft(['version']);
    expect(v.stdout).toMatch(/^weft \d+\.\d+\.\d+\n$/);
  });
});

describe('weft router process', () => {
  let lab: Lab;
  let root: string;
  beforeAll(async () => {
    lab = await Lab.create(1);
    root = makeDataRoot(lab);
  });
  afterAll(async () => {
    await lab?.cleanup();
    if (root) removeDataRoot(root);
  });

  it('refuses a data dir another live router holds, in one line', async () => {
    const first = await startRouter(lab, lab.host(1), root);
    const second = await weftCli(lab, lab.host(1), [
      'router',
      '--data-dir',
      first.dataDir,
      '--port',
      '7000',
      '--http-addr',
      '127.0.0.1:7001',
    ]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^weft: --data-dir: .* is in use by another weft router \(pid \d+\)\n$/);
  });

  it('a mesh port in use is a one-line start-up error', async () => {
    const r = await weftCli(lab, lab.host(1), [
      'router',
      '--data-dir',
      `${root}/other`,
      '--http-addr',
      '127.0.0.1:7002',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weft: cannot listen on mesh port \*:6783: .*EADDRINUSE/);
  });

  it('weft status and report work against the router in its namespace', async () => {
    const s = await weftCli(lab, lab.host(1), ['status']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/Name: ([0-9a-f]{2}:){5}[0-9a-f]{2}\(h1\)/);
    expect(s.stdout).toMatch(/Encryption: disabled/);
    const name = await weftCli(lab, lab.host(1), ['report', '-f', 'router.name']);
    expect(name.stdout).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}\n$/);
    const c = await weftCli(lab, lab.host(1), ['connect', '198.18.0.9']);
    expect(c.code).toBe(0);
    const t = await weftCli(lab, lab.host(1), ['status', 'targets']);
    expect(t.stdout).toBe('198.18.0.9:6783\n');
    const f = await weftCli(lab, lab.host(1), ['forget', '198.18.0.9']);
    expect(f.code).toBe(0);
    expect((await weftCli(lab, lab.host(1), ['status', 'targets'])).stdout).toBe('');
    const bad = await weftCli(lab, lab.host(1), ['status', 'nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^weft: no status view "nope"/);
  });
});
