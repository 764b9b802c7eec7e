#!/usr/bin/env node
// Build everything a user runs: TypeScript → dist/ (tsc), the CNI plugins as
// single-file bundles (esbuild: a plugin pays Node's start-up on every call, so
// it must load as little as possible), and the native addon (node-gyp).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${cmd} ${args.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
if (existsSync('scripts/bundle.mjs')) run(process.execPath, ['scripts/bundle.mjs']);
if (existsSync('binding.gyp') && !process.env.WEFT_SKIP_NATIVE) run(process.execPath, ['scripts/build-native.mjs']);
