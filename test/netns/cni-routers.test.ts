/**
 * weft-net against real `weft router` processes (IPAM ring, data plane): the
 * same plugin calls as cni-plugin.test.ts, now with addresses from the ring
 * agreed by two routers and traffic carried by the router's overlay.
 *
 *   lab-h1 198.18.0.1                              lab-h2 198.18.0.2
 *   ┌───────────────────────────────┐  underlay  ┌───────────────────────────────┐
 *   │ weft router (API 127.0.0.1)   ├────────────┤ weft router (API 127.0.0.1)   │
 *   │ bridge weft ═ wfc… ═ eth0 (A) │  mesh +    │ (B) eth0 ═ wfc… ═ bridge weft │
 *   └───────────────────────────────┘  fastdp    └───────────────────────────────┘
 *
 * ADD on both hosts gives unique ring addresses, the overlay MTU, and
 * containers that ping across hosts; DEL releases (the router no longer holds
 * the id); with the router stopped ADD is code 11 with nothing left and DEL
 * removes the device then fails with 11, and after the restart DEL releases;
 * 50 parallel ADDs and DELs; podman on both hosts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocationId, hostVethName } from '../../cni-plugin/naming.js';
import { buildTestPlugins, REFERENCE_PLUGINS, type TestPlugins } from '../cni/bundles.js';
import { busyboxTarball, havePodman, PodmanHost } from '../cni/podman.js';
import { type Attachment, type Conflist, TestRuntime } from '../cni/runtime.js';
import { type Host, Lab, sh } from './lab.js';
import {
  apiRequest,
  getReport,
  makeDataRoot,
  type RouterProcess,
  removeDataRoot,
  startRouter,
  stopRouter,
  waitFor,
  waitMeshAndRing,
} from './routers.js';

const ROUTER_ARGS = ['--ipalloc-init', 'consensus=2'];
const CONFLIST: Conflist = { cniVersion: '1.1.0', name: 'weft', plugins: [{ type: 'weft-net' }] };

let lab: Lab;
let root: string;
let plugins: TestPlugins;
const routers: RouterProcess[] = [];
const rt: TestRuntime[] = [];
let overlayMtu = 0;
let n = 0;

function start(i: number, dataDir?: string): Promise<RouterProcess> {
  return startRouter(lab, lab.host(i), root, {
    peers: i === 1 ? [] : [lab.host(1).ip],
    args: ROUTER_ARGS,
    ...(dataDir ? { dataDir } : {}),
  });
}

async function waitReadyCluster(): Promise<void> {
  await waitMeshAndRing(lab, routers, { encrypted: false });
}

beforeAll(async () => {
  lab = await Lab.create(2);
  root = makeDataRoot(lab);
  for (const i of [1, 2]) routers.push(await start(i));
  await waitReadyCluster();
  overlayMtu = ((await getReport(lab, lab.host(1))) as unknown as { overlay: { mtu: number } }).overlay.mtu;
  plugins = buildTestPlugins();
  for (const h of lab.hosts) rt.push(new TestRuntime(h.ns, [plugins.binDir, REFERENCE_PLUGINS]));
}, 120_000);

afterAll(async () => {
  for (const r of routers) await stopRouter(lab, r).catch(() => undefined);
  plugins?.cleanup();
  await lab?.cleanup();
  if (root) removeDataRoot(root);
});

async function container(hostIndex: number, id: string): Promise<Attachment & { ns: string }> {
  const name = await lab.addNamespace(`r${hostIndex}x${n++}`);
  return { containerId: id, netns: `/var/run/netns/${name}`, ifname: 'eth0', ns: name };
}

const addressOf = (r: Record<string, unknown>) => (r.ips as Array<{ address: string }>)[0]!.address;

async function held(hostIndex: number, a: Attachment): Promise<number> {
  const path = `/ip/${encodeURIComponent(allocationId('weft', a.containerId, a.ifname))}`;
  return (await apiRequest(lab, lab.host(hostIndex), 'GET', path)).status;
}

async function wfcLinks(h: Host): Promise<string[]> {
  const out = await lab.ipIn(h.ns, ['-o', 'link', 'show']);
  return out.split('\n').flatMap((l) => /^\d+: (wfc[0-9a-f]+)/.exec(l)?.slice(1) ?? []);
}

describe('weft-net on real routers', () => {
  it('ADD on two hosts: unique ring addresses, the overlay MTU, containers ping across; DEL releases', async () => {
    const a = await container(1, 'ra');
    const b = await container(2, 'rb');
    const ra = await rt[0]!.add(CONFLIST, a);
    const rb = await rt[1]!.add(CONFLIST, b);
    expect(addressOf(ra.result)).toMatch(/^10\.(3[2-9]|4[0-7])\.\d+\.\d+\/12$/);
    expect(addressOf(rb.result)).not.toBe(addressOf(ra.result));
    for (const r of [ra, rb])
      expect((r.result.interfaces as Array<{ mtu?: number }>)[2]!.mtu).toBe(overlayMtu);
    expect(await held(1, a)).toBe(200);

    const target = addressOf(rb.result).split('/')[0]!;
    await waitFor('a ping from host 1 to host 2', async () => {
      const p = await lab.exec(a.ns, 'ping', ['-c', '1', '-W', '1', target]);
      return p.code === 0 ? true : undefined;
    });
    const ping = await lab.exec(a.ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', target]);
    expect(ping.code, ping.stdout).toBe(0);

    await rt[0]!.check(CONFLIST, a, ra.result);
    await rt[0]!.del(CONFLIST, a, ra.result);
    await rt[1]!.del(CONFLIST, b, rb.result);
    expect(await held(1, a)).toBe(404);
    expect(await held(2, b)).toBe(404);
    expect(await wfcLinks(lab.host(1))).not.toContain(hostVethName('ra', 'eth0'));
  });

  it('router stopped: ADD is 11 with nothing left; DEL removes the device then 11; restarted: DEL releases', async () => {
    const a = await container(1, 'down1');
    const { result } = await rt[0]!.add(CONFLIST, a);
    const fresh = await container(1, 'down2');
    const r1 = routers[0]!;
    await stopRouter(lab, r1);
    try {
      const add = await rt[0]!.exec('weft-net', 'ADD', fresh, TestRuntime.pluginConfig(CONFLIST, 0, fresh));
      expect(add.out).toMatchObject({ code: 11 });
      expect(add.ms).toBeLessThan(12_000);
      expect(await wfcLinks(lab.host(1))).not.toContain(hostVethName('down2', 'eth0'));

      const del = await rt[0]!.exec('weft-net', 'DEL', a, TestRuntime.pluginConfig(CONFLIST, 0, a, result));
      expect(del.out).toMatchObject({ code: 11 });
      expect(await wfcLinks(lab.host(1))).not.toContain(hostVethName('down1', 'eth0'));
    } finally {
      routers[0] = await start(1, r1.dataDir);
      await waitReadyCluster();
    }
    expect(await held(1, a)).toBe(200);
    await rt[0]!.del(CONFLIST, a, result);
    expect(await held(1, a)).toBe(404);
  });

  it('GC keeps the valid attachment and removes the stale one, veth and address', async () => {
    const keep = await container(1, 'gckeep');
    const stale = await container(1, 'gcstale');
    const rk = await rt[0]!.add(CONFLIST, keep);
    await rt[0]!.add(CONFLIST, stale);
    const gc = await rt[0]!.exec(
      'weft-net',
      'GC',
      {},
      {
        ...TestRuntime.pluginConfig(CONFLIST, 0, {}),
        'cni.dev/valid-attachments': [{ containerID: 'gckeep', ifname: 'eth0' }],
      },
    );
    expect(gc.code, gc.stdout).toBe(0);
    expect(await held(1, keep)).toBe(200);
    expect(await held(1, stale)).toBe(404);
    const links = await wfcLinks(lab.host(1));
    expect(links).toContain(hostVethName('gckeep', 'eth0'));
    expect(links).not.toContain(hostVethName('gcstale', 'eth0'));
    await rt[0]!.del(CONFLIST, keep, rk.result);
  });

  it('the reference bridge plugin with weft-ipam takes ring addresses; DEL releases them', async () => {
    const list: Conflist = {
      cniVersion: '1.0.0',
      name: 'refbr',
      plugins: [{ type: 'bridge', bridge: 'cniref0', ipam: { type: 'weft-ipam' } }],
    };
    const a = await container(1, 'wia');
    const b = await container(1, 'wib');
    const ra = await rt[0]!.add(list, a);
    const rb = await rt[0]!.add(list, b);
    const status = async (x: Attachment) =>
      (
        await apiRequest(
          lab,
          lab.host(1),
          'GET',
          `/ip/${encodeURIComponent(allocationId('refbr', x.containerId, 'eth0'))}`,
        )
      ).status;
    expect(await status(a)).toBe(200);
    const ping = await lab.exec(a.ns, 'ping', ['-c', '1', '-W', '2', addressOf(rb.result).split('/')[0]!]);
    expect(ping.code, ping.stdout).toBe(0);
    await rt[0]!.del(list, a, ra.result);
    await rt[0]!.del(list, b, rb.result);
    expect(await status(a)).toBe(404);
    expect(await status(b)).toBe(404);
  });

  it('STATUS is 0 with the ring ready', async () => {
    const st = await rt[0]!.exec('weft-net', 'STATUS', {}, TestRuntime.pluginConfig(CONFLIST, 0, {}));
    expect(st).toMatchObject({ code: 0, stdout: '' });
  });

  it('50 parallel ADDs then 50 parallel DELs: unique ring addresses, nothing left', async () => {
    const atts = await Promise.all(Array.from({ length: 50 }, (_, i) => container(1, `rpar${i}`)));
    const t0 = performance.now();
    const added = await Promise.all(atts.map((a) => rt[0]!.add(CONFLIST, a)));
    const addMs = performance.now() - t0;
    expect(new Set(added.map((r) => addressOf(r.result))).size).toBe(50);
    const t1 = performance.now();
    await Promise.all(atts.map((a, i) => rt[0]!.del(CONFLIST, a, added[i]!.result)));
    console.log(
      `real router: 50 parallel ADDs ${addMs.toFixed(0)} ms, 50 parallel DELs ${(performance.now() - t1).toFixed(0)} ms`,
    );
    expect(await wfcLinks(lab.host(1))).toStrictEqual([]);
    for (const a of atts.slice(0, 5)) expect(await held(1, a)).toBe(404);
    const all = JSON.parse((await apiRequest(lab, lab.host(1), 'GET', '/ip')).body) as {
      addresses: Array<{ containerId: string }>;
    };
    expect(all.addresses.filter((x) => x.containerId.includes(':rpar'))).toStrictEqual([]);
  });
});

describe.skipIf(!havePodman())('podman on real routers', () => {
  let p: PodmanHost[] = [];
  let scratch: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'weft-podman-image-'));
    const tar = await busyboxTarball(scratch);
    p = lab.hosts.map(
      (h) =>
        new PodmanHost(h, plugins.binDir, {
          cniVersion: '1.0.0',
          name: 'weft',
          plugins: [{ type: 'weft-net' }],
        }),
    );
    for (const x of p) await x.must(['import', tar, 'localhost/bb']);
  }, 180_000);
  afterAll(async () => {
    for (const x of p) await x.cleanup();
    // conmon and anything else podman left in the host namespaces was started by this test.
    for (const h of lab.hosts) {
      const pids = await sh('ip', ['netns', 'pids', h.ns]);
      const routerPids = new Set(routers.map((r) => String(r.child.pid)));
      for (const pid of pids.stdout.split('\n').filter((x) => x && !routerPids.has(x))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('containers on two hosts reach each other by address; podman rm releases their addresses', async () => {
    const ip1 = await p[0]!.runContainer('pweb1');
    const ip2 = await p[1]!.runContainer('pweb2');
    expect(ip2).not.toBe(ip1);
    const ping = await waitFor('podman ping across hosts', async () => {
      const r = await p[0]!.podman(['exec', 'pweb1', 'ping', '-c', '1', '-W', '1', ip2]);
      return r.code === 0 ? r : undefined;
    });
    expect(ping.code).toBe(0);
    const all = async (i: number) =>
      (
        JSON.parse((await apiRequest(lab, lab.host(i), 'GET', '/ip')).body) as {
          addresses: Array<{ ip: string }>;
        }
      ).addresses.map((x) => x.ip);
    expect(await all(1)).toContain(ip1);
    expect(await all(2)).toContain(ip2);
    await p[0]!.must(['rm', '-f', '-t', '0', 'pweb1']);
    await p[1]!.must(['rm', '-f', '-t', '0', 'pweb2']);
    expect(await all(1)).not.toContain(ip1);
    expect(await all(2)).not.toContain(ip2);
  }, 180_000);
});
