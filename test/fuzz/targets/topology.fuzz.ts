import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { arbRecord } from '../../../router/wire/arbitraries.js';
import {
  decodeRecords,
  decodeTopologyMessage,
  encodeRecords,
  encodeTopologyMessage,
} from '../../../router/wire/topology.js';
import { arbitrarySample } from '../support/samples.js';
import { noReaderBug } from './oracles.js';
import { check, type FuzzTarget } from './target.js';

const records = fc.array(arbRecord, { maxLength: 4 });

export const target: FuzzTarget = {
  name: 'topology',
  decoder: 'router/wire/topology.ts decodeTopologyMessage, decodeRecords',
  maxLen: 8192,
  seeds: () => [
    ...arbitrarySample(records, 20).map((r) => encodeTopologyMessage({ kind: 'update', records: r })),
    ...arbitrarySample(records, 10).map((r) =>
      encodeTopologyMessage({ kind: 'answer', records: r, digest: '3:ab:cd' }),
    ),
    encodeTopologyMessage({ kind: 'digest', digest: '1:0:0' }),
  ],
  run(data) {
    const r = decodeTopologyMessage(data);
    if (!r.ok) noReaderBug(r.error);
    else {
      const again = decodeTopologyMessage(encodeTopologyMessage(r.value));
      check(again.ok && isDeepStrictEqual(again.value, r.value), 'topology message changed in a round trip');
      if (r.value.kind !== 'digest') {
        for (const rec of r.value.records) {
          const names = rec.connections.map((c) => c.remote);
          check(!names.includes(rec.name), 'a record kept a connection to itself');
          check(
            names.every((n, i) => i === 0 || names[i - 1]! < n),
            'connections not sorted and unique',
          );
        }
      }
    }
    const recs = decodeRecords(data);
    if (!recs.ok) noReaderBug(recs.error);
    else {
      const again = decodeRecords(encodeRecords(recs.value));
      check(again.ok && isDeepStrictEqual(again.value, recs.value), 'records changed in a round trip');
    }
  },
};
