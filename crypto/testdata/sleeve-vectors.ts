/**
 * Builds the sleeve golden vectors (crypto/testdata/sleeve-vectors.golden.json)
 * from the TS reference implementation. The native engine's tests check the
 * JSON; crypto/sleeve-vectors.test.ts checks that the JSON still equals what
 * this builds and verifies every sealed vector with an independent AEAD
 * implementation (node:crypto). Regenerate with
 *   WEFT_WRITE_VECTORS=1 npx vitest run crypto/sleeve-vectors.test.ts
 *
 * All inputs are fixed or drawn from a SeededRandom, so the output is stable.
 */
import { SeededRandom } from '../../common/random.js';
import { toHex } from '../bytes.js';
import { SleeveOpener, SleeveSealer, sleeveKeyId } from '../datagram.js';
import { REPLAY_WINDOW, ReplayWindow } from '../replay-window.js';
import { peerNameToBytes, SLEEVE_HEADER_BYTES, SleeveType } from '../sleeve-header.js';

export interface SealVector {
  name: string;
  key: string;
  key_id: number;
  type: number;
  /** Decimal string: 64-bit values do not fit a JSON number exactly. */
  counter: string;
  sender: string;
  receiver: string;
  plaintext: string;
  packet: string;
}

export interface PlainVector {
  name: string;
  type: number;
  counter: string;
  sender: string;
  receiver: string;
  body: string;
  packet: string;
}

export interface RejectVector {
  name: string;
  /** Receiving session: its key (null: plain session), our name and the neighbour's. */
  key: string | null;
  local: string;
  remote: string;
  packet: string;
  /** The error kind the opener returns (SleeveOpenError['kind']). */
  error: string;
}

export interface ReplayVector {
  name: string;
  /** Each counter in order, and whether the window accepts it. */
  steps: { counter: string; accept: boolean }[];
}

export interface KeyIdVector {
  key: string;
  key_id: number;
}

export interface SleeveVectors {
  description: string;
  format: {
    header_bytes: number;
    tag_bytes: number;
    replay_window: number;
    nonce: string;
    ad: string;
  };
  key_ids: KeyIdVector[];
  seal: SealVector[];
  plain: PlainVector[];
  reject: RejectVector[];
  replay: ReplayVector[];
}

const A = 'aa:00:00:00:00:01';
const B = 'bb:00:00:00:00:02';
const C = 'cc:00:00:00:00:03';

function name(s: string): Uint8Array {
  const bytes = peerNameToBytes(s);
  if (bytes === null) throw new Error(`bad peer name ${s}`);
  return bytes;
}

function hexName(s: string): string {
  return toHex(name(s));
}

function sealOne(
  key: Uint8Array,
  type: SleeveType,
  counter: bigint,
  sender: string,
  receiver: string,
  body: Uint8Array,
) {
  const sealer = new SleeveSealer({
    key,
    sender: name(sender),
    receiver: name(receiver),
    firstCounter: counter,
  });
  return sealer.seal(type, body);
}

function flip(packet: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = Uint8Array.from(packet);
  out[index] = out[index]! ^ mask;
  return out;
}

function replaySequence(name: string, counters: bigint[]): ReplayVector {
  const w = new ReplayWindow();
  return { name, steps: counters.map((c) => ({ counter: c.toString(), accept: w.accept(c) })) };
}

