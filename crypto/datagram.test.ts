import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../common/random.js';
import { SLEEVE_MAX_SEALED_BODY, SleeveOpener, SleeveSealer, sleeveKeys } from './datagram.js';
import { runHandshakePair } from './handshake-pair.js';
import {
  decodeSleeveHeader,
  peerNameFromBytes,
  peerNameToBytes,
  SLEEVE_HEADER_BYTES,
  SleeveType,
  writeSleeveHeader,
} from './sleeve-header.js';

const A = peerNameToBytes('aa:00:00:00:00:01')!;
const B = peerNameToBytes('bb:00:00:00:00:02')!;
const key = new Uint8Array(32).map((_, i) => 255 - i);
const otherKey = new Uint8Array(32).fill(3);

const sealerAB = (k: Uint8Array | null = key) => new SleeveSealer({ key: k, sender: A, receiver: B });
const openerAtB = (k: Uint8Array | null = key) => new SleeveOpener({ key: k, local: B, remote: A });
const sleeveType = fc.constantFrom(...Object.values(SleeveType));
const ERROR_KINDS = new Set([
  'too-short',
  'too-long',
  'bad-version',
  'unknown-type',
  'malformed',
  'not-for-us',
  'wrong-sender',
  'mode-mismatch',
  'unknown-key',
  'replayed',
  'auth-failed',
]);

