/**
 * Messages between the data planes of two connected routers, carried as the
 * mesh's opaque OverlayControl payload over their (authenticated, and with a
 * password encrypted) mesh connection. Layout in docs/protocol.md, "Sleeve:
 * control messages". Pure; decoding never throws.
 *
 *   0 version=1 | 1 tag | body
 *   hello     (tag 1): flags(1: bit0 fastdp on) fastdpPort(2) vni(3) heartbeatVni(3) mtu(2)
 *   ack       (tag 2): kind(1: 1 sleeve heartbeat, 2 fastdp heartbeat, 3 PMTU probe) seq(8) size(4)
 *   mac-claim (tag 3): count(2) count × MAC(6)      (count 1..1024, unicast MACs only)
 */
import { err, ok, type Result } from '../../common/result.js';

export const CONTROL_VERSION = 1;
export const MAX_CLAIM_MACS = 1024;

export const ControlTag = { Hello: 1, Ack: 2, MacClaim: 3 } as const;

export type AckKind = 'sleeve' | 'fastdp' | 'probe';
const ACK_KINDS: readonly AckKind[] = ['sleeve', 'fastdp', 'probe'];

export interface HelloMessage {
  tag: 'hello';
  /** This side runs fastdp and may use it for this connection. */
  fastdp: boolean;
  fastdpPort: number;
  vni: number;
  heartbeatVni: number;
  mtu: number;
}
export interface AckMessage {
  tag: 'ack';
  kind: AckKind;
  seq: bigint;
  /** Datagram bytes received (the probed size for PMTU probes). */
  size: number;
}
export interface MacClaimMessage {
  tag: 'mac-claim';
  macs: string[];
}
export type ControlMessage = HelloMessage | AckMessage | MacClaimMessage;

export type ControlDecodeError =
  | { kind: 'too-short'; message: string }
  | { kind: 'bad-version'; message: string }
  | { kind: 'unknown-tag'; message: string }
  | { kind: 'malformed'; message: string };

const HELLO_BODY = 11;
const ACK_BODY = 13;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function encodeControl(m: ControlMessage): Uint8Array {
  switch (m.tag) {
    case 'hello': {
      const b = new Uint8Array(2 + HELLO_BODY);
      const v = new DataView(b.buffer);
      b[0] = CONTROL_VERSION;
      b[1] = ControlTag.Hello;
      b[2] = m.fastdp ? 1 : 0;
      v.setUint16(3, m.fastdpPort);
      writeU24(b, 5, m.vni);
      writeU24(b, 8, m.heartbeatVni);
      v.setUint16(11, m.mtu);
      return b;
    }
    case 'ack': {
      const b = new Uint8Array(2 + ACK_BODY);
      const v = new DataView(b.buffer);
      b[0] = CONTROL_VERSION;
      b[1] = ControlTag.Ack;
      b[2] = ACK_KINDS.indexOf(m.kind) + 1;
      v.setBigUint64(3, m.seq);
      v.setUint32(11, m.size);
      return b;
    }
    case 'mac-claim': {
      if (m.macs.length === 0 || m.macs.length > MAX_CLAIM_MACS)
        throw new RangeError('mac-claim: 1..1024 MACs');
      const b = new Uint8Array(4 + 6 * m.macs.length);
      b[0] = CONTROL_VERSION;
      b[1] = ControlTag.MacClaim;
      new DataView(b.buffer).setUint16(2, m.macs.length);
      m.macs.forEach((mac, i) => {
        if (!MAC_RE.test(mac) || Number.parseInt(mac.slice(0, 2), 16) & 1)
          throw new RangeError(`mac-claim: bad MAC ${mac}`);
        b.set(
          mac.split(':').map((h) => Number.parseInt(h, 16)),
          4 + 6 * i,
        );
      });
      return b;
    }
  }
}

export function decodeControl(b: Uint8Array): Result<ControlMessage, ControlDecodeError> {
  if (b.length < 2) return err({ kind: 'too-short', message: `control message of ${b.length} bytes` });
  if (b[0] !== CONTROL_VERSION) return err({ kind: 'bad-version', message: `control version ${b[0]}` });
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (b[1]) {
    case ControlTag.Hello: {
      if (b.length !== 2 + HELLO_BODY)
        return err({ kind: 'malformed', message: `hello of ${b.length} bytes` });
      const flags = b[2]!;
      if (flags & ~1) return err({ kind: 'malformed', message: `hello flags 0x${flags.toString(16)}` });
      const fastdpPort = v.getUint16(3);
      const mtu = v.getUint16(11);
      if (fastdpPort === 0 || mtu < 576)
        return err({ kind: 'malformed', message: 'hello: port 0 or MTU < 576' });
      return ok({
        tag: 'hello',
        fastdp: flags === 1,
        fastdpPort,
        vni: readU24(b, 5),
        heartbeatVni: readU24(b, 8),
        mtu,
      });
    }
    case ControlTag.Ack: {
      if (b.length !== 2 + ACK_BODY) return err({ kind: 'malformed', message: `ack of ${b.length} bytes` });
      const kind = ACK_KINDS[b[2]! - 1];
      if (!kind) return err({ kind: 'malformed', message: `ack kind ${b[2]}` });
      return ok({ tag: 'ack', kind, seq: v.getBigUint64(3), size: v.getUint32(11) });
    }
    case ControlTag.MacClaim: {
      if (b.length < 4) return err({ kind: 'too-short', message: 'mac-claim without a count' });
      const count = v.getUint16(2);
      if (count === 0 || count > MAX_CLAIM_MACS || b.length !== 4 + 6 * count) {
        return err({ kind: 'malformed', message: `mac-claim of ${count} MACs in ${b.length} bytes` });
      }
      const macs: string[] = [];
      for (let i = 0; i < count; i++) {
        const m = b.subarray(4 + 6 * i, 10 + 6 * i);
        if (m[0]! & 1) return err({ kind: 'malformed', message: 'mac-claim of a multicast MAC' });
        macs.push(Array.from(m, (x) => x.toString(16).padStart(2, '0')).join(':'));
      }
      return ok({ tag: 'mac-claim', macs });
    }
    default:
      return err({ kind: 'unknown-tag', message: `control tag ${b[1]}` });
  }
}

function writeU24(b: Uint8Array, at: number, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffff) throw new RangeError(`VNI ${n} is not 24-bit`);
  b[at] = n >>> 16;
  b[at + 1] = (n >>> 8) & 0xff;
  b[at + 2] = n & 0xff;
}

function readU24(b: Uint8Array, at: number): number {
  return (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
}
