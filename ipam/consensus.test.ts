import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ClaimsMap,
  decided,
  initialClaims,
  mergeClaims,
  type NodeClaims,
  propose,
  quorumFor,
  respond,
} from './consensus.js';
import { peerOwner } from './test-arbitraries.js';

/** N participants exchanging claims snapshots over a lossy, reordering network. */
class PaxosNet {
  readonly nodes: string[];
  readonly state = new Map<string, Map<string, NodeClaims>>();
  queue: Array<{ to: string; claims: ClaimsMap }> = [];

  constructor(
    n: number,
    readonly quorum: number,
  ) {
    this.nodes = Array.from({ length: n }, (_, i) => peerOwner(i));
    for (const node of this.nodes) this.state.set(node, new Map([[node, initialClaims(quorum)]]));
    for (const node of this.nodes) this.announce(node);
  }

  announce(from: string, to: readonly string[] = this.nodes): void {
    const snapshot = new Map(this.state.get(from)!);
    for (const other of to) if (other !== from) this.queue.push({ to: other, claims: snapshot });
  }

  react(node: string, claims: Map<string, NodeClaims>): void {
    const r = respond(claims, node);
    this.state.set(node, r.claims);
    this.announce(node);
  }

  propose(node: string): void {
    this.react(node, propose(this.state.get(node)!, node));
  }

  deliver(i: number): void {
    const [m] = this.queue.splice(i, 1);
    if (!m) return;
    const merged = mergeClaims(this.state.get(m.to)!, m.claims, m.to);
    if (merged.changed) this.react(m.to, merged.claims);
  }

  /** What each node learned first: a decision is final, so later views must never contradict it. */
  readonly learned = new Map<string, string>();

  decisions(): Array<readonly string[]> {
    const out: Array<readonly string[]> = [];
    for (const n of this.nodes) {
      const v = decided(this.state.get(n)!, this.quorum);
      if (!v) continue;
      out.push(v);
      if (!this.learned.has(n)) this.learned.set(n, v.join(','));
    }
    return out;
  }

  /** Every value ever decided anywhere, plus what is decided now. */
  everDecided(): Set<string> {
    return new Set([...this.learned.values(), ...this.decisions().map((v) => v.join(','))]);
  }

  /** Deliver everything (only between `group` when given) until quiet. */
  drain(group?: Set<string>): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const i = this.queue.findIndex((m) => !group || group.has(m.to));
      if (i < 0) return;
      const m = this.queue[i]!;
      if (group && ![...group].some((g) => m.claims.has(g))) {
        this.queue.splice(i, 1);
        continue;
      }
      this.deliver(i);
    }
    throw new Error('did not quiesce');
  }
}

describe('bootstrap consensus', () => {
  it('never decides two different values, whatever the schedule (safety)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('propose' as const), who: fc.nat() }),
            fc.record({ kind: fc.constant('propose' as const), who: fc.nat() }),
            fc.record({ kind: fc.constant('deliver' as const), which: fc.nat() }),
            fc.record({ kind: fc.constant('deliver' as const), which: fc.nat() }),
            fc.record({ kind: fc.constant('drop' as const), which: fc.nat() }),
            fc.record({ kind: fc.constant('dup' as const), which: fc.nat() }),
          ),
          { maxLength: 300 },
        ),
        (n, actions) => {
          const net = new PaxosNet(n, quorumFor(n));
          for (const a of actions) {
            if (a.kind === 'propose') net.propose(net.nodes[a.who % n]!);
            else if (net.queue.length > 0) {
              const i = a.which % net.queue.length;
              if (a.kind === 'deliver') net.deliver(i);
              else if (a.kind === 'drop') net.queue.splice(i, 1);
              else net.queue.push(net.queue[i]!);
            }
            expect(net.everDecided().size).toBeLessThanOrEqual(1);
          }
          // Liveness once the network behaves: one proposer, full delivery.
          net.propose(net.nodes[0]!);
          net.drain();
          const all = net.decisions();
          expect(all.length).toBe(n);
          expect(net.everDecided().size).toBe(1);
          // The value names only participants, and includes at least a quorum of them.
          const value = all[0]!;
          for (const v of value) expect(net.nodes).toContain(v);
          expect(value.length).toBeGreaterThanOrEqual(quorumFor(n));
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('a minority partition cannot decide; the majority can, and the minority learns the same value', () => {
    const net = new PaxosNet(5, 3);
    const minority = new Set(net.nodes.slice(0, 2));
    const majority = new Set(net.nodes.slice(2));
    net.propose(net.nodes[0]!);
    net.drain(minority);
    expect(net.decisions()).toEqual([]);
    net.propose(net.nodes[4]!);
    net.drain(majority);
    const d = net.decisions();
    expect(d.length).toBe(3);
    // Heal: everyone re-announces; the minority adopts the decided value.
    for (const node of net.nodes) net.announce(node);
    net.drain();
    expect(new Set(net.decisions().map((v) => v.join(',')))).toEqual(new Set([d[0]!.join(',')]));
    expect(net.decisions().length).toBe(5);
  });

  it('a single node with quorum 1 decides on itself at once', () => {
    const net = new PaxosNet(1, 1);
    net.propose(net.nodes[0]!);
    expect(net.decisions()).toEqual([[net.nodes[0]]]);
  });

  it('ignores claims about ourselves from others (we are their only author)', () => {
    const me = peerOwner(1);
    const mine = new Map([[me, initialClaims(2)]]);
    const forged = new Map([[me, { ...initialClaims(2), version: 99, promise: { round: 5, node: me } }]]);
    const r = mergeClaims(mine, forged, me);
    expect(r.changed).toBe(false);
    expect(r.claims.get(me)).toEqual(initialClaims(2));
  });
});
