/**
 * What goes into and comes out of the IPAM core (ipam/allocator.ts): its
 * configuration, the state it restores from disk, the effects it asks its
 * shell to perform, the answers to API operations, and its status.
 */
import type { WeftError } from '../common/errors.js';
import type { Cidr } from '../common/ip.js';
import type { Result } from '../common/result.js';
import type { Allocation } from './address-book.js';
import type { NodeClaims } from './consensus.js';
import type { OwnerId } from './owner.js';
import type { Ring } from './ring.js';

/** How the first ring comes to exist (`--ipalloc-init`). */
export type InitMode =
  /** A quorum of `size` initial peers agree on the owners (Paxos); quorum = size/2 + 1. */
  | { kind: 'consensus'; size: number }
  /** Every peer builds the same ring from this list of peer names. */
  | { kind: 'seed'; peers: readonly string[] }
  /** Own nothing; wait for a ring from peers and ask them for space. */
  | { kind: 'observer' };

export interface IpamConfig {
  /** Our mesh peer name. */
  peer: string;
  /** The allocation range (`--ipalloc-range`), e.g. 10.32.0.0/12. */
  range: Cidr;
  /** Where allocations without an explicit subnet go (`--ipalloc-default-subnet`); defaults to the range. */
  defaultSubnet?: Cidr;
  init: InitMode;
  /** A pending allocate/claim fails after this long (ALLOCATION_TIMEOUT / RING_NOT_READY). */
  allocationTimeoutMs?: number;
  /** How often pending operations are retried and space requests re-sent. */
  retryIntervalMs?: number;
  /** Our free counts are gossiped at most this often. */
  freeReportDelayMs?: number;
  /** First proposal delay per rank (the lowest-named participant proposes first). */
  proposeDelayMs?: number;
  /**
   * After a restart (or a fresh start holding seed space), wait this long to
   * hear the ring from a peer before allocating: it may say we were removed
   * while down, or that a fresh seed peer's space was used by a past life.
   */
  startFenceMs?: number;
  /** Allocations and claims waiting at once (space from peers, the ring); more fail at once with TOO_MANY_PENDING. */
  maxPendingOps?: number;
}

export const IPAM_DEFAULTS = {
  allocationTimeoutMs: 30_000,
  retryIntervalMs: 2_000,
  freeReportDelayMs: 1_000,
  proposeDelayMs: 1_000,
  startFenceMs: 10_000,
  maxPendingOps: 4096,
} as const;

/** What the core needs back after a restart (ipam-store persists exactly this). */
export interface PersistedIpam {
  /** Our owner id (peer name + incarnation). */
  owner: OwnerId;
  ring: Ring | null;
  /** Our own consensus claims (an acceptor must not forget its promises). */
  claims: NodeClaims | null;
  allocations: Allocation[];
  /** Set once we handed our space over (DELETE /peer): we never allocate again under this owner id. */
  left: boolean;
}

export type AllocationOp = { put: Allocation } | { del: number } | { clear: true };

/** A change to persist, atomically, before any other effect of the same step. */
export interface PersistChange {
  owner?: OwnerId;
  /** null: forget the ring (abandoning it for another). */
  ring?: Ring | null;
  claims?: NodeClaims | null;
  allocations?: AllocationOp[];
  left?: boolean;
}

export type IpamEffect =
  | { kind: 'persist'; change: PersistChange }
  | { kind: 'broadcast'; msg: Uint8Array }
  | { kind: 'gossip'; msg: Uint8Array }
  | { kind: 'unicast'; to: string; msg: Uint8Array }
  | { kind: 'reply'; op: number; result: Result<IpamAnswer, WeftError> }
  /** Call `tick()` at this time (replaces any earlier request); null: no timer needed. */
  | { kind: 'wake'; at: number | null };

export interface AddressAnswer {
  kind: 'address';
  containerId: string;
  addr: number;
  /** Prefix of the subnet: the container's address is addr/prefix. */
  prefix: number;
}

export type IpamAnswer =
  | AddressAnswer
  | { kind: 'released'; addresses: number[] }
  | { kind: 'removed'; owners: OwnerId[]; addresses: number }
  | { kind: 'left'; heirs: OwnerId[]; addresses: number }
  | { kind: 'abandoned'; ringId: string | null; allocations: number };

export type IpamState =
  /** Consensus mode, no ring yet: waiting for a quorum to agree. */
  | 'awaiting-consensus'
  /** Restarted with a ring: waiting (briefly) to hear the current ring from a peer before allocating. */
  | 'syncing'
  /** Observer (or a peer whose ring is being learnt): waiting for a ring from peers. */
  | 'awaiting-ring'
  | 'ready'
  /** We handed our space over and left (DELETE /peer). */
  | 'left';

export interface OwnerSummary {
  owner: OwnerId;
  addresses: number;
  free: number;
  reachable: boolean;
  dead: boolean;
}

export interface RingConflict {
  peer: string;
  kind: string;
  reason: string;
  count: number;
  firstAt: number;
  lastAt: number;
  theirRingId?: string;
}

export interface IpamStatus {
  state: IpamState;
  self: OwnerId;
  range: string;
  defaultSubnet: string;
  init: string;
  ringId: string | null;
  /** Addresses we own, of which `free` are not allocated. */
  owned: number;
  free: number;
  allocated: number;
  ringEntries: number;
  owners: OwnerSummary[];
  /** Owners (not us) we cannot reach, or that are gone: their space is not usable now. */
  unreachable: OwnerSummary[];
  pending: { allocate: number; claim: number };
  consensus: { quorum: number; participants: OwnerId[]; quorums: number[]; highestRound: number } | null;
  /** Peers whose ring we refused within the last minute. */
  conflicts: RingConflict[];
  /** Refused ring updates since start. */
  conflictsTotal: number;
  decodeErrors: number;
}
