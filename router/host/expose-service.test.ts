/**
 * ExposeService over the fake kernel, an in-memory nft and an in-memory IPAM:
 * which addresses the host gets and gives back, what the table says, and that
 * a failed expose returns what it took.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type Cidr, formatCidr, formatIp } from '../../common/ip.js';
import { nullLogger } from '../../common/logger.js';
import { FakeKernelWorld } from '../kernel/fake-kernel.js';
import type { KernelNet } from '../kernel/kernel-net.js';
import type { NftObject } from '../kernel/nftables.js';
import { EXPOSE_ID } from './attachment-ids.js';
import { type ExposeIpam, ExposeService } from './expose-service.js';

/** Table `ip weft` as the rules' comments are all expose reads back. */
class MemoryNft {
  body: string | undefined;
  async applyTable(_f: string, _t: string, body: string) {
    this.body = body;
  }
  async deleteTable() {
    const had = this.body !== undefined;
    this.body = undefined;
    return had;
  }
  async listTable(): Promise<NftObject[] | undefined> {
    if (this.body === undefined) return undefined;
    return [...this.body.matchAll(/comment "([^"]*)"/g)].map((m) => ({ rule: { comment: m[1] } }));
  }
}

class MemoryIpam implements ExposeIpam {
  readonly held: string[] = [];
  next = 1;
  async allocate(id: string, subnet?: Cidr) {
    expect(id).toBe(EXPOSE_ID);
    const s = subnet ?? { addr: 0x0a200000, prefix: 12 };
    const address = `${formatIp(s.addr + this.next++)}/${s.prefix}`;
    this.held.push(address);
    return { address };
  }
  async claim(_id: string, ip: number, prefix: number) {
    const address = `${formatIp(ip)}/${prefix}`;
    if (!this.held.includes(address)) this.held.push(address);
    return { address };
  }
  async release(_id: string, ip?: number) {
    const gone = this.held.filter((a) => ip === undefined || a.startsWith(`${formatIp(ip)}/`));
    for (const g of gone) this.held.splice(this.held.indexOf(g), 1);
    return { released: gone };
  }
  lookup() {
    return this.held.map((address) => ({ address }));
  }
  status() {
    return { range: '10.32.0.0/12', defaultSubnet: '10.32.0.0/12' };
  }
}

let world: FakeKernelWorld;
let kernel: KernelNet;
let nft: MemoryNft;
let ipam: MemoryIpam;
let svc: ExposeService;

beforeEach(async () => {
  world = new FakeKernelWorld();
  kernel = world.createNamespace('host').kernel;
  await kernel.createBridge('weft', { mtu: 1376, up: true });
  nft = new MemoryNft();
  ipam = new MemoryIpam();
  svc = new ExposeService({ ipam: () => ipam, deps: { kernel, nft }, logger: nullLogger });
});

const bridgeAddresses = async () => (await kernel.listAddresses('weft')).map((a) => a.cidr).sort();

describe('weft expose / hide in the router', () => {
  it('expose: an address from the default subnet on the bridge, masqueraded; again: the same one', async () => {
    expect(await svc.expose({ cidrs: [], masquerade: true })).toEqual({
      addresses: ['10.32.0.1/12'],
      masqueraded: ['10.32.0.0/12'],
    });
    expect(await svc.expose({ cidrs: [], masquerade: true })).toEqual({
      addresses: ['10.32.0.1/12'],
      masqueraded: ['10.32.0.0/12'],
    });
    expect(ipam.held).toEqual(['10.32.0.1/12']);
    expect(await bridgeAddresses()).toEqual(['10.32.0.1/12']);
    expect(await kernel.getSysctl('net.ipv4.ip_forward')).toBe('1');
  });

  it('a subnet allocates in it, an address is claimed, net: forces a subnet; without masquerade no rule', async () => {
    const s = await svc.expose({ cidrs: ['10.40.1.0/24', '10.44.0.7/16'], masquerade: false });
    expect(s).toEqual({ addresses: ['10.40.1.1/24', '10.44.0.7/16'], masqueraded: [] });
    expect(nft.body).toBeUndefined();
    const t = await svc.expose({ cidrs: ['net:10.46.0.0/16'], masquerade: true });
    expect(t.masqueraded).toEqual(['10.46.0.0/16']);
  });

  it('hide with no argument takes every host address off and releases them; the table goes', async () => {
    await svc.expose({ cidrs: ['10.40.1.0/24', '10.32.0.0/12'], masquerade: true });
    expect(await svc.hide({ cidrs: [] })).toEqual({ addresses: [], masqueraded: [] });
    expect(ipam.held).toEqual([]);
    expect(await bridgeAddresses()).toEqual([]);
    expect(nft.body).toBeUndefined();
  });

  it('hide of one subnet leaves the others, their addresses and their rules', async () => {
    await svc.expose({ cidrs: ['10.40.1.0/24', '10.32.0.0/12'], masquerade: true });
    const s = await svc.hide({ cidrs: ['10.40.1.0/24'] });
    expect(s).toEqual({ addresses: ['10.32.0.2/12'], masqueraded: ['10.32.0.0/12'] });
    expect(ipam.held).toEqual(['10.32.0.2/12']);
  });

  it('a failure after allocating gives the new address back; bad input is INVALID_CIDR / OUT_OF_RANGE', async () => {
    world.failNext('addAddress', 'EPERM');
    await expect(svc.expose({ cidrs: [], masquerade: true })).rejects.toThrow(/EPERM/);
    expect(ipam.held).toEqual([]);
    await expect(svc.expose({ cidrs: ['10.32.0.1'], masquerade: true })).rejects.toMatchObject({
      code: 'INVALID_CIDR',
    });
    await expect(svc.expose({ cidrs: ['net:10.32.0.1/12'], masquerade: true })).rejects.toMatchObject({
      code: 'INVALID_CIDR',
    });
    await expect(svc.expose({ cidrs: ['192.168.7.1/24'], masquerade: true })).rejects.toMatchObject({
      code: 'OUT_OF_RANGE',
    });
    expect(ipam.held).toEqual([]);
  });

  it('concurrent exposes run one at a time: both subnets end up in the table', async () => {
    const [a, b] = await Promise.all([
      svc.expose({ cidrs: ['10.40.1.0/24'], masquerade: true }),
      svc.expose({ cidrs: ['10.40.2.0/24'], masquerade: true }),
    ]);
    expect(a.masqueraded).toEqual(['10.40.1.0/24']);
    expect(b.masqueraded).toEqual(['10.40.1.0/24', '10.40.2.0/24']);
  });

  it('without a bridge it is NOT_FOUND; without IPAM it says so', async () => {
    await kernel.deleteLink('weft');
    await expect(svc.state()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const none = new ExposeService({ ipam: () => undefined, deps: { kernel, nft }, logger: nullLogger });
    await expect(none.expose({ cidrs: [], masquerade: true })).rejects.toThrow(/without IPAM/);
    expect(formatCidr({ addr: 0x0a200000, prefix: 12 })).toBe('10.32.0.0/12');
  });
});
