/**
 * Hostile CNI input through the plugin's real shell (cni-plugin/skel.ts) and
 * config parsers (see targets/cni.fuzz.ts for the oracle): network configs
 * with the right keys holding wrong types, wrong ranges, odd versions,
 * prevResults of every shape; CNI_* variables with junk, control characters,
 * over-long names. Every call ends with one JSON document and a spec error
 * code — never 999, an exception the parsers failed to turn into a CNI error.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { target } from './targets/cni.fuzz.js';

const anyJson = fc.jsonValue({ maxDepth: 2 });
const ipish = fc.oneof(
  fc.constantFrom(
    '10.32.0.5/12',
    '10.32.0.5',
    '0.0.0.0/0',
    '::1/128',
    '10.32.0.0/33',
    '300.1.1.1/8',
    'fe80::1',
    '',
  ),
  fc.string({ maxLength: 20 }),
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, anyJson);
const route = fc.record(
  { dst: maybe(ipish), gw: maybe(ipish), mtu: maybe(fc.integer()), priority: maybe(fc.integer()) },
  { requiredKeys: [] },
);
const prevResult = fc.record(
  {
    cniVersion: maybe(fc.constantFrom('0.1.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '9.9.9')),
    interfaces: maybe(
      fc.array(
        fc.record(
          { name: maybe(fc.string()), mac: maybe(fc.string()), sandbox: anyJson },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
    ips: maybe(
      fc.array(
        fc.record(
          {
            address: maybe(ipish),
            gateway: maybe(ipish),
            interface: maybe(fc.integer({ min: -2, max: 5 })),
            version: anyJson,
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
    routes: maybe(fc.array(route, { maxLength: 3 })),
    dns: maybe(
      fc.record({ nameservers: maybe(fc.array(fc.string())), domain: anyJson }, { requiredKeys: [] }),
    ),
    ip4: anyJson,
  },
  { requiredKeys: [] },
);
const netconf = fc.record(
  {
    cniVersion: maybe(
      fc.constantFrom('0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '2.0.0', ''),
    ),
    name: maybe(fc.constantFrom('weft', 'my-net.1', '-bad', 'a'.repeat(300), '')),
    type: maybe(fc.constantFrom('weft-net', 'weft-ipam')),
    bridge: maybe(fc.constantFrom('weft', 'x'.repeat(16), 'bad name', '')),
    mtu: maybe(fc.integer({ min: -1, max: 70000 })),
    hairpinMode: anyJson,
    defaultRoute: anyJson,
    gateway: maybe(ipish),
    multicast: anyJson,
    router: maybe(fc.constantFrom('127.0.0.1:6784', 'localhost:1', '[::1]:6784', '1.2.3.4', ':0', 'x:99999')),
    routerTimeoutMs: maybe(fc.integer()),
    logFile: maybe(fc.constantFrom('/tmp/x.log', 'relative.log')),
    logLevel: maybe(fc.constantFrom('debug', 'info', 'verbose')),
    ipam: maybe(
      fc.record(
        {
          type: maybe(fc.constantFrom('weft-ipam', 'host-local', '')),
          subnet: maybe(ipish),
          routes: maybe(fc.array(route, { maxLength: 3 })),
          gateway: maybe(ipish),
          timeoutMs: maybe(fc.integer()),
        },
        { requiredKeys: [] },
      ),
    ),
    args: maybe(
      fc.record(
        {
          cni: maybe(
            fc.record(
              { ips: maybe(fc.array(ipish, { maxLength: 2 })), mac: maybe(fc.string()) },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    runtimeConfig: anyJson,
    prevResult: maybe(prevResult),
    'cni.dev/valid-attachments': maybe(
      fc.array(
        fc.record({ containerID: maybe(fc.string()), ifname: maybe(fc.string()) }, { requiredKeys: [] }),
        { maxLength: 3 },
      ),
    ),
  },
  { requiredKeys: [] },
);
const envValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '',
    'eth0',
    'x'.repeat(16),
    'a/b',
    '.',
    'c0ffee',
    '/var/run/netns/x',
    'IgnoreUnknown=1;IP=10.32.0.9',
    'IP=;MAC=zz',
    'K8S_POD_NAME',
    ';;',
    '=x',
  ),
);
const env = fc.array(
  fc.tuple(
    fc.constantFrom(
      'CNI_CONTAINERID',
      'CNI_NETNS',
      'CNI_IFNAME',
      'CNI_ARGS',
      'CNI_PATH',
      'CNI_NETNS_OVERRIDE',
    ),
    envValue,
  ),
  { maxLength: 4 },
);

describe('CNI plugin input', () => {
  it('every config and environment ends in one JSON document with a spec code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 7 }),
        fc.oneof(
          netconf.map((c) => JSON.stringify(c)),
          fc.string({ maxLength: 40 }),
        ),
        env,
        async (cmd, stdin, vars) => {
          const text = [String.fromCharCode(cmd), stdin, ...vars.map(([k, v]) => `${k}=${v}`)].join('\0');
          await target.run(new Uint8Array(Buffer.from(text, 'utf8')));
        },
      ),
      { numRuns: 600 },
    );
  });
});
