import { describe, expect, it } from 'vitest';
import { formatIp, mustParseCidr, mustParseIp } from '../common/ip.js';
import { isReserved } from './allocator.js';
import { decodeMessage, encodeMessage, IpamTag } from './codec.js';
import { ownerId, ownerPeer } from './owner.js';
import { initialRing, ownedSpans } from './ring.js';
import { spansTotal } from './span.js';
import { CoreDriver } from './test-driver.js';
import type { IpamConfig } from './types.js';

const RANGE = mustParseCidr('10.32.0.0/12');
const alone = (extra: Partial<IpamConfig> = {}): IpamConfig => ({
  peer: 'a',
  range: RANGE,
  init: { kind: 'seed', peers: ['a'] },
  ...extra,
});

function addressOf(r: ReturnType<CoreDriver['allocate']>): string {
  if (!r.result?.ok || r.result.value.kind !== 'address')
    throw new Error(`not an address: ${JSON.stringify(r.result)}`);
  return `${formatIp(r.result.value.addr)}/${r.result.value.prefix}`;
}

function errorCode(r: { result: ReturnType<CoreDriver['allocate']>['result'] }): string | undefined {
  return r.result && !r.result.ok ? r.result.error.code : undefined;
}

describe('local allocation', () => {
  it('hands out the lowest free address, skipping the network address, as a CIDR of the range', () => {
    const d = new CoreDriver(alone()).start();
    expect(addressOf(d.allocate('c1'))).toBe('10.32.0.1/12');
    expect(addressOf(d.allocate('c2'))).toBe('10.32.0.2/12');
    // Free never counts the range's network and broadcast addresses.
    expect(d.core.status()).toMatchObject({
      state: 'ready',
      owned: 1 << 20,
      allocated: 2,
      free: (1 << 20) - 4,
    });
  });

  it('is idempotent for the same container and subnet', () => {
    const d = new CoreDriver(alone()).start();
    const first = addressOf(d.allocate('c1'));
    expect(addressOf(d.allocate('c1'))).toBe(first);
    expect(d.core.lookup('c1')).toHaveLength(1);
  });

  it('allocates inside a requested subnet, and from the default subnet when none is given', () => {
    const d = new CoreDriver(alone({ defaultSubnet: mustParseCidr('10.40.0.0/16') })).start();
    expect(addressOf(d.allocate('c1'))).toBe('10.40.0.1/16');
    expect(addressOf(d.allocate('c2', mustParseCidr('10.33.1.0/24')))).toBe('10.33.1.1/24');
    // Same container, another subnet: a second address.
    expect(addressOf(d.allocate('c1', mustParseCidr('10.33.1.0/24')))).toBe('10.33.1.2/24');
    expect(errorCode(d.allocate('c3', mustParseCidr('10.64.0.0/24')))).toBe('OUT_OF_RANGE');
    expect(errorCode(d.allocate('c3', { addr: mustParseIp('10.33.1.1'), prefix: 24 }))).toBe('INVALID_CIDR');
  });

  it('never hands out the network or broadcast address of the subnet', () => {
    const d = new CoreDriver(alone({ range: mustParseCidr('10.32.0.0/29') })).start();
    const got = [1, 2, 3, 4, 5, 6].map((i) => addressOf(d.allocate(`c${i}`)));
    expect(got).toEqual([1, 2, 3, 4, 5, 6].map((i) => `10.32.0.${i}/29`));
    expect(errorCode(d.allocate('c7'))).toBe('NO_FREE_ADDRESSES');
    expect(isReserved(mustParseIp('10.32.0.7'), mustParseCidr('10.32.0.0/29'))).toBe(true);
    expect(isReserved(mustParseIp('10.32.0.1'), mustParseCidr('10.32.0.0/31'))).toBe(false);
  });

  it('released addresses come back', () => {
    const d = new CoreDriver(alone({ range: mustParseCidr('10.32.0.0/29') })).start();
    for (let i = 1; i <= 6; i++) d.allocate(`c${i}`);
    expect(d.release('c3').result).toEqual({
      ok: true,
      value: { kind: 'released', addresses: [mustParseIp('10.32.0.3')] },
    });
    expect(addressOf(d.allocate('c9'))).toBe('10.32.0.3/29');
  });

  it('rejects malformed container ids', () => {
    const d = new CoreDriver(alone()).start();
    for (const bad of ['', 'a/b', ' x', 'x y', 'ä', 'x'.repeat(300)]) {
      expect(errorCode(d.allocate(bad))).toBe('INVALID_CONTAINER_ID');
    }
  });
});

