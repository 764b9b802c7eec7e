import { describe, expect, it } from 'vitest';
import type { Report } from '../api/report.js';
import { launchProgress } from './launch-progress.js';

type Target = Report['router']['targets'][number];
const target = (address: string, state: string, lastError: string | null = null): Target => ({
  address,
  direct: true,
  state,
  failures: lastError ? 1 : 0,
  lastError,
});

function report(targets: Target[], ipam: unknown, established = 0): Report {
  return {
    version: '0.1.0',
    router: {
      targets,
      connections: Array.from({ length: established }, (_, i) => ({ state: 'established', id: i })),
    } as unknown as Report['router'],
    ...(ipam === undefined ? {} : { ipam }),
  };
}

describe('weft launch progress', () => {
  it('waits for every direct target and for the ring, saying what is missing', () => {
    const p = launchProgress(
      report(
        [target('198.18.0.2:6783', 'connected'), target('198.18.0.3:6783', 'waiting', 'connection refused')],
        { state: 'awaiting-consensus', consensus: { quorum: 3, participants: ['a', 'b'] } },
      ),
    );
    expect(p).toEqual({
      done: false,
      mesh: 'peers: 1 of 2 connected (198.18.0.3:6783: connection refused)',
      ring: 'ring: awaiting consensus (quorum 3, 2 known)',
    });
  });

  it('is done when targets are connected (or satisfied by the other side dialling) and the ring is ready', () => {
    const p = launchProgress(
      report([target('198.18.0.2:6783', 'connected'), target('198.18.0.3:6783', 'satisfied')], {
        state: 'ready',
        range: '10.32.0.0/12',
      }),
    );
    expect(p).toEqual({
      done: true,
      mesh: 'peers: 2 of 2 connected',
      ring: 'ring: ready, range 10.32.0.0/12',
    });
  });

  it('a connected mesh with a ring still syncing is not done; a router without peers only needs its ring', () => {
    expect(launchProgress(report([target('h2:6783', 'connected')], { state: 'syncing' })).done).toBe(false);
    const alone = launchProgress(report([], { state: 'ready', range: '10.32.0.0/12' }, 1));
    expect(alone.done).toBe(true);
    expect(alone.mesh).toBe('peers: no peers given (1 connected)');
  });

  it('targets learned by discovery do not count; a router without IPAM only waits for peers', () => {
    const learned = { ...target('198.18.0.9:6783', 'waiting'), direct: false };
    expect(launchProgress(report([learned], undefined)).done).toBe(true);
    expect(launchProgress(report([target('h2:6783', 'connecting')], undefined)).done).toBe(false);
  });
});
