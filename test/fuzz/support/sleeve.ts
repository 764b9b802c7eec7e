import { SleeveOpener, SleeveSealer, sleeveKeyId } from '../../../crypto/datagram.js';
import { peerNameToBytes, SleeveType } from '../../../crypto/sleeve-header.js';

/** One fixed direction A → B of a sleeve session, sealed or plain, for the sleeve fuzz targets. */
export const SENDER = 'aa:00:00:00:00:01';
export const RECEIVER = 'bb:00:00:00:00:02';
export const KEY = new Uint8Array(32).map((_, i) => 255 - i);
export const KEY_ID = sleeveKeyId(KEY);
const A = peerNameToBytes(SENDER)!;
const B = peerNameToBytes(RECEIVER)!;

export const openerAtB = (sealed: boolean) =>
  new SleeveOpener({ key: sealed ? KEY : null, local: B, remote: A });

/** Input layout shared by the sleeve targets: [mode (bit 0: sealed), (u16 length, packet)…]. */
export function splitPackets(data: Uint8Array): { sealed: boolean; packets: Uint8Array[] } {
  const packets: Uint8Array[] = [];
  for (let off = 1; off + 2 <= data.length; ) {
    const n = (data[off]! << 8) | data[off + 1]!;
    packets.push(data.slice(off + 2, off + 2 + n));
    off += 2 + n;
  }
  return { sealed: ((data[0] ?? 0) & 1) === 1, packets };
}

export function joinPackets(sealed: boolean, packets: Uint8Array[]): Uint8Array {
  return Uint8Array.from([sealed ? 1 : 0, ...packets.flatMap((p) => [p.length >> 8, p.length & 0xff, ...p])]);
}

export function sleeveSeeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const sealed of [true, false]) {
    const s = new SleeveSealer({ key: sealed ? KEY : null, sender: A, receiver: B });
    const frame = new Uint8Array(24 + 60).map((_, i) => i);
    const pkts = [
      s.seal(SleeveType.Frames, frame),
      s.seal(SleeveType.Heartbeat, new Uint8Array(8)),
      s.seal(SleeveType.PmtuProbe, new Uint8Array(100)),
    ];
    out.push(joinPackets(sealed, pkts), joinPackets(sealed, [pkts[1]!, pkts[0]!, pkts[1]!]));
  }
  return out;
}
