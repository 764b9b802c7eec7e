/**
 * Weave's IPAM failure modes (reference/weave-net.md §3), each as a scenario on
 * the simulated network that would have caught it, plus the behaviours the
 * issue asks for (consensus bootstrap, claims across peers, rmpeer, reset).
 */
import { describe, expect, it } from 'vitest';
import { type Cidr, cidrSize, formatIp, mustParseCidr, mustParseIp } from '../../common/ip.js';
import { decodeMessage, encodeMessage, IpamTag } from '../../ipam/codec.js';
import { ownerPeer } from '../../ipam/owner.js';
import { ownedSpans, ownerAt, transferSpan } from '../../ipam/ring.js';
import { spansTotal } from '../../ipam/span.js';
import { IpamNet, type OpRecord } from './ipam-net.js';

const R24 = mustParseCidr('10.32.0.0/24');
const R12 = mustParseCidr('10.32.0.0/12');

function consensusNet(
  peers: string[],
  range: Cidr = R24,
  seed = 1,
  extra: Partial<ConstructorParameters<typeof IpamNet>[0]> = {},
) {
  return new IpamNet({ seed, peers, range, init: { kind: 'consensus', size: peers.length }, ...extra });
}

function addr(rec: OpRecord): number {
  const r = rec.result;
  if (!r?.ok || r.value.kind !== 'address')
    throw new Error(`${rec.kind} on ${rec.peer}: ${JSON.stringify(r)}`);
  return r.value.addr;
}

function code(rec: OpRecord): string | undefined {
  return rec.result && !rec.result.ok ? rec.result.error.code : undefined;
}

/** Allocate on `peers` round-robin until each says NO_FREE_ADDRESSES; returns how many succeeded. */
function exhaust(net: IpamNet, peers: string[], prefix: string): number {
  let n = 0;
  const done = new Set<string>();
  for (let i = 0; done.size < peers.length && i < 100_000; i++) {
    const p = peers[i % peers.length]!;
    if (done.has(p)) continue;
    const rec = net.allocate(p, `${prefix}${i}`);
    net.runFor(3_000);
    if (rec.result?.ok) n++;
    else if (code(rec) === 'NO_FREE_ADDRESSES' || code(rec) === 'ALLOCATION_TIMEOUT') done.add(p);
    else if (!rec.result) {
      net.runFor(60_000);
      if (!rec.result) throw new Error(`allocation on ${p} never answered`);
    }
  }
  return n;
}

