/**
 * Every `weft` subcommand as a user runs it, against real routers in lab
 * namespaces (launch/stop/reset: cli-lifecycle.test.ts; Docker targets:
 * docker-attach.test.ts):
 *
 *   h1 198.18.0.1 ── h2 198.18.0.2 ── h3 198.18.0.3   `weft router h1 h2 h3` on each, no password (fastdp)
 *   c1 (netns) on h1, c2 (netns) on h2: weft attach; h1 exposed: weft expose
 *
 * --help on every subcommand; the one-line "router not running" error on
 * every subcommand that needs the router; the errors of bad input; and what
 * each subcommand does, checked from the outside (kernel state, pings, the
 * router's API).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../router/api/report.js';
import { attachHostVeth } from '../../router/host/attachment-ids.js';
import { parseExposition } from '../../router/metrics/exposition.js';
import { type ExecResult, type Host, Lab } from './lab.js';
import {
  apiRequest,
  assertBuilt,
  getReport,
  httpRequest,
  makeDataRoot,
  type RouterProcess,
  removeDataRoot,
  startRouter,
  stopRouter,
  WEFT_BIN,
  waitFor,
  waitMeshAndRing,
  weftCli,
} from './routers.js';

const SUBCOMMANDS = [
  'router',
  'launch',
  'stop',
  'reset',
  'status',
  'report',
  'ps',
  'prime',
  'version',
  'connect',
  'forget',
  'rmpeer',
  'attach',
  'detach',
  'expose',
  'hide',
  'setup-cni',
  'demo',
];

function weftHere(args: string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [WEFT_BIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function ok(r: ExecResult): string {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** Exit 1, exactly one line on stderr matching `pattern`, nothing on stdout. */
function failsWith(r: ExecResult, pattern: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.endsWith('\n') && r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stdout).toBe('');
}

let lab: Lab;
let root: string;
const routers: RouterProcess[] = [];
let names: string[] = [];
let c1: string;
let c2: string;

const h = (i: number): Host => lab.host(i);
const cli = (i: number, args: string[], env: NodeJS.ProcessEnv = {}) => weftCli(lab, h(i), args, env);

beforeAll(async () => {
  assertBuilt();
  lab = await Lab.create(3);
  root = makeDataRoot(lab);
  for (const i of [1, 2, 3]) {
    routers.push(
      // The same full peer list on every host: each router leaves out its own address.
      await startRouter(lab, h(i), root, { peers: lab.hosts.map((x) => x.ip) }),
    );
  }
  names = await waitMeshAndRing(lab, routers, { encrypted: false, logLines: 5 });
  c1 = await lab.addNamespace('c1');
  c2 = await lab.addNamespace('c2');
}, 120_000);

afterAll(async () => {
  for (const r of routers) await stopRouter(lab, r).catch(() => undefined);
  await lab?.cleanup();
  if (root) removeDataRoot(root);
});

