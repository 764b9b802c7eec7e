import { decodeIntro, encodeIntro, INTRO_BYTES, negotiate } from '../../../router/wire/intro.js';
import { check, type FuzzTarget } from './target.js';

const KINDS = new Set(['truncated', 'bad-magic', 'bad-version']);
const ours = [
  { minVersion: 1, maxVersion: 1, encryption: false },
  { minVersion: 1, maxVersion: 1, encryption: true },
];

export const target: FuzzTarget = {
  name: 'intro',
  decoder: 'router/wire/intro.ts decodeIntro, negotiate',
  maxLen: 32,
  seeds: () => [
    encodeIntro({ minVersion: 1, maxVersion: 1, encryption: false }),
    encodeIntro({ minVersion: 1, maxVersion: 1, encryption: true }),
    encodeIntro({ minVersion: 2, maxVersion: 9, encryption: true }),
  ],
  run(data) {
    const r = decodeIntro(data);
    if (!r.ok) {
      check(KINDS.has(r.error.kind), `unknown error kind ${r.error.kind}`);
      return;
    }
    const v = r.value;
    check(data.length >= INTRO_BYTES, 'decoded an intro from fewer than 8 bytes');
    check(
      v.minVersion >= 1 && v.minVersion <= v.maxVersion && v.maxVersion <= 255,
      'bad version range accepted',
    );
    // What we decoded re-encodes to the same magic, versions and encryption bit.
    const again = encodeIntro(v);
    for (let i = 0; i < 6; i++) check(again[i] === data[i], `byte ${i} differs after re-encoding`);
    check((again[6]! & 1) === (data[6]! & 1), 'encryption flag lost');
    for (const o of ours) {
      const n = negotiate(o, v);
      if (n.ok)
        check(
          n.value.version >= 1 && n.value.version <= o.maxVersion,
          'negotiated a version we do not speak',
        );
    }
  },
};
