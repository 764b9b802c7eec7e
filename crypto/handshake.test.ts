import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../common/random.js';
import type { HandshakeError, MeshSession } from './contracts.js';
import {
  createHandshake,
  HANDSHAKE_OVERHEAD,
  handshakePrologue,
  MAX_HANDSHAKE_PAYLOAD,
} from './handshake.js';
import { runHandshakePair } from './handshake-pair.js';

const enc = new TextEncoder();
const pskA = new Uint8Array(32).fill(0xa1);
const pskB = new Uint8Array(32).fill(0xb2);
const prologue = handshakePrologue(
  enc.encode('weft intro from initiator'),
  enc.encode('weft intro from responder'),
);

function pair(seed = 1, extra: Partial<Parameters<typeof runHandshakePair>[0]> = {}) {
  return runHandshakePair({
    pskInitiator: pskA,
    pskResponder: pskA,
    prologueInitiator: prologue,
    randomInitiator: new SeededRandom(seed),
    randomResponder: new SeededRandom(seed + 1000),
    ...extra,
  });
}

function flipBit(msg: Uint8Array, index: number, bit: number): Uint8Array {
  const out = Uint8Array.from(msg);
  out[index] = out[index]! ^ (1 << bit);
  return out;
}

function expectWorkingPair(a: MeshSession, b: MeshSession) {
  const hello = enc.encode('hello over the mesh');
  const ab = b.opener.open(a.sealer.seal(hello));
  expect(ab.ok && Buffer.from(ab.value).toString()).toBe('hello over the mesh');
  const ba = a.opener.open(b.sealer.seal(hello));
  expect(ba.ok && Buffer.from(ba.value).toString()).toBe('hello over the mesh');
}

