/**
 * Gossip bookkeeping (implements the GossipRegistry seam): named channels,
 * unicast along routes, broadcast along broadcast trees with duplicate
 * suppression, neighbour gossip with per-connection pending queues, periodic
 * full-state rounds, full state for new connections. Pure: it sends through
 * its host and asks it for routes, randomness and timers.
 *
 * Semantics (Weave's):
 * - unicast(dst): delivered once to dst via the gossip unicast route; relays
 *   pass it on unchanged. Unroutable messages are dropped (logged).
 * - broadcast(update): every reachable peer gets it once (tree + window);
 *   each relays what `onGossipBroadcast` returned (or, for `relayAlways`
 *   channels and channels this router does not know, the original bytes).
 * - gossip: `onGossip` returns what was new; that goes on to a random subset
 *   of our neighbours. Every `gossipIntervalMs`, each channel's full state goes
 *   to min(2·log2(peers), neighbours) random neighbours, and every new
 *   connection gets every channel's full state at once.
 * - pending: neighbour gossip for one connection waits for the next flush
 *   (same turn of the event loop) so several updates go out together, and
 *   keeps waiting while that connection's stream is backed up; more than
 *   `maxPendingGossip` for one channel collapse into its full state, so a slow
 *   neighbour costs bounded memory. Broadcasts and unicasts never wait (they
 *   are other peers' messages in transit).
 */
import type { Logger } from '../../common/logger.js';
import { type Random, shuffled } from '../../common/random.js';
import { CHANNEL_NAME_RE, type Message } from '../wire/messages.js';
import { MessageTag } from '../wire/tags.js';
import { BroadcastWindow } from './broadcast-window.js';
import type { ChannelOptions, Gossiper, GossipRegistry, GossipSender, PeerName } from './gossip-api.js';

export type { ChannelOptions };

/**
 * A gossiper may take the neighbour a gossip came from as a second argument
 * (the topology channel answers digests to their sender); plain Gossipers
 * simply ignore it.
 */
type GossiperWithSender = Gossiper & { onGossip(update: Uint8Array, from?: PeerName): Uint8Array | null };

export interface GossipHost {
  readonly ourName: PeerName;
  readonly random: Random;
  readonly logger: Logger;
  /** Peers we know (reachable), for the size of gossip rounds. */
  peerCount(): number;
  /** Peers we have an accepted connection to. */
  neighbours(): PeerName[];
  /** Send on the accepted connection to `peer`; false if there is none. */
  sendTo(peer: PeerName, msg: Message): boolean;
  /** Bytes written to the connection to `peer` that it has not taken yet (0 if unknown). */
  backlog(peer: PeerName): number;
  unicastNextHop(dst: PeerName): PeerName | undefined;
  /** Neighbours to pass a broadcast from `src` on to, given it came from `from` (null: we originate). */
  broadcastTargets(src: PeerName, from: PeerName | null): PeerName[];
  setTimer(key: string, delayMs: number): void;
}

interface Channel {
  name: string;
  gossiper: Gossiper;
  opts: ChannelOptions;
}

const FLUSH_TIMER = 'gossip:flush';
const LOCAL_TIMER = 'gossip:local';

export class GossipHub implements GossipRegistry {
  private readonly channels = new Map<string, Channel>();
  private readonly window: BroadcastWindow;
  /** peer → channel → queued neighbour gossip. */
  private readonly pending = new Map<PeerName, Map<string, Uint8Array[]>>();
  private flushArmed = false;
  private readonly local: { channel: string; msg: Uint8Array }[] = [];
  /** Random per process start: a restarted peer's broadcasts are never mistaken for old ones. */
  readonly incarnation: number;
  private seq = 0;
  /** Counters for reports and tests. */
  readonly stats = { unicastDropped: 0, broadcastDuplicates: 0, gossipCollapsed: 0, gossipDeferred: 0 };

  private readonly maxPending: number;
  private readonly maxBacklog: number;
  private readonly backlogRetryMs: number;

  constructor(
    private readonly host: GossipHost,
    opts: { maxPending: number; windowSize: number; maxBacklogBytes: number; backlogRetryMs: number },
  ) {
    this.maxPending = opts.maxPending;
    this.maxBacklog = opts.maxBacklogBytes;
    this.backlogRetryMs = opts.backlogRetryMs;
    this.window = new BroadcastWindow(opts.windowSize);
    this.incarnation = host.random.int(2 ** 32);
  }

