import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbMessage, arbRecord } from './arbitraries.js';
import { encodeFrame, FrameReader, MAX_FRAME_BYTES } from './framing.js';
import { decodeIntro, encodeIntro, INTRO_BYTES, negotiate } from './intro.js';
import { decodeMessage, encodeMessage } from './messages.js';
import { pack } from './msgpack.js';
import { MessageTag } from './tags.js';
import {
  decodeRecords,
  decodeTopologyMessage,
  encodeTopologyMessage,
  type TopologyMessage,
} from './topology.js';

/** Deep equality that treats Buffer and Uint8Array with the same bytes as equal. */
function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return [...v];
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

describe('intro', () => {
  it('round-trips and is exactly 8 bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 0, max: 254 }),
        fc.boolean(),
        (min, span, enc) => {
          const max = Math.min(255, min + span);
          const bytes = encodeIntro({ minVersion: min, maxVersion: max, encryption: enc });
          expect(bytes.length).toBe(INTRO_BYTES);
          const d = decodeIntro(bytes);
          expect(d).toEqual({ ok: true, value: { minVersion: min, maxVersion: max, encryption: enc } });
        },
      ),
    );
  });

  it('random bytes give an intro or a typed error, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        const d = decodeIntro(b);
        if (!d.ok) expect(['truncated', 'bad-magic', 'bad-version']).toContain(d.error.kind);
      }),
    );
  });

  it('refuses a non-weft peer and a nonsense version range', () => {
    expect(decodeIntro(new TextEncoder().encode('GET / HTTP/1.1'))).toMatchObject({
      ok: false,
      error: { kind: 'bad-magic' },
    });
    expect(decodeIntro(Uint8Array.of(0x77, 0x65, 0x66, 0x74, 3, 2, 0, 0))).toMatchObject({
      ok: false,
      error: { kind: 'bad-version' },
    });
  });

  it('negotiates the highest common version and refuses disjoint ranges or encryption mismatch', () => {
    const i = (minVersion: number, maxVersion: number, encryption = false) => ({
      minVersion,
      maxVersion,
      encryption,
    });
    expect(negotiate(i(1, 3), i(2, 5))).toEqual({ ok: true, value: { version: 3 } });
    expect(negotiate(i(1, 1), i(2, 5))).toMatchObject({ ok: false, error: { kind: 'version' } });
    expect(negotiate(i(1, 1, true), i(1, 1, false))).toMatchObject({
      ok: false,
      error: { kind: 'peer-unencrypted' },
    });
    expect(negotiate(i(1, 1, false), i(1, 1, true))).toMatchObject({
      ok: false,
      error: { kind: 'peer-encrypted' },
    });
  });
});

describe('framing', () => {
  it('reassembles frames from any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (bodies, cuts) => {
          const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
          const r = new FrameReader();
          const got: Uint8Array[] = [];
          let pos = 0;
          let i = 0;
          while (pos < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            r.push(stream.subarray(pos, pos + n));
            pos += n;
            for (;;) {
              const f = r.next();
              if (!f.ok) throw new Error(f.error.message);
              if (f.value === null) break;
              got.push(Uint8Array.from(f.value));
            }
          }
          expect(got.map((g) => [...g])).toEqual(bodies.map((b) => [...b]));
          expect(r.buffered).toBe(0);
        },
      ),
    );
  });

  it('a length over the cap is a typed error before any body is buffered, and stays an error', () => {
    const r = new FrameReader(1024);
    r.push(Uint8Array.of(0, 0, 4, 1));
    expect(r.next()).toMatchObject({ ok: false, error: { kind: 'too-large' } });
    r.push(new Uint8Array(10));
    expect(r.next()).toMatchObject({ ok: false, error: { kind: 'too-large' } });
    expect(r.buffered).toBe(0);
    expect(() => encodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(RangeError);
  });
});

