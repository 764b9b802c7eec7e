/**
 * Hardening (issue 7): what peers' gossip can make a router hold in all.
 * Each topology message is capped by the decoder, but records accumulate
 * across messages; past TopologyLimits new records (and updates that add
 * connections) are refused and counted, while updates that stay within the
 * limits still merge.
 */
import { describe, expect, it } from 'vitest';
import {
  type ConnectionRecord,
  type PeerRecord,
  TOPOLOGY_LIMITS,
  Topology,
} from '../../router/mesh/topology.js';

const name = (i: number) =>
  `02:00:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
const conn = (i: number): ConnectionRecord => ({
  remote: name(i),
  address: `198.18.${(i >> 8) & 0xff}.${i & 0xff}:6783`,
  outbound: true,
  established: true,
});
const record = (i: number, version: number, conns: number[]): PeerRecord => ({
  name: name(i),
  nickname: `p${i}`,
  uid: BigInt(i),
  version,
  shortId: null,
  connections: conns.map(conn),
});
const us = () =>
  new Topology({ name: name(0), nickname: 'us', uid: 1n, shortId: 1 }, { maxPeers: 10, maxConnections: 20 });

describe('topology limits', () => {
  it('refuses new records past maxPeers, and still takes updates of records it holds', () => {
    const t = us();
    const first = t.merge(Array.from({ length: 12 }, (_, k) => record(k + 1, 1, [])));
    expect(first.changed.length).toBe(9); // 9 + ourselves = 10
    expect(first.refused).toBe(3);
    expect(t.size).toBe(10);
    const update = t.merge([record(1, 2, []), record(50, 1, [])]);
    expect(update.changed.map((r) => r.name)).toEqual([name(1)]);
    expect(update.refused).toBe(1);
  });

  it('refuses updates that would pass maxConnections in all; shrinking ones merge', () => {
    const t = us();
    expect(
      t.merge([
        record(
          1,
          1,
          Array.from({ length: 15 }, (_, k) => 100 + k),
        ),
      ]).refused,
    ).toBe(0);
    const grow = t.merge([
      record(
        2,
        1,
        Array.from({ length: 6 }, (_, k) => 200 + k),
      ),
    ]);
    expect(grow).toMatchObject({ changed: [], refused: 1 });
    expect(t.merge([record(2, 1, [300, 301, 302, 303, 304])]).refused).toBe(0); // exactly 20
    expect(t.merge([record(1, 2, [100])]).changed.length).toBe(1); // frees 14
    expect(
      t.merge([
        record(
          3,
          1,
          Array.from({ length: 14 }, (_, k) => 400 + k),
        ),
      ]).refused,
    ).toBe(0);
  });

  it('the defaults are far above any real mesh', () => {
    expect(TOPOLOGY_LIMITS.maxPeers).toBeGreaterThanOrEqual(65_536);
    expect(TOPOLOGY_LIMITS.maxConnections).toBeGreaterThanOrEqual(1000 * 200);
  });
});
