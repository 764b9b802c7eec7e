/**
 * `weft launch`, `weft stop` and `weft reset` on two lab hosts, the way an
 * operator runs them on real machines:
 *
 *   h1: weft launch 198.18.0.1 198.18.0.2   → waits, says what it waits for
 *   h2: weft launch 198.18.0.1 198.18.0.2   → progress, "ready"
 *
 * (the same peer list on both: each leaves out its own address, so the
 * consensus is of 2, as the default rule "peers + 1" gives).
 *
 * Refusals (already running, API address taken, range overlapping a host
 * route, a router that dies during start-up), stop (twice), reset refused
 * while the only other owner is down, relaunch with kept state, reset of a
 * running router (hands its space to h2; state, bridge, attach veths and the
 * expose table go; twice is fine), reset of a stopped router (refused without
 * --force).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecResult, type Host, Lab } from './lab.js';
import { apiRequest, assertBuilt, makeDataRoot, removeDataRoot, waitFor, weftCli } from './routers.js';

let lab: Lab;
let root: string;
const h = (i: number): Host => lab.host(i);
const dataDir = (i: number) => join(root, `h${i}`);
const cli = (i: number, args: string[], env: NodeJS.ProcessEnv = {}) => weftCli(lab, h(i), args, env);
/**
 * A detached router is reparented to init when `weft launch` exits, and may
 * stay a zombie until init reaps it: a zombie has stopped running.
 */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pid in the router's own pid file. */
const pidOf = (i: number) => Number(readFileSync(join(dataDir(i), 'router.pid'), 'utf8').trim());

function ok(r: ExecResult): string {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r.stdout;
}

function failsWith(r: ExecResult, pattern: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
}

const launchArgs = (i: number, extra: string[] = []) => [
  'launch',
  '--nickname',
  `h${i}`,
  '--data-dir',
  dataDir(i),
  ...extra,
  h(1).ip,
  h(2).ip,
];

beforeAll(async () => {
  assertBuilt();
  lab = await Lab.create(2);
  root = makeDataRoot(lab);
});

afterAll(async () => {
  // Routers started by `weft launch` run detached: the lab kills what runs in its namespaces.
  await lab?.cleanup();
  if (root) removeDataRoot(root);
});

describe('weft launch', () => {
  it('h1 alone: starts in the background, shows what it waits for, returns after --wait with the router running', async () => {
    const out = ok(await cli(1, launchArgs(1, ['--wait', '2'])));
    expect(out).toMatch(/^ignoring 198\.18\.0\.1:6783: an address of this host\n/);
    expect(out).toMatch(/\nlaunching weft router \(pid \d+, data dir .*\/h1, log .*\/h1\/router\.log\)\n/);
    expect(out).toMatch(/router ([0-9a-f]{2}:){5}[0-9a-f]{2}\(h1\) answers at 127\.0\.0\.1:6784\n/);
    expect(out).toMatch(
      /peers: 0 of 1 connected \(198\.18\.0\.2:6783: .*refused.*\); ring: awaiting consensus \(quorum 2, 1 known\)/,
    );
    expect(out).toMatch(/still waiting after 2 s .*the router keeps running/);
    expect(running(pidOf(1))).toBe(true);
    expect(existsSync(join(dataDir(1), 'router.log'))).toBe(true);
  });

  it('h2: progress until the peer is connected and the ring is ready', async () => {
    const out = ok(await cli(2, launchArgs(2, ['--wait', '60'])));
    expect(out).toMatch(/peers: 1 of 1 connected; ring: ready, range 10\.32\.0\.0\/12\nready\n$/);
    expect(ok(await cli(1, ['prime', '--timeout', '20']))).toMatch(/^ring [0-9a-f]+ ready/);
  });

  it('refuses a second router on the data dir, and on the API address', async () => {
    failsWith(
      await cli(1, launchArgs(1)),
      /^weft: the router is already running \(pid \d+, data dir .*\/h1\)\n$/,
    );
    failsWith(
      await cli(1, ['launch', '--data-dir', join(root, 'other'), '--port', '7783']),
      /^weft: a router already answers at 127\.0\.0\.1:6784 \(stop it with weft stop\)\n$/,
    );
  });

  it('refuses an --ipalloc-range that overlaps a host route', async () => {
    await lab.ipIn(h(1).ns, ['route', 'add', '10.40.0.0/16', 'dev', 'eth0']);
    try {
      failsWith(
        await cli(1, [
          'launch',
          '--data-dir',
          join(root, 'other'),
          '--port',
          '7783',
          '--http-addr',
          '127.0.0.1:7784',
          '--ipalloc-range',
          '10.32.0.0/12',
        ]),
        /^weft: --ipalloc-range 10\.32\.0\.0\/12 overlaps the host route 10\.40\.0\.0\/16 dev eth0: choose another range/,
      );
    } finally {
      await lab.ipIn(h(1).ns, ['route', 'del', '10.40.0.0/16', 'dev', 'eth0']);
    }
    expect(existsSync(join(root, 'other'))).toBe(false);
  });

  it('a router that dies during start-up is reported with its own error', async () => {
    // Mesh port 6783 is the running router's.
    failsWith(
      await cli(1, ['launch', '--data-dir', join(root, 'other'), '--http-addr', '127.0.0.1:7784']),
      /^weft: the router did not start: cannot listen on mesh port \*:6783: .*EADDRINUSE/,
    );
  });
});

