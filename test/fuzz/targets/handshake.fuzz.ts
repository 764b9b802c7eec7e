import { SeededRandom } from '../../../common/random.js';
import type { MeshHandshake } from '../../../crypto/contracts.js';
import { createHandshake, HANDSHAKE_OVERHEAD, handshakePrologue } from '../../../crypto/handshake.js';
import { encodeIntro } from '../../../router/wire/intro.js';
import { check, type FuzzTarget } from './target.js';

const PSK = new Uint8Array(32).fill(0x42);
const intro = encodeIntro({ minVersion: 1, maxVersion: 1, encryption: true });
const PROLOGUE = handshakePrologue(intro, intro);
const KINDS = new Set(['malformed', 'auth-failed', 'unexpected']);

const side = (initiator: boolean): MeshHandshake =>
  createHandshake({ initiator, psk: PSK, prologue: PROLOGUE, random: new SeededRandom(initiator ? 1 : 2) });

/** The genuine transcript of this fixed pair (deterministic randomness), for seeds. */
function genuine(): { msg1: Uint8Array; msg2: Uint8Array; frames: Uint8Array[] } {
  const i = side(true);
  const r = side(false);
  const msg1 = i.next()!;
  r.receive(msg1);
  const msg2 = r.next()!;
  i.receive(msg2);
  const s = r.session();
  const frames = [Uint8Array.of(1), Uint8Array.of(3, 0x92, 0xa1, 0x78, 0xc4, 0)].map((f) => s.sealer.seal(f));
  return { msg1, msg2, frames };
}

/**
 * Input: [role, message…]. Role 0: a responder receives the message as msg1
 * (what any unauthenticated dialler can send). Role 1: an initiator, having
 * sent msg1, receives it as msg2. Role 2: after a genuine handshake, the
 * responder's stream opener receives the rest as sealed mesh frames
 * (split on a u16 length prefix each).
 */
export const target: FuzzTarget = {
  name: 'handshake',
  decoder: 'crypto/handshake.ts receive (msg1, msg2), crypto/stream-seal.ts open',
  maxLen: 2048,
  seeds: () => {
    const g = genuine();
    const framed = g.frames.flatMap((f) => [f.length >> 8, f.length & 0xff, ...f]);
    return [Uint8Array.of(0, ...g.msg1), Uint8Array.of(1, ...g.msg2), Uint8Array.of(2, ...framed)];
  },
  run(data) {
    if (data.length === 0) return;
    const role = data[0]! % 3;
    const msg = data.subarray(1);
    if (role === 0 || role === 1) {
      const hs = side(role === 1);
      if (role === 1) check(hs.next()?.length === HANDSHAKE_OVERHEAD, 'msg1 has the wrong size');
      const r = hs.receive(msg);
      if (!r.ok) {
        check(KINDS.has(r.error.kind), `unknown error kind ${r.error.kind}`);
        const decoy = hs.next();
        if (role === 0 && r.error.kind === 'auth-failed') check(decoy !== null, 'no decoy after a bad msg1');
        check(!hs.done, 'done after a failed receive');
        return;
      }
      const reply = hs.next();
      if (role === 0) check(reply !== null && hs.done, 'responder did not answer an authentic msg1');
      else check(hs.done, 'initiator not done after an authentic msg2');
      hs.session();
      return;
    }
    // role 2: sealed frames on an established session.
    const i = side(true);
    const r = side(false);
    r.receive(i.next()!);
    i.receive(r.next()!);
    const opener = r.session().opener;
    let failed = false;
    for (let off = 0; off + 2 <= msg.length; ) {
      const n = (msg[off]! << 8) | msg[off + 1]!;
      const frame = msg.subarray(off + 2, off + 2 + n);
      off += 2 + n;
      const o = opener.open(frame);
      if (failed) check(!o.ok, 'the opener accepted a frame after a failure');
      if (!o.ok) failed = true;
    }
  },
};
