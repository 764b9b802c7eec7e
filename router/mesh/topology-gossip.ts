/**
 * How the topology travels: as the "topology" gossip channel, on the same
 * machinery as every other channel, with three message kinds
 * (router/wire/topology.ts):
 *
 * - update: records.
 *   · Our own record: every change goes out as a broadcast from us after
 *     `batchMs` (changes within that time go as one). Routers relay an
 *     owner's record along the owner's tree whether or not it was new to them,
 *     so it reaches everyone exactly once.
 *   · Other records in a broadcast are relayed only by routers they were new
 *     to, so old news stops at the first router that already had it.
 *   · A new neighbour gets our full state. What we learn that way (or from
 *     any neighbour gossip) is passed on as a broadcast from us after
 *     `relayDelayMs`, minus what a broadcast brought us meanwhile (its owner
 *     or someone else is already spreading it) and minus, for each first hop,
 *     what that neighbour told us itself. This is what carries the other
 *     side's records across a healed partition; when everybody starts at once
 *     it costs almost nothing, because owners' broadcasts get there first.
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

const OWN_TIMER = 'mesh:topology-own';
const RELAY_TIMER = 'mesh:topology-relay';

interface Learned {
  version: number;
  uid: bigint;
  /** Neighbours that sent us this very record (they need not hear it back). */
  heardFrom: Set<PeerName>;
}

export class TopologyGossip implements Gossiper {
  private ownArmed = false;
  private relayArmed = false;
  /** Records learned from neighbour gossip, waiting to be passed on. */
  private readonly learned = new Map<PeerName, Learned>();
  private fullCache: { generation: number; bytes: Uint8Array } | null = null;
  readonly stats = {
    digestsSent: 0,
    answersSent: 0,
    undecodable: 0,
    relayedLearned: 0,
    refusedOverLimits: 0,
  };

  constructor(
    private readonly topology: Topology,
    private readonly host: TopologyGossipHost,
    private readonly batchMs: number,
    private readonly relayDelayMs: number,
  ) {}

  get idle(): boolean {
    return !this.ownArmed && !this.relayArmed;
  }

  /** Our own record changed: broadcast it after batchMs. */
  ownChanged(): void {
    if (this.ownArmed) return;
    this.ownArmed = true;
    this.host.setTimer(OWN_TIMER, this.batchMs);
  }

  timer(key: string): boolean {
    if (key === OWN_TIMER) {
      this.ownArmed = false;
      const update = encodeTopologyMessage({ kind: 'update', records: [this.topology.ourself] });
      this.host.broadcast(() => update);
      return true;
    }
    if (key === RELAY_TIMER) {
      this.relayArmed = false;
      this.relayLearned();
      return true;
    }
    return false;
  }

  timerKeys(): string[] {
    return [OWN_TIMER, RELAY_TIMER];
  }

  private relayLearned(): void {
    const records: PeerRecord[] = [];
    const heard = new Map<PeerName, Set<PeerName>>();
    for (const [name, l] of this.learned) {
      const r = this.topology.get(name);
      // Still the version we learned, and still reachable: pass it on.
      if (r && r.version === l.version && r.uid === l.uid && this.topology.isReachable(name)) {
        records.push(r);
        heard.set(name, l.heardFrom);
      }
    }
    this.learned.clear();
    if (records.length === 0) return;
    this.stats.relayedLearned += records.length;
    const all = encodeTopologyMessage({ kind: 'update', records });
    this.host.broadcast((hop) => {
      const unheard = records.filter((r) => !heard.get(r.name)?.has(hop));
      if (unheard.length === 0) return null;
      return unheard.length === records.length
        ? all
        : encodeTopologyMessage({ kind: 'update', records: unheard });
    });
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
    if (r.refused > 0) {
      this.stats.refusedOverLimits += r.refused;
      // Only when the total has doubled: a peer flooding records cannot flood the log as well.
      const total = this.stats.refusedOverLimits;
      if (r.refused >= total / 2) {
        this.host.logger.warn(
          { refused: r.refused, total, peers: this.topology.size },
          'mesh: topology at its limits; records from peers refused',
        );
      }
    }
    if (r.ourselfBumped) {
      this.host.logger.info(
        { version: this.topology.ourself.version },
        'mesh: saw a record of ourselves from another incarnation; bumped our version past it',
      );
      this.ownChanged();
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
    for (const r of this.merge(m.records)) {
      this.learned.set(r.name, { version: r.version, uid: r.uid, heardFrom: new Set() });
    }
    if (from !== undefined) {
      for (const r of m.records) {
        const l = this.learned.get(r.name);
        if (l && l.version === r.version && l.uid === r.uid) l.heardFrom.add(from);
      }
    }
    if (this.learned.size > 0 && !this.relayArmed) {
      this.relayArmed = true;
      this.host.setTimer(RELAY_TIMER, this.relayDelayMs);
    }
    if (m.kind === 'answer' && from !== undefined && m.digest !== this.topology.digest()) {
      this.host.sendTo(from, this.full());
    }
    return null;
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
    // Records a broadcast brought us are being spread already: no need for us to pass them on too.
    for (const r of m.records) {
      const l = this.learned.get(r.name);
      if (l && r.uid === l.uid && r.version >= l.version) this.learned.delete(r.name);
    }
    const relay = m.records.filter((r) => fresh.has(r) || (r.name === src && this.topology.isReachable(src)));
    if (relay.length === 0) return null;
    return relay.length === m.records.length
      ? update
      : encodeTopologyMessage({ kind: 'update', records: relay });
  }

  onGossipUnicast(): void {}
}
