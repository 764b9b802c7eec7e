/**
 * weft-net as a real process on a simulated host (network namespace), against
 * the real kernel: ADD gives a working interface, DEL leaves nothing behind
 * (also twice, without a netns, after the namespace vanished, with the router
 * down then up), the router down at ADD is code 11 with no leftovers, CHECK
 * passes, and 50 parallel ADDs then 50 parallel DELs give unique addresses and
 * leave nothing. The IPAM API is a fake listening inside the host namespace;
 * cni-routers.test.ts runs the same plugin against real routers.
 *
 *   lab-h1 (host)                          containers (namespaces)
 *   ┌─────────────────────────────┐
 *   │ fake IPAM API 127.0.0.1:N   │        ┌──────────┐
 *   │ bridge weft (mtu 1376) ─────┼─ wfc… ═╡ eth0     │ c1x0, c1x1, …
 *   └─────────────────────────────┘        └──────────┘
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../cni-plugin/naming.js';
import { CniLabHost, OVERLAY_MTU } from '../cni/lab-host.js';
import type { Attachment } from '../cni/runtime.js';
import { Lab, mustSh } from './lab.js';

let lab: Lab;
let h: CniLabHost;

beforeAll(async () => {
  lab = await Lab.create(1);
  h = await CniLabHost.create(lab, lab.host(1));
});
afterAll(async () => {
  await h?.close();
  await lab?.cleanup();
});

async function att(id: string): Promise<Attachment & { ns: string }> {
  const c = await h.container();
  return { containerId: id, netns: c.path, ifname: 'eth0', ns: c.name };
}

describe('ADD into a fresh namespace', () => {
  it('gives a working eth0 with the allocated address, the bridge MTU, and a result that names it', async () => {
    const a = await att('ping-a');
    const b = await att('ping-b');
    const ra = await h.runtime.add(h.conflist(), a);
    const rb = await h.runtime.add(h.conflist(), b);
    const ips = (r: Record<string, unknown>) =>
      (r.ips as Array<{ address: string; interface: number }>).map((i) => i.address);
    const [addrA] = ips(ra.result);
    const [addrB] = ips(rb.result);
    expect(addrA).toMatch(/^10\.3[2-9]\.\d+\.\d+\/12$/);
    expect(addrB).not.toBe(addrA);

    const show = await lab.ipIn(a.ns, ['-d', 'addr', 'show', 'eth0']);
    expect(show).toContain(`inet ${addrA}`);
    expect(show).toContain(`mtu ${OVERLAY_MTU}`);
    expect(show).toMatch(/state UP/);
    const ifs = ra.result.interfaces as Array<{ name: string; mac?: string; sandbox?: string }>;
    expect(ifs.map((i) => i.name)).toStrictEqual(['weft', hostVethName('ping-a', 'eth0'), 'eth0']);
    expect(show).toContain(`link/ether ${ifs[2]!.mac}`);
    expect(ifs[2]!.sandbox).toBe(a.netns);

    const ping = await lab.exec(a.ns, 'ping', ['-c', '2', '-W', '2', addrB!.split('/')[0]!]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);

    await h.runtime.check(h.conflist(), a, ra.result);
    await h.runtime.del(h.conflist(), a, ra.result);
    await h.runtime.del(h.conflist(), b, rb.result);
  });
});

describe('how runtimes call (checklist §5)', () => {
  it('containerd CRI: K8S_* args in any order with IgnoreUnknown, capitalised runtimeConfig keys', async () => {
    const a = {
      ...(await att('cri-pod')),
      args: 'K8S_POD_UID=4f1c;IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=cri-pod',
    };
    const list = h.conflist({ capabilities: { dns: true, ips: true } });
    const { result } = await h.runtime.add(list, {
      ...a,
      capabilities: { dns: { Servers: ['10.32.0.10'], Searches: ['default.svc'] }, ips: ['10.32.7.7/12'] },
    });
    expect(result.dns).toStrictEqual({ nameservers: ['10.32.0.10'], search: ['default.svc'] });
    expect((result.ips as Array<{ address: string }>)[0]!.address).toBe('10.32.7.7/12');
    expect(await lab.ipIn(a.ns, ['addr', 'show', 'eth0'])).toContain('inet 10.32.7.7/12');
    await h.runtime.del(list, a, result);
  });

  it('podman: IgnoreUnknown and K8S_POD_NAME plus MAC= and IP= in CNI_ARGS; results parsed as 0.4.0', async () => {
    const a = {
      ...(await att('podman-ctr')),
      args: 'IgnoreUnknown=1;K8S_POD_NAME=web;MAC=02:00:00:00:aa:01;IP=10.32.8.8',
    };
    const list = h.conflist({ subnet: '10.32.0.0/12' }, [], '0.4.0');
    const { result } = await h.runtime.add(list, a);
    const ifs = result.interfaces as Array<{ name: string; mac: string; sandbox?: string }>;
    expect(ifs[2]).toStrictEqual({ name: 'eth0', mac: '02:00:00:00:aa:01', sandbox: a.netns });
    expect(result.ips).toStrictEqual([{ version: '4', interface: 2, address: '10.32.8.8/12' }]);
    await h.runtime.del(list, a, result);
  });

  it('Mesos: only CNI variables and PATH in the environment, its own keys in args', async () => {
    const a = await att('mesos-task');
    const list = h.conflist({ args: { 'org.apache.mesos': { network_info: { name: 'weft', labels: {} } } } });
    const { result } = await h.runtime.add(list, a);
    expect((result.ips as unknown[]).length).toBe(1);
    await h.runtime.del(list, a, result);
  });
});

describe('DEL leaves nothing behind', () => {
  async function added() {
    const a = await att(`del-${Math.random().toString(36).slice(2, 8)}`);
    const r = await h.runtime.add(h.conflist(), a);
    return { a, result: r.result };
  }
  const id = (a: Attachment) => `cni:weft:${a.containerId}:${a.ifname}`;

  it('no veth, no address, no rules; twice is fine', async () => {
    const rulesBefore = await lab.mustExec(h.host.ns, 'nft', ['list', 'ruleset']);
    const { a, result } = await added();
    await h.runtime.del(h.conflist(), a, result);
    expect(await h.hostLinks()).toStrictEqual([]);
    expect(await lab.ipIn(a.ns, ['link', 'show'])).not.toContain('eth0');
    expect(h.router!.held.has(id(a))).toBe(false);
    expect(await lab.mustExec(h.host.ns, 'nft', ['list', 'ruleset'])).toBe(rulesBefore);
    await h.runtime.del(h.conflist(), a, result);
  });

  it('without CNI_NETNS', async () => {
    const { a } = await added();
    await h.runtime.del(h.conflist(), { ...a, netns: '' });
    expect(await h.hostLinks()).toStrictEqual([]);
    expect(h.router!.held.has(id(a))).toBe(false);
  });

  it('after the container namespace was deleted', async () => {
    const { a, result } = await added();
    await lab.ipIn(h.host.ns, ['link', 'show', hostVethName(a.containerId, 'eth0')]);
    await mustSh('ip', ['netns', 'delete', a.ns]);
    await h.runtime.del(h.conflist(), a, result);
    expect(await h.hostLinks()).toStrictEqual([]);
    expect(h.router!.held.has(id(a))).toBe(false);
  });

  it('router down: DEL removes the device and fails with 11; router back: DEL releases', async () => {
    const { a, result } = await added();
    const port = h.router!.port;
    const list = h.conflist();
    await h.router!.close();
    const down = await h.runtime.exec('weft-net', 'DEL', a, {
      ...list.plugins[0],
      name: 'weft',
      cniVersion: '1.0.0',
      prevResult: result,
    });
    expect(down.code).toBe(1);
    expect(down.out).toMatchObject({ code: 11 });
    expect(await h.hostLinks()).toStrictEqual([]);
    expect(h.router!.held.has(id(a))).toBe(true);
    await h.listenInside(port);
    await h.runtime.del(list, a, result);
    expect(h.router!.held.has(id(a))).toBe(false);
  });
});

describe('failures', () => {
  it('router down at ADD: code 11 in bounded time, no veth and no address left', async () => {
    const a = await att('down-add');
    const conf = {
      ...h.conflist({ router: '127.0.0.1:1', routerTimeoutMs: 1000 }).plugins[0],
      name: 'weft',
      cniVersion: '1.0.0',
    };
    const r = await h.runtime.exec('weft-net', 'ADD', a, conf);
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ code: 11 });
    expect(r.ms).toBeLessThan(3000);
    expect(await h.hostLinks()).toStrictEqual([]);
    expect(await lab.ipIn(a.ns, ['link', 'show'])).not.toContain('eth0');
  });

  it('a netns path that does not exist: code 8, nothing created', async () => {
    const r = await h.runtime.exec(
      'weft-net',
      'ADD',
      { containerId: 'nons', netns: '/var/run/netns/does-not-exist', ifname: 'eth0' },
      {
        ...h.conflist().plugins[0],
        name: 'weft',
        cniVersion: '1.0.0',
      },
    );
    expect(r.out).toMatchObject({ code: 8 });
    expect(await h.hostLinks()).toStrictEqual([]);
  });

  it("the plugin's own namespace as CNI_NETNS: code 8", async () => {
    const r = await h.runtime.exec(
      'weft-net',
      'ADD',
      { containerId: 'self', netns: `/var/run/netns/${h.host.ns}`, ifname: 'eth0' },
      {
        ...h.conflist().plugins[0],
        name: 'weft',
        cniVersion: '1.0.0',
      },
    );
    expect(r.out).toMatchObject({ code: 8 });
  });
});

describe('concurrency', () => {
  it('50 parallel ADDs then 50 parallel DELs: unique addresses, nothing left', async () => {
    const atts = await Promise.all(Array.from({ length: 50 }, (_, i) => att(`par${i}`)));
    const t0 = performance.now();
    // 1.1.0 results carry interface MTUs: every one must be the overlay's, also
    // for the first ADDs onto a bridge that had no ports left.
    const list = h.conflist({}, [], '1.1.0');
    const added = await Promise.all(atts.map((a) => h.runtime.add(list, a)));
    const addMs = performance.now() - t0;
    const addrs = added.map((r) => (r.result.ips as Array<{ address: string }>)[0]!.address);
    expect(new Set(addrs).size).toBe(50);
    const mtus = added.map((r) => (r.result.interfaces as Array<{ mtu?: number }>)[2]!.mtu);
    expect(new Set(mtus)).toStrictEqual(new Set([OVERLAY_MTU]));
    expect((await h.hostLinks()).length).toBe(50);
    const t1 = performance.now();
    await Promise.all(atts.map((a, i) => h.runtime.del(list, a, added[i]!.result)));
    const delMs = performance.now() - t1;
    console.log(`50 parallel ADDs: ${addMs.toFixed(0)} ms; 50 parallel DELs: ${delMs.toFixed(0)} ms`);
    expect(await h.hostLinks()).toStrictEqual([]);
    expect([...h.router!.held.keys()].filter((k) => k.includes(':par'))).toStrictEqual([]);
  });
});
