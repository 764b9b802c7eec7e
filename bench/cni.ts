/**
 * What a CNI call costs, measured in one run on a simulated host (network
 * namespace): ADD and DEL of weft-net beside the reference `bridge` +
 * `host-local` plugins (Debian's containernetworking-plugins, Go) and beside a
 * bare `node -e 0`, every call started the same way (`ip netns exec HOST …`),
 * interleaved so that machine noise hits every row alike. Then 50 parallel
 * ADDs and 50 parallel DELs of each.
 *
 * Besides wall-clock time, each call's CPU time (user + system, getrusage) is
 * recorded: on a shared 2-core machine it is the steadier measure of
 * what a call costs, and it is what 50 parallel calls compete for.
 *
 * weft-net gets its addresses from a fake IPAM API (test/cni/fake-router.ts)
 * listening inside the host namespace, so the numbers are the plugin's own
 * cost plus one loopback HTTP round trip, not the router's allocator.
 *
 * `--baseline DIR` adds rows for another build of the plugin (a bundle
 * directory, e.g. one built from an earlier commit with its own
 * scripts/bundle.mjs into dist/), measured in the same interleaved rounds: a
 * before/after comparison that machine noise cannot skew.
 *
 * Run: npm run bench:cni [-- --n 40] [-- --baseline dist/cni-before]   (root; prints a table)
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launcherScript } from '../cni-plugin/setup.js';
import { CniLabHost } from '../test/cni/lab-host.js';
import type { Attachment, Conflist, PluginRun, TestRuntime } from '../test/cni/runtime.js';
import { Lab } from '../test/netns/lab.js';

const argN = process.argv.indexOf('--n');
const N = argN > 0 ? Number(process.argv[argN + 1]) : 40;
const argBase = process.argv.indexOf('--baseline');
const BASELINE = argBase > 0 ? resolve(process.argv[argBase + 1]!) : undefined;
const BASELINE_TYPE = 'weft-net-baseline';
const PARALLEL = 50;
/**
 * Runs the call and appends "COST <wall s> <user s> <system s>" to its stderr:
 * wall time around the call itself (not the wrapper's start-up) and the
 * call's CPU time from getrusage(RUSAGE_CHILDREN), at microsecond resolution.
 */
const TIME = [
  'python3',
  '-c',
  'import resource,subprocess,sys,time\n' +
    't=time.perf_counter();c=subprocess.run(sys.argv[1:]).returncode;w=time.perf_counter()-t\n' +
    'r=resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
    "print('COST',w,r.ru_utime,r.ru_stime,file=sys.stderr);sys.exit(c)",
];

const samples = new Map<string, { wall: number[]; cpu: number[] }>();

