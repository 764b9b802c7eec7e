/**
 * Model-based test of one peer's allocator against a plain map
 * address → container: whatever sequence of allocate / claim / release /
 * restart-from-disk runs, no address is ever held by two containers, every
 * answer agrees with the model, and released addresses come back (the lowest
 * free one is handed out next).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WeftError } from '../common/errors.js';
import { type Cidr, cidrContains, cidrSize, mustParseCidr } from '../common/ip.js';
import type { Result } from '../common/result.js';
import { isReserved } from './allocator.js';
import { ownedSpans } from './ring.js';
import { CoreDriver } from './test-driver.js';
import type { IpamAnswer } from './types.js';

const RANGE = mustParseCidr('10.32.0.0/27');
const SUBNETS: Cidr[] = [RANGE, mustParseCidr('10.32.0.16/28'), mustParseCidr('10.32.0.8/29')];
const IDS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9', 'c10', 'c11'];

interface Model {
  /** addr → [container, prefix] */
  held: Map<number, [string, number]>;
}

interface Real {
  d: CoreDriver;
}

function result(r: Result<IpamAnswer, WeftError> | undefined): { addr: number; prefix: number } | string {
  if (!r) return 'no answer';
  if (!r.ok) return r.error.code;
  if (r.value.kind !== 'address') return `unexpected ${r.value.kind}`;
  return { addr: r.value.addr, prefix: r.value.prefix };
}

function lowestFree(m: Model, subnet: Cidr): number | undefined {
  for (let a = subnet.addr; a < subnet.addr + cidrSize(subnet); a++) {
    if (!m.held.has(a) && !isReserved(a, subnet)) return a;
  }
  return undefined;
}

function checkInvariants(m: Model, r: Real): void {
  const real = r.d.core.allocations();
  // The allocator's book equals the model: one container per address.
  expect(new Map(real.map((a) => [a.addr, [a.containerId, a.prefix]]))).toEqual(m.held);
  expect(new Set(real.map((a) => a.addr)).size).toBe(real.length);
  // Everything allocated lies in space we own.
  const spans = ownedSpans(r.d.core.currentRing()!, r.d.core.owner());
  for (const a of real) expect(spans.some((s) => a.addr >= s.start && a.addr < s.end)).toBe(true);
}

class Allocate implements fc.Command<Model, Real> {
  constructor(
    readonly id: string,
    readonly subnet: Cidr,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const got = result(r.d.allocate(this.id, this.subnet).result);
    // A container holding several addresses in the subnet (claims) gets its
    // lowest one: the rule has no memory of insertion order, so it is the same
    // after a restart from disk.
    const existing = [...m.held]
      .filter(([a, [c, p]]) => c === this.id && p === this.subnet.prefix && cidrContains(this.subnet, a))
      .sort(([a], [b]) => a - b)[0];
    if (existing) {
      expect(got).toEqual({ addr: existing[0], prefix: this.subnet.prefix });
    } else {
      const want = lowestFree(m, this.subnet);
      if (want === undefined) expect(got).toBe('NO_FREE_ADDRESSES');
      else {
        expect(got).toEqual({ addr: want, prefix: this.subnet.prefix });
        m.held.set(want, [this.id, this.subnet.prefix]);
      }
    }
    checkInvariants(m, r);
  }
  toString = () => `allocate(${this.id}, /${this.subnet.prefix})`;
}

class Claim implements fc.Command<Model, Real> {
  constructor(
    readonly id: string,
    readonly offset: number,
    readonly prefix: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const addr = RANGE.addr + this.offset;
    const subnet = { addr: addr - (this.offset % 2 ** (32 - this.prefix)), prefix: this.prefix };
    const got = result(r.d.claim(this.id, addr, this.prefix).result);
    const holder = m.held.get(addr);
    if (isReserved(addr, subnet)) expect(got).toBe('INVALID_ADDRESS');
    else if (holder && holder[0] !== this.id) expect(got).toBe('ADDRESS_IN_USE');
    else if (holder) expect(got).toEqual({ addr, prefix: holder[1] });
    else {
      expect(got).toEqual({ addr, prefix: this.prefix });
      m.held.set(addr, [this.id, this.prefix]);
    }
    checkInvariants(m, r);
  }
  toString = () => `claim(${this.id}, +${this.offset}/${this.prefix})`;
}

class Release implements fc.Command<Model, Real> {
  constructor(
    readonly id: string,
    readonly offset: number | null,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const addr = this.offset === null ? undefined : RANGE.addr + this.offset;
    const res = r.d.release(this.id, addr).result;
    if (addr !== undefined) {
      const holder = m.held.get(addr);
      if (holder && holder[0] !== this.id) {
        expect(res).toMatchObject({ ok: false, error: { code: 'ADDRESS_IN_USE' } });
      } else {
        expect(res).toEqual({ ok: true, value: { kind: 'released', addresses: holder ? [addr] : [] } });
        m.held.delete(addr);
      }
    } else {
      const mine = [...m.held].filter(([, [c]]) => c === this.id).map(([a]) => a);
      expect(res).toEqual({ ok: true, value: { kind: 'released', addresses: mine.sort((a, b) => a - b) } });
      for (const a of mine) m.held.delete(a);
    }
    checkInvariants(m, r);
  }
  toString = () => `release(${this.id}${this.offset === null ? '' : `, +${this.offset}`})`;
}

class Restart implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const self = r.d.core.owner();
    r.d.restart();
    expect(r.d.core.owner()).toBe(self);
    checkInvariants(m, r);
  }
  toString = () => 'restart';
}

describe('allocator against a model', () => {
  it('never gives one address to two containers, and released addresses come back', () => {
    const id = fc.constantFrom(...IDS);
    const commands = [
      fc.tuple(id, fc.constantFrom(...SUBNETS)).map(([i, s]) => new Allocate(i, s)),
      fc.tuple(id, fc.constantFrom(...SUBNETS)).map(([i, s]) => new Allocate(i, s)),
      fc
        .tuple(id, fc.integer({ min: 0, max: 31 }), fc.constantFrom(27, 28, 29))
        .map(([i, o, p]) => new Claim(i, o, p)),
      fc
        .tuple(id, fc.option(fc.integer({ min: 0, max: 31 }), { nil: null }))
        .map(([i, o]) => new Release(i, o)),
      fc.constant(new Restart()),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 120 }), (cmds) => {
        const d = new CoreDriver({ peer: 'a', range: RANGE, init: { kind: 'seed', peers: ['a'] } }).start();
        fc.modelRun(() => ({ model: { held: new Map() }, real: { d } }), cmds);
      }),
      { numRuns: 300 },
    );
  });
});

describe('allocate for a container that already holds several addresses', () => {
  // Found by the model test (seed 1916070164): claim +2, claim +1, allocate.
  it('answers its lowest one, before and after a restart', () => {
    const d = new CoreDriver({ peer: 'a', range: RANGE, init: { kind: 'seed', peers: ['a'] } }).start();
    expect(result(d.claim('c', RANGE.addr + 2, 27).result)).toEqual({ addr: RANGE.addr + 2, prefix: 27 });
    expect(result(d.claim('c', RANGE.addr + 1, 27).result)).toEqual({ addr: RANGE.addr + 1, prefix: 27 });
    expect(result(d.allocate('c', RANGE).result)).toEqual({ addr: RANGE.addr + 1, prefix: 27 });
    d.restart();
    expect(result(d.allocate('c', RANGE).result)).toEqual({ addr: RANGE.addr + 1, prefix: 27 });
    expect(d.core.allocations()).toHaveLength(2);
  });
});
