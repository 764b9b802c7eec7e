import { FrameReader, MAX_FRAME_BYTES } from '../../../router/wire/framing.js';
import { check, type FuzzTarget } from './target.js';

const CAPS = [0, 16, 300, 4096, MAX_FRAME_BYTES];

/** The obvious reading of the format, to compare the chunked reader with. */
function reference(bytes: Uint8Array, cap: number): { frames: Uint8Array[]; error: boolean } {
  const frames: Uint8Array[] = [];
  let off = 0;
  while (bytes.length - off >= 4) {
    const len = new DataView(bytes.buffer, bytes.byteOffset + off).getUint32(0, false);
    if (len > cap) return { frames, error: true };
    if (bytes.length - off - 4 < len) break;
    frames.push(bytes.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return { frames, error: false };
}

/**
 * Input: [cap selector, chunking seed, stream…]. The stream is pushed in
 * chunks whose sizes come from the seed, pulling frames after every push.
 */
export const target: FuzzTarget = {
  name: 'frame-reader',
  decoder: 'router/wire/framing.ts FrameReader',
  maxLen: 4096,
  seeds: () => {
    const frame = (n: number) => {
      const b = new Uint8Array(4 + n);
      new DataView(b.buffer).setUint32(0, n, false);
      return b;
    };
    return [Uint8Array.of(2, 3, ...frame(5), ...frame(0), ...frame(17)), Uint8Array.of(3, 1, ...frame(300))];
  },
  run(data) {
    if (data.length < 2) return;
    const cap = CAPS[data[0]! % CAPS.length]!;
    let seed = data[1]! | 1;
    const stream = data.subarray(2);
    const reader = new FrameReader(cap);
    const got: Uint8Array[] = [];
    let error = false;
    for (let off = 0; off < stream.length && !error; ) {
      seed = (seed * 73 + 41) & 0xff;
      const n = Math.min(stream.length - off, 1 + (seed % 23));
      reader.push(stream.subarray(off, off + n));
      off += n;
      for (;;) {
        const f = reader.next();
        if (!f.ok) {
          check(f.error.kind === 'too-large', `unexpected error ${f.error.kind}`);
          error = true;
          break;
        }
        if (f.value === null) break;
        got.push(Uint8Array.from(f.value));
      }
    }
    const want = reference(stream, cap);
    check(error === want.error, `reader error ${error}, reference ${want.error}`);
    check(
      got.length === want.frames.length,
      `reader gave ${got.length} frames, reference ${want.frames.length}`,
    );
    for (const [i, g] of got.entries()) check(Buffer.compare(g, want.frames[i]!) === 0, `frame ${i} differs`);
    if (error) check(reader.next().ok === false && reader.buffered === 0, 'error not sticky or bytes kept');
  },
};
