/**
 * weft's own configuration keys, and what the runtime may request (address,
 * MAC) through CNI_ARGS, runtimeConfig (any key casing) and args.cni.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ROUTER_TIMEOUT_MS,
  parseRouterEndpoint,
  parseWeftIpamConfig,
  parseWeftNetConfig,
} from '../../cni-plugin/config.js';
import { requestedIp, requestedMac } from '../../cni-plugin/requested.js';
import { parseCniArgs } from '../../cni-plugin/spec/cni-args.js';
import { CniCode, CniError } from '../../cni-plugin/spec/errors.js';
import { parseNetConf } from '../../cni-plugin/spec/netconf.js';
import { formatIp, parseIp } from '../../common/ip.js';

const conf = (extra: Record<string, unknown> = {}) =>
  parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'weft', type: 'weft-net', ...extra }), 'ADD');

function code(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
  return undefined;
}

describe('weft-net config', () => {
  it('defaults', () => {
    const w = parseWeftNetConfig(conf());
    expect(w).toStrictEqual({
      bridge: 'weft',
      hairpin: true,
      defaultRoute: false,
      multicast: false,
      ipam: {
        kind: 'weft',
        config: {
          router: { host: '127.0.0.1', port: 6784 },
          timeoutMs: DEFAULT_ROUTER_TIMEOUT_MS,
          routes: [],
        },
      },
      log: { level: 'warn' },
    });
  });

  it('no ipam section or ipam.type weft-ipam → the built-in router client; anything else is delegated', () => {
    expect(
      parseWeftNetConfig(conf({ ipam: { type: 'weft-ipam', router: '127.0.0.1:7000' } })).ipam,
    ).toMatchObject({
      kind: 'weft',
      config: { router: { port: 7000 } },
    });
    expect(
      parseWeftNetConfig(conf({ ipam: { type: 'host-local', subnet: '10.1.0.0/16' } })).ipam,
    ).toStrictEqual({
      kind: 'delegate',
      type: 'host-local',
    });
  });

  it("top-level router keys apply to the built-in IPAM; the ipam section's win", () => {
    const w = parseWeftNetConfig(
      conf({ router: '127.0.0.1:7001', routerTimeoutMs: 500, subnet: '10.33.0.0/16' }),
    );
    expect(w.ipam).toMatchObject({
      config: { router: { port: 7001 }, timeoutMs: 500, subnet: { prefix: 16 } },
    });
    const v = parseWeftNetConfig(
      conf({ router: '127.0.0.1:7001', ipam: { type: 'weft-ipam', router: 'localhost:7002' } }),
    );
    expect(v.ipam).toMatchObject({ config: { router: { host: 'localhost', port: 7002 } } });
  });

  it.each([
    ['bridge', { bridge: 'a-name-that-is-too-long' }],
    ['bridge', { bridge: 5 }],
    ['mtu', { mtu: 100 }],
    ['mtu', { mtu: '1500' }],
    ['hairpinMode', { hairpinMode: 'yes' }],
    ['gateway', { gateway: '10.32.0.1/12' }],
    ['router', { router: 'nohost' }],
    ['router', { router: '127.0.0.1:99999' }],
    ['router', { router: 'example.com:6784' }],
    ['routerTimeoutMs', { routerTimeoutMs: 0 }],
    ['subnet', { subnet: '10.32.0.1/12' }],
    ['logFile', { logFile: 'relative.log' }],
    ['logLevel', { logLevel: 'loud' }],
  ])('invalid %s → 7', (_k, extra) => {
    expect(code(() => parseWeftNetConfig(conf(extra)))).toBe(CniCode.INVALID_CONFIG);
  });

  it('router endpoint parsing', () => {
    expect(parseRouterEndpoint(undefined)).toStrictEqual({ host: '127.0.0.1', port: 6784 });
    expect(parseRouterEndpoint('10.0.0.1:80')).toStrictEqual({ host: '10.0.0.1', port: 80 });
  });

  it('weft-ipam routes and gateway come from its section', () => {
    const c = parseWeftIpamConfig({
      type: 'weft-ipam',
      routes: [{ dst: '0.0.0.0/0' }],
      gateway: '10.32.0.1',
    });
    expect(c.routes).toStrictEqual([{ dst: '0.0.0.0/0' }]);
    expect(c.gateway).toBe('10.32.0.1');
  });
});

describe('requested address', () => {
  const ip = (c: ReturnType<typeof conf>, args = '') => {
    const r = requestedIp(c, parseCniArgs(args));
    return r && `${formatIp(r.ip)}${r.prefix !== undefined ? `/${r.prefix}` : ''}`;
  };

  it.each([
    ['nothing', conf(), '', undefined],
    ['CNI_ARGS IP (CRI-O, podman)', conf(), 'IP=10.32.0.9', '10.32.0.9'],
    ['CNI_ARGS IP with prefix', conf(), 'IP=10.32.0.9/12', '10.32.0.9/12'],
    ['runtimeConfig.ips (podman)', conf({ runtimeConfig: { ips: ['10.32.0.9/12'] } }), '', '10.32.0.9/12'],
    [
      'runtimeConfig.IPs (containerd casing)',
      conf({ runtimeConfig: { IPs: ['10.32.0.9'] } }),
      '',
      '10.32.0.9',
    ],
    ['args.cni.ips', conf({ args: { cni: { ips: ['10.32.0.9'] } } }), '', '10.32.0.9'],
    [
      'the same address from two sources, one with prefix',
      conf({ runtimeConfig: { ips: ['10.32.0.9/12'] } }),
      'IP=10.32.0.9',
      '10.32.0.9/12',
    ],
  ])('%s', (_n, c, args, expected) => {
    expect(ip(c, args)).toBe(expected);
  });

  it.each([
    ['two different addresses', conf({ runtimeConfig: { ips: ['10.32.0.9'] } }), 'IP=10.32.0.10'],
    ['an IPv6 address', conf(), 'IP=fd00::1'],
    ['garbage', conf(), 'IP=ten'],
    ['ips not a list', conf({ runtimeConfig: { ips: '10.32.0.9' } }), ''],
  ])('%s → 7', (_n, c, args) => {
    expect(code(() => requestedIp(c, parseCniArgs(args)))).toBe(CniCode.INVALID_CONFIG);
  });

  it('a bare address keeps no prefix (the IPAM config supplies it)', () => {
    expect(requestedIp(conf(), parseCniArgs('IP=10.32.0.9'))).toStrictEqual({ ip: parseIp('10.32.0.9') });
  });
});

describe('requested MAC', () => {
  it.each([
    ['CNI_ARGS MAC', conf(), 'MAC=02:AA:bb:cc:dd:ee', '02:aa:bb:cc:dd:ee'],
    ['runtimeConfig.mac', conf({ runtimeConfig: { mac: '02:00:00:00:00:09' } }), '', '02:00:00:00:00:09'],
    ['runtimeConfig.MAC', conf({ runtimeConfig: { MAC: '02:00:00:00:00:09' } }), '', '02:00:00:00:00:09'],
    ['none', conf(), '', undefined],
  ])('%s', (_n, c, args, expected) => {
    expect(requestedMac(c, parseCniArgs(args))).toBe(expected);
  });

  it.each(['MAC=01:00:5e:00:00:01', 'MAC=02:00:00:00:00', 'MAC=zz:00:00:00:00:01'])('%s → 7', (args) => {
    expect(code(() => requestedMac(conf(), parseCniArgs(args)))).toBe(CniCode.INVALID_CONFIG);
  });
});
