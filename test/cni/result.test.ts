/**
 * Checklist §1 (versions and result formats): the result as every spec
 * version spells it, from golden files written by hand from the spec's
 * rules, and the conversions between versions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CniCode, CniError } from '../../cni-plugin/spec/errors.js';
import { type CniResult, decodeResult, encodeResult, ipFamily } from '../../cni-plugin/spec/result.js';
import { type CniVersion, SUPPORTED_VERSIONS } from '../../cni-plugin/spec/version.js';

const golden = (name: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'golden', name), 'utf8'));
const model = golden('model.json') as CniResult;

describe('result shape per spec version (golden files)', () => {
  it.each(SUPPORTED_VERSIONS)('%s: the model encodes exactly as the golden file', (v) => {
    expect(encodeResult(model, v)).toStrictEqual(golden(`result-${v}.json`));
  });

  it.each(SUPPORTED_VERSIONS)('%s: the golden file decodes and re-encodes to itself', (v) => {
    const doc = golden(`result-${v}.json`);
    expect(encodeResult(decodeResult(doc, v, CniCode.DECODE_FAILURE), v)).toStrictEqual(doc);
  });

  it('1.1.0 decodes back to the full model (nothing is lost in the newest version)', () => {
    expect(decodeResult(golden('result-1.1.0.json'), '1.1.0', CniCode.DECODE_FAILURE)).toStrictEqual(model);
  });

  it('result cniVersion is the requested version exactly, for every version', () => {
    for (const v of SUPPORTED_VERSIONS) expect(encodeResult(model, v).cniVersion).toBe(v);
  });
});

describe('conversion rules', () => {
  const v4only: CniResult = {
    interfaces: [{ name: 'eth0', sandbox: '/x' }],
    ips: [{ address: '10.32.0.5/12', interface: 0 }],
    routes: [],
    dns: {},
  };

  it('interface index 0 is emitted (it is a real index, not "unset")', () => {
    for (const v of ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const) {
      const ips = encodeResult(v4only, v).ips as Array<Record<string, unknown>>;
      expect(ips[0]).toHaveProperty('interface', 0);
    }
  });

  it('gateway is omitted when unset, in every shape', () => {
    for (const v of SUPPORTED_VERSIONS)
      expect(JSON.stringify(encodeResult(v4only, v))).not.toContain('gateway');
  });

  it('1.x → 0.3.x/0.4.0 adds version "4"/"6" per IP and drops interface mtu/socketPath/pciID', () => {
    const r: CniResult = {
      interfaces: [{ name: 'eth0', mtu: 9000, socketPath: '/s', pciID: '0000:00:01.0', sandbox: '/n' }],
      ips: [
        { address: '10.0.0.1/8', interface: 0 },
        { address: '2001:db8::1/64', interface: 0 },
      ],
      routes: [],
      dns: {},
    };
    for (const v of ['0.3.0', '0.3.1', '0.4.0'] as const) {
      const out = encodeResult(r, v);
      expect(out.interfaces).toStrictEqual([{ name: 'eth0', sandbox: '/n' }]);
      expect((out.ips as Array<{ version: string }>).map((i) => i.version)).toStrictEqual(['4', '6']);
    }
    expect(encodeResult(r, '1.0.0').interfaces).toStrictEqual([{ name: 'eth0', sandbox: '/n' }]);
    expect(encodeResult(r, '1.1.0').interfaces).toStrictEqual([
      { name: 'eth0', mtu: 9000, socketPath: '/s', pciID: '0000:00:01.0', sandbox: '/n' },
    ]);
  });

  it('1.x → 0.1/0.2 with no IP at all fails as libcni does', () => {
    const none: CniResult = { interfaces: [{ name: 'eth0' }], ips: [], routes: [], dns: {} };
    for (const v of ['0.1.0', '0.2.0'] as const) {
      expect(() => encodeResult(none, v)).toThrow(CniError);
      expect(() => encodeResult(none, v)).toThrow('cannot convert: no valid IP addresses');
    }
  });

  it('0.1/0.2 routes are split by the family of dst and go only where an address of that family exists', () => {
    const r: CniResult = {
      interfaces: [],
      ips: [{ address: '10.0.0.2/8' }],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.0.0.1' },
        { dst: '::/0', gw: 'fe80::1' },
      ],
      dns: {},
    };
    expect(encodeResult(r, '0.2.0')).toStrictEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/8', routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }] },
      dns: {},
    });
  });

  it('decoding a 0.2.0 result gives ips without interface index and routes of both families', () => {
    const r = decodeResult(golden('result-0.2.0.json'), '0.2.0', CniCode.DECODE_FAILURE);
    expect(r.interfaces).toStrictEqual([]);
    expect(r.ips).toStrictEqual([
      { address: '10.32.0.5/12', gateway: '10.32.0.1' },
      { address: 'fd00::5/64' },
    ]);
    expect(r.routes.map((x) => x.dst)).toStrictEqual([
      '10.32.0.0/12',
      '0.0.0.0/0',
      '192.168.0.0/16',
      'fd00::/8',
    ]);
  });

  it("a document's own cniVersion decides its shape over the fallback", () => {
    const r = decodeResult(golden('result-0.1.0.json'), '1.0.0', CniCode.DECODE_FAILURE);
    expect(r.ips[0]?.address).toBe('10.32.0.5/12');
  });

  it.each([
    ['not an object', 5],
    ['ips not an array', { cniVersion: '1.0.0', ips: {} }],
    ['address without prefix', { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1' }] }],
    [
      'version disagrees with address',
      { cniVersion: '0.4.0', ips: [{ version: '6', address: '10.0.0.1/8' }] },
    ],
    ['negative interface', { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/8', interface: -1 }] }],
    ['gateway with prefix', { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/8', gateway: '10.0.0.1/8' }] }],
    ['route without dst', { cniVersion: '1.0.0', routes: [{ gw: '10.0.0.1' }] }],
    ['unknown version', { cniVersion: '9.9.9' }],
    ['legacy ip4 holding an IPv6 address', { cniVersion: '0.2.0', ip4: { ip: 'fd00::1/64' } }],
  ])("malformed result (%s) is a CniError with the caller's code", (_name, doc) => {
    try {
      decodeResult(doc, '1.0.0', 42);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
      expect((e as CniError).code).toBe(42);
    }
  });
});

// ───────────── properties ─────────────

const octet = fc.integer({ min: 0, max: 255 });
const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const v4cidr = fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`);
const mac = fc
  .array(octet, { minLength: 6, maxLength: 6 })
  .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
const resultArb: fc.Arbitrary<CniResult> = fc.record({
  interfaces: fc.array(
    fc.record(
      {
        name: fc.string({ minLength: 1, maxLength: 15 }),
        mac,
        sandbox: fc.constantFrom('/var/run/netns/a', '/proc/1/ns/net'),
      },
      { requiredKeys: ['name'] },
    ),
    { maxLength: 3 },
  ),
  ips: fc.array(
    fc.record({ address: v4cidr, gateway: v4, interface: fc.nat(5) }, { requiredKeys: ['address'] }),
    {
      minLength: 1,
      maxLength: 3,
    },
  ),
  routes: fc.array(fc.record({ dst: v4cidr, gw: v4 }, { requiredKeys: ['dst'] }), { maxLength: 3 }),
  dns: fc.record({ nameservers: fc.array(v4, { minLength: 1, maxLength: 2 }) }, { requiredKeys: [] }),
});

describe('properties', () => {
  it('0.3.0 and later: decode(encode(r)) is r (IPv4, no 1.1-only fields)', () => {
    fc.assert(
      fc.property(
        resultArb.map((r) => JSON.parse(JSON.stringify(r)) as CniResult),
        fc.constantFrom<CniVersion>('0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'),
        (r, v) => {
          expect(decodeResult(encodeResult(r, v), v, 1)).toStrictEqual(r);
        },
      ),
    );
  });

  it('0.1/0.2: decode(encode(r)) keeps the first address and every IPv4 route', () => {
    fc.assert(
      fc.property(
        resultArb.map((r) => JSON.parse(JSON.stringify(r)) as CniResult),
        fc.constantFrom<CniVersion>('0.1.0', '0.2.0'),
        (r, v) => {
          const back = decodeResult(encodeResult(r, v), v, 1);
          const { interface: _i, ...first } = r.ips[0]!;
          expect(back.ips).toStrictEqual([first]);
          expect(back.routes).toStrictEqual(r.routes);
          expect(back.interfaces).toStrictEqual([]);
        },
      ),
    );
  });

  it('decoding arbitrary JSON returns a result or throws a CniError, nothing else', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...SUPPORTED_VERSIONS), (doc, v) => {
        try {
          decodeResult(doc, v, 7);
        } catch (e) {
          expect(e).toBeInstanceOf(CniError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('address families (no node:net at start-up)', () => {
  it.each([
    ['10.32.0.5', '4'],
    ['10.32.0.5/12', '4'],
    ['0.0.0.0/0', '4'],
    ['255.255.255.255/32', '4'],
    ['::', '6'],
    ['::1', '6'],
    ['fd00::5/64', '6'],
    ['2001:db8:0:0:0:0:0:1', '6'],
    ['2001:db8::1/128', '6'],
    ['::ffff:10.0.0.1', '6'],
    ['1:2:3:4:5:6:7::', '6'],
    ['10.32.0.256', undefined],
    ['10.32.0', undefined],
    ['010.32.0.1', undefined],
    ['10.32.0.5/33', undefined],
    ['10.32.0.5/', undefined],
    ['fd00::5/129', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['12345::1', undefined],
    ['g::1', undefined],
    ['1:2:3:4:5:6:7', undefined],
    ['', undefined],
  ])('%s → %s', (s, fam) => {
    expect(ipFamily(s)).toBe(fam);
  });
});
