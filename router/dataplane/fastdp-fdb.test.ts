import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FastdpFdb, type FdbChange } from './fastdp-fdb.js';

const mac = (i: number) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`;
const peer = (i: number) => `0a:00:00:00:00:0${i}`;
const ip = (i: number) => `198.18.0.${i}`;

function apply(kernel: Map<string, string>, changes: FdbChange[]): void {
  for (const c of changes) {
    if (c.op === 'del') {
      expect(kernel.get(c.mac)).toBe(c.ip); // never deletes what is not there
      kernel.delete(c.mac);
    } else {
      expect(kernel.has(c.mac)).toBe(false); // never adds over an entry (it deletes first)
      kernel.set(c.mac, c.ip);
    }
  }
}

describe('fastdp FDB bookkeeping', () => {
  it('pins a MAC only while its peer has a healthy fastdp path', () => {
    const f = new FastdpFdb();
    expect(f.macLearned(mac(1), peer(2))).toEqual([]);
    expect(f.peerPath(peer(2), ip(2))).toEqual([{ op: 'add', mac: mac(1), ip: ip(2) }]);
    expect(f.peerPath(peer(2), null)).toEqual([{ op: 'del', mac: mac(1), ip: ip(2) }]);
    expect(f.peerPath(peer(2), ip(2))).toEqual([{ op: 'add', mac: mac(1), ip: ip(2) }]);
  });

  it('moves a MAC that moved to another peer', () => {
    const f = new FastdpFdb();
    f.peerPath(peer(2), ip(2));
    f.peerPath(peer(3), ip(3));
    f.macLearned(mac(1), peer(2));
    expect(f.macLearned(mac(1), peer(3))).toEqual([
      { op: 'del', mac: mac(1), ip: ip(2) },
      { op: 'add', mac: mac(1), ip: ip(3) },
    ]);
    expect(f.peerPath(peer(2), null)).toEqual([]);
  });

  it('forgetting a peer removes its entries', () => {
    const f = new FastdpFdb();
    f.peerPath(peer(2), ip(2));
    f.macLearned(mac(1), peer(2));
    f.macLearned(mac(2), peer(2));
    expect(f.peerForgotten(peer(2))).toHaveLength(2);
    expect(f.desired().size).toBe(0);
    expect(f.macForgotten(mac(1))).toEqual([]);
  });

  it('after any sequence, applying the changes yields exactly the desired table', () => {
    const op = fc.oneof(
      fc.tuple(fc.constant('learn' as const), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 })),
      fc.tuple(fc.constant('forget-mac' as const), fc.integer({ min: 1, max: 6 }), fc.constant(0)),
      fc.tuple(fc.constant('up' as const), fc.constant(0), fc.integer({ min: 1, max: 3 })),
      fc.tuple(fc.constant('down' as const), fc.constant(0), fc.integer({ min: 1, max: 3 })),
      fc.tuple(fc.constant('forget-peer' as const), fc.constant(0), fc.integer({ min: 1, max: 3 })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const f = new FastdpFdb();
        const kernel = new Map<string, string>();
        for (const [kind, m, p] of ops) {
          const changes =
            kind === 'learn'
              ? f.macLearned(mac(m), peer(p))
              : kind === 'forget-mac'
                ? f.macForgotten(mac(m))
                : kind === 'up'
                  ? f.peerPath(peer(p), ip(p))
                  : kind === 'down'
                    ? f.peerPath(peer(p), null)
                    : f.peerForgotten(peer(p));
          apply(kernel, changes);
          expect(kernel).toEqual(f.desired());
        }
      }),
    );
  });

  it('resync repairs a kernel table that drifted', () => {
    const f = new FastdpFdb();
    f.peerPath(peer(2), ip(2));
    f.macLearned(mac(1), peer(2));
    const kernel = new Map([
      [mac(9), ip(3)],
      [mac(1), ip(3)],
    ]);
    apply(kernel, f.resync(kernel));
    expect(kernel).toEqual(new Map([[mac(1), ip(2)]]));
  });
});
