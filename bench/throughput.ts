/**
 * Container-to-container throughput and latency across two simulated hosts,
 * every data path measured in the same run so the rows compare as ratios:
 *
 *   raw-vxlan       kernel VXLAN with hand-made FDB entries (the ceiling)
 *   weft-fastdp     weft's data plane, fastdp selected (kernel VXLAN programmed by weft)
 *   weft-sleeve     weft's sleeve engine, unencrypted (--no-fastdp)
 *   weft-sleeve-enc weft's sleeve engine, encrypted (a password)
 *   tinc            tinc 1.0 switch mode (userspace, encrypted), the peer to beat
 *   sleeve-static-* the sleeve engine alone with a static configuration (no control plane)
 *
 * Each mode gets a fresh Lab (two hosts on an underlay bridge, one container
 * namespace per host on the host's bridge), then ping RTT (20 × 50 ms) and
 * iperf3 TCP for --seconds, repeated --runs times (median shown), then
 * teardown. CPU seconds of the host-side daemons are shown where there are any.
 *
 * Run (root): npm run bench:throughput [-- --seconds 5 --runs 3 --modes raw-vxlan,tinc]
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SleeveStats } from '../router/dataplane/sleeve-native.js';
import { bundled } from '../test/netns/dataplane-bundle.js';
import { DataplaneCluster } from '../test/netns/dataplane-cluster.js';
import {
  addBridge,
  addContainer,
  type Container,
  iperf,
  ping,
  waitPing,
} from '../test/netns/dataplane-topology.js';
import { Lab } from '../test/netns/lab.js';
import { type ModeSetup, setupRawVxlan, setupTinc } from './throughput-baselines.js';

interface Args {
  seconds: number;
  runs: number;
  modes: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 5, runs: 1, modes: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--seconds' && v) args.seconds = Number(v);
    else if (a === '--runs' && v) args.runs = Number(v);
    else if (a === '--modes' && v) args.modes = v.split(',');
    else continue;
    i++;
  }
  return args;
}

type Setup = (lab: Lab) => Promise<ModeSetup>;

const TSO = 0x0f; // TUN_F_CSUM | TSO4 | TSO6 | TSO_ECN

function sleeveStatic(opts: { encrypted: boolean; offload: number; mtu: number; noGso?: boolean }): Setup {
  return async (lab) => {
    const script = await bundled('test/netns/dataplane-static-node.ts');
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const names = ['02:00:00:00:00:01', '02:00:00:00:00:02'];
    const k12 = randomBytes(32).toString('hex');
    const k21 = randomBytes(32).toString('hex');
    const procs: ChildProcess[] = [];
    const outputs: (() => string)[] = [];
    const containers: Container[] = [];
    for (const [i, h] of [h1, h2].entries()) {
      const other = i === 0 ? h2 : h1;
      const keys = opts.encrypted
        ? i === 0
          ? { sendKey: k12, recvKey: k21 }
          : { sendKey: k21, recvKey: k12 }
        : {};
      const cfg = {
        tap: 'weft-tap',
        self: names[i],
        port: 6783,
        offload: opts.offload,
        noGso: opts.noGso,
        peers: [{ name: names[1 - i], ip: other.ip, port: 6783, ...keys }],
      };
      await addBridge(lab, h);
      const p = lab.spawn(h.ns, process.execPath, [script, JSON.stringify(cfg)]);
      let out = '';
      p.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      outputs.push(() => out);
      await new Promise<void>((resolve, reject) => {
        p.stdout?.on('data', () => {
          if (out.includes('ready')) resolve();
        });
        p.once('exit', (code) => reject(new Error(`static node exited ${code}`)));
      });
      await lab.ipIn(h.ns, ['link', 'set', 'weft-tap', 'mtu', String(opts.mtu), 'master', 'weft', 'up']);
      containers.push(await addContainer(lab, h, 'weft', opts.mtu));
      procs.push(p);
    }
    return {
      containers,
      pids: procs.map((p) => p.pid ?? 0),
      teardown: async () => {
        for (const p of procs) await lab.kill(p, 'SIGTERM');
        if (process.env.WEFT_BENCH_VERBOSE) {
          for (const o of outputs) {
            const line = o()
              .split('\n')
              .find((l) => l.startsWith('{'));
            if (line) summariseStats(JSON.parse(line) as SleeveStats);
          }
        }
      },
    };
  };
}

function summariseStats(s: SleeveStats): void {
  const g = s.global;
  const avg = (bytes: number, n: number) => (n ? Math.round(bytes / n) : 0);
  process.stderr.write(
    `  engine: tap rx ${g.tapRxFrames} frames avg ${avg(g.tapRxBytes, g.tapRxFrames)} B (gso ${g.gsoFrames}), ` +
      `tap tx ${g.tapTxFrames} avg ${avg(g.tapTxBytes, g.tapTxFrames)} B (errors ${g.tapTxErrors}), ` +
      `udp tx ${g.txDatagrams} in ${g.txBatches} batches (${g.txGsoTrains} GSO trains), rx ${g.rxDatagrams} in ${g.rxBatches} (${g.rxGroBuffers} GRO buffers), drops ${JSON.stringify(g.drops)}, ` +
      `peers ${JSON.stringify(s.peers.map((p) => ({ frags: p.txFragments, rxFrags: p.rxFragments, reasm: p.reassembled, reasmDrop: p.reassemblyDropped, oversize: p.txOversize, errors: p.txErrors, drops: p.drops })))}\n`,
  );
}

/** weft's data plane (the real WeftOverlay with a fake mesh, see test/netns/dataplane-harness.ts). */
function weft(opts: { fastdp: boolean; password?: string }): Setup {
  return async (lab) => {
    const c = await DataplaneCluster.start(lab, { hosts: 2, ...opts });
    await c.waitPaths(opts.fastdp && !opts.password ? 'fastdp' : 'sleeve', 30_000);
    if (opts.fastdp && !opts.password) {
      // First frames go through the sleeve, which teaches each side the other's MAC for fastdp.
      await waitPing(lab, c.container(1).ns, c.container(2).ip, 10_000);
      await waitPing(lab, c.container(2).ns, c.container(1).ip, 10_000);
      await c.waitFor(() => c.nodes.every((n) => (n.report?.fastdpMacs ?? 0) >= 1), 10_000, 'fastdp entries');
    }
    return {
      containers: c.containers,
      pids: c.nodes.map((n) => n.proc.pid ?? 0),
      teardown: async () => {
        if (process.env.WEFT_BENCH_VERBOSE) {
          await c.freshReports().catch(() => {});
          for (const n of c.nodes) if (n.stats) summariseStats(n.stats);
        }
        await c.stop();
      },
    };
  };
}