describe('bootstrap', () => {
  it('three peers agree on one ring by consensus and allocate hundreds of unique addresses concurrently', () => {
    const net = consensusNet(['a', 'b', 'c'], R12);
    net.runFor(5_000);
    for (const p of ['a', 'b', 'c']) expect(net.core(p).status().state).toBe('ready');
    const ring = net.checkConverged()!;
    expect(new Set(ring.entries.map((e) => ownerPeer(e.owner)))).toEqual(new Set(['a', 'b', 'c']));
    const recs: OpRecord[] = [];
    for (let i = 0; i < 300; i++) recs.push(net.allocate(['a', 'b', 'c'][i % 3]!, `c${i}`));
    net.runFor(1_000);
    const addrs = recs.map(addr);
    expect(new Set(addrs).size).toBe(300);
    net.checkNoDuplicates();
  });

  it('consensus that cannot reach its quorum says so in status and fails allocations with RING_NOT_READY (Weave #1559)', () => {
    const net = new IpamNet({
      seed: 2,
      peers: ['a'],
      range: R24,
      init: { kind: 'consensus', size: 3 },
      core: { allocationTimeoutMs: 10_000 },
    });
    const first = net.allocate('a', 'c1');
    net.runFor(15_000);
    const st = net.core('a').status();
    expect(st.state).toBe('awaiting-consensus');
    expect(st.consensus).toMatchObject({ quorum: 2, participants: [net.core('a').owner()] });
    expect(code(first)).toBe('RING_NOT_READY');
    expect(first.result && !first.result.ok && first.result.error.details).toMatchObject({ quorum: 2 });
    // A second peer arrives: now a quorum of 2 exists and the ring forms; new allocations succeed.
    const pending = net.allocate('a', 'c2');
    net.join('b', { kind: 'consensus', size: 3 });
    net.runFor(10_000);
    expect(net.core('a').status().state).toBe('ready');
    expect(addr(pending)).toBeGreaterThan(0);
    net.checkConverged();
  });

  it('nodes joining one at a time end up in one ring (Weave #3891)', () => {
    const net = new IpamNet({ seed: 3, peers: ['a'], range: R24, init: { kind: 'consensus', size: 1 } });
    net.runFor(2_000);
    const id = net.core('a').status().ringId;
    expect(id).not.toBeNull();
    net.allocate('a', 'x');
    for (const [i, p] of ['b', 'c', 'd'].entries()) {
      net.join(p, { kind: 'consensus', size: i + 2 });
      net.runFor(5_000);
      expect(net.core(p).status().ringId).toBe(id);
    }
    for (const p of ['b', 'c', 'd']) net.allocate(p, `on-${p}`);
    net.runFor(10_000);
    net.checkConverged();
    net.checkNoDuplicates();
  });

  it('two halves bootstrapped apart are refused loudly, and resetting one side joins them (Weave #1499, #3427)', () => {
    const net = new IpamNet({
      seed: 4,
      peers: ['a', 'b', 'c', 'd'],
      range: R24,
      init: { kind: 'consensus', size: 2 },
    });
    net.partition([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    net.runFor(10_000);
    const left = net.core('a').status().ringId;
    const right = net.core('c').status().ringId;
    expect(left).not.toBeNull();
    expect(right).not.toBeNull();
    expect(left).not.toBe(right);
    // (Each side could allocate the same addresses now: that is why the merge must be refused.)
    net.allocate('a', 'on-a');
    net.heal();
    net.runFor(10_000);
    // Neither side merged the other's ring; both report the conflict.
    expect(net.core('a').status().ringId).toBe(left);
    expect(net.core('c').status().ringId).toBe(right);
    const conflicts = net.core('a').status().conflicts;
    expect(conflicts.map((c) => c.kind)).toContain('foreign');
    expect(conflicts.find((c) => c.kind === 'foreign')?.theirRingId).toBe(right);
    // The documented way out: every router of one side gives up its ring (DELETE /ring; its
    // containers restart) and adopts the other side's.
    for (const p of ['c', 'd'])
      expect(net.abandonRing(p).result).toMatchObject({ ok: true, value: { ringId: right } });
    net.runFor(70_000); // (status shows a conflict for a minute after it last happened)
    expect(net.core('c').status().ringId).toBe(left);
    expect(net.core('d').status().ringId).toBe(left);
    expect(
      net
        .core('a')
        .status()
        .conflicts.filter((c) => c.lastAt > net.now() - 10_000),
    ).toEqual([]);
    net.allocate('c', 'again');
    net.runFor(30_000); // free counts spread by gossip: give it a few rounds
    net.checkConverged();
    net.checkNoDuplicates();
  });

  it('an observer owns nothing, adopts the ring and gets space by donation (and sees it quickly, Weave #3628)', () => {
    const net = consensusNet(['a', 'b'], R24, 5);
    net.runFor(5_000);
    net.join('o', { kind: 'observer' });
    net.runFor(1_000);
    expect(net.core('o').status()).toMatchObject({ state: 'ready', owned: 0 });
    const t0 = net.now();
    const rec = net.allocate('o', 'c1');
    net.runFor(200);
    const got = addr(rec);
    // The donation was broadcast: every peer knows o owns that address within the same short window.
    for (const p of ['a', 'b']) expect(ownerPeer(ownerAt(net.core(p).currentRing()!, got)!)).toBe('o');
    expect(net.now() - t0).toBeLessThanOrEqual(200);
  });
});

describe('persistence', () => {
  it('a kill -9 mid-allocation and a restart loses nothing acknowledged', () => {
    const net = consensusNet(['a', 'b', 'c'], R24, 6);
    net.runFor(5_000);
    const acked: OpRecord[] = [];
    for (let i = 0; i < 40; i++) acked.push(net.allocate('b', `c${i}`));
    net.runFor(2_000);
    // b runs out of its share and asks for space; crash while that is in flight.
    const inflight = Array.from({ length: 80 }, (_, i) => net.allocate('b', `more${i}`));
    net.runFor(5);
    net.crash('b');
    net.runFor(3_000);
    net.restart('b'); // checks every acknowledged allocation is still there
    net.runFor(10_000);
    const answered = inflight.filter((r) => r.result?.ok).length;
    expect(answered).toBeGreaterThan(0);
    for (const r of acked)
      expect(
        net
          .core('b')
          .lookup(r.containerId!)
          .map((a) => a.addr),
      ).toEqual([addr(r)]);
    net.checkNoDuplicates();
    net.checkConverged();
  });

  it('all peers restarting at once from disk keep every allocation and hand out no duplicate (Weave #3003, #3793)', () => {
    const net = consensusNet(['a', 'b', 'c'], R24, 7);
    net.runFor(5_000);
    for (let i = 0; i < 90; i++) net.allocate(['a', 'b', 'c'][i % 3]!, `c${i}`);
    net.runFor(5_000);
    for (const p of ['a', 'b', 'c']) net.crash(p);
    for (const p of ['a', 'b', 'c']) net.restart(p);
    for (let i = 0; i < 90; i++) net.allocate(['a', 'b', 'c'][i % 3]!, `d${i}`);
    net.runFor(10_000);
    net.checkNoDuplicates();
    net.checkConverged();
    expect(net.ledger.size).toBe(180);
  });

  it('a peer that lost its data dir comes back as a new owner and cannot reuse the addresses it handed out (Weave #2610, #3793)', () => {
    const net = consensusNet(['a', 'b', 'c'], R24, 8);
    net.runFor(5_000);
    const old = net.core('b').owner();
    const oldSpans = ownedSpans(net.core('b').currentRing()!, old);
    const oldSpace = spansTotal(oldSpans);
    // The range's network and broadcast addresses are never handed out, wherever they lie.
    const reserved = [R24.addr, R24.addr + cidrSize(R24) - 1];
    const usableOld =
      oldSpace - reserved.filter((x) => oldSpans.some((sp) => x >= sp.start && x < sp.end)).length;
    for (let i = 0; i < 30; i++) net.allocate('b', `b${i}`);
    net.runFor(2_000);
    // b's containers keep running (they stay in the ledger); b loses its disk.
    net.crash('b');
    net.restart('b', { loseDisk: true });
    net.runFor(5_000);
    expect(net.core('b').owner()).not.toBe(old);
    expect(ownerPeer(net.core('b').owner())).toBe('b');
    expect(net.core('b').status().owned).toBe(0);
    const st = net.core('a').status();
    expect(st.unreachable.find((o) => o.owner === old)).toMatchObject({ dead: true, addresses: oldSpace });
    // Everyone allocates all they can: nothing collides with b's running containers.
    const n = exhaust(net, ['a', 'b', 'c'], 'x');
    expect(n).toBe(cidrSize(R24) - 2 - usableOld);
    net.checkNoDuplicates();
    // Once b's old containers are gone, rmpeer of its old incarnation frees the space (b is live: only
    // the dead incarnation is taken).
    for (const [a, e] of net.ledger)
      if (e.peer === 'b' && e.containerId.startsWith('b')) net.ledger.delete(a);
    const rm = net.rmpeer('a', 'b');
    expect(rm.result).toMatchObject({ ok: true, value: { owners: [old], addresses: oldSpace } });
    net.runFor(5_000);
    expect(exhaust(net, ['a', 'b', 'c'], 'y')).toBe(usableOld);
    net.checkNoDuplicates();
    net.checkConverged();
  });
});

describe('peer removal', () => {
  it('space of an unreachable peer shows in status and rmpeer — even from two hosts at once — frees all of it (Weave #2797, #1875)', () => {
    const net = consensusNet(['a', 'b', 'c'], R24, 9);
    net.runFor(5_000);
    for (let i = 0; i < 20; i++) net.allocate('c', `c${i}`);
    net.runFor(2_000);
    const cOwner = net.core('c').owner();
    net.crash('c');
    net.runFor(1_000);
    const unreachable = net.core('a').status().unreachable;
    expect(unreachable).toHaveLength(1);
    expect(unreachable[0]).toMatchObject({ owner: cOwner, reachable: false, dead: false });
    expect(code(net.rmpeer('a', 'b'))).toBe('PEER_IS_LIVE');
    expect(code(net.rmpeer('a', 'a'))).toBe('PEER_IS_SELF');
    // Two operators remove c at the same moment from a and b.
    const r1 = net.rmpeer('a', 'c');
    const r2 = net.rmpeer('b', 'c');
    expect(r1.result?.ok && r2.result?.ok).toBe(true);
    expect(net.core('a').currentRing()).toEqual(net.core('b').currentRing());
    net.runFor(5_000);
    net.checkConverged();
    expect(net.core('a').status().unreachable).toEqual([]);
    // No space leaked: a and b together hand out every usable address.
    const before = net.ledger.size;
    expect(exhaust(net, ['a', 'b'], 'x')).toBe(cidrSize(R24) - 2 - before);
    net.checkNoDuplicates();
  });

  it('rmpeer is refused while another owner is unreachable (it may hold newer state of the peer), unless all go together', () => {
    const net = consensusNet(['a', 'b', 'c', 'd'], R24, 16);
    net.runFor(5_000);
    net.crash('c');
    net.crash('d');
    net.runFor(1_000);
    const refused = net.rmpeer('a', 'c');
    expect(code(refused)).toBe('OWNERS_UNREACHABLE');
    expect(refused.result && !refused.result.ok && refused.result.error.details).toEqual({
      unreachable: ['d'],
    });
    const both = net.rmpeer('a', ['c', 'd']);
    expect(both.result).toMatchObject({ ok: true, value: { addresses: cidrSize(R24) / 2 } });
    net.runFor(2_000);
    net.checkConverged();
    expect(exhaust(net, ['a', 'b'], 'x')).toBe(cidrSize(R24) - 2);
  });

  it('rmpeer with force takes over even while other owners are unreachable', () => {
    const net = consensusNet(['a', 'b', 'c'], R24, 17);
    net.runFor(5_000);
    net.crash('b');
    net.crash('c');
    net.runFor(1_000);
    expect(net.rmpeer('a', 'b', { force: true }).result?.ok).toBe(true);
    expect(
      net
        .core('a')
        .status()
        .unreachable.map((o) => ownerPeer(o.owner)),
    ).toEqual(['c']);
  });

  it('a rolling reset leaves no space with a departed peer (Weave #1593)', () => {
    const net = consensusNet(['a', 'b', 'c', 'd'], R24, 10);
    net.runFor(5_000);
    // Resets racing each other: each hands its space over before hearing the others' handovers.
    net.reset('b');
    net.reset('c');
    net.reset('d');
    net.runFor(10_000);
    const ring = net.checkConverged()!;
    expect(spansTotal(ownedSpans(ring, net.core('a').owner()))).toBe(cidrSize(R24));
    expect(exhaust(net, ['a'], 'x')).toBe(cidrSize(R24) - 2);
  });

  it('a peer removed with rmpeer while it was down comes back as a new owner, without duplicates', () => {
    const net = consensusNet(['a', 'b', 'c'], R24, 11);
    net.runFor(5_000);
    for (let i = 0; i < 10; i++) net.allocate('c', `c${i}`);
    net.runFor(2_000);
    const old = net.core('c').owner();
    net.crash('c');
    net.runFor(500);
    expect(net.rmpeer('a', 'c').result?.ok).toBe(true);
    net.runFor(2_000);
    exhaust(net, ['a', 'b'], 'x');
    net.restart('c');
    net.runFor(5_000);
    expect(net.core('c').owner()).not.toBe(old);
    expect(net.core('c').allocations()).toEqual([]);
    net.checkNoDuplicates();
    net.checkConverged();
  });
});

describe('ring consistency', () => {
  it('a hostile update is refused without changing state, and updates from others still merge (Weave #3310, #3632)', () => {
    const net = consensusNet(['a', 'b', 'c'], R24, 12, { recordLogs: true });
    net.runFor(5_000);
    const got = addr(net.allocate('a', 'c1'));
    net.runFor(100);
    const a = net.core('a');
    const ring = a.currentRing()!;
    const before = JSON.stringify(ring);
    // b "gives" a's allocated address to itself: forged.
    const forged = transferSpan(ring, a.owner(), { start: got, end: got + 1 }, net.core('b').owner());
    const msg = encodeMessage({
      tag: IpamTag.State,
      from: net.core('b').owner(),
      ring: forged,
      consensus: null,
    });
    const { effects, relay } = a.receive(msg, 'broadcast', 'b');
    expect(relay).toBeNull();
    expect(effects.filter((e) => e.kind === 'persist')).toEqual([]);
    expect(JSON.stringify(a.currentRing())).toBe(before);
    expect(a.status().conflicts).toMatchObject([{ peer: 'b', kind: 'takes-allocated', count: 1 }]);
    // Legitimate traffic keeps flowing: c runs out and asks a and b for space.
    const recs = Array.from({ length: 120 }, (_, i) => net.allocate('c', `x${i}`));
    net.runFor(20_000);
    expect(recs.filter((r) => r.result?.ok).length).toBeGreaterThan(90);
    net.checkNoDuplicates();
  });

  it('stale rings from a restarted peer are harmless and repeated gossip does not grow the ring (Weave #3659, #3580)', () => {
    const net = consensusNet(['a', 'b', 'c'], R24, 13, { gossipIntervalMs: 500 });
    net.runFor(5_000);
    net.crash('b');
    for (let i = 0; i < 150; i++) net.allocate(['a', 'c'][i % 2]!, `c${i}`);
    net.runFor(10_000);
    net.restart('b');
    net.runFor(5_000);
    net.checkConverged();
    const entries = net.core('a').status().ringEntries;
    net.runFor(120_000);
    expect(net.core('a').status().ringEntries).toBe(entries);
    for (const p of ['a', 'b', 'c']) expect(net.core(p).status().conflictsTotal).toBe(0);
  });
});

describe('claims across peers', () => {
  it('claims an address owned by another peer, and refuses one a container there holds', () => {
    const net = consensusNet(['a', 'b'], R24, 14);
    net.runFor(5_000);
    const ring = net.core('a').currentRing()!;
    const bOwned = ownedSpans(ring, net.core('b').owner())[0]!;
    const target = bOwned.start + 7;
    const taken = addr(net.allocate('b', 'on-b'));
    const rec = net.claim('a', 'restarted', target, 24);
    net.runFor(1_000);
    expect(addr(rec)).toBe(target);
    expect(ownerPeer(ownerAt(net.core('b').currentRing()!, target)!)).toBe('a');
    const refused = net.claim('a', 'other', taken, 24);
    net.runFor(1_000);
    expect(code(refused)).toBe('ADDRESS_IN_USE');
    expect(formatIp(taken)).toBe(formatIp(bOwned.start));
    expect(formatIp(taken)).toBe(formatIp(mustParseIp('10.32.0.128')));
    net.checkNoDuplicates();
    net.checkConverged();
  });

  it('messages whose sender is not their source are dropped', () => {
    const net = consensusNet(['a', 'b'], R24, 15);
    net.runFor(5_000);
    const forged = encodeMessage({
      tag: IpamTag.State,
      from: net.core('b').owner(),
      ring: null,
      consensus: null,
    });
    const { effects } = net.core('a').receive(forged, 'unicast', 'c');
    expect(effects.filter((e) => e.kind !== 'wake')).toEqual([]);
    expect(net.core('a').status().decodeErrors).toBe(1);
    expect(decodeMessage(forged).ok).toBe(true);
  });
});
