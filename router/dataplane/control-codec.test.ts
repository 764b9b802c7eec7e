import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ControlMessage, decodeControl, encodeControl, MAX_CLAIM_MACS } from './control-codec.js';

const unicastMac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => Array.from(b, (x, i) => (i === 0 ? x & 0xfe : x).toString(16).padStart(2, '0')).join(':'));

const message: fc.Arbitrary<ControlMessage> = fc.oneof(
  fc.record({
    tag: fc.constant('hello' as const),
    fastdp: fc.boolean(),
    fastdpPort: fc.integer({ min: 1, max: 65535 }),
    vni: fc.integer({ min: 0, max: 0xffffff }),
    heartbeatVni: fc.integer({ min: 0, max: 0xffffff }),
    mtu: fc.integer({ min: 576, max: 65535 }),
  }),
  fc.record({
    tag: fc.constant('ack' as const),
    kind: fc.constantFrom('sleeve' as const, 'fastdp' as const, 'probe' as const),
    seq: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    size: fc.integer({ min: 0, max: 0xffffffff }),
  }),
  fc.record({
    tag: fc.constant('mac-claim' as const),
    macs: fc.array(unicastMac, { minLength: 1, maxLength: 40 }),
  }),
);

describe('overlay control codec', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeControl(encodeControl(m))).toEqual({ ok: true, value: m });
      }),
    );
  });

  it('random and mutated bytes give a value or a typed error, never a throw', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(message, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([m, at, x]) => {
        const b = Uint8Array.from(encodeControl(m));
        b[at % b.length]! ^= x;
        return b;
      }),
      fc.tuple(message, fc.nat()).map(([m, cut]) => encodeControl(m).subarray(0, cut % 20)),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const r = decodeControl(b);
        if (!r.ok) expect(['too-short', 'bad-version', 'unknown-tag', 'malformed']).toContain(r.error.kind);
      }),
    );
  });

  it('rejects what a hostile peer could send', () => {
    expect(decodeControl(new Uint8Array([2, 1]))).toMatchObject({
      ok: false,
      error: { kind: 'bad-version' },
    });
    expect(decodeControl(new Uint8Array([1, 9]))).toMatchObject({
      ok: false,
      error: { kind: 'unknown-tag' },
    });
    expect(decodeControl(new Uint8Array([1, 2, 7, ...new Array(12).fill(0)]))).toMatchObject({
      ok: false,
      error: { kind: 'malformed' },
    });
    // A claim of a multicast MAC (it would capture broadcast traffic) and a count that lies.
    expect(decodeControl(new Uint8Array([1, 3, 0, 1, 1, 0, 0, 0, 0, 1]))).toMatchObject({ ok: false });
    expect(decodeControl(new Uint8Array([1, 3, 0, 2, 2, 0, 0, 0, 0, 1]))).toMatchObject({ ok: false });
    const tooMany = new Uint8Array(4 + 6 * (MAX_CLAIM_MACS + 1));
    tooMany.set([1, 3, (MAX_CLAIM_MACS + 1) >> 8, (MAX_CLAIM_MACS + 1) & 0xff]);
    expect(decodeControl(tooMany)).toMatchObject({ ok: false, error: { kind: 'malformed' } });
  });

  it('refuses to encode what it could not decode', () => {
    expect(() => encodeControl({ tag: 'mac-claim', macs: [] })).toThrow(RangeError);
    expect(() => encodeControl({ tag: 'mac-claim', macs: ['zz'] })).toThrow(RangeError);
    expect(() =>
      encodeControl({
        tag: 'hello',
        fastdp: true,
        fastdpPort: 6784,
        vni: 1 << 24,
        heartbeatVni: 1,
        mtu: 1390,
      }),
    ).toThrow(RangeError);
  });
});
