/**
 * Per-packet cost of sealing and opening 1400-byte packets (ChaCha20-Poly1305
 * IETF) in Node, measured in one run so the rows compare as ratios:
 *
 * - sodium-native into a preallocated buffer (what a JS hot loop could do best),
 * - sodium-native allocating the output per packet,
 * - node:crypto createCipheriv/createDecipheriv per packet (a new object each time:
 *   the nonce changes per packet, so the cipher object cannot be reused),
 * - batches: 64 packets per JS call into one slab (amortises call overhead only),
 * - one 64 KB super-frame per AEAD call (what TSO/GSO super-frames buy), per 1400 B,
 * - weft's TS reference sleeve sealer/opener (header, bigint counter, replay window),
 * plus the once-per-connection costs: a full handshake pair and the PSK derivation.
 *
 * Run: npm run bench:crypto   (prints a table; numbers vary ±10 % run to run)
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { cryptoRandom } from '../common/random.js';
import { SleeveOpener, SleeveSealer } from '../crypto/datagram.js';
import { runHandshakePair } from '../crypto/handshake-pair.js';
import { derivePsk } from '../crypto/psk.js';
import { SleeveType } from '../crypto/sleeve-header.js';
import { sodium } from '../crypto/sodium.js';

const PACKET = 1400;
const TAG = 16;
const BATCH = 64;
const SUPER = 65_000;
const key = cryptoRandom.bytes(32);
const ad = cryptoRandom.bytes(28);
const plain = cryptoRandom.bytes(PACKET);
const superPlain = cryptoRandom.bytes(SUPER);

interface Row {
  name: string;
  /** microseconds per 1400-byte packet (or per operation for the per-connection rows) */
  us: number;
  perPacket: boolean;
}

/** Runs `fn` (which processes `unitsPerCall` packets) for ~`ms` after a warm-up; µs per packet. */
function measure(fn: () => void, unitsPerCall: number, ms = 400): number {
  const warmEnd = performance.now() + 100;
  while (performance.now() < warmEnd) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 50; i++) fn();
    calls += 50;
    now = performance.now();
  }
  return ((now - start) * 1000) / (calls * unitsPerCall);
}

function nonceFor(n: Uint8Array, counter: number): Uint8Array {
  new DataView(n.buffer, n.byteOffset, 12).setUint32(8, counter >>> 0, false);
  return n;
}

function sodiumRows(): Row[] {
  const nonce = new Uint8Array(12);
  const out = new Uint8Array(PACKET + TAG);
  const back = new Uint8Array(PACKET);
  let c = 0;
  const seal = () => {
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plain, ad, null, nonceFor(nonce, c++), key);
  };
  const sealedOnce = new Uint8Array(PACKET + TAG);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(sealedOnce, plain, ad, null, nonceFor(nonce, 0), key);
  const zero = new Uint8Array(12);
  const open = () => {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(back, null, sealedOnce, ad, zero, key);
  };
  const sealAlloc = () => {
    const o = new Uint8Array(PACKET + TAG);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(o, plain, ad, null, nonceFor(nonce, c++), key);
  };
  const slab = new Uint8Array(BATCH * (PACKET + TAG));
  const sealBatch = () => {
    for (let i = 0; i < BATCH; i++) {
      const o = slab.subarray(i * (PACKET + TAG), (i + 1) * (PACKET + TAG));
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(o, plain, ad, null, nonceFor(nonce, c++), key);
    }
  };
  const superOut = new Uint8Array(SUPER + TAG);
  const superBack = new Uint8Array(SUPER);
  const sealSuper = () => {
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
      superOut,
      superPlain,
      ad,
      null,
      nonceFor(nonce, c++),
      key,
    );
  };
  const superSealed = new Uint8Array(SUPER + TAG);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(superSealed, superPlain, ad, null, zero, key);
  const openSuper = () => {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(superBack, null, superSealed, ad, zero, key);
  };
  return [
    { name: 'sodium-native seal, preallocated', us: measure(seal, 1), perPacket: true },
    { name: 'sodium-native open, preallocated', us: measure(open, 1), perPacket: true },
    { name: 'sodium-native seal, allocating', us: measure(sealAlloc, 1), perPacket: true },
    { name: `sodium-native seal, batch of ${BATCH}`, us: measure(sealBatch, BATCH), perPacket: true },
    {
      name: 'sodium-native seal, 64 KB super-frame',
      us: measure(sealSuper, SUPER / PACKET),
      perPacket: true,
    },
    {
      name: 'sodium-native open, 64 KB super-frame',
      us: measure(openSuper, SUPER / PACKET),
      perPacket: true,
    },
  ];
}