  registerChannel(name: string, gossiper: Gossiper, opts: ChannelOptions = {}): GossipSender {
    if (!CHANNEL_NAME_RE.test(name))
      throw new RangeError(`gossip channel name ${JSON.stringify(name)} is not valid`);
    if (this.channels.has(name)) throw new Error(`gossip channel ${name} is already registered`);
    const ch: Channel = { name, gossiper, opts };
    this.channels.set(name, ch);
    return {
      unicast: (dst, msg) => this.unicast(ch, dst, msg),
      broadcast: (update) => this.broadcast(ch, update),
      gossipNeighbourSubset: (update) => this.gossipSubset(ch, update, null),
    };
  }

  /** Nothing queued for sending or local delivery. */
  get idle(): boolean {
    return this.pending.size === 0 && this.local.length === 0;
  }

  hasChannel(name: string): boolean {
    return this.channels.has(name);
  }

  // ---- sending ----

  private unicast(ch: Channel, dst: PeerName, msg: Uint8Array): void {
    if (dst === this.host.ourName) {
      // Delivered from a timer, never re-entrantly inside the caller.
      this.local.push({ channel: ch.name, msg });
      this.host.setTimer(LOCAL_TIMER, 0);
      return;
    }
    this.forwardUnicast({
      tag: MessageTag.GossipUnicast,
      channel: ch.name,
      src: this.host.ourName,
      dst,
      payload: msg,
    });
  }

  private forwardUnicast(m: Extract<Message, { tag: MessageTag.GossipUnicast }>): void {
    const hop = this.host.unicastNextHop(m.dst);
    if (hop === undefined || !this.host.sendTo(hop, m)) {
      this.stats.unicastDropped++;
      this.host.logger.debug(
        { channel: m.channel, src: m.src, dst: m.dst },
        'gossip unicast: no route, dropped',
      );
    }
  }

  /** Originate a broadcast from us. */
  broadcast(ch: Channel | string, update: Uint8Array): void {
    this.broadcastTailored(typeof ch === 'string' ? ch : ch.name, () => update);
  }

  /**
   * Originate one broadcast whose payload may differ per first hop (null: skip
   * that hop), e.g. to leave out what a neighbour just told us. Relays pass on
   * what each received.
   */
  broadcastTailored(channel: string, payloadFor: (firstHop: PeerName) => Uint8Array | null): void {
    const seq = this.seq++;
    for (const p of this.host.broadcastTargets(this.host.ourName, null)) {
      const payload = payloadFor(p);
      if (payload === null) continue;
      this.host.sendTo(p, {
        tag: MessageTag.GossipBroadcast,
        channel,
        src: this.host.ourName,
        incarnation: this.incarnation,
        seq,
        payload,
      });
    }
  }

  private gossipSubset(ch: Channel, update: Uint8Array, exclude: PeerName | null): void {
    for (const p of this.subset(exclude)) this.enqueue(p, ch.name, update);
  }

  /** min(2·log2(peers), neighbours) random neighbours (except `exclude`). */
  subset(exclude: PeerName | null = null): PeerName[] {
    const all = this.host.neighbours().filter((p) => p !== exclude);
    const n = Math.max(1, this.host.peerCount());
    const k = Math.min(all.length, Math.max(1, Math.ceil(2 * Math.log2(n))));
    return shuffled(all, this.host.random).slice(0, k);
  }

  private enqueue(peer: PeerName, channel: string, update: Uint8Array): void {
    let byChannel = this.pending.get(peer);
    if (!byChannel) {
      byChannel = new Map();
      this.pending.set(peer, byChannel);
    }
    const q = byChannel.get(channel) ?? [];
    q.push(update);
    if (q.length > this.maxPending) {
      // Too many deltas waiting: the channel's full state says all of them at once (and bounds the queue).
      const ch = this.channels.get(channel);
      const full = ch ? this.safe(ch, () => ch.gossiper.gossip(), null) : null;
      if (full) {
        q.splice(0, q.length, full);
        this.stats.gossipCollapsed++;
      }
    }
    byChannel.set(channel, q);
    this.armFlush(0);
  }

  private armFlush(delayMs: number): void {
    if (this.flushArmed) return;
    this.flushArmed = true;
    this.host.setTimer(FLUSH_TIMER, delayMs);
  }

