import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChaChaStreamOpener, ChaChaStreamSealer } from './stream-seal.js';

const key = new Uint8Array(32).map((_, i) => i * 7 + 1);

function pairOf() {
  return { sealer: new ChaChaStreamSealer(key), opener: new ChaChaStreamOpener(key) };
}

const frames = fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 });

describe('stream sealing (TCP mesh frames)', () => {
  it('round-trips any sequence of frames in order', () => {
    fc.assert(
      fc.property(frames, (msgs) => {
        const { sealer, opener } = pairOf();
        for (const m of msgs) {
          const sealed = sealer.seal(m);
          expect(sealed).toHaveLength(m.length + 16);
          const r = opener.open(sealed);
          expect(r.ok && r.value).toEqual(m);
        }
        expect(opener.opened).toBe(msgs.length);
      }),
    );
  });

  it('uses nonce 0⁴ ‖ counter (64-bit LE), checked against node:crypto', () => {
    const sealer = new ChaChaStreamSealer(key);
    const msg = new TextEncoder().encode('frame');
    let last: Uint8Array = new Uint8Array();
    for (let i = 0; i < 3; i++) last = sealer.seal(msg);
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32LE(2, 4); // third frame: counter 2
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    const expected = Buffer.concat([c.update(msg), c.final(), c.getAuthTag()]);
    expect(Buffer.from(last).toString('hex')).toBe(expected.toString('hex'));
  });

  it('rejects a frame with any flipped bit, and stays failed afterwards', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (m, at, bit) => {
          const { sealer, opener } = pairOf();
          const sealed = sealer.seal(m);
          sealed[at % sealed.length]! ^= 1 << bit;
          expect(opener.open(sealed)).toEqual({ ok: false, error: { kind: 'auth-failed' } });
          // Even a genuine next frame is refused: the stream is broken.
          expect(opener.open(sealer.seal(m)).ok).toBe(false);
          expect(opener.failed).toBe(true);
        },
      ),
    );
  });

  it('rejects a replayed frame, a dropped frame (gap) and a reordered pair', () => {
    const replay = pairOf();
    const f0 = replay.sealer.seal(new Uint8Array([0]));
    expect(replay.opener.open(f0).ok).toBe(true);
    expect(replay.opener.open(f0).ok).toBe(false);

    const gap = pairOf();
    gap.sealer.seal(new Uint8Array([0])); // lost
    expect(gap.opener.open(gap.sealer.seal(new Uint8Array([1]))).ok).toBe(false);

    const reorder = pairOf();
    const a = reorder.sealer.seal(new Uint8Array([0]));
    const b = reorder.sealer.seal(new Uint8Array([1]));
    expect(reorder.opener.open(b).ok).toBe(false);
    expect(reorder.opener.open(a).ok).toBe(false);
  });

  it('rejects a frame sealed with another key', () => {
    const other = new ChaChaStreamSealer(new Uint8Array(32).fill(9));
    expect(new ChaChaStreamOpener(key).open(other.seal(new Uint8Array([1, 2]))).ok).toBe(false);
  });

  it('random bytes give a typed error (malformed if shorter than a tag), never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const r = new ChaChaStreamOpener(key).open(bytes);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.kind).toBe(bytes.length < 16 ? 'malformed' : 'auth-failed');
      }),
    );
  });
});
