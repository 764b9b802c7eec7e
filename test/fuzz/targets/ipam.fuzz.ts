import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, type IpamMessage, IpamTag } from '../../../ipam/codec.js';
import { ownerArb, RANGE_START, RING_ID, ringArb } from '../../../ipam/test-arbitraries.js';
import { arbitrarySample } from '../support/samples.js';
import { check, type FuzzTarget } from './target.js';

const KINDS = new Set(['truncated', 'bad-magic', 'unsupported-version', 'unknown-tag', 'limit', 'invalid']);

const seedArb: fc.Arbitrary<IpamMessage> = fc.oneof(
  fc.record({
    tag: fc.constant(IpamTag.State as const),
    from: ownerArb(),
    ring: fc.option(ringArb(20, 12), { nil: null }),
    consensus: fc.constant(null),
  }),
  fc.record({
    tag: fc.constant(IpamTag.SpaceRequest as const),
    from: ownerArb(),
    reqId: fc.nat({ max: 0xffffffff }),
    to: ownerArb(),
    ringId: fc.constant(RING_ID),
    subnet: fc.constant({ addr: RANGE_START, prefix: 20 }),
  }),
  fc.record({
    tag: fc.constant(IpamTag.ClaimReply as const),
    from: ownerArb(),
    reqId: fc.nat({ max: 0xffffffff }),
    outcome: fc.constantFrom('granted' as const, 'in-use' as const, 'not-owner' as const),
    ring: fc.option(ringArb(20, 12), { nil: null }),
  }),
);

export const target: FuzzTarget = {
  name: 'ipam',
  decoder: 'ipam/codec.ts decodeMessage (ring, claims, requests)',
  maxLen: 4096,
  seeds: () => arbitrarySample(seedArb, 40).map(encodeMessage),
  run(data) {
    const r = decodeMessage(data);
    if (!r.ok) {
      check(KINDS.has(r.error.kind), `unknown error kind ${r.error.kind}`);
      return;
    }
    // Whatever decodes survives a round trip. (Not byte for byte: a hostile string table may
    // carry strings nothing refers to, which the encoder leaves out — harmless, found by this target.)
    const bytes = encodeMessage(r.value);
    check(bytes.length <= data.length, 're-encoding is longer than what was decoded');
    const again = decodeMessage(bytes);
    check(again.ok && isDeepStrictEqual(again.value, r.value), 'message changed in a round trip');
  },
};
