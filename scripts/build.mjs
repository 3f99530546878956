// Builds the bundles: the CLI and the extension (Node, CommonJS) and the webview (browser).
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import {
  existsSync,
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info', legalComments: 'linked' };

// systeminformation (about 700 KB, half of the CLI's bundle) is its own bundle, dist/systeminformation.js, which the
// CLI and the extension load only where they use it (macOS and Windows process lists; Linux reads /proc): every
// `carbon-meter` start reads and converts its whole bundle, about 9 ms of CPU per MB on a small VM.
const SYSINFO_BUNDLE = './systeminformation.js';
const systeminformationApart = {
  name: 'systeminformation-apart',
  setup(build) {
    build.onResolve({ filter: /^systeminformation$/ }, () => ({ path: SYSINFO_BUNDLE, external: true }));
  },
};
// `await import('systeminformation')` in the sources becomes require() (Node's dynamic import would load the
// bundle as ECMAScript module, and cannot run in the CLI's vm.Script at all: src/cli/launch.ts)
const requireNotImport = { 'dynamic-import': false };

const builds = [
  {
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cliMain.js',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['koffi'],
    plugins: [systeminformationApart],
    supported: requireNotImport,
    minify: false, // minified after tidyCliBundle, which reads esbuild's helper names
  },
  // the `carbon-meter` command itself: runs dist/cliMain.js through a V8 code cache (src/cli/launch.ts)
  {
    ...common,
    entryPoints: ['src/cli/launch.ts'],
    outfile: 'dist/cli.js',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode'],
    plugins: [systeminformationApart],
    supported: requireNotImport,
  },
  {
    ...common,
    entryPoints: [createRequire(import.meta.url).resolve('systeminformation')],
    outfile: 'dist/systeminformation.js',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
  },
  // the NVML reader runs as its own process; koffi (native) is loaded from dist/node_modules, copied below
  {
    ...common,
    entryPoints: ['src/core/power/nvml/reader.ts'],
    outfile: 'dist/nvmlReader.js',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['koffi'],
  },
  {
    ...common,
    entryPoints: ['src/webview/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
  },
].filter((b) => existsSync(b.entryPoints[0]));

// The Python grammar for CodeLens (src/core/codelens/parser.ts loads them from beside the bundle): web-tree-sitter's
// runtime and tree-sitter-python, both WebAssembly.
const require = createRequire(import.meta.url);
mkdirSync('dist', { recursive: true });
for (const [pkg, file] of [
  ['web-tree-sitter', 'tree-sitter.wasm'],
  ['tree-sitter-python', 'tree-sitter-python.wasm'],
]) {
  copyFileSync(require.resolve(`${pkg}/${file}`), `dist/${file}`);
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
  if (existsSync('dist/cliMain.js')) tidyCliBundle('dist/cliMain.js');
  copyKoffi();
}

// Two changes to the CLI's bundle that make `carbon-meter run` start faster (src/cli/launch.ts says why it matters):
// - ASCII only, so that the launcher reads it as a one-byte string: esbuild escapes strings, but leaves other
//   characters of comments and regular expressions as they are; \uXXXX means the same in each of those places.
// - Node's built-in modules used as they are: for `import * as fs from 'node:fs'` esbuild copies the module into a
//   new object of getters (__toESM), once per importing file; 56 copies of about 100 getters each cost 10 ms of CPU at
//   every start. The sources only ever import built-ins as namespaces (never `default`), so the module itself serves.
function tidyCliBundle(file) {
  const text = readFileSync(file, 'utf8');
  const tidy = text
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/__toESM\((require\("node:[a-z0-9_/]+"\))\)/g, '$1');
  if (/import_node_\w+\.default\b/.test(tidy)) throw new Error(`${file}: a default import of a Node built-in`);
  const out = production ? esbuild.transformSync(tidy, { minify: true, charset: 'ascii' }).code : tidy;
  if (out !== text) writeFileSync(file, out);
}

// koffi's loader and the native module of each platform installed here (npm installs the current one), into
// dist/node_modules so that dist/nvmlReader.js finds them in the .vsix and next to dist/cli.js.
function copyKoffi() {
  if (!existsSync('node_modules/koffi')) return;
  const dest = 'dist/node_modules/koffi';
  mkdirSync(`${dest}/src`, { recursive: true });
  for (const f of ['package.json', 'index.cjs', 'LICENSE.txt']) cpSync(`node_modules/koffi/${f}`, `${dest}/${f}`);
  cpSync('node_modules/koffi/src/koffi', `${dest}/src/koffi`, {
    recursive: true,
    filter: (p) => statSync(p).isDirectory() || /\.c?js$/.test(p),
  });
  if (!existsSync('node_modules/@koromix')) return;
  for (const pkg of readdirSync('node_modules/@koromix').filter((n) => n.startsWith('koffi-'))) {
    cpSync(`node_modules/@koromix/${pkg}`, `dist/node_modules/@koromix/${pkg}`, { recursive: true });
  }
}