  /**
   * Send what is pending. A connection whose stream has more than
   * `maxBacklogBytes` unsent keeps its queue (merging further updates into
   * it, bounded as above) and is tried again after `backlogRetryMs`.
   */
  flush(): void {
    this.flushArmed = false;
    let waiting = false;
    for (const [peer, byChannel] of [...this.pending]) {
      if (this.host.backlog(peer) > this.maxBacklog) {
        waiting = true;
        this.stats.gossipDeferred++;
        continue;
      }
      this.pending.delete(peer);
      for (const [channel, q] of byChannel) {
        for (const payload of q) this.host.sendTo(peer, { tag: MessageTag.Gossip, channel, payload });
      }
    }
    if (waiting) this.armFlush(this.backlogRetryMs);
  }

  /** Periodic round: every channel's full state to a random subset. */
  periodic(): void {
    for (const ch of this.channels.values()) {
      if (ch.opts.periodic === false) continue;
      const full = this.safe(ch, () => ch.gossiper.gossip(), null);
      if (!full) continue;
      for (const p of this.subset(null))
        this.host.sendTo(p, { tag: MessageTag.Gossip, channel: ch.name, payload: full });
    }
  }

  /** A new connection: it gets every channel's full state. */
  connectionAdded(peer: PeerName): void {
    for (const ch of this.channels.values()) {
      const full = this.safe(ch, () => ch.gossiper.gossip(), null);
      if (full) this.host.sendTo(peer, { tag: MessageTag.Gossip, channel: ch.name, payload: full });
    }
  }

  connectionRemoved(peer: PeerName): void {
    this.pending.delete(peer);
  }

  peerForgotten(peer: PeerName): void {
    this.window.forget(peer);
  }

  /** Deliver local unicasts (to ourselves). */
  deliverLocal(): void {
    const batch = this.local.splice(0);
    for (const { channel, msg } of batch) {
      const ch = this.channels.get(channel);
      if (ch) this.safe(ch, () => ch.gossiper.onGossipUnicast(this.host.ourName, msg), undefined);
    }
  }

  timer(key: string): boolean {
    if (key === FLUSH_TIMER) this.flush();
    else if (key === LOCAL_TIMER) this.deliverLocal();
    else return false;
    return true;
  }

  // ---- receiving ----

  /** A gossip message arrived on the connection to `from`. */
  receive(from: PeerName, m: Message): void {
    switch (m.tag) {
      case MessageTag.Gossip: {
        const ch = this.channels.get(m.channel);
        if (!ch) {
          this.unknownChannel(m.channel, from);
          return;
        }
        const delta = this.safe(
          ch,
          () => (ch.gossiper as GossiperWithSender).onGossip(m.payload, from),
          null,
        );
        if (delta) this.gossipSubset(ch, delta, from);
        return;
      }
      case MessageTag.GossipUnicast: {
        const ch = this.channels.get(m.channel);
        if (m.dst !== this.host.ourName) this.forwardUnicast(m);
        else if (!ch) this.unknownChannel(m.channel, from);
        else this.safe(ch, () => ch.gossiper.onGossipUnicast(m.src, m.payload), undefined);
        return;
      }
      case MessageTag.GossipBroadcast: {
        if (m.src === this.host.ourName) return;
        if (!this.window.accept(m.src, m.incarnation, m.seq)) {
          this.stats.broadcastDuplicates++;
          return;
        }
        const ch = this.channels.get(m.channel);
        let relay: Uint8Array | null = m.payload;
        if (ch) {
          const result = this.safe(ch, () => ch.gossiper.onGossipBroadcast(m.src, m.payload), null);
          if (!ch.opts.relayAlways) relay = result;
        }
        if (relay === null) return;
        const out = relay === m.payload ? m : { ...m, payload: relay };
        for (const p of this.host.broadcastTargets(m.src, from)) this.host.sendTo(p, out);
        return;
      }
      default:
        return;
    }
  }

  private unknownChannel(channel: string, from: PeerName): void {
    this.host.logger.debug({ channel, from }, 'gossip for a channel we do not have, ignored');
  }

  /** Gossipers must not throw; if one does, log it and carry on (a peer's bytes must not crash us). */
  private safe<T>(ch: Channel, f: () => T, fallback: T): T {
    try {
      return f();
    } catch (e) {
      this.host.logger.error(
        { channel: ch.name, error: (e as Error).message },
        'gossip channel handler threw',
      );
      return fallback;
    }
  }
}
