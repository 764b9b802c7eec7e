/**
 * Checklist §4 (what our result must contain) and §6 (the bridge plugin's
 * steps): the pure request → plan → result functions, table by table.
 */
import { describe, expect, it } from 'vitest';
import { parseWeftNetConfig, type WeftNetConfig } from '../../cni-plugin/config.js';
import { ATTACH_VETH_PREFIX, fnv1a64, hostVethName, isHostVethName } from '../../cni-plugin/naming.js';
import {
  type AddressingPlan,
  buildResult,
  CONTAINER_INTERFACE_INDEX,
  planAddressing,
  planDns,
  planInterfaces,
} from '../../cni-plugin/plan.js';
import type { CniEnv } from '../../cni-plugin/spec/env.js';
import { CniCode, CniError } from '../../cni-plugin/spec/errors.js';
import { parseNetConf } from '../../cni-plugin/spec/netconf.js';
import { type CniResult, emptyResult, encodeResult } from '../../cni-plugin/spec/result.js';

const env: CniEnv = {
  command: 'ADD',
  containerId: 'ctr1',
  netns: '/var/run/netns/ctr1',
  ifname: 'eth0',
  args: '',
  path: ['/opt/cni/bin'],
  netnsOverride: false,
};

function weftConf(extra: Record<string, unknown> = {}) {
  const conf = parseNetConf(
    JSON.stringify({ cniVersion: '1.0.0', name: 'weft', type: 'weft-net', ...extra }),
    'ADD',
  );
  return { conf, weft: parseWeftNetConfig(conf) };
}

function ipam(address = '10.32.0.5/12', more: Partial<CniResult> = {}): CniResult {
  return { ...emptyResult(), ips: [{ address }], ...more };
}

const bridge = { name: 'weft', mac: '02:00:00:00:00:01', addresses: [] as string[] };

describe('interfaces plan', () => {
  it.each([
    ['', 0xcbf29ce484222325n],
    ['a', 0xaf63dc4c8601ec8cn],
    ['foobar', 0x85944171f73967e8n],
  ])('FNV-1a 64 of %j matches the published test vector', (s, h) => {
    expect(fnv1a64(s)).toBe(h);
  });

  it('host veth name is deterministic, 15 bytes, ours, and differs per container and per ifname', () => {
    const a = hostVethName('ctr1', 'eth0');
    expect(a).toBe(hostVethName('ctr1', 'eth0'));
    expect(Buffer.byteLength(a)).toBe(15);
    expect(isHostVethName(a)).toBe(true);
    expect(hostVethName('ctr2', 'eth0')).not.toBe(a);
    expect(hostVethName('ctr1', 'eth1')).not.toBe(a);
    // The separator keeps ("ab","c") and ("a","bc") apart.
    expect(hostVethName('ab', 'c')).not.toBe(hostVethName('a', 'bc'));
    // `weft attach` names are of the same scheme but never taken for CNI ones (GC).
    const attach = hostVethName('ctr1', 'eth0', ATTACH_VETH_PREFIX);
    expect(attach.slice(3)).toBe(a.slice(3));
    expect(isHostVethName(attach)).toBe(false);
    expect(isHostVethName('wfcnothexnothex')).toBe(false);
  });

  it('defaults: bridge weft, hairpin on, bridge MTU, router-owned bridge', () => {
    const { weft } = weftConf();
    expect(planInterfaces(env, weft, undefined)).toStrictEqual({
      bridge: 'weft',
      createBridge: false,
      hostVeth: hostVethName('ctr1', 'eth0'),
      containerIf: 'eth0',
      netns: '/var/run/netns/ctr1',
      hairpin: true,
    });
  });

  it('config overrides: bridge, mtu, hairpin off, requested MAC; a delegated IPAM lets us create the bridge', () => {
    const { weft } = weftConf({ bridge: 'br9', mtu: 1400, hairpinMode: false, ipam: { type: 'host-local' } });
    expect(planInterfaces(env, weft, '02:aa:bb:cc:dd:ee')).toMatchObject({
      bridge: 'br9',
      createBridge: true,
      mtu: 1400,
      hairpin: false,
      mac: '02:aa:bb:cc:dd:ee',
    });
  });
});

