import fc from 'fast-check';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition } from './exposition.js';

function mustParse(text: string) {
  const r = parseExposition(text);
  if (!r.ok) throw new Error(`line ${r.error.line}: ${r.error.reason}`);
  return r.value;
}

function reason(text: string): string {
  const r = parseExposition(text);
  if (r.ok) throw new Error('expected a parse error');
  return r.error.reason;
}

describe('parseExposition', () => {
  it('reads families with HELP, TYPE, labels, escapes, special values and timestamps', () => {
    const fams = mustParse(
      [
        '# HELP a_total Things that happened.\\nSecond line.',
        '# TYPE a_total counter',
        'a_total{kind="x\\"y",path="c:\\\\d",note="l1\\nl2"} 3 1700000000000',
        'a_total{kind="z",} 4.5e2',
        '# a comment',
        '# TYPE g gauge',
        'g NaN',
        'g{x="1"} -Inf',
        'g{x="2"} +Inf',
        'plain 1',
      ].join('\n'),
    );
    const a = fams.get('a_total')!;
    expect(a.type).toBe('counter');
    expect(a.help).toBe('Things that happened.\nSecond line.');
    expect(a.samples[0]).toEqual({
      name: 'a_total',
      labels: { kind: 'x"y', path: 'c:\\d', note: 'l1\nl2' },
      value: 3,
      timestamp: 1700000000000,
    });
    expect(a.samples[1]!.value).toBe(450);
    const g = fams.get('g')!;
    expect(Number.isNaN(g.samples[0]!.value)).toBe(true);
    expect(g.samples.map((s) => s.value).slice(1)).toEqual([
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    ]);
    expect(fams.get('plain')!.type).toBe('untyped');
  });

  it('accepts everything prom-client renders (counters, gauges, histograms, summaries, process metrics)', async () => {
    const registry = new Registry();
    new Counter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [registry] }).inc(
      { a: 'q"\\\n' },
      2,
    );
    new Gauge({ name: 'g', help: 'g with \\ and\nnewline', registers: [registry] }).set(-1.5);
    const h = new Histogram({
      name: 'h',
      help: 'h',
      labelNames: ['a'],
      buckets: [1, 2],
      registers: [registry],
    });
    h.observe({ a: 'x' }, 1.5);
    h.observe({ a: 'y' }, 5);
    new Summary({ name: 's', help: 's', registers: [registry] }).observe(3);
    collectDefaultMetrics({ register: registry });
    const fams = mustParse(await registry.metrics());
    expect(fams.get('c_total')!.samples[0]!.labels.a).toBe('q"\\\n');
    expect(fams.get('g')!.help).toBe('g with \\ and\nnewline');
    expect(fams.get('h')!.type).toBe('histogram');
    expect(fams.get('h')!.samples.filter((s) => s.name === 'h_bucket')).toHaveLength(6);
    expect(fams.get('s')!.type).toBe('summary');
    expect(fams.get('process_cpu_user_seconds_total')!.type).toBe('counter');
    expect(fams.get('nodejs_eventloop_lag_seconds')).toBeDefined();
  });

  it.each([
    ['1bad 1', 'must start with a metric name'],
    ['m{1a="x"} 1', 'invalid label name'],
    ['m{__name__="x"} 1', 'reserved label name'],
    ['m{a="x",a="y"} 1', 'duplicate label'],
    ['m{a=x} 1', 'must be quoted'],
    ['m{a="x} 1', 'unterminated value'],
    ['m{a="\\t"} 1', 'invalid escape'],
    ['m{a="x" b="y"} 1', 'expected "," or "}"'],
    ['m', 'expected a space'],
    ['m abc', 'invalid value'],
    ['m 1 2 3', 'expected a value and an optional timestamp'],
    ['m 1 1.5', 'invalid timestamp'],
    ['m 1\nm 2', 'duplicate series'],
    ['# TYPE m gauge\n# TYPE m gauge\nm 1', 'second TYPE'],
    ['# HELP m a\n# HELP m b\nm 1', 'second HELP'],
    ['# TYPE m bogus', 'unknown type'],
    ['m 1\n# TYPE m gauge', 'after its samples'],
    ['a 1\nb 1\na{x="1"} 1', 'not contiguous'],
    ['# TYPE c counter\nc -1', 'negative counter value'],
    ['# TYPE h histogram\nh 1', 'must be _bucket, _sum or _count'],
    ['# TYPE h histogram\nh_bucket 1', 'without "le"'],
    ['# TYPE h histogram\nh_bucket{le="x"} 1', 'invalid le'],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1', 'no le="+Inf" bucket'],
    ['# TYPE s summary\ns 1', 'quantile'],
  ])('rejects %j (%s)', (text, why) => {
    expect(reason(text)).toContain(why);
  });

  it('never throws on arbitrary input: a value or a typed error', () => {
    const alphabet = fc.constantFrom(...'ab_:{}="\\ ,#\n\t019.+-eInfNaTYPEHELP'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 200 })), (text) => {
        const r = parseExposition(text);
        if (!r.ok) {
          expect(typeof r.error.reason).toBe('string');
          expect(r.error.line).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips generated gauges through prom-client', async () => {
    const labelValue = fc.string({ maxLength: 12 });
    const series = fc.uniqueArray(fc.tuple(labelValue, fc.double({ noNaN: true })), {
      selector: (t) => t[0],
      maxLength: 8,
    });
    await fc.assert(
      fc.asyncProperty(series, async (list) => {
        const registry = new Registry();
        const g = new Gauge({ name: 'x', help: 'x', labelNames: ['l'], registers: [registry] });
        for (const [l, v] of list) g.set({ l }, v);
        const fams = mustParse(await registry.metrics());
        const got = new Map(fams.get('x')!.samples.map((s) => [s.labels.l, s.value]));
        for (const [l, v] of list) expect(got.get(l)).toBe(v === 0 ? 0 : v);
      }),
      { numRuns: 100 },
    );
  });
});
