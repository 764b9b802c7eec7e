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

const MODES: Record<string, Setup> = {
  'raw-vxlan': setupRawVxlan,
  tinc: setupTinc,
  'sleeve-static': sleeveStatic({ encrypted: false, offload: TSO, mtu: 1390 }),
  'sleeve-static-enc': sleeveStatic({ encrypted: true, offload: TSO, mtu: 1390 }),
  'sleeve-static-enc-noTSO': sleeveStatic({ encrypted: true, offload: 0, mtu: 1390 }),
  'sleeve-static-enc-noGSO': sleeveStatic({ encrypted: true, offload: TSO, mtu: 1390, noGso: true }),
};

const DEFAULT_MODES = ['raw-vxlan', 'sleeve-static', 'sleeve-static-enc', 'sleeve-static-enc-noTSO', 'tinc'];

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

interface Row {
  mode: string;
  gbps: number[];
  pingMs?: number;
  cpu?: number;
  retransmits?: number;
  error?: string;
}

async function runMode(name: string, setup: Setup, args: Args): Promise<Row> {
  const lab = await Lab.create(2);
  const row: Row = { mode: name, gbps: [] };
  let m: ModeSetup | undefined;
  try {
    m = await setup(lab);
    const [c1, c2] = m.containers as [Container, Container];
    await waitPing(lab, c1.ns, c2.ip, 30_000);
    const p = await ping(lab, c1.ns, c2.ip, { count: 20, intervalS: 0.05 });
    row.pingMs = p.avgMs;
    const cpu0 = m.pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    for (let r = 0; r < args.runs; r++) {
      const res = await iperf(lab, c1, c2, args.seconds);
      row.gbps.push(res.gbps);
      row.retransmits = (row.retransmits ?? 0) + (res.retransmits ?? 0);
    }
    if (m.pids.length)
      row.cpu = (m.pids.reduce((s, pid) => s + cpuSeconds(pid), 0) - cpu0) / (args.seconds * args.runs);
  } catch (e) {
    row.error = (e as Error).message;
  } finally {
    await m?.teardown().catch(() => {});
    await lab.cleanup();
  }
  return row;
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
  const rows: Row[] = [];
  for (const m of modes) {
    process.stderr.write(`bench: ${m} ...\n`);
    rows.push(await runMode(m, MODES[m]!, args));
  }
  const raw = rows.find((r) => r.mode === 'raw-vxlan');
  const tinc = rows.find((r) => r.mode === 'tinc');
  const rawG = raw && !raw.error ? median(raw.gbps) : undefined;
  const tincG = tinc && !tinc.error ? median(tinc.gbps) : undefined;
  const header = ['mode', 'Gbit/s', 'x raw-vxlan', 'x tinc', 'ping ms', 'daemon CPU', 'retrans', 'runs'];
  const lines = rows.map((r) => {
    if (r.error) return [r.mode, 'ERROR', '', '', '', '', '', r.error];
    const g = median(r.gbps);
    return [
      r.mode,
      g.toFixed(2),
      rawG ? (g / rawG).toFixed(2) : '',
      tincG ? (g / tincG).toFixed(2) : '',
      r.pingMs?.toFixed(3) ?? '',
      r.cpu !== undefined ? `${(r.cpu * 100).toFixed(0)}%` : '',
      String(r.retransmits ?? ''),
      r.gbps.map((x) => x.toFixed(2)).join(' '),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (l: string[]) => l.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ');
  console.log(
    `\nweft throughput: iperf3 TCP ${args.seconds} s × ${args.runs}, container → container across two hosts`,
  );
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
