import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the fuzzer keeps what it found: corpus/<target>.hex and crashes/<target>-<kind>-<id>.hex. */
// From the sources (tests) next to this file; from the bundled runner (dist/fuzz) the package root.
const here = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FUZZ_DIR = existsSync(join(here, 'targets')) ? here : join(process.cwd(), 'test/fuzz');
export const CORPUS_DIR = join(FUZZ_DIR, 'corpus');
export const CRASH_DIR = join(FUZZ_DIR, 'crashes');

/** Inputs as hex, one per line; lines starting with # are comments (a crash's error). */
export function readHexLines(file: string): Uint8Array[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => new Uint8Array(Buffer.from(l.trim(), 'hex')));
}

export function corpusOf(target: string): Uint8Array[] {
  return readHexLines(join(CORPUS_DIR, `${target}.hex`));
}

/** Saved crash, hang and out-of-memory inputs of one target. */
export function crashesOf(target: string): { file: string; input: Uint8Array }[] {
  if (!existsSync(CRASH_DIR)) return [];
  return readdirSync(CRASH_DIR)
    .filter((f) => f.startsWith(`${target}-`) && /^[a-z-]+-(crash|hang|oom|error)-[0-9a-f]+\.hex$/.test(f))
    .filter((f) => f.slice(0, f.search(/-(crash|hang|oom|error)-/)) === target)
    .map((f) => ({ file: f, input: readHexLines(join(CRASH_DIR, f))[0] ?? new Uint8Array(0) }));
}