function record(what: string, r: PluginRun): void {
  const m = /COST ([0-9.e-]+) ([0-9.e-]+) ([0-9.e-]+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`no cost line from ${what}: ${r.stderr}`);
  const s = samples.get(what) ?? { wall: [], cpu: [] };
  s.wall.push(Number(m[1]) * 1000);
  s.cpu.push((Number(m[2]) + Number(m[3])) * 1000);
  samples.set(what, s);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

async function must(
  rt: TestRuntime,
  type: string,
  cmd: string,
  att: Partial<Attachment>,
  conf: unknown,
  wrap: string[] = [],
): Promise<PluginRun> {
  const r = await rt.exec(type, cmd, att, conf, wrap);
  if (r.code !== 0) throw new Error(`${type} ${cmd} failed: ${r.stdout}${r.stderr}`);
  return r;
}

function printTable(parallel: Array<[string, number]>): void {
  const base = samples.get('node -e 0')!;
  const baseWall = quantile(base.wall, 0.5);
  const baseCpu = quantile(base.cpu, 0.5);
  console.log(`\nCNI call cost, ${N} interleaved rounds on one simulated host (ms per process)\n`);
  const cols = ['wall median', 'wall p99', '− node -e 0', 'CPU median', '− node -e 0'];
  console.log(`${'call'.padEnd(24)}${cols.map((c) => c.padStart(13)).join('')}`);
  for (const [what, x] of samples) {
    const wm = quantile(x.wall, 0.5);
    const cm = quantile(x.cpu, 0.5);
    const cells = [wm, quantile(x.wall, 0.99), wm - baseWall, cm, cm - baseCpu];
    console.log(`${what.padEnd(24)}${cells.map((c) => c.toFixed(1).padStart(13)).join('')}`);
  }
  console.log('');
  for (const [what, ms] of parallel) console.log(`${what.padEnd(40)}${ms.toFixed(0).padStart(8)} ms`);
  console.log('');
}

async function main(): Promise<void> {
  const lab = await Lab.create(1);
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-bench-cni-'));
  let h: CniLabHost | undefined;
  try {
    h = await CniLabHost.create(lab, lab.host(1));
    const rt = h.runtime;
    const weft = { ...h.conflist().plugins[0], name: 'weft', cniVersion: '1.0.0' };
    const reference: Conflist['plugins'][number] & { name: string; cniVersion: string } = {
      type: 'bridge',
      name: 'refnet',
      cniVersion: '1.0.0',
      bridge: 'cnibench0',
      ipam: { type: 'host-local', subnet: '10.99.0.0/16', dataDir },
    };
    if (BASELINE) {
      const bin = join(h.plugins.binDir, BASELINE_TYPE);
      writeFileSync(bin, launcherScript(BASELINE_TYPE, process.execPath, join(BASELINE, 'weft-net.cjs')));
      chmodSync(bin, 0o755);
    }
    // The plugins under test: [row label, executable]. Every one gets its own containers.
    const weftRuns: Array<[string, string]> = [['weft-net', 'weft-net']];
    if (BASELINE) weftRuns.push(['weft-net baseline', BASELINE_TYPE]);
    const ns = await Promise.all(
      Array.from({ length: N * weftRuns.length + PARALLEL * (weftRuns.length + 1) }, () => h!.container('b')),
    );

    // Warm the page cache and the bridge (the reference creates its bridge on first use).
    const warm = { containerId: 'warm', netns: ns[0]!.path, ifname: 'eth1' };
    await must(rt, 'bridge', 'ADD', warm, reference);
    await must(rt, 'bridge', 'DEL', warm, reference);

    let next = 0;
    for (let i = 0; i < N; i++) {
      const b = { containerId: `ref${i}`, netns: ns[i]!.path, ifname: 'eth1' };
      record('node -e 0', await rt.execRaw([...TIME, 'node', '-e', '0']));
      for (const [label, type] of weftRuns) {
        const a = { containerId: `seq-${type}-${i}`, netns: ns[next++]!.path, ifname: 'eth0' };
        record(`${label} VERSION`, await must(rt, type, 'VERSION', {}, { cniVersion: '1.0.0' }, TIME));
        record(`${label} ADD`, await must(rt, type, 'ADD', a, weft, TIME));
        record(`${label} DEL`, await must(rt, type, 'DEL', a, weft, TIME));
      }
      record('bridge+host-local ADD', await must(rt, 'bridge', 'ADD', b, reference, TIME));
      record('bridge+host-local DEL', await must(rt, 'bridge', 'DEL', b, reference, TIME));
    }

    const parallel: Array<[string, number]> = [];
    for (const [label, type, conf, ifname] of [
      ...weftRuns.map(([l, t]) => [l, t, weft, 'eth0'] as const),
      ['bridge+host-local', 'bridge', reference, 'eth1'] as const,
    ]) {
      const atts = ns
        .slice(next, next + PARALLEL)
        .map((c, i) => ({ containerId: `par-${type}-${i}`, netns: c.path, ifname }));
      next += PARALLEL;
      let t = performance.now();
      await Promise.all(atts.map((a) => must(rt, type, 'ADD', a, conf)));
      parallel.push([`${PARALLEL} parallel ADDs, ${label}`, performance.now() - t]);
      t = performance.now();
      await Promise.all(atts.map((a) => must(rt, type, 'DEL', a, conf)));
      parallel.push([`${PARALLEL} parallel DELs, ${label}`, performance.now() - t]);
    }
    printTable(parallel);
  } finally {
    await h?.close();
    await lab.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