describe('sleeve sealing', () => {
  it('round-trips packets delivered in any order within the window, then refuses every replay', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(sleeveType, fc.uint8Array({ maxLength: 200 })), { minLength: 1, maxLength: 30 }),
        fc.nat(),
        (items, seed) => {
          const sealer = sealerAB();
          const opener = openerAtB();
          const packets = items.map(([type, body], i) => ({
            type,
            body,
            counter: BigInt(i),
            packet: sealer.seal(type, body),
          }));
          const order = new SeededRandom(seed);
          const shuffled = packets.map((p) => [order.next(), p] as const).sort((x, y) => x[0] - y[0]);
          for (const [, p] of shuffled) {
            const r = opener.open(p.packet);
            expect(r.ok && r.value).toEqual({ type: p.type, counter: p.counter, body: p.body });
          }
          for (const p of packets) {
            const r = opener.open(p.packet);
            expect(!r.ok && r.error.kind).toBe('replayed');
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('counters start at 0 and advance by one per packet', () => {
    const sealer = sealerAB();
    const counters = [0, 1, 2].map(() =>
      decodeSleeveHeader(sealer.seal(SleeveType.Frames, new Uint8Array(1))),
    );
    expect(counters.map((h) => h.ok && h.value.counter)).toEqual([0n, 1n, 2n]);
    expect(sealer.counter).toBe(3n);
  });

  it('any flipped bit anywhere in a sealed packet is refused with a typed error', () => {
    fc.assert(
      fc.property(
        sleeveType,
        fc.uint8Array({ maxLength: 100 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (type, body, at, bit) => {
          const packet = sealerAB().seal(type, body);
          packet[at % packet.length]! ^= 1 << bit;
          const r = openerAtB().open(packet);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(ERROR_KINDS.has(r.error.kind)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a packet sealed with another key is refused (unknown-key, or auth-failed if it claims our key id)', () => {
    const foreign = sealerAB(otherKey).seal(SleeveType.Frames, new Uint8Array(10));
    const r1 = openerAtB().open(foreign);
    expect(!r1.ok && r1.error.kind).toBe('unknown-key');
    const ours = sealerAB().seal(SleeveType.Frames, new Uint8Array(0));
    foreign.set(ours.subarray(4, 8), 4); // forge our key id
    const r2 = openerAtB().open(foreign);
    expect(!r2.ok && r2.error.kind).toBe('auth-failed');
  });

  it('forged packets never move the replay window', () => {
    const opener = openerAtB();
    const genuine = sealerAB();
    const first = genuine.seal(SleeveType.Frames, new Uint8Array([1]));
    // A forgery with our key id and a huge counter: if it moved the window, `first` would become "too old".
    const forger = new SleeveSealer({ key: otherKey, sender: A, receiver: B, firstCounter: 1n << 40n });
    const forged = forger.seal(SleeveType.Frames, new Uint8Array([2]));
    forged.set(first.subarray(4, 8), 4);
    expect(opener.open(forged).ok).toBe(false);
    expect(opener.open(first).ok).toBe(true);
  });

  it('plain sessions carry the body in the clear; an opener never accepts the other mode', () => {
    const plain = sealerAB(null).seal(SleeveType.Heartbeat, new Uint8Array([7, 7]));
    expect(Array.from(plain.subarray(SLEEVE_HEADER_BYTES))).toEqual([7, 7]);
    const r = openerAtB(null).open(plain);
    expect(r.ok && Array.from(r.value.body)).toEqual([7, 7]);
    const onEncrypted = openerAtB().open(plain);
    expect(!onEncrypted.ok && onEncrypted.error.kind).toBe('mode-mismatch');
    const sealed = sealerAB().seal(SleeveType.Heartbeat, new Uint8Array([7, 7]));
    const onPlain = openerAtB(null).open(sealed);
    expect(!onPlain.ok && onPlain.error.kind).toBe('mode-mismatch');
  });

  it('seals the largest allowed body into a maximal UDP datagram and refuses one byte more', () => {
    const packet = sealerAB().seal(SleeveType.Frames, new Uint8Array(SLEEVE_MAX_SEALED_BODY));
    expect(packet.length).toBe(65507);
    expect(openerAtB().open(packet).ok).toBe(true);
    expect(() => sealerAB().seal(SleeveType.Frames, new Uint8Array(SLEEVE_MAX_SEALED_BODY + 1))).toThrow(
      RangeError,
    );
  });

  it('random bytes (and random bodies behind a valid-looking header) give typed errors, never a throw', () => {
    const template = sealerAB().seal(SleeveType.Frames, new Uint8Array(0)).subarray(0, SLEEVE_HEADER_BYTES);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withHeader) => {
        const packet = withHeader ? Uint8Array.from([...template, ...bytes]) : bytes;
        const r = openerAtB().open(packet);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(ERROR_KINDS.has(r.error.kind)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('keys from a real handshake: one side seals, the other opens, key ids agree', () => {
    const out = runHandshakePair({
      pskInitiator: key,
      pskResponder: key,
      prologueInitiator: new Uint8Array([1]),
      randomInitiator: new SeededRandom(1),
      randomResponder: new SeededRandom(2),
    });
    const i = sleeveKeys(out.initiator.session());
    const r = sleeveKeys(out.responder.session());
    expect(i.sendKeyId).toBe(r.recvKeyId);
    expect(i.recvKeyId).toBe(r.sendKeyId);
    const packet = new SleeveSealer({ key: r.send, sender: B, receiver: A }).seal(
      SleeveType.Frames,
      new Uint8Array([4, 2]),
    );
    const opened = new SleeveOpener({ key: i.recv, local: A, remote: B }).open(packet);
    expect(opened.ok && Array.from(opened.value.body)).toEqual([4, 2]);
    // And not with its own send key (directions are distinct).
    expect(new SleeveOpener({ key: i.send, local: A, remote: B }).open(packet).ok).toBe(false);
  });
});

describe('sleeve header codec', () => {
  it('decode(write(h)) = h for every valid header', () => {
    fc.assert(
      fc.property(
        sleeveType,
        fc.boolean(),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        (type, sealed, id, counter, sender, receiver) => {
          const h = { type, sealed, keyId: sealed ? id : 0, counter, sender, receiver };
          const buf = new Uint8Array(SLEEVE_HEADER_BYTES);
          writeSleeveHeader(buf, h);
          expect(decodeSleeveHeader(buf)).toEqual({ ok: true, value: h });
        },
      ),
    );
  });

  it('peer names convert both ways and bad names give null', () => {
    expect(peerNameFromBytes(peerNameToBytes('0a:1B:2c:3d:4e:5f')!)).toBe('0a:1b:2c:3d:4e:5f');
    for (const bad of [
      '',
      '0a:1b:2c:3d:4e',
      '0a:1b:2c:3d:4e:5g',
      '0a-1b-2c-3d-4e-5f',
      '0a:1b:2c:3d:4e:5f:00',
    ]) {
      expect(peerNameToBytes(bad)).toBeNull();
    }
  });
});
