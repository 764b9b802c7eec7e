import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SleeveOpener, SleeveSealer, sleeveKeyId } from '../../crypto/datagram.js';
import type { SleeveVectors } from '../../crypto/testdata/sleeve-vectors.js';
import { loadSleeveAddon } from './sleeve-native.js';

// The native engine's envelope code against the crypto oracle: the golden
// vectors (crypto/testdata) and random round trips in both directions.

const vectors = JSON.parse(
  readFileSync(new URL('../../crypto/testdata/sleeve-vectors.golden.json', import.meta.url), 'utf8'),
) as SleeveVectors;
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const name = (h: string) => h.match(/../g)!.join(':');
const addon = loadSleeveAddon();

describe('native sleeve envelope vs golden vectors', () => {
  it('seals every sealed vector to the exact bytes', () => {
    expect(vectors.seal.length).toBeGreaterThan(0);
    for (const v of vectors.seal) {
      const pkt = addon.sealPacket(
        hex(v.key),
        v.key_id,
        v.type,
        BigInt(v.counter),
        name(v.sender),
        name(v.receiver),
        hex(v.plaintext),
      );
      expect(toHex(pkt), v.name).toBe(v.packet);
    }
  });

  it('builds every plain vector to the exact bytes', () => {
    for (const v of vectors.plain) {
      const pkt = addon.sealPacket(
        null,
        0,
        v.type,
        BigInt(v.counter),
        name(v.sender),
        name(v.receiver),
        hex(v.body),
      );
      expect(toHex(pkt), v.name).toBe(v.packet);
    }
  });

  it('opens every sealed vector back to its plaintext', () => {
    for (const v of vectors.seal) {
      const [r] = addon.openPackets(hex(v.key), v.key_id, name(v.receiver), name(v.sender), [hex(v.packet)]);
      expect(r, v.name).toMatchObject({ ok: true, type: v.type, counter: BigInt(v.counter) });
      if (r?.ok) expect(toHex(r.body)).toBe(v.plaintext);
    }
  });

  it('rejects every reject vector with the same error as the oracle', () => {
    expect(vectors.reject.length).toBeGreaterThan(5);
    for (const v of vectors.reject) {
      const key = v.key === null ? null : hex(v.key);
      const keyId = key === null ? 0 : sleeveKeyId(key);
      const [r] = addon.openPackets(key, keyId, name(v.local), name(v.remote), [hex(v.packet)]);
      expect(r, v.name).toEqual({ ok: false, error: v.error });
    }
  });

  it('accepts and rejects replay sequences exactly as the vectors say', () => {
    for (const v of vectors.replay) {
      const got = addon.replaySequence(v.steps.map((s) => BigInt(s.counter)));
      expect(got, v.name).toEqual(v.steps.map((s) => s.accept));
    }
  });

  it('a replayed packet is rejected the second time', () => {
    const v = vectors.seal[0]!;
    const p = hex(v.packet);
    const rs = addon.openPackets(hex(v.key), v.key_id, name(v.receiver), name(v.sender), [p, p]);
    expect(rs.map((r) => (r.ok ? 'ok' : r.error))).toEqual(['ok', 'replayed']);
  });
});

describe('native sleeve envelope vs the TypeScript oracle (random)', () => {
  const A = new Uint8Array([0xaa, 0, 0, 0, 0, 1]);
  const B = new Uint8Array([0xbb, 0, 0, 0, 0, 2]);

  it('packets sealed by the engine open with the oracle and vice versa', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 8 }),
        (key, bodies) => {
          const keyId = sleeveKeyId(key);
          const oracleOpener = new SleeveOpener({ key, local: B, remote: A });
          const oracleSealer = new SleeveSealer({ key, sender: A, receiver: B });
          const native = bodies.map((b, i) =>
            addon.sealPacket(key, keyId, 1, BigInt(i), 'aa:00:00:00:00:01', 'bb:00:00:00:00:02', b),
          );
          const fromOracle = bodies.map((b) => oracleSealer.seal(1, b));
          // Same key, same counters, same bodies: identical bytes.
          expect(native.map(toHex)).toEqual(fromOracle.map(toHex));
          for (let i = 0; i < bodies.length; i++) {
            const r = oracleOpener.open(native[i]!);
            expect(r.ok && toHex(r.value.body)).toBe(toHex(bodies[i]!));
          }
          const opened = addon.openPackets(key, keyId, 'bb:00:00:00:00:02', 'aa:00:00:00:00:01', fromOracle);
          expect(opened.map((r) => (r.ok ? toHex(r.body) : r.error))).toEqual(bodies.map(toHex));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('never accepts a packet with any single byte flipped', () => {
    const key = new Uint8Array(32).fill(9);
    const keyId = sleeveKeyId(key);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (body, at, x) => {
          const pkt = addon.sealPacket(key, keyId, 1, 5n, 'aa:00:00:00:00:01', 'bb:00:00:00:00:02', body);
          const bad = Uint8Array.from(pkt);
          bad[at % bad.length]! ^= x;
          const [r] = addon.openPackets(key, keyId, 'bb:00:00:00:00:02', 'aa:00:00:00:00:01', [bad]);
          expect(r?.ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes give a typed error, never a crash', () => {
    const key = new Uint8Array(32).fill(3);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (junk) => {
        const [r] = addon.openPackets(key, sleeveKeyId(key), 'bb:00:00:00:00:02', 'aa:00:00:00:00:01', [
          junk,
        ]);
        expect(r?.ok).toBe(false);
        if (r && !r.ok) expect(typeof r.error).toBe('string');
      }),
    );
  });
});
