/**
 * Hardening (issue 7): IPAM's queue of waiting allocations and claims is
 * bounded. Each waits up to allocationTimeoutMs for the ring or for space
 * from peers; past maxPendingOps a request fails at once (TOO_MANY_PENDING,
 * HTTP 503 / CNI 11: try again later) instead of piling up.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../common/errors.js';
import { mustParseCidr, mustParseIp } from '../../common/ip.js';
import { CoreDriver } from '../../ipam/test-driver.js';
import { IPAM_DEFAULTS } from '../../ipam/types.js';

const config = {
  peer: '02:00:00:00:00:01',
  range: mustParseCidr('10.32.0.0/12'),
  init: { kind: 'observer' as const },
  maxPendingOps: 4,
};

describe('IPAM pending operations', () => {
  it('refuses past the cap at once, and takes requests again once the queue drains', () => {
    const d = new CoreDriver(config).start();
    const waiting = ['a', 'b', 'c'].map((id) => d.allocate(id));
    waiting.push(d.claim('d', mustParseIp('10.32.0.9'), 12));
    // An observer has no ring yet: every request waits.
    expect(waiting.map((w) => w.result)).toEqual([undefined, undefined, undefined, undefined]);
    const refused = d.allocate('e');
    expect(refused.result).toMatchObject({ ok: false, error: { code: 'TOO_MANY_PENDING' } });
    expect(d.claim('f', mustParseIp('10.32.0.10'), 12).result).toMatchObject({
      ok: false,
      error: { code: 'TOO_MANY_PENDING' },
    });
    // Releases are never refused.
    expect(d.release('a').result).toMatchObject({ ok: true });
    // The rest time out (RING_NOT_READY); then there is room again.
    d.advance(IPAM_DEFAULTS.allocationTimeoutMs + 1);
    for (const w of waiting.slice(1)) expect(d.replies.get(w.op)).toMatchObject({ ok: false });
    expect(d.allocate('g').result).toBeUndefined();
  });

  it('is a retry-later error for both the API and CNI, and the default cap is generous', () => {
    expect(ERROR_CATALOGUE.TOO_MANY_PENDING).toMatchObject({ http: 503, cni: 11 });
    expect(IPAM_DEFAULTS.maxPendingOps).toBeGreaterThanOrEqual(1024);
  });
});
