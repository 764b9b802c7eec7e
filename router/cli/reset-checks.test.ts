import { describe, expect, it } from 'vitest';
import { handOverProblem } from './reset-checks.js';

const owner = (o: string, reachable: boolean, dead = false) => ({ owner: o, reachable, dead });

describe('weft reset: is there anyone to hand the space to?', () => {
  const base = { self: 'a/1', ringId: 'r1', owned: 100 };

  it('yes when another live owner is reachable', () => {
    expect(
      handOverProblem({ ...base, owners: [owner('a/1', true), owner('b/1', false), owner('c/1', true)] }),
    ).toBe(undefined);
  });

  it('no when every other owner is unreachable (dead ones do not count)', () => {
    expect(
      handOverProblem({
        ...base,
        owners: [owner('a/1', true), owner('b/1', false), owner('c/1', true, true)],
      }),
    ).toBe('no other owner of the address ring is reachable (b/1)');
  });

  it('nothing to hand over: no ring, nothing owned, or we are the only owner', () => {
    expect(handOverProblem(undefined)).toBeUndefined();
    expect(handOverProblem({ ...base, ringId: null, owners: [owner('b/1', false)] })).toBeUndefined();
    expect(handOverProblem({ ...base, owned: 0, owners: [owner('b/1', false)] })).toBeUndefined();
    expect(handOverProblem({ ...base, owners: [owner('a/1', true)] })).toBeUndefined();
  });
});
