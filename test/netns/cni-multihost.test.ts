/**
 * Containers attached by weft-net on two simulated hosts reach each other by
 * address — through the CNI runtime of test/cni/runtime.ts and through real
 * podman 4.3 (CNI backend) — and `podman rm` releases their addresses.
 *
 * Until `weft router` serves the IPAM API and carries the overlay, two
 * stand-ins play its part: one fake IPAM table answering in both host
 * namespaces (as every router answers from the same ring), and a kernel VXLAN
 * between the two `weft` bridges (test/cni/standin-overlay.ts).
 *
 *   lab-h1 198.18.0.1                          lab-h2 198.18.0.2
 *   ┌──────────────────────┐   underlay    ┌──────────────────────┐
 *   │ bridge weft ─ wftvx0 ├───────────────┤ wftvx0 ─ bridge weft │
 *   │   └ wfc… ═ eth0 (A)  │   VXLAN 4242  │  (B) eth0 ═ wfc… ┘   │
 *   └──────────────────────┘               └──────────────────────┘
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniLabHost } from '../cni/lab-host.js';
import { busyboxTarball, havePodman, PodmanHost } from '../cni/podman.js';
import { connectBridges } from '../cni/standin-overlay.js';
import { Lab, sh } from './lab.js';

let lab: Lab;
let h1: CniLabHost;
let h2: CniLabHost;

beforeAll(async () => {
  lab = await Lab.create(2);
  h1 = await CniLabHost.create(lab, lab.host(1));
  h2 = await CniLabHost.create(lab, lab.host(2), { sharedRouter: h1.router!, plugins: h1.plugins });
  await connectBridges(lab, [lab.host(1), lab.host(2)]);
});
afterAll(async () => {
  await h2?.close();
  await h1?.close();
  await lab?.cleanup();
});

const addressOf = (r: Record<string, unknown>) =>
  (r.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;

describe('across hosts', () => {
  it('a container on host 1 pings a container on host 2 by address; DEL on both leaves nothing', async () => {
    const ca = await h1.container();
    const cb = await h2.container();
    const a = { containerId: 'xa', netns: ca.path, ifname: 'eth0' };
    const b = { containerId: 'xb', netns: cb.path, ifname: 'eth0' };
    const ra = await h1.runtime.add(h1.conflist(), a);
    const rb = await h2.runtime.add(h2.conflist(), b);
    expect(addressOf(ra.result)).not.toBe(addressOf(rb.result));
    const ping = await lab.exec(ca.name, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', addressOf(rb.result)]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    await h1.runtime.del(h1.conflist(), a, ra.result);
    await h2.runtime.del(h2.conflist(), b, rb.result);
    expect([...(await h1.hostLinks()), ...(await h2.hostLinks())]).toStrictEqual([]);
    expect(h1.router!.held.size).toBe(0);
  });
});

describe.skipIf(!havePodman())('podman 4.3 (CNI backend)', () => {
  let p1: PodmanHost;
  let p2: PodmanHost;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'weft-podman-image-'));
    const tar = await busyboxTarball(scratch);
    p1 = new PodmanHost(lab.host(1), h1.plugins.binDir, h1.conflist());
    p2 = new PodmanHost(lab.host(2), h2.plugins.binDir, h2.conflist());
    for (const p of [p1, p2]) await p.must(['import', tar, 'localhost/bb']);
  }, 180_000);

  afterAll(async () => {
    for (const p of [p1, p2]) await p?.cleanup();
    // Anything podman left running in the host namespaces (conmon) was started by this test.
    for (const h of [lab.host(1), lab.host(2)]) {
      const pids = await sh('ip', ['netns', 'pids', h.ns]);
      for (const pid of pids.stdout.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('containers on two hosts reach each other by address, and podman rm releases their addresses', async () => {
    expect(await p1.must(['network', 'ls', '--format', '{{.Name}}'])).toContain('weft');
    const ip1 = await p1.runContainer('web1');
    const ip2 = await p2.runContainer('web2');
    expect(ip1).toMatch(/^10\.3[2-9]\./);
    expect(ip2).not.toBe(ip1);
    expect([...h1.router!.held.values()].map((c) => c.split('/')[0])).toEqual(
      expect.arrayContaining([ip1, ip2]),
    );

    const ping = await p1.podman(['exec', 'web1', 'ping', '-c', '3', '-i', '0.2', '-W', '2', ip2]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const back = await p2.podman(['exec', 'web2', 'ping', '-c', '1', '-W', '2', ip1]);
    expect(back.code, back.stdout + back.stderr).toBe(0);

    await p1.must(['rm', '-f', '-t', '0', 'web1']);
    await p2.must(['rm', '-f', '-t', '0', 'web2']);
    expect(h1.router!.held.size).toBe(0);
    expect([...(await h1.hostLinks()), ...(await h2.hostLinks())]).toStrictEqual([]);
  }, 180_000);
});
