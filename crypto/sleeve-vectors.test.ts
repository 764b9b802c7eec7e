import { createDecipheriv } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SleeveOpener } from './datagram.js';
import { ReplayWindow } from './replay-window.js';
import { ReplaySetModel } from './testdata/replay-model.js';
import { buildSleeveVectors, type SleeveVectors } from './testdata/sleeve-vectors.js';

const FILE = new URL('./testdata/sleeve-vectors.golden.json', import.meta.url);
const hex = (s: string) => Buffer.from(s, 'hex');

if (process.env.WEFT_WRITE_VECTORS === '1') {
  writeFileSync(FILE, `${JSON.stringify(buildSleeveVectors(), null, 2)}\n`);
}
const golden = JSON.parse(readFileSync(FILE, 'utf8')) as SleeveVectors;

/** Opens a sealed packet with node:crypto, using only the layout in docs/protocol.md. */
function independentOpen(key: Buffer, packet: Buffer): Buffer {
  const header = packet.subarray(0, 28);
  const nonce = Buffer.concat([Buffer.alloc(4), packet.subarray(8, 16)]);
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAAD(header, { plaintextLength: packet.length - 44 });
  d.setAuthTag(packet.subarray(packet.length - 16));
  return Buffer.concat([d.update(packet.subarray(28, packet.length - 16)), d.final()]);
}

describe('sleeve golden vectors', () => {
  it('the committed JSON is exactly what the reference implementation produces', () => {
    expect(golden).toEqual(buildSleeveVectors());
  });

  it('every sealed vector opens with an independent AEAD (node:crypto) and has the documented header', () => {
    expect(golden.seal.length).toBeGreaterThan(5);
    for (const v of golden.seal) {
      const packet = hex(v.packet);
      expect(packet[0], v.name).toBe(1);
      expect(packet[1], v.name).toBe(v.type);
      expect(packet[2], v.name).toBe(1); // SEALED
      expect(packet[3], v.name).toBe(0);
      expect(packet.readUInt32BE(4), v.name).toBe(v.key_id);
      expect(packet.readBigUInt64BE(8).toString(), v.name).toBe(v.counter);
      expect(packet.subarray(16, 22).toString('hex'), v.name).toBe(v.sender);
      expect(packet.subarray(22, 28).toString('hex'), v.name).toBe(v.receiver);
      expect(packet.length, v.name).toBe(28 + v.plaintext.length / 2 + 16);
      expect(independentOpen(hex(v.key), packet).toString('hex'), v.name).toBe(v.plaintext);
    }
  });

  it('every sealed vector opens with the reference opener to its plaintext', () => {
    for (const v of golden.seal) {
      const opener = new SleeveOpener({ key: hex(v.key), local: hex(v.receiver), remote: hex(v.sender) });
      const r = opener.open(hex(v.packet));
      expect(r.ok && Buffer.from(r.value.body).toString('hex'), v.name).toBe(v.plaintext);
    }
  });

  it('plain vectors carry the body verbatim after a header with the SEALED flag clear and key id 0', () => {
    for (const v of golden.plain) {
      const packet = hex(v.packet);
      expect(packet[2]).toBe(0);
      expect(packet.readUInt32BE(4)).toBe(0);
      expect(packet.readBigUInt64BE(8).toString()).toBe(v.counter);
      expect(packet.subarray(28).toString('hex')).toBe(v.body);
    }
  });

  it('every reject vector is refused with its documented error kind', () => {
    expect(new Set(golden.reject.map((v) => v.error))).toEqual(
      new Set([
        'auth-failed',
        'unknown-key',
        'not-for-us',
        'wrong-sender',
        'bad-version',
        'unknown-type',
        'malformed',
        'too-short',
        'mode-mismatch',
      ]),
    );
    for (const v of golden.reject) {
      const opener = new SleeveOpener({
        key: v.key === null ? null : hex(v.key),
        local: hex(v.local),
        remote: hex(v.remote),
      });
      const r = opener.open(hex(v.packet));
      expect(r.ok ? 'ok' : r.error.kind, v.name).toBe(v.error);
    }
  });

  it('replay sequences reproduce step by step, and each has both accepted and rejected steps', () => {
    for (const v of golden.replay) {
      const w = new ReplayWindow();
      const got = v.steps.map((s) => w.accept(BigInt(s.counter)));
      expect(got, v.name).toEqual(v.steps.map((s) => s.accept));
      expect(got.includes(true) && got.includes(false), v.name).toBe(true);
      const model = new ReplaySetModel();
      expect(
        v.steps.map((s) => model.accept(BigInt(s.counter))),
        `${v.name} (model)`,
      ).toEqual(got);
    }
  });
});
