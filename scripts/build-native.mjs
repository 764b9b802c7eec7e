#!/usr/bin/env node
// Builds the native addons declared in binding.gyp (weft_sys, and the data
// plane's weft_sleeve) with the node-gyp that ships inside npm, fully offline:
// the headers come from the Node installation itself (--nodedir), never from a
// download. Re-runs only `node-gyp build` when binding.gyp has not changed
// since the last configure, so repeated `npm run build`s stay fast.
//
//   node scripts/build-native.mjs [--rebuild]
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    /* not a local dependency: use npm's own copy */
  }
  if (process.env.npm_execpath) {
    candidates.push(
      join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    );
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  candidates.push('/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  candidates.push('/usr/share/nodejs/npm/node_modules/node-gyp/bin/node-gyp.js');
  return candidates.find((c) => existsSync(c));
}

// Headers of the running Node: an explicit npm setting wins, else the install
// prefix when it carries include/node (Debian/NodeSource packages and official
// tarballs do). Only as a last resort would node-gyp try to download them.
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(join(configured, 'include', 'node', 'node_api.h'))) return configured;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined;
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) {
  console.error('build-native: node-gyp not found (it ships with npm); install npm or add node-gyp');
  process.exit(1);
}
const nodeDir = findNodeDir();
if (!nodeDir) console.warn('build-native: Node headers not found locally; node-gyp may try to download them');

const makefile = join(root, 'build', 'Makefile');
const configured =
  !process.argv.includes('--rebuild') &&
  existsSync(makefile) &&
  statSync(makefile).mtimeMs >= statSync(join(root, 'binding.gyp')).mtimeMs;
const args = [nodeGyp, configured ? 'build' : 'rebuild', '--loglevel=warn', '--jobs=max'];
if (nodeDir) args.push(`--nodedir=${nodeDir}`);

const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env } });
if (r.status !== 0) {
  console.error(`build-native: node-gyp ${args[1]} failed (exit ${r.status ?? r.signal})`);
  process.exit(r.status ?? 1);
}
