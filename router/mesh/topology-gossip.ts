/**
 * How the topology travels: as the "topology" gossip channel, on the same
 * machinery as every other channel, with three message kinds
 * (router/wire/topology.ts):
 *
 * - update: records. Our own changes (and what we learn from a neighbour that
 *   is new to us) are gathered for `batchMs` and broadcast from us; each
 *   router relays along the source's tree the source's own record and
 *   whatever else was new to it, so a change costs every router about one
 *   small message, and old news stops at the first router that already had it.
 *   A new neighbour gets our full state as an update; what we learn from it
 *   goes out in our next broadcast, but not back to the neighbours it came
 *   from.
 * - digest: the periodic round (every gossip interval, to a few random
 *   neighbours) sends only a fingerprint of the reachable topology. A
 *   neighbour that agrees does nothing, so a quiet mesh costs O(1) bytes per
 *   router per round instead of the whole topology (which is O(peers)).
 * - answer: a neighbour whose digest differs answers with its full state and
 *   its digest; if ours still differs after merging, we send our full state
 *   back. Anything a broadcast missed (churn, concurrent relays, partitions)
 *   is repaired within a round.
 */
import type { Logger } from '../../common/logger.js';
import {
  decodeTopologyMessage,
  encodeTopologyMessage,
  type PeerRecord,
  type TopologyMessage,
} from '../wire/topology.js';
import type { Gossiper, PeerName } from './gossip-api.js';
import type { Topology } from './topology.js';

export interface TopologyGossipHost {
  readonly ourName: PeerName;
  readonly logger: Logger;
  /** Send a topology payload to one neighbour. */
  sendTo(peer: PeerName, payload: Uint8Array): void;
  /** Originate a topology broadcast from us, with a payload per first hop (null: skip it). */
  broadcast(payloadFor: (firstHop: PeerName) => Uint8Array | null): void;
  /** Random neighbours for a periodic round. */
  randomNeighbours(): PeerName[];
  setTimer(key: string, delayMs: number): void;
  /** Records changed (the owner re-checks routes, reachability, discovery). */
  changed(): void;
}

const FLUSH_TIMER = 'mesh:topology-flush';

export class TopologyGossip implements Gossiper {
  private readonly pending = new Set<PeerName>();
  /**
   * For pending records: neighbours that sent us exactly that record, so our
   * broadcast does not tell them what they just told us (a new peer learns the
   * whole topology from its first neighbours and would otherwise send it all
   * back to them).
   */
  private readonly heardFrom = new Map<PeerName, Set<PeerName>>();
  private flushArmed = false;
  private fullCache: { generation: number; bytes: Uint8Array } | null = null;
  readonly stats = { digestsSent: 0, answersSent: 0, undecodable: 0 };

  constructor(
    private readonly topology: Topology,
    private readonly host: TopologyGossipHost,
    private readonly batchMs: number,
  ) {}

  get idle(): boolean {
    return !this.flushArmed;
  }

  /** These records go out in our next broadcast (after batchMs). */
  announce(names: Iterable<PeerName>): void {
    for (const n of names) this.pending.add(n);
    if (!this.flushArmed && this.pending.size > 0) {
      this.flushArmed = true;
      this.host.setTimer(FLUSH_TIMER, this.batchMs);
    }
  }

  timer(key: string): boolean {
    if (key !== FLUSH_TIMER) return false;
    this.flushArmed = false;
    const records = this.topology.reachableRecords(this.pending);
    const heard = new Map(this.heardFrom);
    this.pending.clear();
    this.heardFrom.clear();
    if (records.length === 0) return true;
    const all = encodeTopologyMessage({ kind: 'update', records });
    this.host.broadcast((hop) => {
      const unheard = records.filter((r) => !heard.get(r.name)?.has(hop));
      if (unheard.length === 0) return null;
      return unheard.length === records.length
        ? all
        : encodeTopologyMessage({ kind: 'update', records: unheard });
    });
    return true;
  }

  cancelTimers(): string[] {
    return [FLUSH_TIMER];
  }

