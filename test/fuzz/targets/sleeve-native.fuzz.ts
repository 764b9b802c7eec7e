import { isDeepStrictEqual } from 'node:util';
import { loadSleeveAddon } from '../../../router/dataplane/sleeve-native.js';
import { KEY, KEY_ID, openerAtB, RECEIVER, SENDER, sleeveSeeds, splitPackets } from '../support/sleeve.js';
import { check, type FuzzTarget } from './target.js';

const addon = loadSleeveAddon();

/**
 * The native engine's receive path (envelope parse, key lookup, replay
 * window, AEAD) through its test hook, differentially against the
 * TypeScript oracle: every packet of a sequence must get the same verdict,
 * type, counter and body from both. The C code is not instrumented, so the
 * coverage guiding this target is the oracle's (the same decisions in the
 * same order, by design of docs/protocol.md's receive order).
 */
export const target: FuzzTarget = {
  name: 'sleeve-native',
  decoder: 'router/dataplane/native envelope.c/replay.c (openPackets hook) vs crypto/datagram.ts',
  maxLen: 4096,
  seeds: sleeveSeeds,
  run(data) {
    const { sealed, packets } = splitPackets(data);
    const native = addon.openPackets(sealed ? KEY : null, sealed ? KEY_ID : 0, RECEIVER, SENDER, packets);
    check(native.length === packets.length, 'native engine returned a different number of results');
    const oracle = openerAtB(sealed);
    packets.forEach((p, i) => {
      const want = oracle.open(p);
      const got = native[i]!;
      if (want.ok) {
        check(
          got.ok &&
            got.type === want.value.type &&
            got.counter === want.value.counter &&
            isDeepStrictEqual(new Uint8Array(got.body), want.value.body),
          `packet ${i}: oracle opened it, native said ${got.ok ? 'ok with other content' : got.error}`,
        );
      } else {
        check(
          !got.ok && got.error === want.error.kind,
          `packet ${i}: oracle ${want.error.kind}, native ${got.ok ? 'ok' : got.error}`,
        );
      }
    });
  },
};
