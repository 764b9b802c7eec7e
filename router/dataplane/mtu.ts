/**
 * Overlay MTU arithmetic (pure). Containers get one MTU, the same on every
 * port of the weft bridge, so it must fit both data paths:
 *
 *   fastdp (kernel VXLAN):  outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14        =  50
 *   sleeve (one datagram):  outer IPv4 20 + UDP 8 + envelope 28 + tag 16
 *                           + frame header 24 + inner Ethernet 14                     = 110
 *
 * Default overlay MTU = underlay MTU − 110 (1390 on a 1500-byte underlay), so
 * an MTU-sized frame from a container is exactly one sleeve datagram and one
 * VXLAN packet: neither path needs IP fragmentation. TCP super-frames (TSO,
 * up to 64 KB) are still sealed once and cut into datagrams of the path MTU
 * by the engine itself ("Sleeve: fragments" in docs/protocol.md), so a larger
 * --mtu works too, at the cost of two datagrams per frame on the sleeve path.
 */
export const IPV4_UDP_OVERHEAD = 28;
export const SLEEVE_ENVELOPE_BYTES = 28;
export const SLEEVE_TAG_BYTES = 16;
export const SLEEVE_FRAME_HEADER_BYTES = 24;
export const ETHERNET_HEADER_BYTES = 14;
export const VXLAN_HEADER_BYTES = 8;

export const SLEEVE_OVERHEAD =
  IPV4_UDP_OVERHEAD +
  SLEEVE_ENVELOPE_BYTES +
  SLEEVE_TAG_BYTES +
  SLEEVE_FRAME_HEADER_BYTES +
  ETHERNET_HEADER_BYTES;
export const FASTDP_OVERHEAD = IPV4_UDP_OVERHEAD + VXLAN_HEADER_BYTES + ETHERNET_HEADER_BYTES;

export const DEFAULT_UNDERLAY_MTU = 1500;
/** IPv4's minimum reassembly size: no smaller overlay MTU is accepted. */
export const MIN_OVERLAY_MTU = 576;
/** A TAP/bridge port cannot exceed this (and it keeps a frame within one sealed packet). */
export const MAX_OVERLAY_MTU = 65000;
/** The engine never sends datagrams smaller than this (576 − 28 is IPv4's guaranteed size minus headers, rounded). */
export const MIN_DATAGRAM = 576;

export function defaultOverlayMtu(underlayMtu = DEFAULT_UNDERLAY_MTU): number {
  return Math.max(MIN_OVERLAY_MTU, underlayMtu - SLEEVE_OVERHEAD);
}

/** Largest sleeve datagram (UDP payload) that crosses a path of this MTU unfragmented. */
export function maxDatagramForPathMtu(pathMtu: number): number {
  return Math.max(MIN_DATAGRAM, Math.min(65507, pathMtu - IPV4_UDP_OVERHEAD));
}

export type MtuProblem =
  | { kind: 'not-an-integer' }
  | { kind: 'too-small'; min: number }
  | { kind: 'too-large'; max: number };

/** Check a user-given --mtu. */
export function checkOverlayMtu(mtu: number): MtuProblem | null {
  if (!Number.isInteger(mtu)) return { kind: 'not-an-integer' };
  if (mtu < MIN_OVERLAY_MTU) return { kind: 'too-small', min: MIN_OVERLAY_MTU };
  if (mtu > MAX_OVERLAY_MTU) return { kind: 'too-large', max: MAX_OVERLAY_MTU };
  return null;
}
