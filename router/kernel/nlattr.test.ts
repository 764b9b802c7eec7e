import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { align4, decodeAttrs, encodeAttrs, NLA_F_NESTED, type NlAttr, str, u16be, u32 } from './nlattr.js';

type Tree = { type: number; value: Uint8Array } | { type: number; nested: Tree[] };

const leaf = fc.record({
  type: fc.integer({ min: 0, max: 0x3fff }),
  value: fc.uint8Array({ maxLength: 64 }),
});
const tree: fc.Arbitrary<Tree[]> = fc.letrec<{ list: Tree[]; node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ type: fc.integer({ min: 0, max: 0x3fff }), nested: tie('list') }),
  ),
  list: fc.array(tie('node'), { maxLength: 5 }),
})).list;

const toAttrs = (t: Tree[]): NlAttr[] =>
  t.map((n) =>
    'nested' in n ? { type: n.type, value: toAttrs(n.nested) } : { type: n.type, value: n.value },
  );

/** Check that `bytes` decode back into exactly the tree (order of same-typed attributes kept). */
function matches(bytes: Uint8Array, t: Tree[]): boolean {
  const d = decodeAttrs(bytes);
  if (!d.ok) return false;
  const byType = new Map<number, Tree[]>();
  for (const n of t) byType.set(n.type, [...(byType.get(n.type) ?? []), n]);
  if (d.value.types().length !== byType.size) return false;
  for (const [type, nodes] of byType) {
    const got = d.value.all(type);
    if (got.length !== nodes.length) return false;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if ('nested' in n ? !matches(got[i]!, n.nested) : !Buffer.from(n.value).equals(got[i]!)) return false;
    }
  }
  return true;
}

describe('netlink attributes', () => {
  it('round-trip: any attribute tree decodes to itself', () => {
    fc.assert(fc.property(tree, (t) => matches(encodeAttrs(toAttrs(t)), t)));
  });

  it('every attribute starts 4-byte aligned and the total is a multiple of 4', () => {
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 8 }), (ls) => {
        const b = encodeAttrs(ls);
        return b.length === ls.reduce((n, l) => n + align4(4 + l.value.length), 0);
      }),
    );
  });

  it('decoding arbitrary bytes never throws; it yields attributes or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const r = decodeAttrs(bytes);
        if (!r.ok) expect(['truncated-header', 'bad-length']).toContain(r.error.kind);
        else for (const t of r.value.types()) r.value.nested(t);
      }),
    );
  });

  it('reports a length that runs past the buffer and a stray partial header', () => {
    const bad = Buffer.from([0x20, 0x00, 0x01, 0x00, 1, 2, 3, 4]);
    expect(decodeAttrs(bad)).toEqual({ ok: false, error: { kind: 'bad-length', offset: 0, length: 32 } });
    const stray = Buffer.concat([encodeAttrs([{ type: 1, value: u32(7) }]), Buffer.from([1, 2])]);
    expect(decodeAttrs(stray)).toEqual({ ok: false, error: { kind: 'truncated-header', offset: 8 } });
  });

  it('golden: header layout, padding, NLA_F_NESTED on request, flags stripped on decode', () => {
    const b = encodeAttrs([
      { type: 3, value: str('eth0') },
      { type: 12, nestedFlag: true, value: [{ type: 4, value: Buffer.from([1]) }] },
      { type: 15, value: u16be(6784) },
    ]);
    expect(b.toString('hex')).toBe(
      // len=9 type=3 "eth0\0" + 3 pad | len=12 type=12|NESTED { len=5 type=4 01 + 3 pad } | len=6 type=15 1a80 + 2 pad
      [
        '0900',
        '0300',
        '6574683000',
        '000000',
        '0c00',
        '0c80',
        '0500',
        '0400',
        '01',
        '000000',
        '0600',
        '0f00',
        '1a80',
        '0000',
      ].join(''),
    );
    expect(NLA_F_NESTED).toBe(0x8000);
    const d = decodeAttrs(b);
    expect(d.ok && d.value.str(3)).toBe('eth0');
    expect(d.ok && d.value.nested(12)?.u8(4)).toBe(1);
    expect(d.ok && d.value.u16be(15)).toBe(6784);
  });

  it('refuses to encode an attribute longer than nla_len can say', () => {
    expect(() => encodeAttrs([{ type: 1, value: new Uint8Array(0x10000) }])).toThrow(RangeError);
  });
});
