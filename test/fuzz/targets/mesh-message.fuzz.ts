import { isDeepStrictEqual } from 'node:util';
import { arbMessage } from '../../../router/wire/arbitraries.js';
import { decodeMessage, encodeMessage } from '../../../router/wire/messages.js';
import { arbitrarySample } from '../support/samples.js';
import { noReaderBug } from './oracles.js';
import { check, type FuzzTarget } from './target.js';

const CAP = 4096;

export const target: FuzzTarget = {
  name: 'mesh-message',
  decoder: 'router/wire/messages.ts decodeMessage (+ msgpack.ts)',
  maxLen: 4096,
  seeds: () => arbitrarySample(arbMessage, 40).map((m) => encodeMessage(m)),
  run(data) {
    const r = decodeMessage(data, CAP);
    if (!r.ok) {
      noReaderBug(r.error);
      return;
    }
    const again = decodeMessage(encodeMessage(r.value), CAP);
    check(again.ok, 'a decoded message does not decode after re-encoding');
    check(isDeepStrictEqual(again.value, r.value), 'message changed in a round trip');
  },
};
