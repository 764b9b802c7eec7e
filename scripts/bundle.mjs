#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Bundle the CNI plugins for dist/cni/. A plugin is a fresh Node process on
// every CNI call, so what it loads is what it costs:
//
//   <plugin>.cjs               the launcher `weft setup-cni` points at: a few
//                              lines that compile the code below from V8's
//                              code cache and run it
//   <plugin>.<hash>.cjs        the plugin, one minified CommonJS file (Node's
//                              ES module loader adds ~10 ms of start-up)
//   <plugin>.<hash>.cjs.v8cache  V8's compiled code for it: without it V8
//                              parses and compiles each function on its first
//                              call, ~4 ms of every ADD
//   (and the previous build's two files, for calls that started meanwhile)
//
// The code file is named by its content hash and the launcher names exactly
// that file, so a cache can never meet other code (V8 itself checks only the
// source's length, its own version and its flags, and rejects the cache, at
// a cost in speed only, when those differ: another node binary, NODE_OPTIONS).
// The cache is made eagerly (every function compiled, --no-lazy while
// compiling) by a child of this same node binary, then checked to be accepted
// by a fresh process; if anything about that fails the plugin ships without a
// cache and says so here.
//
// The netlink package stays outside the bundle (it loads a native binding
// relative to its own directory) and is required only when code first opens
// one of its sockets; the plugins use the weft_sys addon instead, so they
// never load it.
//
//   node scripts/bundle.mjs [--outdir DIR]
import { build } from 'esbuild';

const entries = {
  'weft-net': 'cni-plugin/net/main.ts',
  'weft-ipam': 'cni-plugin/ipam-plugin/main.ts',
};

// An ES `import` of an external module is hoisted and evaluated at start-up
// even when the importing code is never run; replace netlink's entry with a
// stub that requires the real module on first call.
const LAZY = {
  'netlink/dist/netlink.js': ['createNetlink'],
};
const lazyExternals = {
  name: 'lazy-externals',
  setup(b) {
    b.onResolve({ filter: /^netlink\// }, (args) => {
      // The stub's own require of the real module stays a plain external require.
      if (args.namespace === 'lazy') return { path: args.path, external: true };
      if (!LAZY[args.path]) return { errors: [{ text: `add ${args.path} to LAZY in scripts/bundle.mjs` }] };
      return { path: args.path, namespace: 'lazy' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      loader: 'js',
      contents:
        `let mod;\nconst load = () => (mod ??= require(${JSON.stringify(args.path)}));\n` +
        LAZY[args.path].map((n) => `export function ${n}(...a) { return load().${n}(...a); }\n`).join(''),
    }));
  },
};

/** The V8 cache of `code`, compiled the way the launcher compiles it. Run with -e in a child. */
const MAKE_CACHE = `
const { readFileSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');
const { wrap } = require('node:module');
const v8 = require('node:v8');
const [code, out] = process.argv.slice(1);
v8.setFlagsFromString('--no-lazy');
const script = new Script(wrap(readFileSync(code, 'utf8')), { filename: code });
// Back to the default before serializing: the cache records the flags it was made under.
v8.setFlagsFromString('--lazy');
writeFileSync(out, script.createCachedData());
`;

/** Prints "accepted" when a fresh process takes the cache. */
const CHECK_CACHE = `
const { readFileSync } = require('node:fs');
const { Script } = require('node:vm');
const { wrap } = require('node:module');
const [code, cache] = process.argv.slice(1);
const s = new Script(wrap(readFileSync(code, 'utf8')), { filename: code, cachedData: readFileSync(cache) });
process.stdout.write(s.cachedDataRejected ? 'rejected' : 'accepted');
`;

function makeCodeCache(code) {
  const cache = `${code}.v8cache`;
  // Nothing but the variables Node needs: options such as NODE_OPTIONS would change V8's flags.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const made = spawnSync(process.execPath, ['-e', MAKE_CACHE, code, cache], { encoding: 'utf8', env });
  const checked =
    made.status === 0
      ? spawnSync(process.execPath, ['-e', CHECK_CACHE, code, cache], { encoding: 'utf8', env })
      : undefined;
  if (checked?.stdout === 'accepted') return;
  rmSync(cache, { force: true });
  const why = made.status !== 0 ? made.stderr.trim() : checked?.stdout || checked?.stderr.trim();
  console.warn(`bundle: ${basename(code)} ships without a code cache (${why}); it works, starting slower`);
}

function launcher(plugin, codeFile) {
  return `'use strict';
// The ${plugin} CNI plugin (generated by scripts/bundle.mjs): runs ${codeFile}
// from V8's code cache made for it at build time, or compiles it when V8
// rejects the cache (another node binary or other V8 flags: slower, same result).
const { readFileSync } = require('node:fs');
const { Script } = require('node:vm');
const { createRequire, wrap } = require('node:module');
const code = \`\${__dirname}/${codeFile}\`;
let cachedData;
try {
  cachedData = readFileSync(\`\${code}.v8cache\`);
} catch {}
const script = new Script(wrap(readFileSync(code, 'utf8')), { filename: code, cachedData });
// For the plugin's debug log.
globalThis[Symbol.for('weft.codeCache')] = !cachedData ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used';
script.runInThisContext()(module.exports, createRequire(code), module, code, __dirname);
`;
}

function writeAtomically(path, content) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

// `--outdir DIR` lets tests build private bundles; keep DIR inside the
// repository so the plugins still find build/Release (weft_sys).
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? resolve(process.argv[at + 1]) : resolve(root, 'dist/cni');
mkdirSync(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir,
  entryNames: '[name].[hash]',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  // The sources are ES modules that find files next to themselves.
  define: { 'import.meta.url': '__weft_module_url' },
  banner: { js: "const __weft_module_url = require('node:url').pathToFileURL(__filename).href;" },
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  plugins: [lazyExternals],
  metafile: true,
  logLevel: 'warning',
});

for (const [out, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const plugin = Object.keys(entries).find((p) => entries[p] === meta.entryPoint);
  const codeFile = basename(out);
  const code = join(outdir, codeFile);
  makeCodeCache(code);
  // The launcher last: until it is renamed into place, plugin calls run the
  // previous build, whose files stay (a call that read the old launcher a
  // moment ago still finds its code); older ones go.
  const launcherPath = join(outdir, `${plugin}.cjs`);
  const previous = existsSync(launcherPath)
    ? /^\/\/ The .* runs (\S+\.cjs)$/m.exec(readFileSync(launcherPath, 'utf8'))?.[1]
    : undefined;
  writeAtomically(launcherPath, launcher(plugin, codeFile));
  const keep = [codeFile, previous].filter(Boolean);
  for (const f of readdirSync(outdir))
    if (f.startsWith(`${plugin}.`) && f !== `${plugin}.cjs` && !keep.some((k) => f.startsWith(k)))
      rmSync(join(outdir, f), { force: true });
}
