/**
 * What a weft-net process loads and compiles, checked on real calls (ADD and
 * DEL on a simulated host, the fake IPAM API inside it): the launcher runs the
 * plugin from the V8 code cache scripts/bundle.mjs made for it, and the
 * plugin reaches the kernel and the router through the weft_sys addon without
 * loading the `netlink` package, node:net or perf_hooks — the start-up cost
 * bench/cni.ts measures. A damaged or missing cache costs speed only.
 */
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniLabHost } from '../cni/lab-host.js';
import type { PluginRun } from '../cni/runtime.js';
import { Lab } from './lab.js';

let lab: Lab;
let h: CniLabHost;
const preload = join(tmpdir(), `weft-cni-startup-${process.pid}.cjs`);

beforeAll(async () => {
  lab = await Lab.create(1);
  h = await CniLabHost.create(lab, lab.host(1));
  // Reports, at exit, the built-in modules loaded and the files required.
  writeFileSync(
    preload,
    "process.on('exit', () => process._rawDebug('LOADED ' + JSON.stringify([...process.moduleLoadList, ...Object.keys(require.cache)])));\n",
  );
});
afterAll(async () => {
  rmSync(preload, { force: true });
  await h?.close();
  await lab?.cleanup();
});

/** The plugin's JSON log line for `msg`, and what the process loaded. */
function inspect(r: PluginRun, msg: string): { line: Record<string, unknown>; loaded: string[] } {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const lines = r.stderr.split('\n');
  const line = lines.map((l) => (l.startsWith('{') ? JSON.parse(l) : {})).find((l) => l.msg === msg);
  const loadedLine = lines.find((l) => l.startsWith('LOADED '));
  return { line: line ?? {}, loaded: loadedLine ? (JSON.parse(loadedLine.slice(7)) as string[]) : [] };
}

async function addThenDel(
  id: string,
): Promise<{ add: ReturnType<typeof inspect>; del: ReturnType<typeof inspect> }> {
  const c = await h.container();
  const att = { containerId: id, netns: c.path, ifname: 'eth0' };
  const conf = { ...h.conflist().plugins[0], name: 'weft', cniVersion: '1.0.0', logLevel: 'info' };
  const wrap = ['env', `NODE_OPTIONS=--require=${preload}`];
  const add = inspect(await h.runtime.exec('weft-net', 'ADD', att, conf, wrap), 'attached');
  const del = inspect(await h.runtime.exec('weft-net', 'DEL', att, conf, wrap), 'detached');
  return { add, del };
}

const cacheFile = () => {
  const f = readdirSync(h.plugins.bundleDir).find((n) => /^weft-net\..+\.cjs\.v8cache$/.test(n));
  return f ? join(h.plugins.bundleDir, f) : undefined;
};

describe('weft-net start-up', () => {
  it('runs from its code cache and loads neither the netlink package, node:net nor perf_hooks', async () => {
    const { add, del } = await addThenDel('startup-1');
    for (const call of [add, del]) {
      expect(call.line.codeCache).toBe('used');
      expect(call.loaded.length).toBeGreaterThan(0);
      expect(
        call.loaded.filter((m) => /node_modules\/netlink|^NativeModule (net|perf_hooks)$/.test(m)),
      ).toEqual([]);
      // The addon it uses instead.
      expect(call.loaded.some((m) => m.endsWith('weft_sys.node'))).toBe(true);
    }
    expect(add.line.addresses).toHaveLength(1);
    expect(del.line.removed).toBe(true);
  });

  it('a damaged cache is rejected by V8 and the plugin works the same', async () => {
    const file = cacheFile()!;
    writeFileSync(file, Buffer.alloc(statSync(file).size, 0x5a));
    const { add, del } = await addThenDel('startup-2');
    expect(add.line.codeCache).toBe('rejected');
    expect(add.line.addresses).toHaveLength(1);
    expect(del.line.removed).toBe(true);
  });

  it('without a cache the plugin works the same', async () => {
    rmSync(cacheFile()!);
    const { add, del } = await addThenDel('startup-3');
    expect(add.line.codeCache).toBe('absent');
    expect(add.line.addresses).toHaveLength(1);
    expect(del.line.removed).toBe(true);
  });
});
