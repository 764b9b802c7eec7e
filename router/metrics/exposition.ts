/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4),
 * the format /metrics serves. Tests use it to prove that what we serve is
 * what Prometheus accepts; the CLI may use it to show a router's metrics.
 * Hostile or malformed input gives a typed error with the line number; the
 * parser never throws.
 *
 * Checked: metric and label names, label value escapes (\\ \" \n only), float
 * values (incl. NaN, +Inf, -Inf), integer timestamps, at most one HELP and one
 * TYPE per family with TYPE before its samples, samples of a family contiguous,
 * sample names allowed by the family's type (histogram: _bucket with `le`,
 * _sum, _count; summary: quantile, _sum, _count), no duplicate series, and a
 * histogram's buckets ending in le="+Inf".
 */
import { err, ok, type Result } from '../../common/result.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  help?: string;
  type: MetricType;
  samples: Sample[];
}

export interface ExpositionError {
  line: number;
  reason: string;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;
const INT = /^-?\d{1,19}$/;

/** Limits so hostile input cannot make us do unbounded work per line. */
export const EXPOSITION_LIMITS = { maxBytes: 16 * 1024 * 1024, maxLabels: 64 } as const;

/** Values as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case, e.g. prom-client's "Nan"). */
export function parseFloatValue(s: string): number | undefined {
  const special = /^([+-]?)(nan|inf|infinity)$/i.exec(s);
  if (special) {
    if (special[2]!.toLowerCase() === 'nan') return Number.NaN;
    return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return FLOAT.test(s) ? Number(s) : undefined;
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Parse `{a="x",b="y"}` starting at text[i] === '{'; returns the labels and the index after '}'. */
function parseLabels(
  text: string,
  start: number,
): Result<{ labels: Record<string, string>; end: number }, string> {
  const labels: Record<string, string> = {};
  let i = start + 1;
  let count = 0;
  for (;;) {
    if (text[i] === '}') return ok({ labels, end: i + 1 });
    const eq = text.indexOf('=', i);
    if (eq < 0) return err('label without "="');
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) return err(`invalid label name ${JSON.stringify(name)}`);
    if (name.startsWith('__')) return err(`reserved label name ${JSON.stringify(name)}`);
    if (Object.hasOwn(labels, name)) return err(`duplicate label ${JSON.stringify(name)}`);
    if (++count > EXPOSITION_LIMITS.maxLabels) return err('too many labels');
    if (text[eq + 1] !== '"') return err(`label ${name}: value must be quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) return err(`label ${name}: unterminated value`);
      if (c === '"') break;
      if (c === '\\') {
        const n = text[j + 1];
        if (n === '\\' || n === '"') value += n;
        else if (n === 'n') value += '\n';
        else return err(`label ${name}: invalid escape \\${n ?? ''}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') return err('expected "," or "}" after a label value');
  }
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (
      f &&
      (f.type === 'histogram' || f.type === 'summary') &&
      !(suffix === '_bucket' && f.type === 'summary')
    ) {
      return f;
    }
  }
  return undefined;
}

function checkSampleForType(f: MetricFamily, s: Sample): string | undefined {
  if (f.type === 'histogram') {
    if (s.name === `${f.name}_bucket`) {
      if (s.labels.le === undefined) return 'histogram bucket without "le"';
      if (parseFloatValue(s.labels.le) === undefined) return `invalid le=${JSON.stringify(s.labels.le)}`;
    } else if (s.name === f.name) return 'histogram sample must be _bucket, _sum or _count';
  }
  if (f.type === 'summary' && s.name === f.name) {
    const q = s.labels.quantile;
    if (q === undefined || parseFloatValue(q) === undefined)
      return 'summary sample without a valid "quantile"';
  }
  if ((f.type === 'counter' || f.type === 'histogram' || f.type === 'summary') && s.value < 0) {
    if (f.type === 'counter' || s.name.endsWith('_count') || s.name.endsWith('_bucket'))
      return `negative ${f.type} value`;
  }
  return undefined;
}

function seriesKey(s: Sample): string {
  return `${s.name}${JSON.stringify(
    Object.keys(s.labels)
      .sort()
      .map((k) => [k, s.labels[k]]),
  )}`;
}

function checkHistograms(families: Map<string, MetricFamily>): string | undefined {
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of f.samples) {
      if (s.name !== `${f.name}_bucket`) continue;
      const { le: _le, ...rest } = s.labels;
      const k = JSON.stringify(
        Object.keys(rest)
          .sort()
          .map((x) => [x, rest[x]]),
      );
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    for (const buckets of groups.values()) {
      if (!buckets.some((b) => b.labels.le === '+Inf')) return `histogram ${f.name} has no le="+Inf" bucket`;
    }
  }
  return undefined;
}

export function parseExposition(text: string): Result<Map<string, MetricFamily>, ExpositionError> {
  if (text.length > EXPOSITION_LIMITS.maxBytes) return err({ line: 0, reason: 'exposition too large' });
  const families = new Map<string, MetricFamily>();
  const finished = new Set<string>();
  const series = new Set<string>();
  const typed = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const declare = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const at = n + 1;
    const fail = (reason: string) => err({ line: at, reason });
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) return fail(`invalid metric name ${JSON.stringify(name)}`);
      if (finished.has(name) || (families.get(name)?.samples.length ?? 0) > 0)
        return fail(`${kind} for ${name} after its samples`);
      const f = declare(name);
      if (current && current !== f) finished.add(current.name);
      current = f;
      if (kind === 'HELP') {
        if (f.help !== undefined) return fail(`second HELP for ${name}`);
        f.help = unescapeHelp(rest ?? '');
      } else {
        const type = (rest ?? '').trim() as MetricType;
        if (!TYPES.includes(type)) return fail(`unknown type ${JSON.stringify(rest)} for ${name}`);
        if (typed.has(name)) return fail(`second TYPE for ${name}`);
        typed.add(name);
        f.type = type;
      }
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) return fail('a sample must start with a metric name');
    const name = nameMatch[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const parsed = parseLabels(line, i);
      if (!parsed.ok) return fail(parsed.error);
      labels = parsed.value.labels;
      i = parsed.value.end;
    }
    if (line[i] !== ' ' && line[i] !== '\t') return fail('expected a space before the value');
    const fields = line
      .slice(i)
      .trim()
      .split(/[ \t]+/);
    if (fields.length < 1 || fields.length > 2) return fail('expected a value and an optional timestamp');
    const value = parseFloatValue(fields[0]!);
    if (value === undefined) return fail(`invalid value ${JSON.stringify(fields[0])}`);
    const sample: Sample = { name, labels, value };
    if (fields[1] !== undefined) {
      if (!INT.test(fields[1])) return fail(`invalid timestamp ${JSON.stringify(fields[1])}`);
      sample.timestamp = Number(fields[1]);
    }
    const f = familyOf(name, families) ?? declare(name);
    if (finished.has(f.name)) return fail(`samples of ${f.name} are not contiguous`);
    if (current && current !== f) finished.add(current.name);
    current = f;
    const bad = checkSampleForType(f, sample);
    if (bad) return fail(bad);
    const key = seriesKey(sample);
    if (series.has(key)) return fail(`duplicate series ${key}`);
    series.add(key);
    f.samples.push(sample);
  }
  const hist = checkHistograms(families);
  if (hist) return err({ line: lines.length, reason: hist });
  return ok(families);
}
