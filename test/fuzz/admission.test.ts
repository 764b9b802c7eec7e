/**
 * Hardening (issue 7): what a flood of unauthenticated connections can make a
 * router hold — a bounded number of pending connections (in total and per
 * source address) and an accept rate (router/mesh/admission.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../common/clock.js';
import { SeededRandom } from '../../common/random.js';
import { Admission, sourceOf } from '../../router/mesh/admission.js';
import { MESH_DEFAULTS } from '../../router/mesh/constants.js';
import type { MeshEffect } from '../../router/mesh/effects.js';
import { MeshRouter } from '../../router/mesh/router.js';
import { encodeFrame } from '../../router/wire/framing.js';
import { encodeIntro } from '../../router/wire/intro.js';
import { encodeMessage } from '../../router/wire/messages.js';
import { MessageTag } from '../../router/wire/tags.js';
import { hello } from './support/mesh-fixtures.js';

const LIMITS = {
  acceptRatePerSecond: 10,
  acceptBurst: 20,
  acceptRatePerSource: 3,
  acceptBurstPerSource: 6,
  maxPending: 12,
  maxPendingPerSource: 4,
};

describe('admission of unauthenticated connections', () => {
  it('sourceOf takes the host part of IPv4 and bracketed IPv6 addresses', () => {
    expect(sourceOf('198.18.0.7:40000')).toBe('198.18.0.7');
    expect(sourceOf('[fd00::1]:6783')).toBe('fd00::1');
    expect(sourceOf('weird')).toBe('weird');
  });

  it('caps pending connections per source, then in total; a released slot is free again', () => {
    const a = new Admission(LIMITS);
    const ids = Array.from({ length: 4 }, (_, i) => i);
    for (const i of ids) expect(a.admit(i, `198.18.0.1:${1000 + i}`, 0)).toEqual({ admit: true });
    expect(a.admit(10, '198.18.0.1:2000', 0)).toEqual({ admit: false, reason: 'source' });
    // Other sources still get in, up to the total.
    for (let i = 0; i < 8; i++) expect(a.admit(20 + i, `198.18.1.${i}:1`, 0).admit).toBe(true);
    expect(a.admit(40, '198.18.2.1:1', 0)).toEqual({ admit: false, reason: 'pending' });
    a.release(0);
    a.release(0); // idempotent
    expect(a.admit(41, '198.18.0.1:3000', 0)).toEqual({ admit: true });
    expect(a.stats).toEqual({
      pending: 12,
      refusedRate: 0,
      refusedSourceRate: 0,
      refusedPending: 1,
      refusedSource: 1,
    });
  });

  it('limits the accept rate over all sources with a token bucket (burst, then rate per second)', () => {
    const a = new Admission({ ...LIMITS, maxPending: 1000, maxPendingPerSource: 1000 });
    let admitted = 0;
    for (let i = 0; i < 50; i++) if (a.admit(i, `198.18.0.${i}:1`, 0).admit) admitted++;
    expect(admitted).toBe(LIMITS.acceptBurst);
    expect(a.admit(100, '198.18.1.1:1', 0)).toEqual({ admit: false, reason: 'rate' });
    // One second later: `rate` more.
    admitted = 0;
    for (let i = 200; i < 250; i++) if (a.admit(i, `198.18.2.${i}:1`, 1000).admit) admitted++;
    expect(admitted).toBe(LIMITS.acceptRatePerSecond);
  });

  it('limits each source to its own rate, without spending the tokens of others', () => {
    const a = new Admission({ ...LIMITS, maxPending: 1000, maxPendingPerSource: 1000 });
    let admitted = 0;
    for (let i = 0; i < 50; i++) if (a.admit(i, '198.18.0.66:1', 0).admit) admitted++;
    expect(admitted).toBe(LIMITS.acceptBurstPerSource);
    expect(a.stats.refusedSourceRate).toBe(50 - LIMITS.acceptBurstPerSource);
    // Everyone else still has the global burst minus what the flooder took.
    admitted = 0;
    for (let i = 0; i < 50; i++) if (a.admit(100 + i, `198.18.1.${i}:1`, 0).admit) admitted++;
    expect(admitted).toBe(LIMITS.acceptBurst - LIMITS.acceptBurstPerSource);
    expect(a.admit(300, '198.18.0.66:1', 1000).admit).toBe(true);
  });

  it('never holds more than its limits, whatever the sequence of accepts, releases and time', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('admit' as const),
        source: fc.nat({ max: 5 }),
        dt: fc.nat({ max: 300 }),
      }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const a = new Admission(LIMITS);
        const held = new Map<number, number>();
        let now = 0;
        let next = 0;
        let admittedInWindow: { t: number; source: number }[] = [];
        for (const o of ops) {
          if (o.kind === 'admit') {
            now += o.dt;
            const id = next++;
            if (a.admit(id, `198.18.0.${o.source}:9`, now).admit) {
              held.set(id, o.source);
              admittedInWindow.push({ t: now, source: o.source });
            }
          } else if (held.size > 0) {
            const id = [...held.keys()][o.pick % held.size]!;
            held.delete(id);
            a.release(id);
          }
          expect(a.stats.pending).toBe(held.size);
          expect(held.size).toBeLessThanOrEqual(LIMITS.maxPending);
          for (let s = 0; s <= 5; s++) {
            expect([...held.values()].filter((x) => x === s).length).toBeLessThanOrEqual(
              LIMITS.maxPendingPerSource,
            );
          }
          // Token buckets: within any second, at most burst + rate admissions, per source and in all.
          admittedInWindow = admittedInWindow.filter((x) => now - x.t < 1000);
          expect(admittedInWindow.length).toBeLessThanOrEqual(
            LIMITS.acceptBurst + LIMITS.acceptRatePerSecond,
          );
          for (let s = 0; s <= 5; s++) {
            expect(admittedInWindow.filter((x) => x.source === s).length).toBeLessThanOrEqual(
              LIMITS.acceptBurstPerSource + LIMITS.acceptRatePerSource,
            );
          }
        }
      }),
    );
  });
});

describe('a router under a connection flood', () => {
  function router(tuning = LIMITS) {
    const clock = new ManualClock(0);
    const effects: MeshEffect[] = [];
    const r = new MeshRouter({
      name: '02:00:00:00:00:01',
      nickname: 'r',
      listenPort: 6783,
      clock,
      random: new SeededRandom(3),
      effects: (e) => effects.push(e),
      tuning,
    });
    r.start();
    return { r, clock, effects };
  }
  const accept = (r: MeshRouter, address: string) => {
    const id = r.newStreamId();
    r.streamAccepted(id, { remoteAddress: address, localAddress: '198.18.0.1:6783' });
    return id;
  };
  const closedAtOnce = (effects: MeshEffect[], id: number) =>
    effects.some((e) => e.kind === 'close' && e.stream === id) &&
    !effects.some((e) => e.kind === 'write' && e.stream === id);

  it('closes streams past the per-source limit before sending anything; other sources get in', () => {
    const { r, effects } = router();
    const held = Array.from({ length: LIMITS.maxPendingPerSource }, (_, i) =>
      accept(r, `198.18.0.66:${i + 1}`),
    );
    const refused = accept(r, '198.18.0.66:999');
    expect(closedAtOnce(effects, refused)).toBe(true);
    for (const id of held) expect(closedAtOnce(effects, id)).toBe(false);
    const other = accept(r, '198.18.0.2:1');
    expect(effects.some((e) => e.kind === 'write' && e.stream === other)).toBe(true); // our intro
    expect(r.admissionStats).toMatchObject({ pending: LIMITS.maxPendingPerSource + 1, refusedSource: 1 });
  });

  it('a pending connection frees its slot when it closes (setup timeout) or completes its hello', () => {
    const { r, effects } = router();
    const ids = Array.from({ length: LIMITS.maxPendingPerSource }, (_, i) =>
      accept(r, `198.18.0.66:${i + 1}`),
    );
    // One completes its hello, one hangs up.
    r.streamData(ids[0]!, encodeIntro({ minVersion: 1, maxVersion: 1, encryption: false }));
    r.streamData(
      ids[0]!,
      encodeFrame(encodeMessage({ tag: MessageTag.Hello, hello: hello('02:00:00:00:00:02') })),
    );
    r.streamClosed(ids[1]!, { kind: 'remote' });
    expect(r.admissionStats.pending).toBe(LIMITS.maxPendingPerSource - 2);
    // The rest time out after the setup deadline.
    for (const id of ids.slice(2)) r.timerFired(`conn:${id}:deadline`);
    expect(r.admissionStats.pending).toBe(0);
    const again = accept(r, '198.18.0.66:5000');
    expect(closedAtOnce(effects, again)).toBe(false);
  });

  it('refuses past the accept rate and admits again as the bucket refills', () => {
    const { r, clock, effects } = router({ ...LIMITS, maxPending: 1000, maxPendingPerSource: 1000 });
    const ids = Array.from({ length: LIMITS.acceptBurst + 5 }, (_, i) => accept(r, `198.18.3.${i}:1`));
    expect(ids.filter((id) => closedAtOnce(effects, id)).length).toBe(5);
    expect(r.admissionStats.refusedRate).toBe(5);
    clock.advance(1000);
    const later = accept(r, '198.18.4.1:1');
    expect(closedAtOnce(effects, later)).toBe(false);
  });

  it('the defaults leave room for hundreds of peers (re)connecting at once', () => {
    expect(MESH_DEFAULTS.maxPending).toBeGreaterThanOrEqual(MESH_DEFAULTS.connLimit);
    expect(MESH_DEFAULTS.acceptBurst).toBeGreaterThanOrEqual(MESH_DEFAULTS.connLimit);
    expect(MESH_DEFAULTS.maxPendingPerSource).toBeGreaterThan(1);
  });
});
