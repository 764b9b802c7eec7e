/**
 * What the kernel adapters cost, measured in one run on lab namespaces:
 *
 * - entering and leaving a namespace (withNetns), opening a namespace handle,
 *   opening a netlink socket inside a namespace;
 * - loading the netlink socket layer weft uses vs the whole `netlink` package
 *   (fresh Node processes: this is what every CNI plugin call pays);
 * - one rtnetlink operation per row (create veth into another namespace, add
 *   address, add route, add FDB entry, ...), beside the same change made by
 *   starting `ip` (what shell-based plugins pay);
 * - an nftables table swap, a TAP open/close.
 *
 * Run: npm run bench:kernel   (root; prints a table; compare rows as ratios)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { openNetlinkKernel } from '../router/kernel/netlink-kernel.js';
import { Netns, withNetns } from '../router/kernel/netns.js';
import { Nftables } from '../router/kernel/nftables.js';
import { openTun } from '../router/kernel/tun.js';
import { Lab } from '../test/netns/lab.js';

interface Row {
  what: string;
  median: number;
  p99: number;
  unit: 'µs' | 'ms';
  n: number;
}

const rows: Row[] = [];

function stats(samplesMs: number[], unit: 'µs' | 'ms'): { median: number; p99: number } {
  const s = [...samplesMs].sort((a, b) => a - b);
  const scale = unit === 'µs' ? 1000 : 1;
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]! * scale;
  return { median: at(0.5), p99: at(0.99) };
}

function record(what: string, samplesMs: number[], unit: 'µs' | 'ms'): void {
  rows.push({ what, ...stats(samplesMs, unit), unit, n: samplesMs.length });
}

async function timeAsync(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

function timeSync(n: number, fn: (i: number) => unknown): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

/**
 * Wall time of fresh `node` processes that load a module (or nothing),
 * interleaved so that background load hits every variant alike.
 */
function nodeStarts(codes: string[], n: number): number[][] {
  const out = codes.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    codes.forEach((code, j) => {
      const t = performance.now();
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: process.cwd() });
      if (r.status !== 0) throw new Error(`node -e failed: ${r.stderr}`);
      out[j]!.push(performance.now() - t);
    });
  }
  return out;
}

