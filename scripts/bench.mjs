#!/usr/bin/env node
// `npm run bench [name…]`: runs the benchmarks one after another (never in
// parallel: on a 2-core machine two benchmarks would skew each other), each
// through its own `npm run bench:<name>` script, and prints their tables.
// With no names it runs every one; the kernel ones need root.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts;
const all = Object.keys(scripts)
  .filter((k) => k.startsWith('bench:'))
  .map((k) => k.slice('bench:'.length));
const asked = process.argv.slice(2);
const unknown = asked.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')}; known: ${all.join(', ')}`);
  process.exit(2);
}
const names = asked.length > 0 ? asked : all;

const failed = [];
for (const name of names) {
  console.log(`\n== bench:${name} ==`);
  const r = spawnSync('npm', ['run', '--silent', `bench:${name}`], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(name);
}
if (failed.length > 0) {
  console.error(`bench: failed: ${failed.join(', ')}`);
  process.exit(1);
}
