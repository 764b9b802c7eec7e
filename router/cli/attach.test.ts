/**
 * weft attach / detach over the fake kernel and a fake router API: what gets
 * allocated, created and configured, and that every failure leaves nothing
 * behind (no device, no new address) while an attach run twice is harmless.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import type { ResolvedTarget } from '../docker/attach-target.js';
import { attachHostVeth } from '../host/attachment-ids.js';
import { FakeKernelWorld } from '../kernel/fake-kernel.js';
import type { KernelNet, NetnsRef } from '../kernel/kernel-net.js';
import type { HttpMethod } from './api-client.js';
import { type AttachDeps, attach, containerRoutes, detach } from './attach.js';

const RANGE = '10.32.0.0/12';

/** The router's IPAM routes as far as attach uses them, over a map id → addresses. */
class FakeRouter {
  readonly held = new Map<string, string[]>();
  readonly calls: string[] = [];
  next = 1;
  mtu: number | undefined = 1376;
  failAllocate: WeftError | undefined;

  private answer(id: string, address: string) {
    const list = this.held.get(id) ?? [];
    if (!list.includes(address)) list.push(address);
    this.held.set(id, list);
    return { containerId: id, address, range: RANGE };
  }

  async json<T>(method: HttpMethod, path: string): Promise<T> {
    this.calls.push(`${method} ${path}`);
    const [, what, rawId, a, b] = path.split('/');
    const id = decodeURIComponent(rawId ?? '');
    if (method === 'GET' && what === 'report')
      return { overlay: this.mtu ? { mtu: this.mtu } : undefined } as T;
    if (what !== 'ip') throw new Error(`unexpected ${method} ${path}`);
    if (method === 'GET') {
      const list = this.held.get(id);
      if (!list) throw new WeftError('NOT_FOUND', `no address for ${id}`);
      return { addresses: list.map((address) => ({ address, range: RANGE })) } as T;
    }
    if (method === 'POST') {
      if (this.failAllocate) throw this.failAllocate;
      if (a) return this.answer(id, `${a.split('.').slice(0, 3).join('.')}.${this.next++}/${b}`) as T;
      return this.answer(id, `10.32.0.${this.next++}/12`) as T;
    }
    if (method === 'PUT') return this.answer(id, `${a}/${b}`) as T;
    if (method === 'DELETE') {
      const list = this.held.get(id) ?? [];
      const gone = a ? list.filter((x) => x.startsWith(`${a}/`)) : list;
      const left = list.filter((x) => !gone.includes(x));
      if (left.length > 0) this.held.set(id, left);
      else this.held.delete(id);
      return { released: gone.map((x) => x.split('/')[0]) } as T;
    }
    throw new Error(`unexpected ${method} ${path}`);
  }
}

let world: FakeKernelWorld;
let host: KernelNet;
let router: FakeRouter;
let deps: AttachDeps;
let ctr: { ref: NetnsRef; kernel: KernelNet };
let target: ResolvedTarget;

beforeEach(async () => {
  world = new FakeKernelWorld();
  host = world.createNamespace('host').kernel;
  await host.createBridge('weft', { mtu: 1376, up: true });
  ctr = world.createNamespace('ctr');
  router = new FakeRouter();
  deps = {
    api: router,
    bridge: 'weft',
    kernel: {
      host: () => host,
      openNetns: (path) => {
        if (path !== '/proc/42/ns/net') throw new WeftError('KERNEL_ERROR', `cannot open ${path}`);
        return { ref: ctr.ref, kernel: () => ctr.kernel, close: () => undefined };
      },
    },
  };
  target = { kind: 'pid', netnsPath: '/proc/42/ns/net', key: 'netns-4-4026532000', label: 'pid 42' };
});

async function ethwe() {
  const link = await ctr.kernel.getLink('ethwe');
  const addrs = link ? (await ctr.kernel.listAddresses(link.index)).map((a) => a.cidr) : [];
  const routes = link
    ? (await ctr.kernel.listRoutes()).filter((r) => r.devIndex === link.index).map((r) => r.dst)
    : [];
  return { link, addrs, routes };
}