describe('help and errors without a router', () => {
  it('--help works for every subcommand', async () => {
    const top = ok(await weftHere(['--help']));
    for (const cmd of SUBCOMMANDS) expect(top).toContain(`  ${cmd} `);
    const helps = await Promise.all(SUBCOMMANDS.map((cmd) => weftHere([cmd, '--help'])));
    helps.forEach((r, i) => {
      expect(ok(r)).toMatch(new RegExp(`^Usage: weft ${SUBCOMMANDS[i]} `));
      expect(r.stdout).toContain('-h, --help');
    });
  });

  it('every subcommand that needs the router says, in one line, that it is not running', async () => {
    const addr = ['--http-addr', '127.0.0.1:1'];
    const runs = await Promise.all(
      [
        ['status'],
        ['status', 'peers'],
        ['report'],
        ['ps'],
        ['prime'],
        ['connect', '198.18.0.9'],
        ['forget', '198.18.0.9'],
        ['rmpeer', 'h2'],
        ['attach', `netns:${c1}`],
        ['detach', 'attach:netns-1-2'],
        ['expose'],
        ['hide'],
      ].map((args) => cli(1, [...args, ...addr])),
    );
    for (const r of runs)
      failsWith(r, /^weft: router not running at 127\.0\.0\.1:1 \(start it with weft launch\)\n$/);
    // WEFT_HTTP_ADDR is read when there is no flag.
    failsWith(
      await cli(1, ['status'], { WEFT_HTTP_ADDR: '127.0.0.1:2' }),
      /^weft: router not running at 127\.0\.0\.1:2 /,
    );
  });

  it('malformed input is refused before anything is sent', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['status', '--http-addr', 'nohost'], /^weft: --http-addr: want host:port/],
      [['connect', '198.18.0.300'], /^weft: invalid peer address "198\.18\.0\.300"/],
      [['forget'], /^weft: missing required argument 'peers'/],
      [['rmpeer'], /^weft: missing required argument 'peers'/],
      [['attach'], /^weft: missing required argument 'target'/],
      [['attach', 'bad name!'], /^weft: invalid Docker container name or id "bad name!"/],
      [['attach', 'pid:0'], /^weft: invalid attach target "pid:0": not a process id/],
      [['attach', '/nonexistent/ns'], /^weft: no network namespace for netns \/nonexistent\/ns/],
      [['prime', '--timeout', '0'], /^weft: --timeout: want 1-600 seconds/],
      [['setup-cni', '--router', 'x'], /^weft: --router: want host:port/],
      [
        ['launch', '--ipalloc-range', '10.32.0.1/12'],
        /^weft: --ipalloc-range: not a network in CIDR notation/,
      ],
      [['launch', '--wait', 'soon'], /^weft: --wait: want 0-3600 seconds/],
      [['demo', '--hosts', '1'], /^weft: --hosts: want 2-9, got 1/],
    ];
    // The host's own namespace (here: the lab host's) is never a container.
    cases.push([['attach', `netns:${h(1).ns}`], /in the host's own network namespace: use weft expose/]);
    const runs = await Promise.all(cases.map(([args]) => cli(1, args)));
    runs.forEach((r, i) => {
      failsWith(r, cases[i]![1]);
    });
  });
});

describe('status, report, version, prime', () => {
  it('status and its views', async () => {
    expect(ok(await cli(1, ['status']))).toMatch(
      /Name: ([0-9a-f]{2}:){5}[0-9a-f]{2}\(h1\)[\s\S]*Service: ipam/,
    );
    expect(ok(await cli(1, ['status', 'peers']))).toMatch(/\(h3\)/);
    expect(ok(await cli(1, ['status', 'connections']))).toMatch(/198\.18\.0\.[23].*established/);
    // Its own address was left out of the targets, and out of the consensus size (2 others + 1).
    expect(ok(await cli(2, ['status', 'targets']))).toBe(`${h(1).ip}:6783\n${h(3).ip}:6783\n`);
    expect(ok(await cli(2, ['report', '-f', 'ipam.init']))).toBe('consensus=3\n');
    expect(ok(await cli(1, ['status', 'ipam']))).toContain(names[0]!);
    failsWith(await cli(1, ['status', 'nope']), /^weft: no status view "nope"/);
  });

  it('report is the JSON of /report; -f picks one field', async () => {
    const report = JSON.parse(ok(await cli(1, ['report']))) as Report;
    expect(report.router.name).toBe(names[0]);
    expect(ok(await cli(1, ['report', '-f', 'router.nickname']))).toBe('h1\n');
    expect(ok(await cli(1, ['report', '--format', 'overlay.mtu']))).toMatch(/^\d{3,4}\n$/);
    expect(JSON.parse(ok(await cli(1, ['report', '-f', 'ipam'])))).toMatchObject({ state: 'ready' });
    failsWith(await cli(1, ['report', '-f', 'router.nope']), /^weft: report has no field "router\.nope"/);
  });

  it("version prints weft's and the running router's", async () => {
    expect(ok(await cli(1, ['version']))).toMatch(
      /^weft \d+\.\d+\.\d+\nrouter \d+\.\d+\.\d+ \(127\.0\.0\.1:6784\)\n$/,
    );
    expect(ok(await cli(1, ['version', '--http-addr', '127.0.0.1:1']))).toMatch(/^weft \d+\.\d+\.\d+\n$/);
  });

  it('prime returns once the ring is ready', async () => {
    expect(ok(await cli(2, ['prime', '--timeout', '10']))).toMatch(
      /^ring [0-9a-f]+ ready \(\d+ entries\)\n$/,
    );
  });
});

