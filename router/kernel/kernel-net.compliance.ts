/**
 * The behaviour every KernelNet must have, as a reusable vitest suite: the
 * netlink adapter runs it against the real kernel (netlink.kernel.test.ts, in
 * lab namespaces), the in-memory fake runs it in the unit project
 * (fake-kernel.test.ts). A caller tested against the fake can rely on exactly
 * what is asserted here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWeftError } from '../../common/errors.js';
import { errnoOf, isExists, isNotFound } from './kernel-errors.js';
import type { KernelNet, NetnsRef } from './kernel-net.js';

export interface KernelNetHarness {
  /** A KernelNet on a fresh namespace A that holds only `lo`. */
  a: KernelNet;
  /** A second fresh namespace B, for veth peers and moves, and a KernelNet on it. */
  bRef: NetnsRef;
  b: KernelNet;
  cleanup(): Promise<void>;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the kernel call to fail');
}

async function expectErrno(p: Promise<unknown>, errno: string): Promise<void> {
  const e = await failure(p);
  expect(isWeftError(e) && e.code).toBe('KERNEL_ERROR');
  expect(errnoOf(e)).toBe(errno);
}

export function describeKernelNetCompliance(name: string, setup: () => Promise<KernelNetHarness>): void {
  describe(`KernelNet compliance: ${name}`, () => {
    let h: KernelNetHarness;
    let a: KernelNet;
    let b: KernelNet;
    beforeEach(async () => {
      h = await setup();
      a = h.a;
      b = h.b;
    });
    afterEach(async () => {
      await h?.cleanup();
    });

    describe('links', () => {
      it('creates a bridge with the given mtu and state, found by name and by index', async () => {
        const br = await a.createBridge('wbr0', { mtu: 1376, up: true });
        expect(br).toMatchObject({ name: 'wbr0', kind: 'bridge', mtu: 1376, up: true });
        expect(br.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
        expect(await a.getLink(br.index)).toMatchObject({ name: 'wbr0', index: br.index });
        expect((await a.listLinks()).map((l) => l.name)).toEqual(expect.arrayContaining(['lo', 'wbr0']));
      });

      it('refuses a second link with the same name (EEXIST) and over-long names (ERANGE)', async () => {
        await a.createBridge('wbr0');
        const e = await failure(a.createBridge('wbr0'));
        expect(isExists(e)).toBe(true);
        expect(isNotFound(e)).toBe(false);
        await expectErrno(a.createBridge('x'.repeat(16)), 'ERANGE');
      });

      it('reports a missing link as undefined on get and as not-found on change and delete', async () => {
        expect(await a.getLink('nosuch0')).toBeUndefined();
        expect(await a.getLink(99999)).toBeUndefined();
        const e = await failure(a.setLink('nosuch0', { up: true }));
        expect(isNotFound(e)).toBe(true);
        expect(isNotFound(await failure(a.deleteLink('nosuch0')))).toBe(true);
        expect(await a.deleteLink('nosuch0', { missingOk: true })).toBe(false);
      });

      it('creates the veth peer directly in the other namespace under its final name', async () => {
        // A link named like the peer already exists here: creating the peer here
        // first and moving it would collide, creating it in B does not.
        await a.createBridge('eth0');
        const host = await a.createVeth('vethwh0', { name: 'eth0', netns: h.bRef, mtu: 1400 }, { mtu: 1400 });
        expect(host).toMatchObject({ name: 'vethwh0', kind: 'veth', mtu: 1400 });
        const peer = await b.getLink('eth0');
        expect(peer).toMatchObject({ name: 'eth0', kind: 'veth', mtu: 1400 });
        expect(host.peerIndex).toBe(peer!.index);
        expect(await a.getLink('eth0')).toMatchObject({ kind: 'bridge' });
      });

      it('veth carrier is up only when both ends are up', async () => {
        await a.createVeth('vethwh0', { name: 'eth0', netns: h.bRef }, { up: true });
        expect((await a.getLink('vethwh0'))!.operState).not.toBe('up');
        await b.setLink('eth0', { up: true });
        await expect.poll(async () => (await a.getLink('vethwh0'))!.operState, { timeout: 3000 }).toBe('up');
      });

      it('deleting one end of a veth removes the peer in the other namespace', async () => {
        await a.createVeth('vethwh0', { name: 'eth0', netns: h.bRef });
        expect(await a.deleteLink('vethwh0')).toBe(true);
        expect(await a.getLink('vethwh0')).toBeUndefined();
        expect(await b.getLink('eth0')).toBeUndefined();
      });

      it('changes mtu, mac, state and name; a taken name is EEXIST', async () => {
        const br = await a.createBridge('wbr0');
        await a.setLink('wbr0', { mtu: 1300, mac: '02:AA:bb:cc:dd:01' });
        expect(await a.getLink(br.index)).toMatchObject({ mtu: 1300, mac: '02:aa:bb:cc:dd:01', up: false });
        await a.setLink(br.index, { name: 'wbr1' });
        expect(await a.getLink('wbr1')).toMatchObject({ index: br.index });
        expect(await a.getLink('wbr0')).toBeUndefined();
        await a.setLink('wbr1', { up: true });
        expect((await a.getLink('wbr1'))!.up).toBe(true);
        await a.setLink('wbr1', { up: false });
        expect((await a.getLink('wbr1'))!.up).toBe(false);
        await a.createBridge('wbr3');
        await expectErrno(a.setLink('wbr1', { name: 'wbr3' }), 'EEXIST');
      });

      it('enslaves a port to a bridge, sets hairpin on it, and releases it', async () => {
        const br = await a.createBridge('wbr0', { up: true });
        await a.createVeth('vethwh0', { name: 'eth0', netns: h.bRef });
        await a.setLink('vethwh0', { master: 'wbr0', up: true });
        let port = await a.getLink('vethwh0');
        expect(port!.masterIndex).toBe(br.index);
        expect(port!.bridgePort).toMatchObject({ hairpin: false });
        await a.setBridgePort('vethwh0', { hairpin: true });
        port = await a.getLink('vethwh0');
        expect(port!.bridgePort).toMatchObject({ hairpin: true });
        await a.setLink('vethwh0', { master: null });
        port = await a.getLink('vethwh0');
        expect(port!.masterIndex).toBeUndefined();
      });

      it('moves a veth end into another namespace; a bridge cannot move (EINVAL)', async () => {
        await a.createVeth('vethmv0', { name: 'vethmv1' });
        await a.setLink('vethmv1', { netns: h.bRef });
        expect(await a.getLink('vethmv1')).toBeUndefined();
        expect(await b.getLink('vethmv1')).toMatchObject({ kind: 'veth', up: false });
        expect((await a.getLink('vethmv0'))!.peerIndex).toBe((await b.getLink('vethmv1'))!.index);
        await a.createBridge('wbr0');
        await expectErrno(a.setLink('wbr0', { netns: h.bRef }), 'EINVAL');
      });

      it('creates a VXLAN device with VNI, port, local address and learning off', async () => {
        const vx = await a.createVxlan('vxw0', {
          vni: 4242,
          port: 6784,
          local: '198.18.7.1',
          learning: false,
          mtu: 1400,
        });
        expect(vx).toMatchObject({ kind: 'vxlan', mtu: 1400 });
        expect(vx.vxlan).toEqual({ vni: 4242, port: 6784, local: '198.18.7.1', learning: false });
      });
    });

    describe('addresses', () => {
      it('adds, lists and deletes an address; duplicates are EEXIST unless existOk', async () => {
        await a.createBridge('wbr0', { up: true });
        expect(await a.addAddress('wbr0', '10.32.0.1/12')).toBe(true);
        const listed = await a.listAddresses('wbr0');
        expect(listed.map((x) => x.cidr)).toEqual(['10.32.0.1/12']);
        expect(isExists(await failure(a.addAddress('wbr0', '10.32.0.1/12')))).toBe(true);
        expect(await a.addAddress('wbr0', '10.32.0.1/12', { existOk: true })).toBe(false);
        expect(await a.deleteAddress('wbr0', '10.32.0.1/12')).toBe(true);
        expect(await a.listAddresses('wbr0')).toEqual([]);
        expect(isNotFound(await failure(a.deleteAddress('wbr0', '10.32.0.1/12')))).toBe(true);
        expect(await a.deleteAddress('wbr0', '10.32.0.1/12', { missingOk: true })).toBe(false);
      });

      it('adds the prefix route while the link is up, and not with noPrefixRoute', async () => {
        const br = await a.createBridge('wbr0', { up: true });
        await a.addAddress('wbr0', '10.32.0.1/12');
        await a.createBridge('wbr1', { up: true });
        await a.addAddress('wbr1', '10.64.0.1/16', { noPrefixRoute: true });
        const routes = await a.listRoutes();
        expect(routes).toContainEqual(
          expect.objectContaining({ dst: '10.32.0.0/12', devIndex: br.index, scope: 'link', protocol: 2 }),
        );
        expect(routes.some((r) => r.dst === '10.64.0.0/16')).toBe(false);
      });

      it('an address on a missing link is not-found', async () => {
        expect(isNotFound(await failure(a.addAddress('nosuch0', '10.32.0.1/12')))).toBe(true);
      });
    });

    describe('routes', () => {
      async function linkWithAddress(): Promise<number> {
        const br = await a.createBridge('wbr0', { up: true });
        await a.addAddress('wbr0', '10.32.0.1/12');
        return br.index;
      }

      it('adds a default route via a gateway on a link, idempotently with existOk', async () => {
        const index = await linkWithAddress();
        expect(await a.addRoute({ dst: '0.0.0.0/0', gateway: '10.32.0.254' })).toBe(true);
        expect(await a.listRoutes()).toContainEqual(
          expect.objectContaining({
            dst: '0.0.0.0/0',
            gateway: '10.32.0.254',
            devIndex: index,
            scope: 'universe',
          }),
        );
        expect(isExists(await failure(a.addRoute({ dst: '0.0.0.0/0', gateway: '10.32.0.254' })))).toBe(true);
        expect(await a.addRoute({ dst: '0.0.0.0/0', gateway: '10.32.0.254' }, { existOk: true })).toBe(false);
      });

      it('replaces a route to the same destination', async () => {
        await linkWithAddress();
        await a.addRoute({ dst: '10.96.0.0/12', gateway: '10.32.0.2' });
        expect(await a.addRoute({ dst: '10.96.0.0/12', gateway: '10.32.0.3' }, { replace: true })).toBe(true);
        const to = (await a.listRoutes()).filter((r) => r.dst === '10.96.0.0/12');
        expect(to.map((r) => r.gateway)).toEqual(['10.32.0.3']);
      });

      it('adds the multicast route on a device with link scope', async () => {
        const index = await linkWithAddress();
        await a.addRoute({ dst: '224.0.0.0/4', dev: 'wbr0' });
        expect(await a.listRoutes()).toContainEqual(
          expect.objectContaining({ dst: '224.0.0.0/4', devIndex: index, scope: 'link', protocol: 4 }),
        );
      });

      it('deletes a route; a missing one is not-found unless missingOk', async () => {
        await linkWithAddress();
        await a.addRoute({ dst: '10.96.0.0/12', dev: 'wbr0' });
        expect(await a.deleteRoute({ dst: '10.96.0.0/12', dev: 'wbr0' })).toBe(true);
        expect((await a.listRoutes()).some((r) => r.dst === '10.96.0.0/12')).toBe(false);
        expect(isNotFound(await failure(a.deleteRoute({ dst: '10.96.0.0/12', dev: 'wbr0' })))).toBe(true);
        expect(await a.deleteRoute({ dst: '10.96.0.0/12' }, { missingOk: true })).toBe(false);
      });

      it('refuses a gateway that no link reaches (ENETUNREACH) and a device that is down (ENETDOWN)', async () => {
        await linkWithAddress();
        await expectErrno(a.addRoute({ dst: '10.96.0.0/12', gateway: '192.0.2.1' }), 'ENETUNREACH');
        await a.createBridge('wbr1');
        await expectErrno(a.addRoute({ dst: '10.96.0.0/12', dev: 'wbr1' }), 'ENETDOWN');
      });

      it('drops routes through a link when it goes down', async () => {
        await linkWithAddress();
        await a.addRoute({ dst: '10.96.0.0/12', dev: 'wbr0' });
        await a.setLink('wbr0', { up: false });
        const routes = await a.listRoutes();
        expect(routes.some((r) => r.dst === '10.96.0.0/12' || r.dst === '10.32.0.0/12')).toBe(false);
      });

      it('keeps tables apart', async () => {
        await linkWithAddress();
        await a.addRoute({ dst: '10.96.0.0/12', dev: 'wbr0', table: 1000 });
        expect((await a.listRoutes({ table: 1000 })).map((r) => r.dst)).toEqual(['10.96.0.0/12']);
        expect((await a.listRoutes()).some((r) => r.dst === '10.96.0.0/12')).toBe(false);
      });
    });

    describe('forwarding database', () => {
      const ZERO = '00:00:00:00:00:00';

      it('appends all-zeros flood entries to several VTEPs and deletes one by destination', async () => {
        const vx = await a.createVxlan('vxw0', { vni: 42, port: 6784, learning: false });
        await a.addFdb({ link: 'vxw0', mac: ZERO, where: 'self', dst: '198.18.0.2' }, { mode: 'append' });
        await a.addFdb({ link: 'vxw0', mac: ZERO, where: 'self', dst: '198.18.0.3' }, { mode: 'append' });
        const flood = async () =>
          (await a.listFdb({ link: 'vxw0', where: 'self' }))
            .filter((e) => e.mac === ZERO)
            .map((e) => e.dst)
            .sort();
        expect(await flood()).toEqual(['198.18.0.2', '198.18.0.3']);
        expect((await a.listFdb({ link: vx.index })).every((e) => e.linkIndex === vx.index)).toBe(true);
        expect(await a.deleteFdb({ link: 'vxw0', mac: ZERO, where: 'self', dst: '198.18.0.2' })).toBe(true);
        expect(await flood()).toEqual(['198.18.0.3']);
      });

      it('replaces the VTEP of a unicast MAC; create mode refuses an existing MAC', async () => {
        await a.createVxlan('vxw0', { vni: 42, port: 6784 });
        const mac = '02:00:0a:20:00:05';
        await a.addFdb({ link: 'vxw0', mac, where: 'self', dst: '198.18.0.2' });
        await a.addFdb({ link: 'vxw0', mac: mac.toUpperCase(), where: 'self', dst: '198.18.0.3' });
        const entries = (await a.listFdb({ link: 'vxw0' })).filter((e) => e.mac === mac);
        expect(entries).toEqual([
          expect.objectContaining({ mac, dst: '198.18.0.3', state: 'permanent', where: 'self' }),
        ]);
        expect(
          isExists(
            await failure(
              a.addFdb({ link: 'vxw0', mac, where: 'self', dst: '198.18.0.4' }, { mode: 'create' }),
            ),
          ),
        ).toBe(true);
      });

      it('a missing entry is not-found on delete unless missingOk', async () => {
        await a.createVxlan('vxw0', { vni: 42, port: 6784 });
        const entry = { link: 'vxw0', mac: '02:00:00:00:00:09', where: 'self' as const, dst: '198.18.0.2' };
        expect(isNotFound(await failure(a.deleteFdb(entry)))).toBe(true);
        expect(await a.deleteFdb(entry, { missingOk: true })).toBe(false);
      });

      it('adds a static entry to the bridge table for one of its ports', async () => {
        const br = await a.createBridge('wbr0', { up: true });
        const port = await a.createVeth('vethwh0', { name: 'eth0', netns: h.bRef });
        await a.setLink('vethwh0', { master: 'wbr0' });
        await a.addFdb({ link: 'vethwh0', mac: '02:00:00:00:00:42', where: 'master' });
        const entries = await a.listFdb({ link: 'vethwh0', where: 'master' });
        expect(entries).toContainEqual(
          expect.objectContaining({
            mac: '02:00:00:00:00:42',
            linkIndex: port.index,
            masterIndex: br.index,
            state: 'static',
          }),
        );
        expect(await a.deleteFdb({ link: 'vethwh0', mac: '02:00:00:00:00:42', where: 'master' })).toBe(true);
        const after = await a.listFdb({ link: 'vethwh0', where: 'master' });
        expect(after.some((e) => e.mac === '02:00:00:00:00:42')).toBe(false);
      });
    });

    describe('neighbours', () => {
      it('sets, replaces, lists and deletes a permanent ARP entry', async () => {
        const br = await a.createBridge('wbr0', { up: true });
        await a.addAddress('wbr0', '10.32.0.1/12');
        await a.setNeighbor({ link: 'wbr0', ip: '10.32.0.9', mac: '02:00:00:00:00:09' });
        await a.setNeighbor({ link: 'wbr0', ip: '10.32.0.9', mac: '02:00:00:00:00:0A' });
        const mine = (await a.listNeighbors('wbr0')).filter((n) => n.ip === '10.32.0.9');
        expect(mine).toEqual([
          { linkIndex: br.index, ip: '10.32.0.9', mac: '02:00:00:00:00:0a', state: 'permanent' },
        ]);
        expect(await a.deleteNeighbor({ link: 'wbr0', ip: '10.32.0.9' })).toBe(true);
        expect((await a.listNeighbors('wbr0')).some((n) => n.ip === '10.32.0.9')).toBe(false);
        expect(isNotFound(await failure(a.deleteNeighbor({ link: 'wbr0', ip: '10.32.0.9' })))).toBe(true);
        expect(await a.deleteNeighbor({ link: 'wbr0', ip: '10.32.0.9' }, { missingOk: true })).toBe(false);
      });
    });

    describe('concurrency', () => {
      it('serves many concurrent calls, listings among them, on one adapter', async () => {
        await a.createBridge('wbr0', { up: true });
        await a.addAddress('wbr0', '10.32.0.1/12');
        const names = Array.from({ length: 12 }, (_, i) => `vethc${i}`);
        const results = await Promise.all([
          ...names.map((n) => a.createVeth(n, { name: `p${n}` })),
          ...names.map(() => a.listLinks()),
          ...names.map(() => a.listRoutes()),
          ...names.map(() => a.listAddresses()),
          a.listFdb(),
        ]);
        expect(results).toHaveLength(4 * names.length + 1);
        const links = (await a.listLinks()).map((l) => l.name);
        expect(links).toEqual(expect.arrayContaining(names));
      });
    });

    describe('sysctl and isolation', () => {
      it('reads and writes sysctls of its own namespace only', async () => {
        await a.setSysctl('net.ipv4.ip_forward', 1);
        expect(await a.getSysctl('net/ipv4/ip_forward')).toBe('1');
        expect(await b.getSysctl('net.ipv4.ip_forward')).toBe('0');
        await a.createBridge('wbr0');
        await a.setSysctl('net/ipv4/conf/wbr0/forwarding', '1');
        expect(await a.getSysctl('net/ipv4/conf/wbr0/forwarding')).toBe('1');
        expect(isNotFound(await failure(a.setSysctl('net/ipv4/conf/nosuch0/forwarding', 1)))).toBe(true);
      });

      it('sees only the links of its own namespace', async () => {
        await a.createBridge('wbr0');
        expect(await b.getLink('wbr0')).toBeUndefined();
        expect((await b.listLinks()).map((l) => l.name)).toEqual(['lo']);
      });
    });
  });
}