const MODES: Record<string, Setup> = {
  'raw-vxlan': setupRawVxlan,
  'weft-fastdp': weft({ fastdp: true }),
  'weft-sleeve': weft({ fastdp: false }),
  'weft-sleeve-enc': weft({ fastdp: true, password: 'bench' }),
  tinc: setupTinc,
  'sleeve-static': sleeveStatic({ encrypted: false, offload: TSO, mtu: 1390 }),
  'sleeve-static-enc': sleeveStatic({ encrypted: true, offload: TSO, mtu: 1390 }),
  'sleeve-static-enc-noTSO': sleeveStatic({ encrypted: true, offload: 0, mtu: 1390 }),
  'sleeve-static-enc-noGSO': sleeveStatic({ encrypted: true, offload: TSO, mtu: 1390, noGso: true }),
};

const DEFAULT_MODES = ['raw-vxlan', 'weft-fastdp', 'weft-sleeve', 'weft-sleeve-enc', 'tinc'];

/** utime + stime of a process and all its threads, in seconds. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

interface Sample {
  gbps?: number;
  pingMs?: number;
  cpu?: number;
  retransmits?: number;
  error?: string;
}

/** One fresh lab, one mode: ping RTT, then iperf3. */
async function runOnce(setup: Setup, args: Args): Promise<Sample> {
  const lab = await Lab.create(2);
  const out: Sample = {};
  let m: ModeSetup | undefined;
  try {
    // The simulated underlay is a switch, not a firewall: no netfilter on its bridge
    // (the kernel here calls iptables for bridged traffic by default).
    for (const k of ['iptables', 'ip6tables', 'arptables']) {
      await lab.exec(lab.underlayNs, 'sysctl', ['-qw', `net.bridge.bridge-nf-call-${k}=0`]);
    }
    m = await setup(lab);
    const [c1, c2] = m.containers as [Container, Container];
    await waitPing(lab, c1.ns, c2.ip, 30_000);
    out.pingMs = (await ping(lab, c1.ns, c2.ip, { count: 20, intervalS: 0.05 })).avgMs;
    const cpu0 = m.pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    const t0 = performance.now();
    const res = await iperf(lab, c1, c2, args.seconds);
    const wall = (performance.now() - t0) / 1000;
    out.gbps = res.gbps;
    out.retransmits = res.retransmits;
    if (m.pids.length) out.cpu = (m.pids.reduce((s, pid) => s + cpuSeconds(pid), 0) - cpu0) / wall;
  } catch (e) {
    out.error = (e as Error).message;
  } finally {
    await m?.teardown().catch(() => {});
    await lab.cleanup();
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : Number.NaN;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const modes = args.modes.length ? args.modes : DEFAULT_MODES;
  for (const m of modes)
    if (!MODES[m]) throw new Error(`unknown mode ${m}; known: ${Object.keys(MODES).join(', ')}`);
  const samples = new Map<string, Sample[]>(modes.map((m) => [m, []]));
  // Modes interleave run by run, so slow drifts of the machine hit them all alike.
  for (let r = 0; r < args.runs; r++) {
    for (const m of modes) {
      process.stderr.write(`bench: run ${r + 1}/${args.runs} ${m} ...\n`);
      samples.get(m)!.push(await runOnce(MODES[m]!, args));
    }
  }
  const ok = (m: string) => samples.get(m)!.filter((x) => x.gbps !== undefined);
  const med = (m: string, f: (x: Sample) => number | undefined) => {
    const xs = ok(m)
      .map(f)
      .filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  const rawG = samples.has('raw-vxlan') ? med('raw-vxlan', (x) => x.gbps) : undefined;
  const tincG = samples.has('tinc') ? med('tinc', (x) => x.gbps) : undefined;
  const header = ['mode', 'Gbit/s', 'x raw-vxlan', 'x tinc', 'ping ms', 'daemon CPU', 'retrans', 'runs'];
  const lines = modes.map((m) => {
    const all = samples.get(m)!;
    const g = med(m, (x) => x.gbps);
    if (g === undefined) return [m, 'ERROR', '', '', '', '', '', all.map((x) => x.error).join('; ')];
    const cpu = med(m, (x) => x.cpu);
    return [
      m,
      g.toFixed(2),
      rawG ? (g / rawG).toFixed(2) : '',
      tincG ? (g / tincG).toFixed(2) : '',
      med(m, (x) => x.pingMs)?.toFixed(3) ?? '',
      cpu !== undefined ? `${(cpu * 100).toFixed(0)}%` : '',
      String(ok(m).reduce((s, x) => s + (x.retransmits ?? 0), 0)),
      all.map((x) => (x.gbps !== undefined ? x.gbps.toFixed(2) : 'err')).join(' '),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (l: string[]) => l.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ');
  console.log(
    `\nweft throughput: iperf3 TCP ${args.seconds} s, median of ${args.runs} run(s), container → container across two hosts`,
  );
  console.log('(daemon CPU: CPU time of the host-side processes per wall second, both hosts together)');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
