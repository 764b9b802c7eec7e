import { describe, expect, it } from 'vitest';
import { RecordingLogger } from '../../common/logger.js';
import { SeededRandom } from '../../common/random.js';
import type { Message } from '../wire/messages.js';
import { MessageTag } from '../wire/tags.js';
import type { Gossiper } from './gossip-api.js';
import { type GossipHost, GossipHub } from './gossip-hub.js';

const US = '02:00:00:00:00:01';
const N1 = '02:00:00:00:00:02';
const N2 = '02:00:00:00:00:03';
const FAR = '02:00:00:00:00:09';

/** A hub on a fake host: two neighbours, a timer list, a settable backlog, everything sent recorded. */
function setup(opts: { relayAlways?: boolean } = {}) {
  const sent: { to: string; msg: Message }[] = [];
  const timers: string[] = [];
  const backlog = new Map<string, number>();
  const log = new RecordingLogger();
  const host: GossipHost = {
    ourName: US,
    random: new SeededRandom(1),
    logger: log,
    peerCount: () => 4,
    neighbours: () => [N1, N2],
    sendTo: (to, msg) => {
      sent.push({ to, msg });
      return true;
    },
    backlog: (p) => backlog.get(p) ?? 0,
    unicastNextHop: (dst) => (dst === FAR ? N2 : dst === N1 || dst === N2 ? dst : undefined),
    broadcastTargets: (_src, from) => [N1, N2].filter((p) => p !== from),
    setTimer: (key) => timers.push(key),
  };
  const hub = new GossipHub(host, {
    maxPending: 3,
    windowSize: 32,
    maxBacklogBytes: 1000,
    backlogRetryMs: 100,
  });
  const got = { unicast: [] as string[], broadcast: [] as string[], gossip: [] as string[] };
  let state = 'full';
  const gossiper: Gossiper = {
    onGossipUnicast: (src, m) => got.unicast.push(`${src}:${Buffer.from(m)}`),
    onGossipBroadcast: (src, u) => {
      got.broadcast.push(`${src}:${Buffer.from(u)}`);
      return Buffer.from(u).toString() === 'old' ? null : Buffer.from(`new-${Buffer.from(u)}`);
    },
    gossip: () => Buffer.from(state),
    onGossip: (u) => {
      got.gossip.push(Buffer.from(u).toString());
      if (Buffer.from(u).toString() === 'throw') throw new Error('handler bug');
      return null;
    },
  };
  const sender = hub.registerChannel('test', gossiper, opts);
  const fire = () => {
    for (const key of timers.splice(0)) hub.timer(key);
  };
  return {
    hub,
    sender,
    sent,
    got,
    backlog,
    log,
    fire,
    setState: (s: string) => {
      state = s;
    },
  };
}

const text = (m: Message) => ('payload' in m ? Buffer.from(m.payload).toString() : '');

describe('GossipHub', () => {
  it('neighbour gossip to a backed-up connection waits, merges into full state, and goes once it drains', () => {
    const t = setup();
    t.backlog.set(N1, 5000);
    for (const u of ['d1', 'd2', 'd3', 'd4', 'd5']) t.sender.gossipNeighbourSubset(Buffer.from(u));
    t.fire();
    // N2 is not backed up: it got them at once; five within one turn are more than maxPending (3),
    // so they went as the full state and the one after. N1 got nothing yet.
    expect(t.sent.filter((s) => s.to === N2).map((s) => text(s.msg))).toEqual(['full', 'd5']);
    expect(t.sent.filter((s) => s.to === N1)).toEqual([]);
    expect(t.hub.stats.gossipDeferred).toBe(1);
    t.setState('full-after-d5');
    t.sender.gossipNeighbourSubset(Buffer.from('d6'));
    t.fire();
    expect(t.sent.filter((s) => s.to === N1)).toEqual([]);
    t.backlog.set(N1, 0);
    t.fire();
    // More than maxPending (3) queued: collapsed into the full state, plus what came after it.
    const toN1 = t.sent.filter((s) => s.to === N1).map((s) => text(s.msg));
    expect(toN1[0]).toMatch(/^full/);
    expect(toN1.length).toBeLessThanOrEqual(4);
    expect(t.hub.idle).toBe(true);
  });

  it('delivers a broadcast once, relays what was new (or always, with relayAlways), and never back to the sender', () => {
    const t = setup();
    const bc = (payload: string, seq: number): Message => ({
      tag: MessageTag.GossipBroadcast,
      channel: 'test',
      src: FAR,
      incarnation: 7,
      seq,
      payload: Buffer.from(payload),
    });
    t.hub.receive(N1, bc('x', 1));
    t.hub.receive(N2, bc('x', 1));
    expect(t.got.broadcast).toEqual([`${FAR}:x`]);
    expect(t.hub.stats.broadcastDuplicates).toBe(1);
    expect(t.sent.map((s) => [s.to, text(s.msg)])).toEqual([[N2, 'new-x']]);
    t.hub.receive(N1, bc('old', 2));
    expect(t.sent).toHaveLength(1);

    const always = setup({ relayAlways: true });
    always.hub.receive(N1, bc('old', 1));
    expect(always.sent.map((s) => [s.to, text(s.msg)])).toEqual([[N2, 'old']]);
  });

  it('relays broadcasts of channels it does not know, unchanged', () => {
    const t = setup();
    t.hub.receive(N1, {
      tag: MessageTag.GossipBroadcast,
      channel: 'future-dns',
      src: FAR,
      incarnation: 1,
      seq: 0,
      payload: Buffer.from('?'),
    });
    expect(t.sent.map((s) => s.to)).toEqual([N2]);
    t.hub.receive(N1, { tag: MessageTag.Gossip, channel: 'future-dns', payload: Buffer.from('?') });
    expect(t.sent).toHaveLength(1);
  });

  it('relays unicasts along the next hop, delivers its own, and drops the unroutable', () => {
    const t = setup();
    t.sender.unicast(FAR, Buffer.from('hi'));
    expect(t.sent.map((s) => [s.to, s.msg.tag])).toEqual([[N2, MessageTag.GossipUnicast]]);
    t.hub.receive(N1, {
      tag: MessageTag.GossipUnicast,
      channel: 'test',
      src: FAR,
      dst: US,
      payload: Buffer.from('yo'),
    });
    expect(t.got.unicast).toEqual([`${FAR}:yo`]);
    t.sender.unicast('02:00:00:00:00:77', Buffer.from('lost'));
    expect(t.hub.stats.unicastDropped).toBe(1);
    // To ourselves: delivered from a timer, never inside the caller.
    t.sender.unicast(US, Buffer.from('me'));
    expect(t.got.unicast).toHaveLength(1);
    t.fire();
    expect(t.got.unicast).toEqual([`${FAR}:yo`, `${US}:me`]);
  });

  it('a channel handler that throws is logged, not fatal', () => {
    const t = setup();
    t.hub.receive(N1, { tag: MessageTag.Gossip, channel: 'test', payload: Buffer.from('throw') });
    expect(t.log.records.some((r) => r.level === 'error' && /threw/.test(r.msg ?? ''))).toBe(true);
  });

  it('sends every channel’s full state to a new connection and in periodic rounds', () => {
    const t = setup();
    t.hub.connectionAdded(N1);
    expect(t.sent.map((s) => [s.to, text(s.msg)])).toEqual([[N1, 'full']]);
    t.sent.length = 0;
    t.hub.periodic();
    // min(2·log2(4), 2 neighbours) = 2.
    expect(t.sent.map((s) => s.to).sort()).toEqual([N1, N2]);
  });
});
