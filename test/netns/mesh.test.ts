/**
 * Real `weft router` processes, one per simulated host (network namespace),
 * forming an encrypted mesh over the lab's underlay:
 *
 *        ┌──────────────── underlay bridge (198.18.0.0/24) ────────────────┐
 *        h1 .1            h2 .2 → h1          h3 .3 → h1          h4 .4 → h1
 *        router           router              router              router, WRONG password
 *
 * h2 and h3 only know h1; discovery connects them to each other. h4 must be
 * refused by everyone and appear in nobody's peer list.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../router/api/report.js';
import { parseExposition } from '../../router/metrics/exposition.js';
import { Lab } from './lab.js';
import {
  apiRequest,
  getReport,
  httpRequest,
  makeDataRoot,
  meshComplete,
  type RouterProcess,
  removeDataRoot,
  sleep,
  startRouter,
  stopRouter,
  waitFor,
} from './routers.js';

const PASSWORD = 'correct horse battery staple';

describe('mesh of real routers in network namespaces', () => {
  let lab: Lab;
  let root: string;
  const routers: RouterProcess[] = [];
  let names: string[] = [];

  beforeAll(async () => {
    lab = await Lab.create(4);
    root = makeDataRoot(lab);
    const h1 = lab.host(1).ip;
    routers.push(await startRouter(lab, lab.host(1), root, { password: PASSWORD }));
    routers.push(await startRouter(lab, lab.host(2), root, { password: PASSWORD, peers: [h1] }));
    routers.push(await startRouter(lab, lab.host(3), root, { password: PASSWORD, peers: [h1] }));
  });

  afterAll(async () => {
    await lab?.cleanup();
    if (root) removeDataRoot(root);
  });

  async function reports(n = 3): Promise<Report[]> {
    return Promise.all(lab.hosts.slice(0, n).map((h) => getReport(lab, h)));
  }

  it('three routers form a full mesh of established, encrypted connections', async () => {
    const rs = await waitFor('the three routers to connect', async () => {
      const rs = await reports();
      const ns = rs.map((r) => r.router.name);
      // Established first, then the records gossiped about it: wait for both (under load the
      // topology can trail the connection states by a gossip round).
      const agreed = rs.every((r) => r.router.topologyDigest === rs[0]!.router.topologyDigest);
      return agreed && rs.every((r) => meshComplete(r, ns, { encrypted: true })) ? rs : undefined;
    });
    names = rs.map((r) => r.router.name);
    expect(new Set(names).size).toBe(3);
    for (const r of rs) {
      expect(r.router.encryption).toBe(true);
      expect(r.router.peers.map((p) => p.name).sort()).toEqual([...names].sort());
      const established = r.router.connections.filter((c) => c.state === 'established');
      expect(established).toHaveLength(2);
      expect(established.every((c) => c.encrypted)).toBe(true);
      // Everyone agrees on the topology.
      expect(r.router.topologyDigest).toBe(rs[0]!.router.topologyDigest);
    }
    // h2 and h3 were only told about h1: their link came from discovery.
    const h2 = rs[1]!.router;
    expect(h2.connections.some((c) => c.name === names[2])).toBe(true);
  });

  it('status, report and the data dir never reveal the password', async () => {
    const status = await apiRequest(lab, lab.host(1), 'GET', '/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatch(/Encryption: enabled/);
    expect(status.body).toMatch(/Peers: 3 \(with 6 established connections\)/);
    const report = await apiRequest(lab, lab.host(1), 'GET', '/report');
    for (const text of [status.body, report.body, ...routers.map((r) => JSON.stringify(r.logs))]) {
      expect(text).not.toContain(PASSWORD);
    }
    // Every file in the data dir (the SQLite database and its WAL), read as bytes.
    for (const f of readdirSync(routers[0]!.dataDir)) {
      expect(readFileSync(join(routers[0]!.dataDir, f)).includes(Buffer.from(PASSWORD)), f).toBe(false);
    }
  });

  it('Prometheus metrics on the default --metrics-addr count the peers and established connections', async () => {
    const scrape = async () => {
      const res = await httpRequest(lab, lab.host(1), 'GET', 'http://127.0.0.1:6782/metrics');
      expect(res.status).toBe(200);
      const parsed = parseExposition(res.body);
      if (!parsed.ok) throw new Error(`metrics do not parse: ${JSON.stringify(parsed.error)}`);
      const established = (parsed.value.get('weft_connections')?.samples ?? [])
        .filter((s) => s.labels.state === 'established')
        .reduce((n, s) => n + s.value, 0);
      return { peers: parsed.value.get('weft_peers')?.samples[0]?.value, established };
    };
    const m = await waitFor('metrics to show the mesh', async () => {
      const m = await scrape();
      return m.established === 2 ? m : undefined;
    });
    expect(m).toEqual({ peers: 3, established: 2 });
  });

  it('a router with the wrong password is refused with a clear log line on both sides and never becomes a peer', async () => {
    const h4 = await startRouter(lab, lab.host(4), root, {
      password: 'wrong password',
      peers: [lab.host(1).ip],
    });
    routers.push(h4);
    const mismatch = (r: RouterProcess) => r.logs.some((l) => /different password/.test(String(l.msg)));
    await waitFor('both sides to log the password mismatch', async () =>
      mismatch(h4) && mismatch(routers[0]!) ? true : undefined,
    );
    // Give it time for retries; it must never get in.
    for (let i = 0; i < 4; i++) {
      for (const r of await reports(3)) {
        expect(r.router.peers.map((p) => p.nickname)).not.toContain('h4');
        expect(r.router.connections.filter((c) => c.state === 'established')).toHaveLength(2);
      }
      await sleep(1000);
    }
    const r4 = await getReport(lab, lab.host(4));
    expect(r4.router.peers.map((p) => p.name)).toEqual([r4.router.name]);
    expect(r4.router.connections.some((c) => c.state === 'established')).toBe(false);
    const target = r4.router.targets.find((t) => t.address === `${lab.host(1).ip}:6783`);
    expect(target?.lastError ?? '').toMatch(/password/);
    await stopRouter(lab, h4);
  });

  it('a router that takes an existing name is reported as a collision and never retried', async () => {
    const h1 = await getReport(lab, lab.host(1));
    const clone = await startRouter(lab, lab.host(4), root, {
      password: PASSWORD,
      peers: [lab.host(1).ip],
      args: ['--name', h1.router.name],
      dataDir: `${root}/h4-clone`,
    });
    const collision = (r: RouterProcess) =>
      r.logs.some((l) => /collision|already in use/.test(String(l.msg)));
    await waitFor('the collision to be logged on both sides', async () =>
      collision(clone) && collision(routers[0]!) ? true : undefined,
    );
    const target = await waitFor('the clone to give up on its target', async () => {
      const t = (await getReport(lab, lab.host(4))).router.targets.find(
        (x) => x.address === `${lab.host(1).ip}:6783`,
      );
      return t?.state === 'failed' ? t : undefined;
    });
    expect(target.lastError ?? '').toMatch(/in use|collision/);
    // The real h1 is unharmed: everyone still sees its UID.
    for (const r of await reports(3)) {
      expect(r.router.peers.find((p) => p.name === h1.router.name)?.uid).toBe(h1.router.uid);
    }
    await stopRouter(lab, clone);
  });

  it('a router killed with SIGKILL comes back with the same name and reconnects from its persisted peers', async () => {
    const h3 = routers[2]!;
    const before = await getReport(lab, lab.host(3));
    await stopRouter(lab, h3, 'SIGKILL');
    // Restart without any peer on the command line: the persisted direct peer (h1) must be used.
    const again = await startRouter(lab, lab.host(3), root, { password: PASSWORD, dataDir: h3.dataDir });
    routers[2] = again;
    const rs = await waitFor('the restarted router to rejoin', async () => {
      const rs = await reports();
      return rs.every((r) => meshComplete(r, names, { encrypted: true })) ? rs : undefined;
    });
    const after = rs[2]!.router;
    expect(after.name).toBe(before.router.name);
    expect(after.uid).not.toBe(before.router.uid);
    expect(after.targets.filter((t) => t.direct).map((t) => t.address)).toEqual([`${lab.host(1).ip}:6783`]);
    // The others now know the new incarnation.
    const seenBy1 = rs[0]!.router.peers.find((p) => p.name === after.name);
    expect(seenBy1?.uid).toBe(after.uid);
  });

  it('SIGTERM shuts a router down cleanly: exit 0, lock released, peers drop it', async () => {
    const h2 = routers[1]!;
    const exit = await stopRouter(lab, h2, 'SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(h2.logs.some((l) => l.msg === 'weft router stopped')).toBe(true);
    expect(() => readFileSync(join(h2.dataDir, 'router.pid'))).toThrow();
    await waitFor('h1 to notice h2 left', async () => {
      const r = await getReport(lab, lab.host(1));
      return r.router.connections.some((c) => c.name === names[1] && c.state === 'established')
        ? undefined
        : true;
    });
  });
});
