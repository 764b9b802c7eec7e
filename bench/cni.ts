/**
 * What a CNI call costs, measured in one run on a simulated host (network
 * namespace): ADD and DEL latency of weft-net beside the reference `bridge` +
 * `host-local` plugins (Debian's containernetworking-plugins, Go) and beside a
 * bare `node -e 0`, every call started the same way (`ip netns exec HOST …`),
 * interleaved so that machine noise hits every row alike. Then 50 parallel
 * ADDs and 50 parallel DELs of each.
 *
 * weft-net gets its addresses from a fake IPAM API (test/cni/fake-router.ts)
 * listening inside the host namespace, so the numbers are the plugin's own
 * cost plus one loopback HTTP round trip, not the router's allocator.
 *
 * Run: npm run bench:cni [-- --n 40]   (root; prints a table)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniLabHost } from '../test/cni/lab-host.js';
import type { Attachment, Conflist, TestRuntime } from '../test/cni/runtime.js';
import { Lab } from '../test/netns/lab.js';

const argN = process.argv.indexOf('--n');
const N = argN > 0 ? Number(process.argv[argN + 1]) : 40;
const PARALLEL = 50;

const samples = new Map<string, number[]>();
const record = (what: string, ms: number) => {
  const list = samples.get(what) ?? [];
  list.push(ms);
  samples.set(what, list);
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

async function must(rt: TestRuntime, type: string, cmd: string, att: Partial<Attachment>, conf: unknown) {
  const r = await rt.exec(type, cmd, att, conf);
  if (r.code !== 0) throw new Error(`${type} ${cmd} failed: ${r.stdout}${r.stderr}`);
  return r;
}

async function main() {
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
    const ns = await Promise.all(Array.from({ length: N + PARALLEL }, () => h!.container('b')));

    // Warm the page cache and the bridge (the reference creates its bridge on first use).
    await must(rt, 'bridge', 'ADD', { containerId: 'warm', netns: ns[0]!.path, ifname: 'eth1' }, reference);
    await must(rt, 'bridge', 'DEL', { containerId: 'warm', netns: ns[0]!.path, ifname: 'eth1' }, reference);

    for (let i = 0; i < N; i++) {
      const a = { containerId: `seq${i}`, netns: ns[i]!.path, ifname: 'eth0' };
      const b = { containerId: `ref${i}`, netns: ns[i]!.path, ifname: 'eth1' };
      record('node -e 0', (await rt.execRaw(['node', '-e', '0'])).ms);
      record('weft-net VERSION', (await must(rt, 'weft-net', 'VERSION', {}, { cniVersion: '1.0.0' })).ms);
      record('weft-net ADD', (await must(rt, 'weft-net', 'ADD', a, weft)).ms);
      record('bridge+host-local ADD', (await must(rt, 'bridge', 'ADD', b, reference)).ms);
      record('weft-net DEL', (await must(rt, 'weft-net', 'DEL', a, weft)).ms);
      record('bridge+host-local DEL', (await must(rt, 'bridge', 'DEL', b, reference)).ms);
    }

    const parallel: Array<[string, number]> = [];
    for (const [label, type, conf, ifname] of [
      ['weft-net', 'weft-net', weft, 'eth0'],
      ['bridge+host-local', 'bridge', reference, 'eth1'],
    ] as const) {
      const atts = ns.slice(N).map((c, i) => ({ containerId: `par-${type}-${i}`, netns: c.path, ifname }));
      let t = performance.now();
      await Promise.all(atts.map((a) => must(rt, type, 'ADD', a, conf)));
      parallel.push([`${PARALLEL} parallel ADDs, ${label}`, performance.now() - t]);
      t = performance.now();
      await Promise.all(atts.map((a) => must(rt, type, 'DEL', a, conf)));
      parallel.push([`${PARALLEL} parallel DELs, ${label}`, performance.now() - t]);
    }

    const base = quantile(samples.get('node -e 0')!, 0.5);
    console.log(
      `\nCNI call latency, ${N} interleaved rounds on one simulated host (ms, wall clock per process)\n`,
    );
    console.log(
      `${'call'.padEnd(26)}${'median'.padStart(9)}${'p99'.padStart(9)}${'median − node -e 0'.padStart(22)}`,
    );
    for (const [what, xs] of samples) {
      const med = quantile(xs, 0.5);
      console.log(
        `${what.padEnd(26)}${med.toFixed(1).padStart(9)}${quantile(xs, 0.99).toFixed(1).padStart(9)}${(med - base).toFixed(1).padStart(22)}`,
      );
    }
    console.log('');
    for (const [what, ms] of parallel) console.log(`${what.padEnd(40)}${ms.toFixed(0).padStart(8)} ms`);
    console.log('');
  } finally {
    await h?.close();
    await lab.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