describe('addressing plan: routes', () => {
  const dsts = (p: AddressingPlan) => p.routes.map((r) => (r.gw ? `${r.dst} via ${r.gw}` : r.dst));

  it('the overlay range route is always there, and only it by default (no default route)', () => {
    const p = planAddressing(weftConf().weft, ipam(), bridge);
    expect(dsts(p)).toStrictEqual(['10.32.0.0/12']);
    // The kernel adds the prefix route for the address itself: nothing to install.
    expect(p.kernelRoutes).toStrictEqual([]);
    expect(p.gateway).toBeUndefined();
  });

  it('a subnet address still gets the route for its own network', () => {
    const p = planAddressing(weftConf().weft, ipam('10.40.1.7/24'), bridge);
    expect(dsts(p)).toStrictEqual(['10.40.1.0/24']);
  });

  it('an address in a subnet of the range also gets the range, installed explicitly', () => {
    const p = planAddressing(
      weftConf().weft,
      ipam('10.32.1.5/24', { routes: [{ dst: '10.32.0.0/12' }] }),
      bridge,
    );
    expect(dsts(p)).toStrictEqual(['10.32.1.0/24', '10.32.0.0/12']);
    expect(p.kernelRoutes).toStrictEqual([{ dst: '10.32.0.0/12' }]);
  });

  it('multicast: 224.0.0.0/4 on the interface, installed explicitly', () => {
    const p = planAddressing(weftConf({ multicast: true }).weft, ipam(), bridge);
    expect(dsts(p)).toStrictEqual(['10.32.0.0/12', '224.0.0.0/4']);
    expect(p.kernelRoutes).toStrictEqual([{ dst: '224.0.0.0/4' }]);
  });

  it('defaultRoute with a configured gateway', () => {
    const p = planAddressing(weftConf({ defaultRoute: true, gateway: '10.32.0.1' }).weft, ipam(), bridge);
    expect(dsts(p)).toStrictEqual(['10.32.0.0/12', '0.0.0.0/0 via 10.32.0.1']);
    expect(p.gateway).toBe('10.32.0.1');
    expect(p.kernelRoutes).toStrictEqual([{ dst: '0.0.0.0/0', gw: '10.32.0.1' }]);
  });

  it('defaultRoute takes the bridge address in our subnet as gateway (weft expose)', () => {
    const p = planAddressing(weftConf({ defaultRoute: true }).weft, ipam(), {
      ...bridge,
      addresses: ['192.168.9.1/24', '10.32.0.1/12'],
    });
    expect(p.gateway).toBe('10.32.0.1');
    expect(dsts(p)).toContain('0.0.0.0/0 via 10.32.0.1');
  });

  it('defaultRoute without any gateway is a config error (7), not a silent on-link default', () => {
    try {
      planAddressing(weftConf({ defaultRoute: true }).weft, ipam(), bridge);
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).code).toBe(CniCode.INVALID_CONFIG);
    }
  });

  it("IPAM's gateway wins, and IPAM's default route without gw gets it", () => {
    const r = ipam('10.32.0.5/12', {
      routes: [{ dst: '0.0.0.0/0' }, { dst: '172.16.0.0/12', gw: '10.32.0.9' }],
    });
    r.ips[0]!.gateway = '10.32.0.2';
    const p = planAddressing(weftConf({ gateway: '10.32.0.1' }).weft, r, bridge);
    expect(p.gateway).toBe('10.32.0.2');
    expect(dsts(p)).toStrictEqual(['10.32.0.0/12', '0.0.0.0/0 via 10.32.0.2', '172.16.0.0/12 via 10.32.0.9']);
  });

  it('duplicate destinations appear once (the overlay route given again by IPAM)', () => {
    const p = planAddressing(
      weftConf().weft,
      ipam('10.32.0.5/12', { routes: [{ dst: '10.32.0.0/12' }] }),
      bridge,
    );
    expect(dsts(p)).toStrictEqual(['10.32.0.0/12']);
  });

  it('on-link routes are installed before routes via a gateway', () => {
    const p = planAddressing(
      weftConf({ multicast: true, defaultRoute: true, gateway: '10.32.0.1' }).weft,
      ipam('10.32.0.5/12', {
        routes: [{ dst: '172.16.0.0/12', gw: '10.32.0.9' }, { dst: '198.51.100.0/24' }],
      }),
      bridge,
    );
    const firstGw = p.kernelRoutes.findIndex((r) => r.gw);
    expect(p.kernelRoutes.slice(firstGw).every((r) => r.gw)).toBe(true);
    expect(p.kernelRoutes.slice(0, firstGw).map((r) => r.dst)).toStrictEqual([
      '198.51.100.0/24',
      '224.0.0.0/4',
    ]);
  });

  it.each([
    ['no address', emptyResult()],
    ['an IPv6 address', ipam('fd00::5/64')],
  ])('IPAM with %s is refused', (_n, r) => {
    expect(() => planAddressing(weftConf().weft, r, bridge)).toThrow(CniError);
  });
});