async function main(): Promise<void> {
  const lab = await Lab.create(0);
  try {
    const hostName = await lab.addNamespace('h');
    const ctrName = await lab.addNamespace('c');
    const host = Netns.open(hostName);
    const ctr = Netns.open(ctrName);
    const k = openNetlinkKernel({ netns: host });
    const kc = openNetlinkKernel({ netns: ctr });

    // ── namespaces ──
    for (let i = 0; i < 1000; i++) withNetns(host, () => 0); // warm up
    record(
      'withNetns enter + leave (empty callback)',
      timeSync(20_000, () => withNetns(host, () => 0)),
      'µs',
    );
    record(
      'Netns.open + close (/var/run/netns/X)',
      timeSync(5_000, () => Netns.open(hostName).close()),
      'µs',
    );
    record(
      'open netlink socket inside a namespace (+ close)',
      timeSync(2_000, () => openNetlinkKernel({ netns: host }).close()),
      'µs',
    );

    // ── module loading in a fresh process (the CNI plugin's price) ──
    const [bare, socketLayer, whole] = nodeStarts(
      ['', "await import('netlink/dist/netlink.js')", "await import('netlink')"],
      25,
    ) as [number[], number[], number[]];
    record('node start, loads nothing', bare, 'ms');
    record("node start + import 'netlink/dist/netlink.js' (weft)", socketLayer, 'ms');
    record("node start + import 'netlink' (whole package)", whole, 'ms');

    // ── rtnetlink operations vs `ip` ──
    await k.createBridge('weft', { up: true });
    await k.addAddress('weft', '10.32.0.254/12');
    await k.createVxlan('vxlan-6784', { vni: 1, port: 6784, learning: false, up: true });
    const N = 200;
    record('getLink by name', await timeAsync(N, () => k.getLink('weft')), 'ms');
    record('listLinks', await timeAsync(N, () => k.listLinks()), 'ms');
    const create: number[] = [];
    const remove: number[] = [];
    for (let i = 0; i < N; i++) {
      let t = performance.now();
      await k.createVeth(`vb${i}`, { name: 'eth0', netns: ctr });
      create.push(performance.now() - t);
      t = performance.now();
      await k.deleteLink(`vb${i}`);
      remove.push(performance.now() - t);
    }
    record('createVeth, peer created in another netns', create, 'ms');
    record('deleteLink (veth pair)', remove, 'ms');
    const ipAdd: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      execFileSync('ip', [
        '-n',
        hostName,
        'link',
        'add',
        `vi${i}`,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        ctrName,
      ]);
      ipAdd.push(performance.now() - t);
      await k.deleteLink(`vi${i}`);
    }
    record('`ip -n H link add … type veth peer … netns C` (1 process)', ipAdd, 'ms');
    await kc.createBridge('cbr', { up: true });
    record(
      'addAddress + deleteAddress (container netns)',
      await timeAsync(N, async () => {
        await kc.addAddress('cbr', '10.32.0.1/12');
        await kc.deleteAddress('cbr', '10.32.0.1/12');
      }),
      'ms',
    );
    await kc.addAddress('cbr', '10.32.0.1/12');
    record(
      'addRoute + deleteRoute (default via gateway)',
      await timeAsync(N, async () => {
        await kc.addRoute({ dst: '0.0.0.0/0', gateway: '10.32.0.254' });
        await kc.deleteRoute({ dst: '0.0.0.0/0' });
      }),
      'ms',
    );
    record(
      'addFdb (append flood entry) + deleteFdb on VXLAN',
      await timeAsync(N, async () => {
        const e = { link: 'vxlan-6784', mac: '00:00:00:00:00:00', where: 'self' as const, dst: '198.18.0.2' };
        await k.addFdb(e, { mode: 'append' });
        await k.deleteFdb(e);
      }),
      'ms',
    );
    record(
      'setSysctl (forwarding on weft)',
      await timeAsync(N, () => k.setSysctl('net/ipv4/conf/weft/forwarding', 1)),
      'ms',
    );

    // ── nftables and TAP ──
    const nft = new Nftables({ netns: host });
    record(
      'nft: replace a table (one transaction, 1 process)',
      await timeAsync(30, () =>
        nft.applyTable('inet', 'weft_bench', '  chain c { type filter hook forward priority 0; }'),
      ),
      'ms',
    );
    await nft.deleteTable('inet', 'weft_bench');
    const tapOpen: number[] = [];
    const tapClose: number[] = [];
    for (let i = 0; i < 100; i++) {
      let t = performance.now();
      const tap = openTun('wtbench0', { vnetHdr: true, netns: host });
      tapOpen.push(performance.now() - t);
      t = performance.now();
      tap.close();
      tapClose.push(performance.now() - t);
    }
    record('TAP open (IFF_VNET_HDR), in a netns', tapOpen, 'µs');
    record('TAP close (device unregistered)', tapClose, 'µs');

    kc.close();
    k.close();
    ctr.close();
    host.close();
  } finally {
    await lab.cleanup();
  }

  const w = Math.max(...rows.map((r) => r.what.length));
  console.log(`${'operation'.padEnd(w)}  ${'median'.padStart(9)}  ${'p99'.padStart(9)}  unit     n`);
  for (const r of rows) {
    console.log(
      `${r.what.padEnd(w)}  ${r.median.toFixed(r.median < 10 ? 2 : 1).padStart(9)}  ${r.p99
        .toFixed(r.p99 < 10 ? 2 : 1)
        .padStart(9)}  ${r.unit.padEnd(4)} ${String(r.n).padStart(5)}`,
    );
  }
}

await main();