  /** Periodic round: our digest to a few random neighbours. */
  periodic(): void {
    const payload = encodeTopologyMessage({ kind: 'digest', digest: this.topology.digest() });
    for (const p of this.host.randomNeighbours()) {
      this.host.sendTo(p, payload);
      this.stats.digestsSent++;
    }
  }

  private full(): Uint8Array {
    const gen = this.topology.generation;
    if (this.fullCache?.generation !== gen) {
      this.fullCache = {
        generation: gen,
        bytes: encodeTopologyMessage({ kind: 'update', records: this.topology.peers() }),
      };
    }
    return this.fullCache.bytes;
  }

  /** Full state (for a new neighbour). */
  gossip(): Uint8Array {
    return this.full();
  }

  private decode(update: Uint8Array, origin: string): TopologyMessage | null {
    const d = decodeTopologyMessage(update);
    if (d.ok) return d.value;
    this.stats.undecodable++;
    this.host.logger.warn({ origin, error: d.error.message }, 'mesh: undecodable topology message ignored');
    return null;
  }

  /** Merge; returns the reachable records that were new to us. */
  private merge(records: readonly PeerRecord[]): PeerRecord[] {
    const r = this.topology.merge(records);
    if (r.ourselfBumped) {
      this.host.logger.info(
        { version: this.topology.ourself.version },
        'mesh: saw a record of ourselves from another incarnation; bumped our version past it',
      );
      this.announce([this.host.ourName]);
    }
    if (r.changed.length === 0 && !r.ourselfBumped) return [];
    this.host.changed();
    return this.topology.reachableRecords(r.changed.map((p) => p.name));
  }

  /** Neighbour gossip (`from` is the neighbour; the hub passes it to channels that take it). */
  onGossip(update: Uint8Array, from?: PeerName): Uint8Array | null {
    const m = this.decode(update, `gossip from ${from ?? '?'}`);
    if (!m) return null;
    if (m.kind === 'digest') {
      if (from !== undefined && m.digest !== this.topology.digest()) {
        this.stats.answersSent++;
        this.host.sendTo(
          from,
          encodeTopologyMessage({
            kind: 'answer',
            records: this.topology.peers(),
            digest: this.topology.digest(),
          }),
        );
      }
      return null;
    }
    // New to us from a neighbour: pass it on to everyone in our next broadcast (but not back to it).
    const fresh = this.merge(m.records);
    if (fresh.length > 0) this.announce(fresh.map((r) => r.name));
    if (from !== undefined) this.noteHeard(m.records, from);
    if (m.kind === 'answer' && from !== undefined && m.digest !== this.topology.digest()) {
      this.host.sendTo(from, this.full());
    }
    return null;
  }

  private noteHeard(records: readonly PeerRecord[], from: PeerName): void {
    for (const r of records) {
      const cur = this.topology.get(r.name);
      if (!this.pending.has(r.name) || cur?.version !== r.version || cur.uid !== r.uid) continue;
      let s = this.heardFrom.get(r.name);
      if (!s) {
        s = new Set();
        this.heardFrom.set(r.name, s);
      }
      s.add(from);
    }
  }

  /**
   * A broadcast from src: merge, and relay along src's tree what was new to
   * us, plus src's own record whether new to us or not. Owners broadcast every
   * change of their own record, and that broadcast must reach everyone: with
   * relay-if-new alone, two routers relaying the same record from different
   * sources (say the owner, and a new neighbour passing on what it learned)
   * could each stop the other's tree halfway and leave some routers without
   * it until the next digest round.
   */
  onGossipBroadcast(src: PeerName, update: Uint8Array): Uint8Array | null {
    const m = this.decode(update, `broadcast from ${src}`);
    if (m?.kind !== 'update') return null;
    const fresh = new Set(this.merge(m.records));
    const relay = m.records.filter((r) => fresh.has(r) || (r.name === src && this.topology.isReachable(src)));
    if (relay.length === 0) return null;
    return relay.length === m.records.length
      ? update
      : encodeTopologyMessage({ kind: 'update', records: relay });
  }

  onGossipUnicast(): void {}
}
