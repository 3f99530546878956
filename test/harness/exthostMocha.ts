/**
 * The extensionTestsPath module for Carbon Meter's extension-host tests: VS Code
 * loads it inside the extension host and calls run(). Used both by our
 * code-server harness (codeServer.ts runExtensionHostTests, runExthost.ts) and
 * by @vscode/test-electron (runElectron.ts).
 *
 * run() finds the test files, runs them with mocha (spec reporter), and:
 * - records its progress and the summary as JSON in $CARBON_METER_TEST_RESULT
 *   ("started", then "done" or "error"), so a runner can tell a finished run
 *   from an extension host that died half-way (the workbench then still says 0);
 * - copies the reporter's output to $CARBON_METER_TEST_OUTPUT, so the runner can
 *   print it (the extension host's console is not the terminal);
 * - rejects when a test failed, when no test file matched, or when loading failed.
 *
 * Environment:
 *   CARBON_METER_TEST_ROOT     folder the globs are relative to (default: the
 *                              nearest folder above this file with a package.json)
 *   CARBON_METER_TEST_GLOB     comma-separated globs (default out/test/vscode/** /*.test.js)
 *   CARBON_METER_TEST_GREP     only tests whose full title matches this regex
 *   CARBON_METER_TEST_TIMEOUT  per-test timeout in ms (default 60000)
 *   CARBON_METER_TEST_RESULT, CARBON_METER_TEST_OUTPUT  see above (optional)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as util from 'util';
import { ENV_TEST_OUTPUT, ENV_TEST_RESULT, type TestRunRecord } from './results';

export const DEFAULT_TEST_GLOB = 'out/test/vscode/**/*.test.js';

// Mocha 12 is an ES module that Node 20.19+ can require(); older mocha is CommonJS.
// Typed loosely on purpose: this module must not depend on the mocha version's typings.
interface MochaRunner {
  stats?: { tests: number; passes: number; failures: number; pending: number };
}
interface MochaInstance {
  addFile(file: string): void;
  loadFilesAsync?: () => Promise<void>;
  run(done: (failures: number) => void): MochaRunner;
  dispose?: () => void;
}
interface MochaCtor {
  new (options: Record<string, unknown>): MochaInstance;
  reporters: { Base: { consoleLog: (...args: unknown[]) => void } };
}

function loadMocha(): MochaCtor {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('mocha') as MochaCtor | { default?: MochaCtor; Mocha?: MochaCtor };
  if (typeof mod === 'function') return mod;
  const ctor = mod.default ?? mod.Mocha;
  if (typeof ctor !== 'function') throw new Error('exthostMocha: require("mocha") gave no Mocha constructor');
  return ctor;
}

function packageRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return from;
    dir = parent;
  }
}

/** A glob ('**', '*', '?', '{a,b}') as a RegExp over '/'-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) {
        re += '\\{';
        continue;
      }
      re +=
        '(?:' +
        glob
          .slice(i + 1, end)
          .split(',')
          .map((s) => s.replace(/[.+^$()|[\]\\]/g, '\\$&'))
          .join('|') +
        ')';
      i = end;
    } else {
      re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp('^' + re + '$');
}

/** Files under root matching any of the globs (relative to root, or absolute), sorted. */
export function findTestFiles(root: string, globs: string[]): string[] {
  const found = new Set<string>();
  for (const g of globs) {
    const abs = path.isAbsolute(g) ? g : path.join(root, g);
    // Walk from the glob's fixed prefix only.
    const segments = abs.split('/');
    const firstMagic = segments.findIndex((s) => /[*?{]/.test(s));
    if (firstMagic < 0) {
      if (fs.existsSync(abs)) found.add(abs);
      continue;
    }
    const base = segments.slice(0, firstMagic).join('/') || '/';
    const matcher = globToRegExp(segments.slice(firstMagic).join('/'));
    const walk = (dir: string, rel: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
        const childRel = rel ? `${rel}/${e.name}` : e.name;
        const child = path.join(dir, e.name);
        if (e.isDirectory()) walk(child, childRel);
        else if (e.isFile() && matcher.test(childRel)) found.add(child);
      }
    };
    walk(base, '');
  }
  return [...found].sort();
}

export async function run(): Promise<void> {
  const started = Date.now();
  const resultFile = process.env[ENV_TEST_RESULT];
  const outputFile = process.env[ENV_TEST_OUTPUT];
  const record = (r: TestRunRecord) => {
    if (resultFile) fs.writeFileSync(resultFile, JSON.stringify({ ...r, pid: process.pid }, null, 2));
  };
  const out = (text: string) => {
    if (outputFile) fs.appendFileSync(outputFile, text + '\n');
  };
  record({ state: 'started' });
  let done = false;

  const Mocha = loadMocha();
  const Base = Mocha.reporters.Base;
  const originalLog = Base.consoleLog;
  // The reporters print through Base.consoleLog: copy every line to the output file.
  Base.consoleLog = (...args: unknown[]) => {
    originalLog(...args);
    out(util.format(...args));
  };
  try {
    const root = process.env.CARBON_METER_TEST_ROOT || packageRoot(__dirname);
    const globs = (process.env.CARBON_METER_TEST_GLOB || DEFAULT_TEST_GLOB)
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    const files = findTestFiles(root, globs);
    if (files.length === 0) throw new Error(`no test files match ${globs.join(', ')} under ${root}`);

    const grep = process.env.CARBON_METER_TEST_GREP;
    const mocha = new Mocha({
      ui: 'bdd',
      reporter: 'spec',
      color: false,
      timeout: Number(process.env.CARBON_METER_TEST_TIMEOUT) || 60_000,
      ...(grep ? { grep: new RegExp(grep) } : {}),
    });
    for (const f of files) mocha.addFile(f);
    if (mocha.loadFilesAsync) await mocha.loadFilesAsync();

    const { failures, stats } = await new Promise<{ failures: number; stats: MochaRunner['stats'] }>((resolve) => {
      const runner = mocha.run((failures) => resolve({ failures, stats: runner.stats }));
    });
    const summary = {
      files: files.length,
      tests: stats?.tests,
      passes: stats?.passes,
      failures,
      pending: stats?.pending,
      durationMs: Date.now() - started,
    };
    record({ state: 'done', ...summary });
    done = true;
    if (failures > 0) throw new Error(`${failures} test(s) failed`);
  } catch (e) {
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    // Keep the "done" record when the run finished with failures; otherwise record the error.
    if (!done) {
      record({ state: 'error', error: message });
      out(`exthostMocha: ${message}`);
    }
    throw e;
  } finally {
    Base.consoleLog = originalLog;
  }
}