function nodeCryptoRows(): Row[] {
  const nonce = Buffer.alloc(12);
  let c = 0;
  const sealOne = (n: Buffer) => {
    const ci = createCipheriv('chacha20-poly1305', key, n, { authTagLength: TAG });
    ci.setAAD(ad, { plaintextLength: PACKET });
    const body = ci.update(plain);
    ci.final();
    return [body, ci.getAuthTag()] as const;
  };
  const seal = () => {
    sealOne(nonceFor(nonce, c++) as Buffer);
  };
  const [body, tag] = sealOne(Buffer.alloc(12));
  const zero = Buffer.alloc(12);
  const open = () => {
    const d = createDecipheriv('chacha20-poly1305', key, zero, { authTagLength: TAG });
    d.setAAD(ad, { plaintextLength: PACKET });
    d.setAuthTag(tag);
    d.update(body);
    d.final();
  };
  const sealBatch = () => {
    for (let i = 0; i < BATCH; i++) sealOne(nonceFor(nonce, c++) as Buffer);
  };
  return [
    { name: 'node:crypto seal, cipher per packet', us: measure(seal, 1), perPacket: true },
    { name: 'node:crypto open, decipher per packet', us: measure(open, 1), perPacket: true },
    { name: `node:crypto seal, batch of ${BATCH}`, us: measure(sealBatch, BATCH), perPacket: true },
  ];
}

function weftRows(): Row[] {
  const a = new Uint8Array([0xaa, 0, 0, 0, 0, 1]);
  const b = new Uint8Array([0xbb, 0, 0, 0, 0, 2]);
  const sealer = new SleeveSealer({ key, sender: a, receiver: b });
  const seal = () => {
    sealer.seal(SleeveType.Frames, plain);
  };
  // Open needs fresh counters (the replay window refuses repeats): pre-seal a pool and open it in order.
  const pool = Array.from({ length: 200_000 }, () => sealer.seal(SleeveType.Frames, plain));
  let opener = new SleeveOpener({ key, local: b, remote: a });
  let next = 0;
  const open = () => {
    if (next === pool.length) {
      opener = new SleeveOpener({ key, local: b, remote: a });
      next = 0;
    }
    const r = opener.open(pool[next++]!);
    if (!r.ok) throw new Error(`bench: open failed: ${r.error.kind}`);
  };
  return [
    { name: 'weft SleeveSealer.seal (TS reference)', us: measure(seal, 1), perPacket: true },
    { name: 'weft SleeveOpener.open (TS reference)', us: measure(open, 1, 300), perPacket: true },
  ];
}

function perConnectionRows(): Row[] {
  const psk = cryptoRandom.bytes(32);
  const handshake = () => {
    const out = runHandshakePair({
      pskInitiator: psk,
      pskResponder: psk,
      prologueInitiator: ad,
      randomInitiator: cryptoRandom,
      randomResponder: cryptoRandom,
    });
    if (!out.initiator.done) throw new Error('bench: handshake failed');
  };
  const pskMs = [0, 1, 2].map(() => {
    const t0 = performance.now();
    derivePsk('benchmark password');
    return performance.now() - t0;
  });
  return [
    { name: 'handshake, both sides (per connection)', us: measure(handshake, 1, 300), perPacket: false },
    { name: 'derivePsk, Argon2id, fastest of 3', us: Math.min(...pskMs) * 1000, perPacket: false },
    { name: 'derivePsk, Argon2id, slowest of 3', us: Math.max(...pskMs) * 1000, perPacket: false },
  ];
}

function printTable(rows: Row[]): void {
  const base = rows.find((r) => r.name === 'sodium-native seal, preallocated')!.us;
  const header = ['operation', 'µs/packet', 'Gbit/s (1 core)', 'vs sodium prealloc seal'];
  const lines = rows.map((r) =>
    r.perPacket
      ? [r.name, r.us.toFixed(3), ((PACKET * 8) / (r.us * 1000)).toFixed(2), `${(r.us / base).toFixed(2)}×`]
      : [r.name, `${r.us.toFixed(1)} (per op)`, '-', '-'],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`ChaCha20-Poly1305-IETF, ${PACKET}-byte packets, 28-byte AD; Node ${process.version}`);
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

printTable([...sodiumRows(), ...nodeCryptoRows(), ...weftRows(), ...perConnectionRows()]);
