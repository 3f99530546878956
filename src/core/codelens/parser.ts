/**
 * The Python grammar for CodeLens detection: tree-sitter-python (WebAssembly) through web-tree-sitter, no native
 * build. Loaded once, lazily, the first time a Python file or notebook is looked at (never on activation):
 * `initDetector()` compiles the two .wasm files (web-tree-sitter's runtime and the Python grammar) and caches the
 * parser; later calls return the same promise.
 *
 * Where the .wasm files are: next to the bundle (scripts/build.mjs copies them to dist/, and the .vsix ships them),
 * else in node_modules (unit tests and the bench run from out/). Version pairing: web-tree-sitter 0.25.x reads
 * grammars of ABI 13–15; tree-sitter-python 0.25.0 ships ABI 15.
 */
import { errorMessage } from '../errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Language, Parser, Tree } from 'web-tree-sitter';

export const RUNTIME_WASM = 'tree-sitter.wasm';
export const PYTHON_WASM = 'tree-sitter-python.wasm';

let loading: Promise<void> | undefined;
let parser: Parser | undefined;

/** Candidate paths of a .wasm file: beside this code (the bundle in dist/), then the package in node_modules. */
function wasmCandidates(file: string, pkg: string): string[] {
  const out = [path.join(__dirname, file), path.join(__dirname, '..', file)];
  try {
    out.push(require.resolve(`${pkg}/${file}`));
  } catch {
    // not installed: only the bundled copy can serve
  }
  try {
    out.push(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file));
  } catch {
    // as above
  }
  return out;
}

function findWasm(file: string, pkg: string): string {
  const found = wasmCandidates(file, pkg).find((p) => fs.existsSync(p));
  if (!found)
    throw new Error(
      `CodeLens: ${file} not found next to the extension or in node_modules (${pkg}); reinstall the extension`,
    );
  return found;
}

/** Loads the parser once; resolves when `parsePython` can be called. Rejects with a one-line reason. */
export function initDetector(): Promise<void> {
  loading ??= (async () => {
    // require, not import(): bundlers then take the package's CommonJS build, which finds its files from __dirname
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require('web-tree-sitter') as typeof import('web-tree-sitter');
    const runtime = findWasm(RUNTIME_WASM, 'web-tree-sitter');
    await ts.Parser.init({ locateFile: () => runtime } as Parameters<typeof ts.Parser.init>[0]);
    const language: Language = await ts.Language.load(
      new Uint8Array(fs.readFileSync(findWasm(PYTHON_WASM, 'tree-sitter-python'))),
    );
    const p = new ts.Parser();
    p.setLanguage(language);
    parser = p;
  })().catch((e: unknown) => {
    loading = undefined; // a later call may try again (e.g. after the files are restored)
    throw new Error(errorMessage(e).split('\n')[0]);
  });
  return loading;
}

/** Has `initDetector()` finished? */
export function isDetectorReady(): boolean {
  return parser !== undefined;
}

/**
 * A syntax tree of Python source. The caller must `delete()` it. Throws when `initDetector()` has not finished.
 * With `oldTree` (the previous version's tree, already `edit()`ed), tree-sitter's incremental parse (the bench
 * compares it; incremental.ts re-parses top-level statements alone instead).
 */
export function parsePython(source: string, oldTree?: Tree): Tree {
  if (!parser) throw new Error('CodeLens: the Python parser is not loaded; await initDetector() first');
  const tree = parser.parse(source, oldTree ?? null);
  if (!tree) throw new Error('CodeLens: the Python parser returned no tree');
  return tree;
}