describe('claims and releases', () => {
  it('claims a free address, idempotently, and refuses it to another container', () => {
    const d = new CoreDriver(alone()).start();
    const ip = mustParseIp('10.33.0.9');
    expect(addressOf(d.claim('c1', ip, 12))).toBe('10.33.0.9/12');
    expect(addressOf(d.claim('c1', ip, 12))).toBe('10.33.0.9/12');
    expect(errorCode(d.claim('c2', ip, 12))).toBe('ADDRESS_IN_USE');
    expect(errorCode(d.claim('c2', mustParseIp('10.64.0.1'), 12))).toBe('OUT_OF_RANGE');
    expect(errorCode(d.claim('c2', mustParseIp('10.32.0.0'), 12))).toBe('INVALID_ADDRESS');
    expect(errorCode(d.claim('c2', mustParseIp('10.32.1.0'), 33))).toBe('INVALID_CIDR');
    // The claimed address is skipped by later allocations.
    d.claim('c0', mustParseIp('10.32.0.1'), 12);
    expect(addressOf(d.allocate('c3'))).toBe('10.32.0.2/12');
  });

  it('releases by container or by address, idempotently, but not another container’s address', () => {
    const d = new CoreDriver(alone()).start();
    d.allocate('c1');
    d.allocate('c1', mustParseCidr('10.33.0.0/24'));
    d.allocate('c2');
    const c2 = mustParseIp('10.32.0.2');
    expect(errorCode(d.release('c1', c2))).toBe('ADDRESS_IN_USE');
    expect(d.release('c1', mustParseIp('10.33.0.1')).result).toMatchObject({
      ok: true,
      value: { addresses: [mustParseIp('10.33.0.1')] },
    });
    expect(d.release('c1').result).toMatchObject({
      ok: true,
      value: { addresses: [mustParseIp('10.32.0.1')] },
    });
    expect(d.release('c1').result).toMatchObject({ ok: true, value: { addresses: [] } });
    expect(d.release('nobody').result).toMatchObject({ ok: true, value: { addresses: [] } });
    expect(d.core.lookup('c2').map((a) => a.addr)).toEqual([c2]);
  });
});

describe('persistence', () => {
  it('persists every acknowledged allocation before the reply, and a restart keeps them', () => {
    const d = new CoreDriver(alone()).start();
    const effects = d.core.allocate(100, 'c1');
    const kinds = effects.map((e) => e.kind);
    expect(kinds.indexOf('persist')).toBe(0);
    expect(kinds.indexOf('reply')).toBeGreaterThan(0);
    d.apply(effects);
    d.allocate('c2');
    d.release('c1');
    d.allocate('c3');
    const before = d.core.allocations();
    const self = d.core.owner();
    d.restart();
    expect(d.core.owner()).toBe(self);
    expect(d.core.allocations()).toEqual(before);
    expect(addressOf(d.allocate('c4'))).toBe('10.32.0.3/12');
  });

  it('refuses to start with a data dir that holds a ring for another range', () => {
    const d = new CoreDriver(alone()).start();
    expect(() => new CoreDriver(alone({ range: mustParseCidr('10.64.0.0/12') }), { disk: d.disk })).toThrow(
      /range/,
    );
  });

  it('discards state persisted under another peer name', () => {
    const d = new CoreDriver(alone()).start();
    d.allocate('c1');
    const other = new CoreDriver(
      { ...alone(), peer: 'b', init: { kind: 'observer' } },
      { disk: d.disk },
    ).start();
    expect(ownerPeer(other.core.owner())).toBe('b');
    expect(other.core.allocations()).toEqual([]);
    expect(other.core.status().state).toBe('awaiting-ring');
  });
});

describe('waiting for a ring', () => {
  it('an allocation before consensus waits, then fails with RING_NOT_READY naming the quorum', () => {
    const d = new CoreDriver({
      ...alone(),
      init: { kind: 'consensus', size: 3 },
      allocationTimeoutMs: 5_000,
    }).start();
    expect(d.core.status()).toMatchObject({ state: 'awaiting-consensus', consensus: { quorum: 2 } });
    const r = d.allocate('c1');
    expect(r.result).toBeUndefined();
    expect(d.core.status().pending).toEqual({ allocate: 1, claim: 0 });
    for (let i = 0; i < 20 && !d.replies.has(r.op); i++) d.advance();
    const res = d.replies.get(r.op);
    expect(res).toMatchObject({ ok: false, error: { code: 'RING_NOT_READY' } });
    expect(res && !res.ok && res.error.details).toMatchObject({ state: 'awaiting-consensus', quorum: 2 });
  });

  it('consensus=1 creates the ring at start', () => {
    const d = new CoreDriver({ ...alone(), init: { kind: 'consensus', size: 1 } }).start();
    expect(d.core.status().state).toBe('ready');
    expect(spansTotal(ownedSpans(d.core.currentRing()!, d.core.owner()))).toBe(1 << 20);
    expect(addressOf(d.allocate('c1'))).toBe('10.32.0.1/12');
  });

  it('an observer adopts the first ring it hears and then has to ask for space', () => {
    const d = new CoreDriver({ ...alone(), peer: 'obs', init: { kind: 'observer' } }).start();
    expect(d.core.gossip()).toBeNull();
    const ring = initialRing(RANGE.addr, RANGE.addr + (1 << 20), [ownerId('x', 5)]);
    const msg = encodeMessage({ tag: IpamTag.State, from: ownerId('x', 5), ring, consensus: null });
    const { relay } = d.core.receive(msg, 'gossip', null);
    expect(relay).not.toBeNull();
    expect(d.core.status()).toMatchObject({ state: 'ready', owned: 0, ringId: ring.id });
    d.core.setReachable(['x']);
    const r = d.allocate('c1');
    expect(r.result).toBeUndefined();
    const req = d.takeOutbox().find((e) => e.kind === 'unicast');
    expect(req).toMatchObject({ kind: 'unicast', to: 'x' });
    const decoded = req && req.kind === 'unicast' ? decodeMessage(req.msg) : null;
    expect(decoded).toMatchObject({ ok: true, value: { tag: IpamTag.SpaceRequest, to: ownerId('x', 5) } });
  });
});
