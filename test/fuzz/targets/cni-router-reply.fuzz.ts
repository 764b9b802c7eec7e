import { parseResponse } from '../../../cni-plugin/ipam/http.js';
import {
  addressesIn,
  allocationIdsIn,
  rangeIn,
  ringState,
  routerError,
} from '../../../cni-plugin/ipam/router-ipam.js';
import { isWeftError } from '../../../common/errors.js';
import { check, type FuzzTarget, utf8 } from './target.js';

/**
 * What the CNI plugin reads back from the router's API (or from whatever
 * answers on the configured router address): the HTTP response parser and
 * every reader of its JSON body. None may throw anything but a WeftError.
 */
export const target: FuzzTarget = {
  name: 'cni-router-reply',
  decoder: 'cni-plugin/ipam/http.ts parseResponse, router-ipam.ts body readers',
  maxLen: 2048,
  seeds: () => [
    utf8(
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 109\r\n\r\n{"containerId":"c1","address":"10.32.0.2/12","ip":"10.32.0.2","prefix":12,"subnet":"10.32.0.0/12","range":"x"}',
    ),
    utf8(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1b\r\n{"addresses":["10.32.0.2/12"]}\r\n0\r\n\r\n',
    ),
    utf8(
      'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 66\r\n\r\n{"error":{"code":"RING_NOT_READY","message":"ring not agreed yet"}}',
    ),
    utf8('HTTP/1.0 200 OK\r\n\r\n{"state":"ready","ringId":"abc","range":"10.32.0.0/12","ids":["c1","c2"]}'),
  ],
  run(data) {
    const r = parseResponse(Buffer.from(data));
    if (!r) return;
    check(Number.isInteger(r.status) && r.status >= 0 && r.status <= 999, `status ${r.status}`);
    check(isWeftError(routerError(r, 'fuzz')), 'routerError returned something else');
    const readers = [addressesIn, rangeIn, ringState, allocationIdsIn] as const;
    for (const read of readers) {
      try {
        read(r.body);
      } catch (e) {
        check(isWeftError(e), `${read.name} threw ${(e as Error).message}`);
      }
    }
  },
};