describe('mesh handshake (Noise NNpsk0)', () => {
  it('completes with the same password: payloads arrive, hashes agree, streams work both ways', () => {
    const out = pair(1, { payloadInitiator: enc.encode('from i'), payloadResponder: enc.encode('from r') });
    expect(out.responderError).toBeUndefined();
    expect(out.initiatorError).toBeUndefined();
    expect(out.initiator.done && out.responder.done).toBe(true);
    expect(Buffer.from(out.receivedByResponder!).toString()).toBe('from i');
    expect(Buffer.from(out.receivedByInitiator!).toString()).toBe('from r');
    const i = out.initiator.session();
    const r = out.responder.session();
    expect(i.handshakeHash).toEqual(r.handshakeHash);
    expect(i.handshakeHash).toHaveLength(64);
    expectWorkingPair(i, r);
  });

  it('messages are 48 bytes plus the payload', () => {
    const out = pair(2, { payloadInitiator: new Uint8Array(10) });
    expect(out.transcript.map((m) => m.length)).toEqual([HANDSHAKE_OVERHEAD + 10, HANDSHAKE_OVERHEAD]);
  });

  it('deriveKeys gives mirrored pairs, distinct per label and per direction', () => {
    const out = pair(3);
    const i = out.initiator.session().deriveKeys('weft sleeve v1');
    const r = out.responder.session().deriveKeys('weft sleeve v1');
    expect(i.send).toEqual(r.recv);
    expect(i.recv).toEqual(r.send);
    expect(i.send).not.toEqual(i.recv);
    const other = out.initiator.session().deriveKeys('something else');
    expect(other.send).not.toEqual(i.send);
    expect(other.recv).not.toEqual(i.recv);
  });

  it('a different password fails on BOTH sides with auth-failed (the responder answers with a decoy)', () => {
    const out = pair(4, { pskResponder: pskB });
    expect(out.responderError?.kind).toBe('auth-failed');
    expect(out.initiatorError?.kind).toBe('auth-failed');
    expect(out.initiator.done || out.responder.done).toBe(false);
    expect(() => out.initiator.session()).toThrow();
    expect(() => out.responder.session()).toThrow();
    // The decoy is the size of a real reply, so it reveals nothing on the wire.
    expect(out.transcript[1]).toHaveLength(pair(4).transcript[1]!.length);
    // Both sides are finished: nothing more to send or accept.
    expect(out.responder.next()).toBeNull();
    expect(out.initiator.receive(out.transcript[1]!).ok).toBe(false);
  });

  it('different prologues (an altered intro, e.g. a downgrade) fail with auth-failed', () => {
    const other = handshakePrologue(
      enc.encode('weft intro from initiator'),
      enc.encode('weft intro, version 0'),
    );
    const out = pair(5, { prologueResponder: other });
    expect(out.responderError?.kind).toBe('auth-failed');
    expect(out.initiatorError?.kind).toBe('auth-failed');
  });

  it('any flipped bit in msg1 fails at the responder, in msg2 at the initiator', () => {
    const lens = pair(6, {
      payloadInitiator: new Uint8Array(8),
      payloadResponder: new Uint8Array(8),
    }).transcript.map((m) => m.length);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 0, max: Math.min(...lens) - 1 }),
        fc.integer({ min: 0, max: 7 }),
        (which, index, bit) => {
          const out = pair(6, {
            payloadInitiator: new Uint8Array(8),
            payloadResponder: new Uint8Array(8),
            wire: (m, k) => (k === which ? flipBit(m, index, bit) : m),
          });
          if (which === 0) expect(out.responderError?.kind).toBe('auth-failed');
          expect(out.initiatorError?.kind).toBe('auth-failed');
          expect(out.initiator.done).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a low-order ephemeral key (all zeros) in msg2 is auth-failed, not a crash', () => {
    const out = pair(7, { wire: (m, k) => (k === 1 ? new Uint8Array(m.length) : m) });
    expect(out.initiatorError?.kind).toBe('auth-failed');
  });

  it('is deterministic for a seed: same seeds → same transcript and keys; other seeds → different', () => {
    const a = pair(42);
    const b = pair(42);
    const c = pair(43);
    expect(a.transcript).toEqual(b.transcript);
    expect(a.initiator.session().deriveKeys('x')).toEqual(b.initiator.session().deriveKeys('x'));
    expect(c.transcript[0]).not.toEqual(a.transcript[0]);
    // Fresh ephemerals per connection: same password, different session keys (forward secrecy).
    expect(c.initiator.session().handshakeHash).not.toEqual(a.initiator.session().handshakeHash);
    expect(c.initiator.session().deriveKeys('x').send).not.toEqual(
      a.initiator.session().deriveKeys('x').send,
    );
  });

  it('random bytes of any length give a typed error on either side, never a throw', () => {
    const kinds = new Set(['malformed', 'auth-failed']);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: MAX_HANDSHAKE_PAYLOAD + 200 }),
        fc.boolean(),
        (bytes, toInitiator) => {
          const responder = createHandshake({
            initiator: false,
            psk: pskA,
            prologue,
            random: new SeededRandom(9),
          });
          const initiator = createHandshake({
            initiator: true,
            psk: pskA,
            prologue,
            random: new SeededRandom(8),
          });
          initiator.next();
          const r = (toInitiator ? initiator : responder).receive(bytes);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(kinds.has(r.error.kind)).toBe(true);
          const size =
            bytes.length >= HANDSHAKE_OVERHEAD && bytes.length <= HANDSHAKE_OVERHEAD + MAX_HANDSHAKE_PAYLOAD;
          if (!r.ok) expect(r.error.kind).toBe(size ? 'auth-failed' : 'malformed');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('protocol misuse is "unexpected" or null, never a throw', () => {
    const i = createHandshake({ initiator: true, psk: pskA, prologue, random: new SeededRandom(1) });
    const r = createHandshake({ initiator: false, psk: pskA, prologue, random: new SeededRandom(2) });
    expect(r.next()).toBeNull(); // responder speaks second
    const early = i.receive(new Uint8Array(48));
    expect(!early.ok && early.error.kind).toBe('unexpected'); // initiator has not sent msg1 yet
    const m1 = i.next()!;
    expect(i.next()).toBeNull(); // waiting for msg2
    expect(r.receive(m1).ok).toBe(true);
    const again = r.receive(m1);
    expect(!again.ok && again.error.kind).toBe('unexpected'); // a replayed msg1
    expect(i.receive(r.next()!).ok).toBe(true);
    const late = i.receive(m1);
    expect(!late.ok && late.error.kind).toBe('unexpected');
    expect(i.next()).toBeNull();
  });

  it('refuses an oversized payload and a PSK of the wrong size (caller bugs)', () => {
    const i = createHandshake({ initiator: true, psk: pskA, prologue, random: new SeededRandom(1) });
    expect(() => i.next(new Uint8Array(MAX_HANDSHAKE_PAYLOAD + 1))).toThrow(RangeError);
    expect(() =>
      createHandshake({ initiator: true, psk: new Uint8Array(16), prologue, random: new SeededRandom(1) }),
    ).toThrow(RangeError);
  });

  it('does not modify the caller’s message buffers (the library zeroes what it was given)', () => {
    const out = pair(11); // the initiator received transcript[1] itself, not a copy
    expect(out.initiator.done).toBe(true);
    expect(out.transcript).toEqual(pair(11).transcript);
  });
});

// ---------------------------------------------------------------------------
// Model-based: arbitrary interleavings of sends, deliveries, tampering and
// injected junk, checked against the state diagram in handshake.ts.

type IState = 'send1' | 'await2' | 'done' | 'failed';
type RState = 'await1' | 'send2' | 'decoy' | 'done' | 'failed';
interface InFlight {
  bytes: Uint8Array;
  genuine: boolean;
}
interface Model {
  i: IState;
  r: RState;
  toR: InFlight[];
  toI: InFlight[];
}
interface Real {
  i: ReturnType<typeof createHandshake>;
  r: ReturnType<typeof createHandshake>;
  junk: SeededRandom;
}

