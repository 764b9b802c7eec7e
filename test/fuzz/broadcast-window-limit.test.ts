/**
 * Hardening (issue 7): a GossipBroadcast may name any source, so the
 * duplicate window must not keep one entry per made-up name for ever.
 */
import { describe, expect, it } from 'vitest';
import { BroadcastWindow, MAX_BROADCAST_SOURCES } from '../../router/mesh/broadcast-window.js';

describe('broadcast window sources', () => {
  it('remembers at most maxSources, forgetting the oldest; recent sources still suppress duplicates', () => {
    const w = new BroadcastWindow(32, 100);
    for (let i = 0; i < 10_000; i++) expect(w.accept(`src-${i}`, 1, 1)).toBe(true);
    expect(w.sourceCount).toBe(100);
    expect(w.accept('src-9999', 1, 1)).toBe(false);
    expect(w.accept('src-9950', 1, 1)).toBe(false);
    // A forgotten one lets its old broadcast through once, then suppresses it again.
    expect(w.accept('src-0', 1, 1)).toBe(true);
    expect(w.accept('src-0', 1, 1)).toBe(false);
    expect(w.sourceCount).toBe(100);
  });

  it('the default bound is at least the topology limit (every real peer fits)', async () => {
    const { TOPOLOGY_LIMITS } = await import('../../router/mesh/topology.js');
    expect(MAX_BROADCAST_SOURCES).toBeGreaterThanOrEqual(TOPOLOGY_LIMITS.maxPeers);
  });
});