describe('connect and forget', () => {
  it('add a target, replace the targets, forget one', async () => {
    const before = ok(await cli(1, ['status', 'targets']));
    expect(before).toBe(`${h(2).ip}:6783\n${h(3).ip}:6783\n`);
    ok(await cli(1, ['connect', '198.18.0.77']));
    expect(ok(await cli(1, ['status', 'targets']))).toBe(`${before}198.18.0.77:6783\n`);
    ok(await cli(1, ['connect', '--replace', '198.18.0.78:7000', '198.18.0.79']));
    expect(
      ok(await cli(1, ['status', 'targets']))
        .split('\n')
        .filter(Boolean)
        .sort(),
    ).toEqual(['198.18.0.78:7000', '198.18.0.79:6783']);
    ok(await cli(1, ['forget', '198.18.0.78:7000', '198.18.0.79']));
    expect(ok(await cli(1, ['status', 'targets']))).toBe('');
    ok(await cli(1, ['connect', h(2).ip, h(3).ip]));
    expect(ok(await cli(1, ['status', 'targets']))).toBe(before);
  });
});

describe('attach, ps, detach (network namespaces and PIDs)', () => {
  let a1: string;
  let a2: string;

  it('attach puts ethwe with a ring address and the overlay MTU in the namespace; containers ping across hosts', async () => {
    a1 = ok(await cli(1, ['attach', `netns:${c1}`])).trim();
    a2 = ok(await cli(2, ['attach', '--cidr', '10.40.7.0/24', `/var/run/netns/${c2}`])).trim();
    expect(a1).toMatch(/^10\.(3[2-9]|4[0-7])\.\d+\.\d+\/12$/);
    expect(a2).toMatch(/^10\.40\.7\.\d+\/24$/);
    const mtu = Number(ok(await cli(1, ['report', '-f', 'overlay.mtu'])));
    const link = await lab.ipIn(c1, ['-o', 'addr', 'show', 'dev', 'ethwe']);
    expect(link).toContain(a1);
    expect(await lab.ipIn(c1, ['-o', 'link', 'show', 'ethwe'])).toContain(`mtu ${mtu}`);
    // a2 is in a /24: c2 gets a route to the whole range, so it reaches a1 too.
    expect(await lab.ipIn(c2, ['route', 'show'])).toMatch(/10\.32\.0\.0\/12 dev ethwe/);
    const ip2 = a2.split('/')[0]!;
    const ping = await waitFor('c1 → c2 across hosts', async () => {
      const r = await lab.exec(c1, 'ping', ['-c', '1', '-W', '1', ip2]);
      return r.code === 0 ? r : undefined;
    });
    expect(ping.stdout).toContain('1 received');
    expect((await lab.exec(c2, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', a1.split('/')[0]!])).code).toBe(0);
  });

  it("the router's metrics count the containers' traffic per overlay path (data-plane source)", async () => {
    const r = await httpRequest(lab, h(1), 'GET', 'http://127.0.0.1:6782/metrics');
    const parsed = parseExposition(r.body);
    if (!parsed.ok) throw new Error(`line ${parsed.error.line}: ${parsed.error.reason}`);
    const bytes = parsed.value.get('weft_overlay_bytes_total')?.samples ?? [];
    const tx = bytes.filter((x) => x.labels.direction === 'tx').reduce((n, x) => n + x.value, 0);
    expect(tx).toBeGreaterThan(0);
    expect(new Set(bytes.map((x) => x.labels.path))).toContain('fastdp');
  });

  it('attach again is harmless (same address); the same namespace reached by PID is the same attachment', async () => {
    expect(ok(await cli(1, ['attach', `netns:${c1}`])).trim()).toBe(a1);
    const sleeper = lab.spawn(c1, 'sleep', ['120']);
    // Until `ip netns exec` has entered c1, the pid is still in the root namespace: wait for it.
    const c1Inode = statSync(`/run/netns/${c1}`).ino;
    await waitFor('sleep to be in c1', async () =>
      sleeper.pid && statSync(`/proc/${sleeper.pid}/ns/net`).ino === c1Inode ? true : undefined,
    );
    expect(ok(await cli(1, ['attach', String(sleeper.pid)])).trim()).toBe(a1);
    await lab.kill(sleeper);
  });

  it('ps lists the attachments with the MAC of ethwe and their addresses', async () => {
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(await lab.ipIn(c1, ['link', 'show', 'ethwe']))![1]!;
    const ps = await waitFor('the bridge to learn c1', async () => {
      const out = ok(await cli(1, ['ps']));
      return out.includes(mac) ? out : undefined;
    });
    expect(ps).toMatch(new RegExp(`^netns-\\d+-\\d+ +${mac} +${a1.replace(/\./g, '\\.')}\\n$`));
    const rows = JSON.parse(ok(await cli(1, ['ps', '--json']))) as Array<{ id: string; device: string }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.device).toBe(attachHostVeth(rows[0]!.id.slice('attach:'.length)));
  });

  it('detach removes the interface and releases the address; detaching again is an error', async () => {
    const rows = JSON.parse(ok(await cli(1, ['ps', '--json']))) as Array<{ id: string }>;
    expect(ok(await cli(1, ['detach', `netns:${c1}`]))).toBe(`${a1.split('/')[0]}\n`);
    expect(await lab.ipIn(c1, ['-o', 'link', 'show'])).not.toContain('ethwe');
    expect((await apiRequest(lab, h(1), 'GET', `/ip/${encodeURIComponent(rows[0]!.id)}`)).status).toBe(404);
    expect(ok(await cli(1, ['ps']))).toBe('');
    failsWith(await cli(1, ['detach', `netns:${c1}`]), /^weft: netns \/run\/netns\/.*-c1 is not attached\n$/);
  });

  it('a bad --cidr and an address outside the range are refused with nothing left behind', async () => {
    failsWith(
      await cli(1, ['attach', '--cidr', '10.32.0.1', `netns:${c1}`]),
      /^weft: --cidr "10\.32\.0\.1": want a\.b\.c\.d\/n/,
    );
    failsWith(
      await cli(1, ['attach', '--cidr', '192.168.1.0/24', `netns:${c1}`]),
      /^weft: .*192\.168\.1\.0\/24/,
    );
    expect(await lab.ipIn(c1, ['-o', 'link', 'show'])).not.toContain('ethwe');
    expect(ok(await cli(1, ['ps']))).toBe('');
  });
});

describe('expose and hide', () => {
  let a1: string;

  it('expose gives the host an overlay address: it reaches containers on its own and on other hosts', async () => {
    a1 = ok(await cli(1, ['attach', `netns:${c1}`])).trim();
    const host = ok(await cli(1, ['expose'])).trim();
    expect(host).toMatch(/^10\.(3[2-9]|4[0-7])\.\d+\.\d+\/12$/);
    expect(await lab.ipIn(h(1).ns, ['-o', 'addr', 'show', 'dev', 'weft'])).toContain(host);
    expect(ok(await cli(1, ['expose'])).trim()).toBe(host); // idempotent
    const ip = (a: string) => a.split('/')[0]!;
    expect((await lab.exec(h(1).ns, 'ping', ['-c', '1', '-W', '2', ip(a1)])).code).toBe(0);
    const c2addr = (await lab.ipIn(c2, ['-o', '-4', 'addr', 'show', 'dev', 'ethwe'])).match(
      /inet (\S+)/,
    )![1]!;
    expect((await lab.exec(h(1).ns, 'ping', ['-c', '1', '-W', '2', ip(c2addr)])).code).toBe(0);
    expect(ok(await cli(1, ['ps']))).toMatch(
      new RegExp(`^weft:expose +\\S+ +${host.replace(/\./g, '\\.')}$`, 'm'),
    );
  });

  it("masquerades a container's traffic to an address outside the overlay; hide removes address and rules", async () => {
    const host = ok(await cli(1, ['ps', '--json']));
    const exposed = (JSON.parse(host) as Array<{ id: string; addresses: string[] }>)
      .find((r) => r.id === 'weft:expose')!
      .addresses[0]!.split('/')[0]!;
    // The container's way out: through its host's overlay address (what a default route via the gateway would do).
    await lab.ipIn(c1, ['route', 'add', '198.18.0.0/24', 'via', exposed]);
    // h3 has no route to the overlay: its answer can only come back because the source was rewritten to h1's.
    const out = await lab.exec(c1, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', h(3).ip]);
    expect(out.code, out.stdout).toBe(0);
    const table = await lab.exec(h(1).ns, 'nft', ['list', 'table', 'ip', 'weft']);
    expect(table.stdout).toContain('masquerade');

    expect(ok(await cli(1, ['hide']))).toBe('');
    expect(await lab.ipIn(h(1).ns, ['-o', 'addr', 'show', 'dev', 'weft'])).not.toContain('inet ');
    expect((await lab.exec(h(1).ns, 'nft', ['list', 'table', 'ip', 'weft'])).code).not.toBe(0);
    expect((await lab.exec(c1, 'ping', ['-c', '1', '-W', '1', h(3).ip])).code).not.toBe(0);
    expect((await lab.exec(h(1).ns, 'ping', ['-c', '1', '-W', '1', a1.split('/')[0]!])).code).not.toBe(0);
    expect(ok(await cli(1, ['ps']))).not.toContain('weft:expose');
  });

  it('--without-masquerade and an explicit address; hide of one; bad input', async () => {
    expect(ok(await cli(1, ['expose', '--without-masquerade', '10.40.9.9/24'])).trim()).toBe('10.40.9.9/24');
    expect((await lab.exec(h(1).ns, 'nft', ['list', 'table', 'ip', 'weft'])).code).not.toBe(0);
    expect(ok(await cli(1, ['hide', '10.40.9.9/24']))).toBe('');
    failsWith(await cli(1, ['expose', '10.32.0.1']), /^weft: invalid address or subnet "10\.32\.0\.1"/);
    failsWith(await cli(1, ['expose', '192.168.0.0/24']), /^weft: .*192\.168\.0\./);
    ok(await cli(1, ['detach', `netns:${c1}`]));
  });
});

describe('setup-cni', () => {
  it('installs the two plugins and the conflist where it is told', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-setup-cni-'));
    try {
      const out = ok(await weftHere(['setup-cni', '--bin-dir', `${dir}/bin`, '--conf-dir', `${dir}/net.d`]));
      expect(out.trim().split('\n')).toEqual([
        `${dir}/bin/weft-net`,
        `${dir}/bin/weft-ipam`,
        `${dir}/net.d/10-weft.conflist`,
      ]);
      for (const p of ['weft-net', 'weft-ipam']) expect(statSync(`${dir}/bin/${p}`).mode & 0o111).toBe(0o111);
      expect(JSON.parse(readFileSync(`${dir}/net.d/10-weft.conflist`, 'utf8'))).toMatchObject({
        name: 'weft',
      });
      ok(
        await weftHere([
          'setup-cni',
          '--bin-dir',
          `${dir}/bin2`,
          '--skip-conflist',
          '--conf-dir',
          `${dir}/c2`,
        ]),
      );
      expect(existsSync(`${dir}/c2`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rmpeer', () => {
  it('refuses a live peer (by nickname), takes over a dead one (by name)', async () => {
    failsWith(await cli(1, ['rmpeer', 'h2']), /^weft: .*(reachable|live)/i);
    failsWith(await cli(1, ['rmpeer', 'nobody']), /^weft: no peer with nickname "nobody" is known here/);
    await stopRouter(lab, routers[2]!, 'SIGKILL');
    await waitFor('h1 to lose h3', async () =>
      (await getReport(lab, h(1))).router.peers.some((p) => p.name === names[2]) ? undefined : true,
    );
    expect(ok(await cli(1, ['rmpeer', names[2]!]))).toMatch(
      new RegExp(`^took over \\d+ addresses from ${names[2]}`),
    );
    const ring = JSON.parse((await apiRequest(lab, h(2), 'GET', '/ring?wait=false')).body) as {
      entries: Array<{ peer: string }>;
    };
    await waitFor('h2 to see the takeover', async () => {
      const r = JSON.parse((await apiRequest(lab, h(2), 'GET', '/ring?wait=false')).body) as typeof ring;
      return r.entries.every((e) => e.peer !== names[2]) ? true : undefined;
    });
  });
});