function expectedKind(awaiting: boolean, m: InFlight): HandshakeError['kind'] | 'ok' {
  if (!awaiting) return 'unexpected';
  const sized =
    m.bytes.length >= HANDSHAKE_OVERHEAD && m.bytes.length <= HANDSHAKE_OVERHEAD + MAX_HANDSHAKE_PAYLOAD;
  if (!sized) return 'malformed';
  return m.genuine ? 'ok' : 'auth-failed';
}

class InitiatorNext implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    const msg = r.i.next();
    expect(msg !== null).toBe(m.i === 'send1');
    if (msg !== null) {
      m.toR.push({ bytes: msg, genuine: true });
      m.i = 'await2';
    }
  }
  toString = () => 'i.next()';
}

class ResponderNext implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    const msg = r.r.next();
    expect(msg !== null).toBe(m.r === 'send2' || m.r === 'decoy');
    if (msg !== null) {
      m.toI.push({ bytes: msg, genuine: m.r === 'send2' });
      m.r = m.r === 'send2' ? 'done' : 'failed';
    }
    expect(r.r.done).toBe(m.r === 'done');
  }
  toString = () => 'r.next()';
}

class Deliver implements fc.Command<Model, Real> {
  constructor(readonly toResponder: boolean) {}
  check = (m: Readonly<Model>) => (this.toResponder ? m.toR : m.toI).length > 0;
  run(m: Model, r: Real) {
    const msg = (this.toResponder ? m.toR : m.toI).shift()!;
    if (this.toResponder) {
      const want = expectedKind(m.r === 'await1', msg);
      const got = r.r.receive(msg.bytes);
      expect(got.ok ? 'ok' : got.error.kind).toBe(want);
      if (want === 'ok') m.r = 'send2';
      else if (want === 'auth-failed') m.r = 'decoy';
      else if (want === 'malformed') m.r = 'failed';
    } else {
      const want = expectedKind(m.i === 'await2', msg);
      const got = r.i.receive(msg.bytes);
      expect(got.ok ? 'ok' : got.error.kind).toBe(want);
      if (want === 'ok') m.i = 'done';
      else if (want !== 'unexpected') m.i = 'failed';
    }
    expect(r.i.done).toBe(m.i === 'done');
    expect(r.r.done).toBe(m.r === 'done');
  }
  toString = () => `deliver(${this.toResponder ? '→r' : '→i'})`;
}

class Tamper implements fc.Command<Model, Real> {
  constructor(
    readonly toResponder: boolean,
    readonly at: number,
    readonly bit: number,
  ) {}
  check = (m: Readonly<Model>) => (this.toResponder ? m.toR : m.toI).length > 0;
  run(m: Model) {
    const q = this.toResponder ? m.toR : m.toI;
    const head = q[0]!;
    q[0] = { bytes: flipBit(head.bytes, this.at % head.bytes.length, this.bit), genuine: false };
  }
  toString = () => `tamper(${this.toResponder ? '→r' : '→i'}, ${this.at}, ${this.bit})`;
}

class Inject implements fc.Command<Model, Real> {
  constructor(
    readonly toResponder: boolean,
    readonly size: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real) {
    (this.toResponder ? m.toR : m.toI).unshift({ bytes: r.junk.bytes(this.size), genuine: false });
  }
  toString = () => `inject(${this.toResponder ? '→r' : '→i'}, ${this.size})`;
}

describe('mesh handshake state machine (model-based)', () => {
  it('follows the state diagram under any interleaving of sends, deliveries, tampering and junk', () => {
    const commands = [
      fc.constant(new InitiatorNext()),
      fc.constant(new ResponderNext()),
      fc.boolean().map((b) => new Deliver(b)),
      fc.boolean().map((b) => new Deliver(b)),
      fc
        .tuple(fc.boolean(), fc.nat(200), fc.integer({ min: 0, max: 7 }))
        .map(([b, at, bit]) => new Tamper(b, at, bit)),
      fc
        .tuple(fc.boolean(), fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant(1100)))
        .map(([b, n]) => new Inject(b, n)),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 12 }), fc.nat(), (cmds, seed) => {
        const real: Real = {
          i: createHandshake({ initiator: true, psk: pskA, prologue, random: new SeededRandom(seed) }),
          r: createHandshake({ initiator: false, psk: pskA, prologue, random: new SeededRandom(seed + 1) }),
          junk: new SeededRandom(seed + 2),
        };
        const model: Model = { i: 'send1', r: 'await1', toR: [], toI: [] };
        fc.modelRun(() => ({ model, real }), cmds);
        if (real.i.done && real.r.done) expectWorkingPair(real.i.session(), real.r.session());
      }),
      { numRuns: 200 },
    );
  });
});
