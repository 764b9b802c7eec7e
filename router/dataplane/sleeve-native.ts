/**
 * The native sleeve packet engine (`weft_sleeve`, sources in ./native, built
 * by scripts/build-native.mjs into build/Release): typed access for the rest
 * of the data plane. The engine runs its own threads (TAP → UDP and UDP → TAP
 * / relay); JavaScript only configures it, sends heartbeats through it and
 * drains its events and counters. See native/engine.h for the design and
 * docs/protocol.md ("Sleeve") for the bytes.
 *
 * Found like weft_sys (router/kernel/sys.ts: build/Release above this module,
 * or next to a bundle); WEFT_SLEEVE_ADDON overrides the path.
 */
import { createRequire } from 'node:module';
import { WeftError } from '../../common/errors.js';
import { findNativeAddon } from '../kernel/sys.js';
import type { PeerName } from '../mesh/gossip-api.js';

export interface SleeveEngineOptions {
  /** TAP device to open (created if missing; the caller attaches it to the bridge). */
  tap: string;
  /** Our peer name. */
  self: PeerName;
  /** UDP port to bind (the mesh port, default 6783). */
  port?: number;
  /** Local address to bind (default any). */
  bindIp?: string;
  /** Frames with a virtio-net header (needed for offloads; default true). */
  vnetHdr?: boolean;
  /** TUN_F_* offloads accepted from the TAP (TSO super-frames need CSUM|TSO4|TSO6). */
  offload?: number;
  rcvbuf?: number;
  sndbuf?: number;
  /** Do not use UDP GSO/GRO even when the kernel has them (measurements). */
  noGso?: boolean;
}

/** A direct sleeve path to a neighbour. */
export interface SleevePeerConfig {
  ip: string;
  port: number;
  encrypted: boolean;
  sendKey?: Uint8Array;
  sendKeyId?: number;
  recvKey?: Uint8Array;
  recvKeyId?: number;
  /** Largest datagram to send to it (path MTU − 28; default 1472); larger packets travel as fragments. */
  maxDatagram?: number;
}

export type SleeveEvent =
  | { kind: 'mac-learned'; peer: PeerName; mac: string; previousPeer?: PeerName }
  | { kind: 'flood-delivered'; peer: PeerName; mac: string }
  | { kind: 'heartbeat'; peer: PeerName; seq: bigint; size: number; type: number }
  | { kind: 'fastdp-heartbeat'; peer: PeerName; seq: bigint; size: number }
  | { kind: 'unknown-peer'; peer: PeerName }
  | { kind: 'error'; message: string; errno: number; where: number };

export interface SleevePeerStats {
  name: PeerName;
  direct: boolean;
  encrypted: boolean;
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  rxFrames: number;
  relayed: number;
  heartbeatsRx: number;
  txOversize: number;
  txErrors: number;
  txFragments: number;
  rxFragments: number;
  reassembled: number;
  reassemblyDropped: number;
  maxDatagram: number;
  /** Receive-path rejections by reason ("auth-failed", "replayed", ...). */
  drops: Record<string, number>;
}

export interface SleeveGlobalStats {
  tapRxFrames: number;
  tapRxBytes: number;
  tapTxFrames: number;
  tapTxBytes: number;
  tapTxErrors: number;
  /** TSO super-frames read from the TAP. */
  gsoFrames: number;
  noRoute: number;
  floodFrames: number;
  broadcastFrames: number;
  loops: number;
  ttlExpired: number;
  badFrames: number;
  macTableFull: number;
  eventsDropped: number;
  rxDatagrams: number;
  txDatagrams: number;
  rxBatches: number;
  txBatches: number;
  fastdpHeartbeatsRx: number;
  rxGroBuffers: number;
  txGsoTrains: number;
  /** UDP GSO / GRO in use. */
  gso: boolean;
  gro: boolean;
  /** Receive-path rejections before a sender was known, by reason. */
  drops: Record<string, number>;
}

export interface SleeveStats {
  global: SleeveGlobalStats;
  peers: SleevePeerStats[];
}

