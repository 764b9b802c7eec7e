/** Names derived from an attachment: allocation ids the router accepts and GC can read back. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocationId, MAX_ALLOCATION_ID, parseAllocationId } from '../../cni-plugin/naming.js';
import { ifnameProblem, NAME_PATTERN } from '../../cni-plugin/spec/env.js';

/** ipam/allocator.ts's CONTAINER_ID. */
const ROUTER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@=+-]{0,254}$/;

const name = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$/);
const ifname = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 15 }).filter((s) => !ifnameProblem(s));

describe('allocation ids', () => {
  it('are accepted by the router and read back exactly (property)', () => {
    fc.assert(
      fc.property(name, name, ifname, (net, ctr, ifn) => {
        const id = allocationId(net, ctr, ifn);
        expect(id).toMatch(ROUTER_ID);
        expect(parseAllocationId(id)).toStrictEqual({ network: net, containerId: ctr, ifname: ifn });
      }),
      { numRuns: 500 },
    );
  });

  it('differ for different attachments (property)', () => {
    fc.assert(
      fc.property(fc.tuple(name, name, ifname), fc.tuple(name, name, ifname), (a, b) => {
        fc.pre(a.join('\u0000') !== b.join('\u0000'));
        expect(allocationId(...a)).not.toBe(allocationId(...b));
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['eth0', 'cni:weft:abc:eth0'],
    ['net-1.2_x', 'cni:weft:abc:net-1.2_x'],
    ['e%t', 'cni:weft:abc:e=25t'],
    ['a=b', 'cni:weft:abc:a=3db'],
    ['é', 'cni:weft:abc:=c3=a9'],
  ])('ifname %j → %s', (ifn, id) => {
    expect(allocationId('weft', 'abc', ifn)).toBe(id);
  });

  it('an id that would be too long becomes a stable digest that GC leaves alone', () => {
    const ctr = 'c'.repeat(300);
    expect(NAME_PATTERN.test(ctr)).toBe(true);
    const id = allocationId('weft', ctr, 'eth0');
    expect(id.length).toBeLessThanOrEqual(MAX_ALLOCATION_ID);
    expect(id).toMatch(ROUTER_ID);
    expect(id).toBe(allocationId('weft', ctr, 'eth0'));
    expect(parseAllocationId(id)).toBeUndefined();
  });

  it.each(['weave-attach-1', 'cni:only:two', 'cni:a:b:bad%', 'cni:a:b:=zz', 'cni:::'])(
    '%j is not one of ours',
    (id) => {
      expect(parseAllocationId(id)).toBeUndefined();
    },
  );
});