describe('weft attach', () => {
  it('allocates under attach:<key>, plugs ethwe into the bridge with the overlay MTU, configures it', async () => {
    const r = await attach(deps, target, []);
    expect(r).toEqual({
      addresses: ['10.32.0.1/12'],
      hostVeth: attachHostVeth(target.key),
      mtu: 1376,
      already: false,
    });
    expect(router.held.get('attach:netns-4-4026532000')).toEqual(['10.32.0.1/12']);
    const hostEnd = await host.getLink(r.hostVeth);
    expect(hostEnd?.masterIndex).toBe((await host.getLink('weft'))!.index);
    expect(hostEnd?.bridgePort?.hairpin).toBe(true);
    const c = await ethwe();
    expect(c.link?.mtu).toBe(1376);
    expect(c.link?.up).toBe(true);
    expect(c.addrs).toEqual(['10.32.0.1/12']);
    expect(c.routes.sort()).toEqual(['10.32.0.0/12', '224.0.0.0/4']);
  });

  it('--cidr: a subnet allocates in it (with a route to the whole range), an address is claimed', async () => {
    const r = await attach(deps, target, ['10.40.3.0/24', '10.44.0.9/16']);
    expect(r.addresses).toEqual(['10.40.3.1/24', '10.44.0.9/16']);
    expect(router.calls).toContain('POST /ip/attach%3Anetns-4-4026532000/10.40.3.0/24');
    expect(router.calls).toContain('PUT /ip/attach%3Anetns-4-4026532000/10.44.0.9/16');
    expect((await ethwe()).routes.sort()).toEqual([
      '10.32.0.0/12',
      '10.40.3.0/24',
      '10.44.0.0/16',
      '224.0.0.0/4',
    ]);
  });

  it('attach twice: the same address, the same device, nothing new', async () => {
    const first = await attach(deps, target, []);
    const second = await attach(deps, target, []);
    expect(second).toEqual({ ...first, already: true });
    expect(router.held.get('attach:netns-4-4026532000')).toEqual(first.addresses);
    expect((await host.listLinks()).filter((l) => l.name.startsWith('wfa'))).toHaveLength(1);
  });

  it('a kernel failure after the allocation removes the device and gives the new address back', async () => {
    world.failNext('addRoute', 'ENETDOWN');
    await expect(attach(deps, target, [])).rejects.toThrow(/ENETDOWN|addRoute/);
    expect(router.held.has('attach:netns-4-4026532000')).toBe(false);
    expect(await host.getLink(attachHostVeth(target.key))).toBeUndefined();
    expect((await ethwe()).link).toBeUndefined();
  });

  it('an allocation failure creates nothing; a missing bridge is ROUTER_UNAVAILABLE and releases the address', async () => {
    router.failAllocate = new WeftError('RING_NOT_READY', 'no ring yet: awaiting-consensus');
    await expect(attach(deps, target, [])).rejects.toMatchObject({ code: 'RING_NOT_READY' });
    expect(world.calls.filter((c) => c.method === 'createVeth')).toEqual([]);
    router.failAllocate = undefined;
    await host.deleteLink('weft');
    await expect(attach(deps, target, [])).rejects.toMatchObject({ code: 'ROUTER_UNAVAILABLE' });
    expect(router.held.size).toBe(0);
  });

  it('a router without its data plane (no overlay MTU) is refused before anything happens', async () => {
    router.mtu = undefined;
    await expect(attach(deps, target, [])).rejects.toThrow(/runs without its data plane/);
    expect(router.calls).toEqual(['GET /report']);
  });

  it('a bad --cidr is INVALID_CIDR and leaves nothing', async () => {
    await expect(attach(deps, target, ['10.32.0.1'])).rejects.toMatchObject({ code: 'INVALID_CIDR' });
    expect(router.held.size).toBe(0);
  });
});

describe('weft detach', () => {
  it('removes the device, then releases the addresses', async () => {
    await attach(deps, target, []);
    router.calls.length = 0;
    const r = await detach(deps, target.key, target.label);
    expect(r).toEqual({ removedDevice: true, released: ['10.32.0.1'] });
    expect(router.calls).toEqual(['DELETE /ip/attach%3Anetns-4-4026532000']);
    expect(await host.getLink(attachHostVeth(target.key))).toBeUndefined();
    expect((await ethwe()).link).toBeUndefined();
  });

  it('releases the address of a container that is gone (no device left); NOT_FOUND when nothing is attached', async () => {
    await attach(deps, target, []);
    await host.deleteLink(attachHostVeth(target.key));
    expect(await detach(deps, target.key, target.label)).toEqual({
      removedDevice: false,
      released: ['10.32.0.1'],
    });
    await expect(detach(deps, target.key, target.label)).rejects.toThrow('pid 42 is not attached');
  });
});

describe('container routes', () => {
  it('the range only when the subnet is smaller, and multicast always', () => {
    expect(containerRoutes([{ address: '10.32.0.5/12', range: RANGE }])).toEqual([{ dst: '224.0.0.0/4' }]);
    expect(containerRoutes([{ address: '10.32.7.5/24', range: RANGE }])).toEqual([
      { dst: RANGE },
      { dst: '224.0.0.0/4' },
    ]);
  });
});