describe('DNS (runtimeConfig keys are case-insensitive)', () => {
  it.each([
    ['podman/CRI-O lowerCamel', { servers: ['10.32.0.10'], searches: ['svc.local'], options: ['ndots:5'] }],
    ['containerd Capitalised', { Servers: ['10.32.0.10'], Searches: ['svc.local'], Options: ['ndots:5'] }],
    ['SHOUTING', { SERVERS: ['10.32.0.10'], SEARCHES: ['svc.local'], OPTIONS: ['ndots:5'] }],
  ])('%s runtimeConfig.dns maps to nameservers/search/options', (_n, dns) => {
    const { conf } = weftConf({ runtimeConfig: { DNS: dns } });
    expect(planDns(conf, {})).toStrictEqual({
      nameservers: ['10.32.0.10'],
      search: ['svc.local'],
      options: ['ndots:5'],
    });
  });

  it('precedence: runtimeConfig over the config over IPAM', () => {
    const { conf } = weftConf({
      dns: { nameservers: ['1.1.1.1'], domain: 'cfg' },
      runtimeConfig: { dns: { servers: ['9.9.9.9'] } },
    });
    expect(planDns(conf, { nameservers: ['8.8.8.8'], search: ['ipam'] })).toStrictEqual({
      nameservers: ['9.9.9.9'],
      domain: 'cfg',
      search: ['ipam'],
    });
  });
});

describe('result for chaining (checklist §4)', () => {
  const facts = {
    bridge: { name: 'weft', mac: '02:00:00:00:00:01' },
    host: { name: hostVethName('ctr1', 'eth0'), mac: '02:00:00:00:00:02', mtu: 1376 },
    container: { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1376 },
  };

  function result(weft: WeftNetConfig = weftConf({ gateway: '10.32.0.1' }).weft) {
    const addressing = planAddressing(weft, ipam(), bridge);
    return buildResult(env.netns, facts, addressing, {});
  }

  it('interfaces = [bridge, host veth, container iface with mac + sandbox]', () => {
    const r = result();
    expect(r.interfaces).toStrictEqual([
      { name: 'weft', mac: '02:00:00:00:00:01' },
      { name: facts.host.name, mac: '02:00:00:00:00:02', mtu: 1376 },
      { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1376, sandbox: '/var/run/netns/ctr1' },
    ]);
    // bandwidth wants host links with an empty sandbox; portmap/firewall the sandboxed CNI_IFNAME.
    expect(r.interfaces.filter((i) => !i.sandbox).map((i) => i.name)).toStrictEqual([
      'weft',
      facts.host.name,
    ]);
  });

  it('every IP points at the container interface (interface: 2) and carries the gateway', () => {
    const r = result();
    expect(CONTAINER_INTERFACE_INDEX).toBe(2);
    expect(r.ips).toStrictEqual([{ address: '10.32.0.5/12', gateway: '10.32.0.1', interface: 2 }]);
  });

  it('as podman parses it (0.4.0): cniVersion present, every sandbox interface has a mac, IPs have interface', () => {
    const out = encodeResult(result(), '0.4.0') as {
      cniVersion: string;
      interfaces: Array<{ mac?: string; sandbox?: string }>;
      ips: Array<{ interface?: number }>;
    };
    expect(out.cniVersion).toBe('0.4.0');
    for (const i of out.interfaces.filter((x) => x.sandbox))
      expect(i.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    for (const ip of out.ips) expect(ip.interface).toBe(2);
  });
});
