// Builds the bundles: the CLI and the extension (Node, CommonJS) and the webview (browser).
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { existsSync, chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info', legalComments: 'linked' };

const builds = [
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', target: 'node20', format: 'cjs', banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', target: 'node20', format: 'cjs', external: ['vscode'] },
  { ...common, entryPoints: ['src/webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', target: 'es2022', format: 'iife' },
].filter((b) => existsSync(b.entryPoints[0]));

// The Python grammar for CodeLens (src/core/codelens/parser.ts loads them from beside the bundle): web-tree-sitter's
// runtime and tree-sitter-python, both WebAssembly.
const require = createRequire(import.meta.url);
mkdirSync('dist', { recursive: true });
for (const [pkg, file] of [['web-tree-sitter', 'tree-sitter.wasm'], ['tree-sitter-python', 'tree-sitter-python.wasm']]) {
  copyFileSync(require.resolve(`${pkg}/${file}`), `dist/${file}`);
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
}