export interface NativeSleeveEngine {
  close(): void;
  setPeer(name: PeerName, cfg: SleevePeerConfig): void;
  /** The direct path is gone: keys wiped, the peer stays routable through others. */
  dropPath(name: PeerName): boolean;
  /** The mesh forgot the peer: its slot and MACs go. */
  forgetPeer(name: PeerName): boolean;
  /** Replace all routes: unicast [destination, next hop], broadcast [origin, next hops]. */
  setRoutes(unicast: [PeerName, PeerName][], broadcast: [PeerName, PeerName[]][]): void;
  /** Record that `mac` is behind `peer` (a claim from the control channel). */
  claim(mac: string, peer: PeerName): void;
  setOffload(tunFlags: number): void;
  /** Send a sleeve heartbeat (type 2) or PMTU probe (type 4) of `size` datagram bytes. False: no direct path. */
  sendHeartbeat(peer: PeerName, type: number, seq: bigint | number, size: number): boolean;
  /**
   * Send a fastdp heartbeat (VXLAN on `vni`) to ip:port, its inner frame padded
   * to `frameLen` bytes (the largest frame fastdp carries: overlay MTU + 14).
   */
  sendFastdpHeartbeat(
    ip: string,
    port: number,
    vni: number,
    seq: bigint | number,
    frameLen?: number,
  ): boolean;
  /** Receive fastdp heartbeats arriving on this (VXLAN heartbeat) device. */
  attachFastdpHeartbeat(ifname: string): void;
  events(): SleeveEvent[];
  macs(): { mac: string; peer: PeerName; ageSeconds: number }[];
  expireMacs(maxAgeSeconds: number): { mac: string; peer: PeerName }[];
  stats(): SleeveStats;
}

export type OpenResult =
  | { ok: true; type: number; counter: bigint; body: Uint8Array }
  | { ok: false; error: string };

export interface SleeveAddon {
  SleeveEngine: new (opts: SleeveEngineOptions, onEvents: () => void) => NativeSleeveEngine;
  /** Test hook: seal exactly as the engine does. */
  sealPacket(
    key: Uint8Array | null,
    keyId: number,
    type: number,
    counter: bigint,
    sender: string,
    receiver: string,
    body: Uint8Array,
  ): Uint8Array;
  /** Test hook: open a sequence through one receiving session, in the engine's receive order. */
  openPackets(
    key: Uint8Array | null,
    keyId: number,
    local: string,
    remote: string,
    packets: Uint8Array[],
  ): OpenResult[];
  /** Test hook: the engine's replay window over a sequence of counters. */
  replaySequence(counters: bigint[]): boolean[];
  /** Nanoseconds per AEAD seal of `size` bytes with the engine's cipher. */
  aeadBench(size: number, iterations: number): number;
  /**
   * Test hook: run [op, key, peer, time] operations on a fresh MAC table
   * (0 learn, 1 lookup, 2 remove a peer's entries, 3 expire older than time).
   */
  macTableRun(ops: [number, number, number, number][]): number[];
}

/** Packet types of the sleeve envelope the engine sends heartbeats with. */
export const SLEEVE_HEARTBEAT = 2;
export const SLEEVE_PMTU_PROBE = 4;

/** linux/if_tun.h offload flags. */
export const TUN_F = { CSUM: 0x01, TSO4: 0x02, TSO6: 0x04, TSO_ECN: 0x08 } as const;
export const TSO_OFFLOADS = TUN_F.CSUM | TUN_F.TSO4 | TUN_F.TSO6 | TUN_F.TSO_ECN;

const ADDON = 'weft_sleeve.node';
let cached: SleeveAddon | undefined;

export function findSleeveAddon(): string | undefined {
  return findNativeAddon(ADDON, 'WEFT_SLEEVE_ADDON');
}

export function loadSleeveAddon(): SleeveAddon {
  if (cached) return cached;
  const path = findSleeveAddon();
  if (!path) {
    throw new WeftError('INTERNAL', 'native addon weft_sleeve is not built: run `npm run build`', {
      looked_for: ADDON,
    });
  }
  cached = createRequire(import.meta.url)(path) as SleeveAddon;
  return cached;
}
