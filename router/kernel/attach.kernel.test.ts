/**
 * attach.ts on the real kernel: the veth pair with its container end born in
 * the container's namespace, plugged into the bridge with hairpin, addresses
 * and routes inside, detach by the host name alone, and the failure paths
 * (nothing left behind).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWeftError } from '../../common/errors.js';
import { closeTestNs, openTestNs, type TestNs } from '../../test/netns/kernel-test-topology.js';
import { Lab } from '../../test/netns/lab.js';
import {
  attachVeth,
  configureContainerInterface,
  detachVeth,
  ensureBridge,
  observeAttachment,
} from './attach.js';

let lab: Lab;
let host: TestNs;
let ctrA: TestNs;
let ctrB: TestNs;

beforeAll(async () => {
  lab = await Lab.create(1);
  host = openTestNs(lab.host(1).ns);
  ctrA = openTestNs(await lab.addNamespace('ca'));
  ctrB = openTestNs(await lab.addNamespace('cb'));
});
afterAll(async () => {
  closeTestNs(host, ctrA, ctrB);
  await lab?.cleanup();
});

const ipIn = (ns: string, ...args: string[]) => lab.ipIn(ns, args);

describe('attachVeth / configureContainerInterface / detachVeth', () => {
  it('without the bridge and create:false it refuses (the router owns the bridge)', async () => {
    const e = await ensureBridge(host.kernel, 'weftx', { create: false }).catch((x: unknown) => x);
    expect(isWeftError(e) && e.code).toBe('ROUTER_UNAVAILABLE');
  });

  it('concurrent creators of the bridge all succeed and share one bridge', async () => {
    const sockets = Array.from({ length: 8 }, () => openTestNs(lab.host(1).ns));
    try {
      const links = await Promise.all(
        sockets.map((s) => ensureBridge(s.kernel, 'weft', { create: true, mtu: 1376 })),
      );
      expect(new Set(links.map((l) => l.index)).size).toBe(1);
    } finally {
      closeTestNs(...sockets);
    }
    expect(await ipIn(lab.host(1).ns, '-d', 'link', 'show', 'weft')).toMatch(
      /mtu 1376 .*state UP|UP.*mtu 1376/s,
    );
  });

  it('attaches A and B, they ping each other over the bridge, hairpin is on, MTU follows the bridge', async () => {
    for (const [ctr, hostVeth, addr] of [
      [ctrA, 'wfctestaaaaaaaa', '10.32.0.10/12'],
      [ctrB, 'wfctestbbbbbbbb', '10.32.0.11/12'],
    ] as const) {
      const att = await attachVeth(host.kernel, {
        bridge: 'weft',
        createBridge: false,
        hostVeth,
        containerIf: 'eth0',
        netns: ctr.ref,
        hairpin: true,
      });
      expect(att.mtu).toBe(1376);
      const link = await configureContainerInterface(ctr.kernel, 'eth0', [addr], [{ dst: '224.0.0.0/4' }]);
      expect(link).toMatchObject({ name: 'eth0', up: true, mtu: 1376 });
    }
    const brport = await ipIn(lab.host(1).ns, '-d', 'link', 'show', 'wfctestaaaaaaaa');
    expect(brport).toContain('master weft');
    expect(brport).toContain('hairpin on');
    expect(await ipIn(ctrA.name, 'route', 'show')).toContain('224.0.0.0/4 dev eth0');
    const ping = await lab.exec(ctrA.name, 'ping', ['-c', '1', '-W', '2', '10.32.0.11']);
    expect(ping.code).toBe(0);
  });

  it('observeAttachment sees what CHECK compares', async () => {
    const o = await observeAttachment(host.kernel, ctrA.kernel, {
      bridge: 'weft',
      hostVeth: 'wfctestaaaaaaaa',
      containerIf: 'eth0',
    });
    expect(o.host?.masterIndex).toBe(o.bridge?.index);
    expect(o.containerAddresses).toContain('10.32.0.10/12');
    expect(o.containerRoutes.map((r) => r.dst)).toContain('224.0.0.0/4');
  });

  it('a second attach of the same host name fails with EEXIST and leaves the first intact', async () => {
    const e = await attachVeth(host.kernel, {
      bridge: 'weft',
      createBridge: false,
      hostVeth: 'wfctestaaaaaaaa',
      containerIf: 'eth1',
      netns: ctrA.ref,
      hairpin: false,
    }).catch((x: unknown) => x);
    expect(isWeftError(e) && e.details?.errno).toBe('EEXIST');
    expect(await ipIn(ctrA.name, 'link', 'show')).not.toContain('eth1');
    expect((await lab.exec(ctrA.name, 'ping', ['-c', '1', '-W', '2', '10.32.0.11'])).code).toBe(0);
  });

  it('a container that already has the interface name: EEXIST, no host veth left behind', async () => {
    const e = await attachVeth(host.kernel, {
      bridge: 'weft',
      createBridge: false,
      hostVeth: 'wfctestcccccccc',
      containerIf: 'eth0',
      netns: ctrA.ref,
      hairpin: false,
    }).catch((x: unknown) => x);
    expect(isWeftError(e) && e.details?.errno).toBe('EEXIST');
    expect(await ipIn(lab.host(1).ns, 'link', 'show')).not.toContain('wfctestcccccccc');
  });

  it('detach by the host name removes both ends; again is a no-op', async () => {
    expect(await detachVeth(host.kernel, 'wfctestbbbbbbbb')).toBe(true);
    expect(await ipIn(ctrB.name, 'link', 'show')).not.toContain('eth0');
    expect(await ipIn(lab.host(1).ns, 'link', 'show')).not.toContain('wfctestbbbbbbbb');
    expect(await detachVeth(host.kernel, 'wfctestbbbbbbbb')).toBe(false);
  });

  it('refuses to "detach" something that is not a veth', async () => {
    const e = await detachVeth(host.kernel, 'weft').catch((x: unknown) => x);
    expect(isWeftError(e)).toBe(true);
    expect(await ipIn(lab.host(1).ns, 'link', 'show', 'weft')).toContain('weft');
  });
});

describe('bridge MTU', () => {
  it('a bridge we create keeps its MTU when its last port leaves', async () => {
    const br = await ensureBridge(host.kernel, 'wftmtu', { create: true, mtu: 1400 });
    expect(br.mtu).toBe(1400);
    await attachVeth(host.kernel, {
      bridge: 'wftmtu',
      createBridge: false,
      hostVeth: 'wfctestmtu00000',
      containerIf: 'eth9',
      netns: ctrB.ref,
      hairpin: false,
    });
    await detachVeth(host.kernel, 'wfctestmtu00000');
    expect((await host.kernel.getLink('wftmtu'))?.mtu).toBe(1400);
    await host.kernel.deleteLink('wftmtu');
  });
});
