import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OverlayReport } from '../../router/dataplane/overlay.js';
import { tcpTransfer } from './dataplane-probes.js';
import { addContainer, type Container, ping, waitPing } from './dataplane-topology.js';
import { Lab } from './lab.js';
import {
  getReport,
  makeDataRoot,
  meshComplete,
  type RouterProcess,
  removeDataRoot,
  startRouter,
  stopRouter,
  tailLogs,
  waitFor,
} from './routers.js';

// The data plane inside real `weft router` processes (mesh, Noise sessions,
// mesh routes): three hosts, a container on each router's bridge, in the
// three modes a user can pick — fastdp (default), --no-fastdp, a password —
// plus relaying through host 2 when hosts 1 and 3 cannot reach each other.

interface Setup {
  lab: Lab;
  root: string;
  routers: RouterProcess[];
  containers: Container[];
  names: string[];
}

async function overlayOf(s: Setup, i: number): Promise<OverlayReport> {
  return ((await getReport(s.lab, s.lab.host(i))) as unknown as { overlay: OverlayReport }).overlay;
}

async function pathsAre(s: Setup, i: number, path: string, peers?: string[]): Promise<true | undefined> {
  const o = await overlayOf(s, i);
  const want = peers ?? s.names.filter((n) => n !== s.names[i - 1]);
  const ok = want.every((p) => o.connections.find((c) => c.peer === p)?.info.path === path);
  return ok ? true : undefined;
}

async function setup(opts: {
  password?: string;
  args?: string[];
  blocked?: [number, number];
}): Promise<Setup> {
  const lab = await Lab.create(3);
  const root = makeDataRoot(lab);
  const s: Setup = { lab, root, routers: [], containers: [], names: [] };
  if (opts.blocked) await lab.block(lab.host(opts.blocked[0]), lab.host(opts.blocked[1]));
  for (const h of lab.hosts) {
    // Each router dials the ones started before it (host 3 only host 2 when 1-3 is blocked).
    const peers = lab.hosts
      .filter(
        (x) => x.index < h.index && !(opts.blocked?.includes(x.index) && opts.blocked.includes(h.index)),
      )
      .map((x) => x.ip);
    s.routers.push(
      await startRouter(lab, h, root, {
        peers,
        ...(opts.password ? { password: opts.password } : {}),
        args: opts.args ?? [],
      }),
    );
  }
  s.names = await Promise.all(lab.hosts.map(async (h) => (await getReport(lab, h)).router.name));
  await waitFor('all routers to know each other', async () => {
    for (const h of lab.hosts) {
      const r = await getReport(lab, h);
      if (!s.names.every((n) => r.router.peers.some((p) => p.name === n))) return undefined;
      if (!opts.blocked && !meshComplete(r, s.names, { encrypted: opts.password !== undefined }))
        return undefined;
    }
    return true;
  }).catch((e: Error) => {
    throw new Error(
      `${e.message}\n${s.routers.map((r) => `h${r.host.index}: ${tailLogs(r, 12)}`).join('\n')}`,
    );
  });
  const mtu = (await overlayOf(s, 1)).mtu;
  for (const h of lab.hosts) s.containers.push(await addContainer(lab, h, 'weft', mtu));
  return s;
}

async function teardown(s: Setup | undefined): Promise<void> {
  if (!s) return;
  for (const r of s.routers) await stopRouter(s.lab, r);
  await s.lab.cleanup();
  removeDataRoot(s.root);
}

async function unicastWorks(s: Setup, a: number, b: number): Promise<void> {
  const [x, y] = [s.containers[a - 1]!, s.containers[b - 1]!];
  await waitPing(s.lab, x.ns, y.ip);
  expect(await ping(s.lab, y.ns, x.ip, { count: 3 })).toMatchObject({ received: 3 });
  expect(await tcpTransfer(s.lab, x, y, 4 << 20)).toBe(4 << 20);
}

describe('weft router: fastdp by default', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup({});
  });
  afterAll(() => teardown(s));

  it('every connection uses fastdp, unencrypted; containers talk', async () => {
    for (const i of [1, 2, 3]) await waitFor(`fastdp on host ${i}`, () => pathsAre(s, i, 'fastdp'));
    const o = await overlayOf(s, 1);
    expect(o.connections.every((c) => !c.info.encrypted && c.info.healthy)).toBe(true);
    await unicastWorks(s, 1, 2);
    await unicastWorks(s, 1, 3);
  });

  it('blocking UDP 6784 between two hosts moves them to sleeve, unblocking moves them back', async () => {
    const { lab } = s;
    await lab.block(lab.host(1), lab.host(2), { udpPort: 6784 });
    await waitFor('sleeve between 1 and 2', () => pathsAre(s, 1, 'sleeve', [s.names[1]!]));
    await unicastWorks(s, 1, 2);
    await lab.unblock(lab.host(1), lab.host(2));
    await waitFor('fastdp between 1 and 2 again', () => pathsAre(s, 1, 'fastdp', [s.names[1]!]));
    await unicastWorks(s, 2, 1);
  });
});

describe('weft router --no-fastdp', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup({ args: ['--no-fastdp'] });
  });
  afterAll(() => teardown(s));

  it('every connection uses the sleeve; containers talk', async () => {
    for (const i of [1, 2, 3]) await waitFor(`sleeve on host ${i}`, () => pathsAre(s, i, 'sleeve'));
    expect((await overlayOf(s, 2)).fastdp).toBe(false);
    await unicastWorks(s, 1, 3);
  });
});

describe('weft router with a password', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup({ password: 'the data plane is sealed' });
  });
  afterAll(() => teardown(s));

  it('every connection is an encrypted sleeve; containers talk', async () => {
    for (const i of [1, 2, 3]) await waitFor(`sleeve on host ${i}`, () => pathsAre(s, i, 'sleeve'));
    const o = await overlayOf(s, 3);
    expect(o.connections.every((c) => c.info.encrypted)).toBe(true);
    await unicastWorks(s, 3, 1);
    await unicastWorks(s, 2, 3);
  });
});

describe('weft router relays when hosts 1 and 3 cannot reach each other', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup({ blocked: [1, 3] });
  });
  afterAll(() => teardown(s));

  it('containers on hosts 1 and 3 talk through host 2', async () => {
    const o1 = await overlayOf(s, 1);
    expect(o1.connections.map((c) => c.peer)).not.toContain(s.names[2]);
    await unicastWorks(s, 1, 3);
    const relayed = (await overlayOf(s, 2)).connections.reduce((n, c) => n + (c.counters?.relayed ?? 0), 0);
    expect(relayed).toBeGreaterThan(100);
  });
});
