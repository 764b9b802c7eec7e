import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type IpamMessage, IpamTag } from './codec.js';
import type { NodeClaims } from './consensus.js';
import { initialRing } from './ring.js';
import { ownerArb, peerOwner, RANGE_END, RANGE_START, RING_ID, ringArb } from './test-arbitraries.js';

const ballotArb = fc.option(fc.record({ round: fc.integer({ min: 1, max: 1000 }), node: ownerArb(20) }), {
  nil: null,
});

const claimsArb = fc
  .uniqueArray(
    fc.record({
      node: ownerArb(20),
      version: fc.integer({ min: 1, max: 50 }),
      quorum: fc.integer({ min: 1, max: 20 }),
      promise: ballotArb,
      accepted: ballotArb,
      value: fc.uniqueArray(ownerArb(20), { minLength: 1, maxLength: 10 }),
    }),
    { selector: (c) => c.node, maxLength: 12 },
  )
  .map(
    (list) =>
      new Map(
        list.map((c): [string, NodeClaims] => [
          c.node,
          {
            version: c.version,
            quorum: c.quorum,
            promise: c.promise,
            accepted: c.accepted,
            value: c.accepted ? [...c.value].sort() : null,
          },
        ]),
      ),
  );

const messageArb: fc.Arbitrary<IpamMessage> = fc.oneof(
  fc.record({
    tag: fc.constant(IpamTag.State as const),
    from: ownerArb(),
    ring: fc.option(ringArb(), { nil: null }),
    consensus: fc.option(claimsArb, { nil: null }),
  }),
  fc.record({
    tag: fc.constant(IpamTag.SpaceRequest as const),
    from: ownerArb(),
    reqId: fc.nat({ max: 0xffffffff }),
    to: ownerArb(),
    ringId: fc.constant(RING_ID),
    subnet: fc.constantFrom({ addr: RANGE_START, prefix: 20 }, { addr: RANGE_START + 256, prefix: 24 }),
  }),
  fc.record({
    tag: fc.constant(IpamTag.SpaceReply as const),
    from: ownerArb(),
    reqId: fc.nat({ max: 0xffffffff }),
    granted: fc.boolean(),
    ring: fc.option(ringArb(), { nil: null }),
  }),
  fc.record({
    tag: fc.constant(IpamTag.ClaimRequest as const),
    from: ownerArb(),
    reqId: fc.nat({ max: 0xffffffff }),
    to: ownerArb(),
    ringId: fc.constant(RING_ID),
    addr: fc.integer({ min: RANGE_START, max: RANGE_END - 1 }),
  }),
  fc.record({
    tag: fc.constant(IpamTag.ClaimReply as const),
    from: ownerArb(),
    reqId: fc.nat({ max: 0xffffffff }),
    outcome: fc.constantFrom('granted' as const, 'in-use' as const, 'not-owner' as const),
    ring: fc.option(ringArb(), { nil: null }),
  }),
);

describe('IPAM wire codec', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const d = decodeMessage(encodeMessage(m));
        expect(d).toEqual({ ok: true, value: m });
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const d = decodeMessage(bytes);
        if (!d.ok) expect(typeof d.error.message).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random bytes behind a valid header', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 600 }), (tag, body) => {
        const bytes = new Uint8Array([0x57, 0x49, 1, tag, ...body]);
        const d = decodeMessage(bytes);
        if (!d.ok) expect(['truncated', 'limit', 'invalid', 'unknown-tag']).toContain(d.error.kind);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated valid messages, and whatever decodes re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (m, flips, cut) => {
          const bytes = encodeMessage(m).slice();
          for (const [pos, v] of flips) bytes[pos % bytes.length] = v;
          const truncated = cut % 3 === 0 ? bytes.subarray(0, cut % bytes.length) : bytes;
          const d = decodeMessage(truncated);
          if (d.ok) expect(decodeMessage(encodeMessage(d.value))).toEqual(d);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('returns typed errors for the header cases', () => {
    expect(decodeMessage(new Uint8Array([1]))).toMatchObject({ ok: false, error: { kind: 'truncated' } });
    expect(decodeMessage(new Uint8Array([0, 0, 1, 1]))).toMatchObject({
      ok: false,
      error: { kind: 'bad-magic' },
    });
    expect(decodeMessage(new Uint8Array([0x57, 0x49, 9, 1]))).toMatchObject({
      ok: false,
      error: { kind: 'unsupported-version' },
    });
    expect(decodeMessage(new Uint8Array([0x57, 0x49, 1, 99, 0]))).toMatchObject({
      ok: false,
      error: { kind: 'unknown-tag' },
    });
    const big = encodeMessage({ tag: IpamTag.State, from: peerOwner(1), ring: null, consensus: null });
    expect(decodeMessage(new Uint8Array([...big, 0]))).toMatchObject({
      ok: false,
      error: { message: 'trailing bytes' },
    });
  });

  it('refuses counts that promise more data than the message holds', () => {
    // State with a ring whose entry count is 2^40.
    const bytes = new Uint8Array([
      0x57,
      0x49,
      1,
      1,
      1,
      11,
      ...Buffer.from('p0/00000001'),
      0,
      1,
      ...Buffer.from(RING_ID, 'hex'),
      10,
      32,
      0,
      0,
      0,
      0,
      15,
      255,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x20,
    ]);
    expect(decodeMessage(bytes)).toMatchObject({ ok: false, error: { kind: 'limit' } });
  });

  it('keeps a 1000-peer ring compact (owner ids once, varints)', () => {
    const owners = Array.from({ length: 1000 }, (_, i) => peerOwner(i));
    const ring = initialRing(0x0a200000, 0x0a300000, owners);
    const bytes = encodeMessage({ tag: IpamTag.State, from: owners[0]!, ring, consensus: null });
    expect(bytes.length).toBeLessThan(1000 * (16 + 10));
    const d = decodeMessage(bytes);
    expect(d.ok && d.value.tag === IpamTag.State && d.value.ring).toEqual(ring);
  });
});
