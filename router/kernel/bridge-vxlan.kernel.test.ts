/**
 * The data-plane building blocks, programmed only through KernelNet, carrying
 * real traffic in lab namespaces:
 *
 *   bridge:  c1 ──veth── [weft bridge in h1] ──veth── c2          ping c1 → c2, c1 → bridge
 *
 *   VXLAN:   c1 ── weft(h1) ── vxlan ══ UDP 6784 over the underlay ══ vxlan ── weft(h2) ── c2
 *            learning off; forwarding entries programmed by hand
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachContainer,
  type Container,
  closeTestNs,
  openTestNs,
  pings,
  type TestNs,
} from '../../test/netns/kernel-test-topology.js';
import { Lab } from '../../test/netns/lab.js';

const ZERO_MAC = '00:00:00:00:00:00';

describe('bridge, veth, addresses and routes', () => {
  let lab: Lab;
  let h1: TestNs;
  let c1: Container;
  let c2: Container;

  beforeAll(async () => {
    lab = await Lab.create(1);
    h1 = openTestNs(lab.host(1).ns);
    await h1.kernel.createBridge('weft', { mtu: 1376, up: true });
    await h1.kernel.addAddress('weft', '10.32.0.254/12');
    c1 = await attachContainer(lab, h1, 'c1', {
      bridge: 'weft',
      hostIf: 'vethwl1',
      cidr: '10.32.0.1/12',
      mtu: 1376,
      gateway: '10.32.0.254',
    });
    c2 = await attachContainer(lab, h1, 'c2', {
      bridge: 'weft',
      hostIf: 'vethwl2',
      cidr: '10.32.0.2/12',
      mtu: 1376,
    });
  });
  afterAll(async () => {
    closeTestNs(h1, c1, c2);
    await lab?.cleanup();
  });

  it('containers on the bridge reach each other and the bridge address', async () => {
    expect(await pings(lab, c1, '10.32.0.2')).toBe(true);
    expect(await pings(lab, c2, '10.32.0.1')).toBe(true);
    expect(await pings(lab, c1, '10.32.0.254')).toBe(true);
  });

  it('the container sees what was programmed: mtu, address, default and multicast routes', async () => {
    const eth0 = await c1.kernel.getLink('eth0');
    expect(eth0).toMatchObject({ mtu: 1376, up: true, kind: 'veth' });
    expect((await c1.kernel.listAddresses('eth0')).map((a) => a.cidr)).toEqual(['10.32.0.1/12']);
    const routes = await c1.kernel.listRoutes();
    expect(routes).toContainEqual(expect.objectContaining({ dst: '0.0.0.0/0', gateway: '10.32.0.254' }));
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: '224.0.0.0/4', scope: 'link', devIndex: eth0!.index }),
    );
    // ...and `ip` agrees (the only place `ip` is used: to check our work).
    expect(await lab.ipIn(c1.name, ['route', 'show', '224.0.0.0/4'])).toContain('dev eth0');
  });

  it('the bridge learned both containers behind their ports', async () => {
    const learned = await h1.kernel.listFdb({ where: 'master' });
    const port1 = await h1.kernel.getLink('vethwl1');
    expect(learned).toContainEqual(
      expect.objectContaining({ mac: c1.mac, linkIndex: port1!.index, state: 'dynamic' }),
    );
  });

  it('hairpin on a port is visible to `bridge`', async () => {
    await h1.kernel.setBridgePort('vethwl2', { hairpin: true });
    expect((await h1.kernel.getLink('vethwl2'))!.bridgePort?.hairpin).toBe(true);
    expect(await lab.mustExec(h1.name, 'bridge', ['-d', 'link', 'show', 'dev', 'vethwl2'])).toMatch(
      /hairpin on/,
    );
  });

  it('deleting the host end removes the container interface and its routes', async () => {
    await h1.kernel.deleteLink('vethwl2');
    expect(await c2.kernel.getLink('eth0')).toBeUndefined();
    expect((await c2.kernel.listRoutes()).length).toBe(0);
    expect(await pings(lab, c1, '10.32.0.2', 1)).toBe(false);
  });
});

describe('VXLAN between two hosts with hand-programmed forwarding entries', () => {
  let lab: Lab;
  let h1: TestNs;
  let h2: TestNs;
  let c1: Container;
  let c2: Container;

  beforeAll(async () => {
    lab = await Lab.create(2);
    h1 = openTestNs(lab.host(1).ns);
    h2 = openTestNs(lab.host(2).ns);
    const sides: [TestNs, string, string, string][] = [
      [h1, lab.host(1).ip, 'c1', '10.32.0.1/12'],
      [h2, lab.host(2).ip, 'c2', '10.32.0.2/12'],
    ];
    const containers: Container[] = [];
    for (const [h, local, suffix, cidr] of sides) {
      await h.kernel.createBridge('weft', { mtu: 1376, up: true });
      await h.kernel.createVxlan('vxlan-6784', {
        vni: 0x5eed,
        port: 6784,
        local,
        learning: false,
        mtu: 1376,
      });
      await h.kernel.setLink('vxlan-6784', { master: 'weft', up: true });
      containers.push(
        await attachContainer(lab, h, suffix, { bridge: 'weft', hostIf: `vethw${suffix}`, cidr, mtu: 1376 }),
      );
    }
    [c1, c2] = containers as [Container, Container];
  });
  afterAll(async () => {
    closeTestNs(h1, h2, c1, c2);
    await lab?.cleanup();
  });

  it('carries nothing before forwarding entries exist (learning is off, no flood list)', async () => {
    expect(await pings(lab, c1, '10.32.0.2', 1)).toBe(false);
  });

  it('carries ARP and ping once each VXLAN floods to the other host', async () => {
    await h1.kernel.addFdb(
      { link: 'vxlan-6784', mac: ZERO_MAC, where: 'self', dst: lab.host(2).ip },
      { mode: 'append' },
    );
    await h2.kernel.addFdb(
      { link: 'vxlan-6784', mac: ZERO_MAC, where: 'self', dst: lab.host(1).ip },
      { mode: 'append' },
    );
    expect(await pings(lab, c1, '10.32.0.2')).toBe(true);
    expect(await pings(lab, c2, '10.32.0.1')).toBe(true);
  });

  it('unicast MAC entries alone carry traffic once the flood entries are gone (static ARP)', async () => {
    await h1.kernel.deleteFdb({ link: 'vxlan-6784', mac: ZERO_MAC, where: 'self', dst: lab.host(2).ip });
    await h2.kernel.deleteFdb({ link: 'vxlan-6784', mac: ZERO_MAC, where: 'self', dst: lab.host(1).ip });
    await h1.kernel.addFdb({ link: 'vxlan-6784', mac: c2.mac, where: 'self', dst: lab.host(2).ip });
    await h2.kernel.addFdb({ link: 'vxlan-6784', mac: c1.mac, where: 'self', dst: lab.host(1).ip });
    await c1.kernel.setNeighbor({ link: 'eth0', ip: '10.32.0.2', mac: c2.mac });
    await c2.kernel.setNeighbor({ link: 'eth0', ip: '10.32.0.1', mac: c1.mac });
    expect((await c1.kernel.listNeighbors('eth0')).find((n) => n.ip === '10.32.0.2')).toMatchObject({
      mac: c2.mac,
      state: 'permanent',
    });
    expect(await pings(lab, c1, '10.32.0.2')).toBe(true);
    // Point c2's MAC at a host that is not there: traffic stops.
    await h1.kernel.addFdb({ link: 'vxlan-6784', mac: c2.mac, where: 'self', dst: '198.18.0.77' });
    expect(await pings(lab, c1, '10.32.0.2', 1)).toBe(false);
  });
});