export function buildSleeveVectors(): SleeveVectors {
  const rng = new SeededRandom(0x5eed);
  const keyAB = rng.bytes(32);
  const keyOther = rng.bytes(32);

  const sealCases: [string, SleeveType, bigint, number][] = [
    ['frames, empty body, counter 0', SleeveType.Frames, 0n, 0],
    ['frames, 1 byte', SleeveType.Frames, 1n, 1],
    ['heartbeat, 16 bytes', SleeveType.Heartbeat, 7n, 16],
    ['frames, 1400 bytes (one MTU-sized frame)', SleeveType.Frames, 1000n, 1400],
    ['frames, counter above 2^32', SleeveType.Frames, (1n << 32n) + 5n, 64],
    ['pmtu probe, counter 2^64 - 2', SleeveType.PmtuProbe, (1n << 64n) - 2n, 100],
    ['frames, 9000 bytes (jumbo)', SleeveType.Frames, 123456789n, 9000],
  ];
  const seal: SealVector[] = sealCases.map(([label, type, counter, size]) => {
    const plaintext = rng.bytes(size);
    const packet = sealOne(keyAB, type, counter, A, B, plaintext);
    return {
      name: label,
      key: toHex(keyAB),
      key_id: sleeveKeyId(keyAB),
      type,
      counter: counter.toString(),
      sender: hexName(A),
      receiver: hexName(B),
      plaintext: toHex(plaintext),
      packet: toHex(packet),
    };
  });

  const plainBody = rng.bytes(40);
  const plainPacket = new SleeveSealer({
    key: null,
    sender: name(A),
    receiver: name(B),
    firstCounter: 42n,
  }).seal(SleeveType.Frames, plainBody);
  const plain: PlainVector[] = [
    {
      name: 'plain frames (unencrypted mesh)',
      type: SleeveType.Frames,
      counter: '42',
      sender: hexName(A),
      receiver: hexName(B),
      body: toHex(plainBody),
      packet: toHex(plainPacket),
    },
  ];

  const good = sealOne(keyAB, SleeveType.Frames, 5n, A, B, rng.bytes(48));
  const reject = (
    label: string,
    packet: Uint8Array,
    error: string,
    key: Uint8Array | null = keyAB,
  ): RejectVector => ({
    name: label,
    key: key === null ? null : toHex(key),
    local: hexName(B),
    remote: hexName(A),
    packet: toHex(packet),
    error,
  });
  const sameIdWrongKey = Uint8Array.from(sealOne(keyOther, SleeveType.Frames, 5n, A, B, rng.bytes(48)));
  // Give the foreign packet our key id so the receiver gets as far as the AEAD check.
  new DataView(sameIdWrongKey.buffer).setUint32(4, sleeveKeyId(keyAB), false);
  const rejects: RejectVector[] = [
    reject('tampered body byte', flip(good, SLEEVE_HEADER_BYTES + 3), 'auth-failed'),
    reject('tampered tag byte', flip(good, good.length - 1, 0x80), 'auth-failed'),
    reject('tampered counter (header is authenticated)', flip(good, 15), 'auth-failed'),
    reject('tampered type (header is authenticated)', flip(good, 1, 0x03), 'auth-failed'),
    reject('sealed with another key, our key id', sameIdWrongKey, 'auth-failed'),
    reject(
      'sealed with another key, its own key id',
      sealOne(keyOther, SleeveType.Frames, 5n, A, B, rng.bytes(8)),
      'unknown-key',
    ),
    reject(
      'addressed to another peer',
      sealOne(keyAB, SleeveType.Frames, 6n, A, C, rng.bytes(8)),
      'not-for-us',
    ),
    reject('from another peer', sealOne(keyAB, SleeveType.Frames, 6n, C, B, rng.bytes(8)), 'wrong-sender'),
    reject('version 2', flip(good, 0, 0x03), 'bad-version'),
    reject(
      'unknown type 0x7f',
      (() => {
        const p = Uint8Array.from(good);
        p[1] = 0x7f;
        return p;
      })(),
      'unknown-type',
    ),
    reject('unknown flag bit', flip(good, 2, 0x80), 'malformed'),
    reject('reserved byte set', flip(good, 3, 0x01), 'malformed'),
    reject('truncated header', good.slice(0, SLEEVE_HEADER_BYTES - 1), 'too-short'),
    reject('sealed but shorter than header + tag', good.slice(0, SLEEVE_HEADER_BYTES + 15), 'too-short'),
    reject('plain packet on an encrypted session', plainPacket, 'mode-mismatch'),
    reject('sealed packet on a plain session', good, 'mode-mismatch', null),
  ];
  // Self-check: the reference opener must agree with every expected error.
  for (const v of rejects) {
    const opener = new SleeveOpener({
      key: v.key === null ? null : keyAB,
      local: name(B),
      remote: name(A),
    });
    const r = opener.open(Buffer.from(v.packet, 'hex'));
    if (r.ok || r.error.kind !== v.error)
      throw new Error(`vector "${v.name}": opener gave ${r.ok ? 'ok' : r.error.kind}`);
  }

  const W = REPLAY_WINDOW;
  const top = (1n << 64n) - 1n;
  const replay: ReplayVector[] = [
    replaySequence('in order, then duplicates', [0n, 1n, 2n, 3n, 1n, 3n, 4n]),
    replaySequence('out of order within the window', [10n, 5n, 7n, 6n, 5n, 9n, 8n, 11n, 10n]),
    replaySequence('window edge: max - c = W - 1 accepted, = W rejected', [W + 100n, 101n, 100n, 99n]),
    replaySequence('jump far ahead clears the bitmap', [
      1n,
      2n,
      5000n,
      2n,
      4999n,
      5000n - W,
      5000n - W + 1n,
      4999n,
    ]),
    replaySequence('jump of exactly one bitmap (2048)', [
      0n,
      64n,
      2048n,
      2048n + 63n,
      64n,
      2047n,
      2112n,
      2048n,
    ]),
    replaySequence('near 2^64', [top - 3n, top - 1n, top, top - 2n, top, top - 3n, 0n]),
    replaySequence('first counter need not be 0', [77n, 76n, 77n, 78n]),
    replaySequence('a block reused after advancing 2048 holds no stale bits', [
      33n,
      2080n,
      2081n,
      2079n,
      33n,
    ]),
    replaySequence('a far jump clears every block, including the old one', [5n, 100005n, 98309n, 98309n, 5n]),
  ];

  const keyIds: KeyIdVector[] = [keyAB, keyOther, new Uint8Array(32)].map((k) => ({
    key: toHex(k),
    key_id: sleeveKeyId(k),
  }));

  return {
    description:
      'weft sleeve v1 golden vectors: see docs/protocol.md "Sleeve: UDP packet envelope". Byte strings are hex; counters are decimal strings.',
    format: {
      header_bytes: SLEEVE_HEADER_BYTES,
      tag_bytes: 16,
      replay_window: Number(REPLAY_WINDOW),
      nonce: '00000000 || packet[8..16]',
      ad: 'packet[0..28]',
    },
    key_ids: keyIds,
    seal,
    plain,
    reject: rejects,
    replay,
  };
}
