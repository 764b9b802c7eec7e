/**
 * Runs both sides of a handshake in memory (no transport), optionally passing
 * every message through `wire` (to tamper with or record it). For tests and the
 * simulator; the mesh's connection driver does the same over a stream.
 */
import type { Random } from '../common/random.js';
import type { HandshakeError, MeshHandshake } from './contracts.js';
import { createHandshake } from './handshake.js';

export interface PairOptions {
  pskInitiator: Uint8Array;
  pskResponder: Uint8Array;
  prologueInitiator: Uint8Array;
  prologueResponder?: Uint8Array;
  randomInitiator: Random;
  randomResponder: Random;
  payloadInitiator?: Uint8Array;
  payloadResponder?: Uint8Array;
  /** Sees (and may replace) each message in flight; `index` 0 is msg1. */
  wire?: (msg: Uint8Array, index: number) => Uint8Array;
}

export interface PairOutcome {
  initiator: MeshHandshake;
  responder: MeshHandshake;
  /** Messages as sent (before `wire`). */
  transcript: Uint8Array[];
  initiatorError?: HandshakeError;
  responderError?: HandshakeError;
  /** Payloads each side received. */
  receivedByResponder?: Uint8Array;
  receivedByInitiator?: Uint8Array;
}

export function runHandshakePair(o: PairOptions): PairOutcome {
  const initiator = createHandshake({
    initiator: true,
    psk: o.pskInitiator,
    prologue: o.prologueInitiator,
    random: o.randomInitiator,
  });
  const responder = createHandshake({
    initiator: false,
    psk: o.pskResponder,
    prologue: o.prologueResponder ?? o.prologueInitiator,
    random: o.randomResponder,
  });
  const out: PairOutcome = { initiator, responder, transcript: [] };
  const wire = o.wire ?? ((m: Uint8Array) => m);

  const msg1 = initiator.next(o.payloadInitiator);
  if (msg1 === null) throw new Error('initiator produced no first message');
  out.transcript.push(msg1);
  const r1 = responder.receive(wire(msg1, 0));
  if (r1.ok) out.receivedByResponder = r1.value;
  else out.responderError = r1.error;

  // After auth-failed the responder still answers (the decoy), as the mesh does.
  const msg2 = responder.next(o.payloadResponder);
  if (msg2 === null) return out;
  out.transcript.push(msg2);
  const r2 = initiator.receive(wire(msg2, 1));
  if (r2.ok) out.receivedByInitiator = r2.value;
  else out.initiatorError = r2.error;
  return out;
}