describe('weft stop, and a reset nobody can take the space from', () => {
  it('stop stops the router; stopping again says it is not running, exit 0', async () => {
    const pid = pidOf(1);
    expect(ok(await cli(1, ['stop', '--data-dir', dataDir(1)]))).toBe(`router ${pid} stopped\n`);
    expect(running(pid)).toBe(false);
    expect(ok(await cli(1, ['stop', '--data-dir', dataDir(1)]))).toMatch(/^the router is not running/);
  });

  it('reset of h2 is refused while the other owner (h1) is down; h2 keeps running', async () => {
    await waitFor('h2 to see h1 gone', async () => {
      const r = JSON.parse((await apiRequest(lab, h(2), 'GET', '/report')).body) as {
        ipam: { owners: Array<{ reachable: boolean }> };
      };
      return r.ipam.owners.some((o) => !o.reachable) ? true : undefined;
    });
    failsWith(
      await cli(2, ['reset', '--data-dir', dataDir(2)]),
      /^weft: cannot hand the address space over: no other owner of the address ring is reachable .*reset --force and run weft rmpeer/,
    );
    expect(running(pidOf(2))).toBe(true);
    expect(existsSync(join(dataDir(2), 'weft.db'))).toBe(true);
  });

  it('h1 launched again (its state kept) rejoins: ready', async () => {
    expect(ok(await cli(1, launchArgs(1, ['--wait', '60'])))).toMatch(/\nready\n$/);
  });
});

describe('weft reset of a running router', () => {
  it('hands its space to the live peer, stops, and removes state, bridge, attach veths and expose rules', async () => {
    const c = await lab.addNamespace('c1');
    ok(await cli(1, ['attach', `netns:${c}`]));
    ok(await cli(1, ['expose']));
    expect((await lab.exec(h(1).ns, 'nft', ['list', 'table', 'ip', 'weft'])).code).toBe(0);
    const pid = pidOf(1);
    const out = ok(await cli(1, ['reset', '--data-dir', dataDir(1)]));
    expect(out).toMatch(/^handed \d+ addresses to ([0-9a-f]{2}:){5}[0-9a-f]{2}/);
    expect(out).toMatch(/removed weft\.db.* from .*\/h1\n/);
    expect(out).toMatch(/removed the expose table ip weft\nreset done\n$/);
    expect(running(pid)).toBe(false);
    expect(readdirSync(dataDir(1)).filter((f) => f.startsWith('weft.db') || f === 'router.pid')).toEqual([]);
    const links = await lab.ipIn(h(1).ns, ['-o', 'link', 'show']);
    expect(links).not.toMatch(/\b(weft|weft-sleeve|weft-fastdp|weft-fdp-hb|wfa[0-9a-f]{12})[:@]/);
    expect(await lab.ipIn(c, ['-o', 'link', 'show'])).not.toContain('ethwe');
    expect((await lab.exec(h(1).ns, 'nft', ['list', 'table', 'ip', 'weft'])).code).not.toBe(0);
    // h2 owns the whole ring now: nothing was left to a peer that is gone.
    const ring = await waitFor('h2 to own the ring', async () => {
      const r = JSON.parse((await apiRequest(lab, h(2), 'GET', '/ring?wait=false')).body) as {
        entries: Array<{ reachable: boolean }>;
      };
      return r.entries.every((e) => e.reachable) ? r : undefined;
    });
    expect(ring.entries.length).toBeGreaterThan(0);
  });

  it('reset again does nothing and succeeds', async () => {
    expect(ok(await cli(1, ['reset', '--data-dir', dataDir(1)]))).toBe('reset done\n');
  });
});

describe('reset of a stopped router', () => {
  it('reset without the router is refused while it has state; --force removes it', async () => {
    ok(await cli(2, ['stop', '--data-dir', dataDir(2)]));
    failsWith(
      await cli(2, ['reset', '--data-dir', dataDir(2)]),
      /^weft: the router is not running, so its address space cannot be handed to a peer/,
    );
    expect(existsSync(join(dataDir(2), 'weft.db'))).toBe(true);
    const out = ok(await cli(2, ['reset', '--force', '--data-dir', dataDir(2)]));
    expect(out).toMatch(/removed weft\.db.*\nreset done\n$/);
    expect(existsSync(join(dataDir(2), 'weft.db'))).toBe(false);
    expect(await lab.ipIn(h(2).ns, ['-o', 'link', 'show'])).not.toMatch(/\bweft[:@]/);
  });
});
