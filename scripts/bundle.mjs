#!/usr/bin/env node
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Bundle the CNI plugins into single CommonJS files under dist/cni/. A plugin
// is a fresh Node process on every CNI call, so what it loads is what it
// costs: one minified file, CommonJS (Node's ES module loader adds ~10 ms of
// start-up), the netlink package outside the bundle (it loads a native binding
// relative to its own directory) and required only when a verb first opens a
// netlink socket — VERSION, errors and the router-down path never load it.
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

// `--outdir DIR` lets tests build private bundles; keep DIR inside the
// repository so the lazy require still finds node_modules and build/.
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? resolve(process.argv[at + 1]) : resolve(root, 'dist/cni');
mkdirSync(outdir, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir,
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
  logLevel: 'warning',
});
