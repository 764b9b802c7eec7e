import { isDeepStrictEqual } from 'node:util';
import { decodeControl, encodeControl } from '../../../router/dataplane/control-codec.js';
import { check, type FuzzTarget } from './target.js';

const KINDS = new Set(['too-short', 'bad-version', 'unknown-tag', 'malformed']);

export const target: FuzzTarget = {
  name: 'control',
  decoder: 'router/dataplane/control-codec.ts decodeControl',
  maxLen: 7000,
  seeds: () => [
    encodeControl({
      tag: 'hello',
      fastdp: true,
      fastdpPort: 6784,
      vni: 0x7765,
      heartbeatVni: 0x7766,
      mtu: 1390,
    }),
    encodeControl({ tag: 'ack', kind: 'probe', seq: 12345n, size: 1472 }),
    encodeControl({ tag: 'ack', kind: 'fastdp', seq: 1n, size: 60 }),
    encodeControl({ tag: 'mac-claim', macs: ['02:00:00:00:00:01', '0a:bb:cc:dd:ee:ff'] }),
  ],
  run(data) {
    const r = decodeControl(data);
    if (!r.ok) {
      check(KINDS.has(r.error.kind), `unknown error kind ${r.error.kind}`);
      return;
    }
    const again = decodeControl(encodeControl(r.value));
    check(again.ok && isDeepStrictEqual(again.value, r.value), 'control message changed in a round trip');
  },
};
