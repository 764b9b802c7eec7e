/**
 * The layering rules of docs/architecture.md, checked on the source tree so a
 * change that breaks them fails here instead of quietly eroding the design:
 * product folders depend on each other in one direction only, and the pure
 * cores never reach for clocks, randomness, sockets, files or processes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), '..'));
const PRODUCT = ['common', 'crypto', 'ipam', 'router', 'cni-plugin'];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, e);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (rel.endsWith('.ts') && !rel.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

/** Folder a file belongs to for layering: router/<part>, else its top folder. */
function layer(file: string): string {
  const parts = file.split('/');
  return parts[0] === 'router' && parts.length > 2 ? `router/${parts[1]}` : parts[0]!;
}

function relativeImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    out.push(relative(ROOT, join(ROOT, dirname(file), m[1]!)));
  }
  return out;
}

const files = PRODUCT.flatMap(sources);

describe('architecture rules', () => {
  it('product folders import each other without cycles', () => {
    const graph = new Map<string, Set<string>>();
    for (const f of files) {
      for (const target of relativeImports(f)) {
        const [a, b] = [layer(f), layer(target)];
        if (a === b) continue;
        if (!graph.has(a)) graph.set(a, new Set());
        graph.get(a)!.add(b);
      }
    }
    const cycles: string[] = [];
    const reaches = (from: string, to: string): boolean => {
      const seen = new Set<string>();
      const stack = [from];
      while (stack.length) {
        const x = stack.pop()!;
        if (x === to) return true;
        for (const y of graph.get(x) ?? []) {
          if (seen.has(y)) continue;
          seen.add(y);
          stack.push(y);
        }
      }
      return false;
    };
    for (const [a, deps] of graph) for (const b of deps) if (reaches(b, a)) cycles.push(`${a} -> ${b}`);
    expect(cycles).toEqual([]);
    // Sanity: the graph is not empty (the scan found the imports at all).
    expect(graph.get('router/daemon')?.has('router/mesh')).toBe(true);
  });

  it('product code never imports test code', () => {
    const offenders = files.filter((f) => relativeImports(f).some((t) => t.startsWith('test/')));
    expect(offenders).toEqual([]);
  });

  // The pure cores: no I/O, no ambient time or randomness (they take Clock and Random).
  const PURE = ['crypto', 'ipam', 'router/mesh', 'router/wire', 'cni-plugin/spec'];
  // Thin shells that live beside their core on purpose.
  const SHELLS = new Set(['router/mesh/driver.ts']);
  const FORBIDDEN = [
    /from 'node:(net|dgram|fs|child_process|http|https|os)'/,
    /\bDate\.now\(/,
    /\bnew Date\(/,
    /\bMath\.random\(/,
    /\bset(Timeout|Interval|Immediate)\(/,
    /\bprocess\.(env|hrtime)\b/,
  ];

  it('pure cores use no clocks, randomness, sockets, files or processes', () => {
    const offenders: string[] = [];
    for (const f of files) {
      if (!PURE.some((p) => f.startsWith(`${p}/`)) || SHELLS.has(f)) continue;
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const re of FORBIDDEN) if (re.test(text)) offenders.push(`${f}: ${re}`);
    }
    expect(offenders).toEqual([]);
  });
});