describe('messages', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const d = decodeMessage(encodeMessage(m), 1 << 20);
        expect(d.ok).toBe(true);
        if (d.ok) expect(normalise(d.value)).toEqual(normalise(m));
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes give a message or a typed error, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const d = decodeMessage(b, 1 << 20);
        if (!d.ok) expect(['truncated', 'malformed', 'unknown-tag', 'bad-field']).toContain(d.error.kind);
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid messages give a message or a typed error, never a throw', () => {
    fc.assert(
      fc.property(
        arbMessage,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (m, muts) => {
          const b = encodeMessage(m);
          for (const [pos, val] of muts) if (b.length > 0) b[pos % b.length] = val;
          const d = decodeMessage(b, 1 << 20);
          expect(typeof d.ok).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects maps (no prototype games), wrong types and oversized payloads with typed errors', () => {
    const withTag = (tag: number, body: Uint8Array) => Uint8Array.of(tag, ...body);
    // A map whose key is __proto__, where a Hello array should be.
    const protoMap = withTag(MessageTag.Hello, Uint8Array.of(0x81, 0xa9, ...Buffer.from('__proto__'), 0x80));
    expect(decodeMessage(protoMap, 100)).toMatchObject({ ok: false, error: { kind: 'bad-field' } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const bad = withTag(MessageTag.Gossip, pack(['Upper', Uint8Array.of(1)]));
    expect(decodeMessage(bad, 100)).toMatchObject({ ok: false, error: { kind: 'bad-field' } });
    const big = withTag(MessageTag.Gossip, pack(['ipam', new Uint8Array(101)]));
    expect(decodeMessage(big, 100)).toMatchObject({ ok: false, error: { kind: 'bad-field' } });
    expect(decodeMessage(Uint8Array.of(200), 100)).toMatchObject({
      ok: false,
      error: { kind: 'unknown-tag' },
    });
    expect(decodeMessage(withTag(MessageTag.Gossip, Uint8Array.of(0x92, 0x01)), 100)).toMatchObject({
      ok: false,
      error: { kind: 'malformed' },
    });
  });

  it('accepts extra trailing fields from a later version', () => {
    const b = Uint8Array.of(MessageTag.Gossip, ...pack(['ipam', Uint8Array.of(1), 'future', 42]));
    expect(decodeMessage(b, 100)).toMatchObject({ ok: true, value: { channel: 'ipam' } });
  });

  it('decodes an unknown refusal reason from a newer peer as "other"', () => {
    const b = Uint8Array.of(MessageTag.Refuse, ...pack(['quantum-flux', 'bye']));
    expect(decodeMessage(b, 100)).toEqual({
      ok: true,
      value: { tag: MessageTag.Refuse, reason: 'other', message: 'bye' },
    });
  });
});

describe('topology payload', () => {
  const arbTopologyMessage: fc.Arbitrary<TopologyMessage> = fc.oneof(
    fc.array(arbRecord, { maxLength: 10 }).map((records): TopologyMessage => ({ kind: 'update', records })),
    fc.string({ maxLength: 64 }).map((digest): TopologyMessage => ({ kind: 'digest', digest })),
    fc
      .tuple(fc.array(arbRecord, { maxLength: 10 }), fc.string({ maxLength: 64 }))
      .map(([records, digest]): TopologyMessage => ({ kind: 'answer', records, digest })),
  );

  it('round-trips updates, digests and answers', () => {
    fc.assert(
      fc.property(arbTopologyMessage, (m) => {
        expect(decodeTopologyMessage(encodeTopologyMessage(m))).toEqual({ ok: true, value: m });
      }),
      { numRuns: 300 },
    );
  });

  it('random and mutated bytes give a message or a typed error, never a throw', () => {
    fc.assert(
      fc.property(
        arbTopologyMessage,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (m, muts) => {
          const b = encodeTopologyMessage(m);
          for (const [pos, val] of muts) b[pos % b.length] = val;
          const d = decodeTopologyMessage(b);
          if (!d.ok) expect(['malformed', 'bad-field']).toContain(d.error.kind);
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(typeof decodeTopologyMessage(b).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('canonicalises connection lists (sorted, unique, never to itself)', () => {
    const name = '02:00:00:00:00:01';
    const raw = pack([
      [
        name,
        'a',
        new Uint8Array(8),
        1,
        null,
        [
          ['02:00:00:00:00:03', 'x:1', 0],
          [name, 'self:1', 0],
          ['02:00:00:00:00:02', 'y:1', 3],
          ['02:00:00:00:00:03', 'z:1', 0],
        ],
      ],
    ]);
    const d = decodeRecords(raw);
    expect(d.ok && d.value[0]!.connections.map((c) => c.remote)).toEqual([
      '02:00:00:00:00:02',
      '02:00:00:00:00:03',
    ]);
  });
});
