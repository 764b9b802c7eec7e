import { decodeSleeveHeader, SLEEVE_HEADER_BYTES } from '../../../crypto/sleeve-header.js';
import { openerAtB, sleeveSeeds, splitPackets } from '../support/sleeve.js';
import { check, type FuzzTarget } from './target.js';

export const target: FuzzTarget = {
  name: 'sleeve',
  decoder: 'crypto/sleeve-header.ts decodeSleeveHeader, crypto/datagram.ts SleeveOpener.open',
  maxLen: 4096,
  seeds: sleeveSeeds,
  run(data) {
    const { sealed, packets } = splitPackets(data);
    const opener = openerAtB(sealed);
    const accepted = new Set<bigint>();
    for (const p of packets) {
      const h = decodeSleeveHeader(p);
      const r = opener.open(p);
      if (!r.ok) {
        check(r.error.message.length > 0, `error ${r.error.kind} without a message`);
        continue;
      }
      check(h.ok, 'opened a packet whose header does not decode');
      check(
        h.value.counter === r.value.counter && h.value.type === r.value.type,
        'header and opened packet disagree',
      );
      check(!accepted.has(r.value.counter), `counter ${r.value.counter} accepted twice (replay)`);
      if (sealed) accepted.add(r.value.counter);
      check(r.value.body.length === p.length - SLEEVE_HEADER_BYTES - (sealed ? 16 : 0), 'body length wrong');
    }
  },
};
