/**
 * Where does training start in a Python file? Chooses the lines a CodeLens goes on from the facts of the file
 * (facts.ts), with no decorator and no configuration.
 *
 * The model (test/fixtures/codelens/README.md has it in words, with the corpus that checks it):
 *
 * - Evidence of training (evidence.ts, flow.ts): training calls and optimisation steps. A loop is a training loop
 *   when its body steps or trains, itself or through the functions it calls. `loss.backward()` alone is not
 *   enough: attacks and saliency maps compute gradients without training.
 * - What runs: the module's top-level statements (the `if __name__ == "__main__":` block among them), and the
 *   functions they reach by calling or naming them (callbacks, `mp.spawn(train, …)`, `study.optimize(objective)`),
 *   transitively. Functions called from inside a training loop are its steps ("inner"), not entry points.
 * - Lenses, ranked: the main block; top-level training loops and calls; the `def` of a training function
 *   (`def train(…)`, `def fit(…)`) reached from the top level; training loops and calls inside other functions.
 *   A candidate inside (or around) a chosen one is dropped, and a file gets MAX_LENSES at most.
 * - No lens in test modules (pytest, unittest) or in files that start a web server (Flask, FastAPI, Gradio…).
 *
 * Pure and synchronous; linear in the statements, on typed arrays.
 */
import type { Facts, Fn } from './assemble';
import { CLI_COMMAND_DECORATOR, NOT_TRAIN_NAME, SERVER_CREATE, SERVER_RUN, STEP_NAME, TRAIN_NAME } from './evidence';
import { EPOCH, MAIN, TEST_IMPORT, TOP } from './facts';
import { IS_DECORATOR, IS_IMPORT, OTHER } from './shape';

export type EntrypointKind = 'main' | 'function' | 'loop' | 'call';

export interface TrainingEntrypoint {
  /** 0-based line of the lens. */
  line: number;
  kind: EntrypointKind;
  /** 0–1, higher first; the list is sorted by it. */
  score: number;
  /** What was found, for tooltips: "main block", "train()", "training loop", "trainer.fit()". */
  label: string;
}

export interface DetectOptions {
  /**
   * A notebook's cells, concatenated: only statements that run when a cell runs get a lens (not the `def` of a
   * training function, which only defines it).
   */
  notebook?: boolean;
  /** Lenses per file (default MAX_LENSES). */
  maxLenses?: number;
}

export const MAX_LENSES = 3;

/** Fixed point over the call graph: `pred(f)` holds directly or through a function f refers to. */
function propagate(
  fns: Fn[],
  callers: number[][],
  direct: (f: Fn) => boolean,
  set: (f: Fn) => void,
  get: (f: Fn) => boolean,
): void {
  const work: number[] = [];
  for (let i = 0; i < fns.length; i++) {
    const f = fns[i];
    if (get(f) || direct(f)) {
      set(f);
      work.push(i);
    }
  }
  while (work.length) {
    const g = work.pop()!;
    for (const c of callers[g]) {
      if (!get(fns[c])) {
        set(fns[c]);
        work.push(c);
      }
    }
  }
}

/** Does the block of statement `at` (its own scope only) step, or train, or call something that does? */
function blockHas(x: Facts, at: number, pred: (i: number) => boolean): boolean {
  const own = x.owner[at];
  const end = x.blockEnd[at];
  for (let i = at; i <= end; i++) if (x.owner[i] === own && pred(i)) return true;
  return false;
}

function isTestModule(x: Facts): boolean {
  const { kind } = x;
  let testFns = 0;
  let imports = false;
  for (let i = 0; i < x.n; i++) {
    if (!(x.flags[i] & TOP) || kind[i] === OTHER || kind[i] === IS_DECORATOR) continue;
    const t = x.text[i];
    if (kind[i] === IS_IMPORT) {
      if (TEST_IMPORT.test(t)) imports = true;
    } else if (
      /^(?:async\s+)?def\s+test_\w+\s*\(/.test(t) ||
      /^class\s+Test\w*/.test(t) ||
      /^class\s+\w+\s*\(\s*(?:unittest\.)?TestCase\s*\)/.test(t)
    ) {
      testFns++;
    }
  }
  return (testFns > 0 && imports) || testFns >= 3;
}

/** What steps and what trains, through calls: sets `stepsT` and `trainsT` of the functions; the training loops. */
function trainingLoops(x: Facts, callers: number[][]): Uint8Array {
  const { fns, owner, loop, n } = x;
  const refsStep = (i: number) => (x.refs[i] ?? []).some((g) => fns[g].stepsT);
  propagate(
    fns,
    callers,
    (f) => f.step || f.call,
    (f) => (f.stepsT = true),
    (f) => f.stepsT,
  );
  const stepsOrTrains = (i: number) => x.step[i] === 1 || x.call[i] !== undefined || refsStep(i);
  const trainingLoop = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (loop[i] && blockHas(x, i, stepsOrTrains)) trainingLoop[i] = 1;
  for (let i = 0; i < n; i++) if (trainingLoop[i] && owner[i] >= 0) fns[owner[i]].trainsT = true;
  propagate(
    fns,
    callers,
    (f) => f.call || f.trainsT,
    (f) => (f.trainsT = true),
    (f) => f.trainsT,
  );
  return trainingLoop;
}

/** What runs: the functions that module-level statements reach; undefined when the file starts a web server. */
function whatRuns(x: Facts): { reachable: Uint8Array; cliTrains: boolean } | undefined {
  const { fns, owner, n } = x;
  const reachable = new Uint8Array(fns.length);
  const reach: number[] = [];
  const mark = (g: number) => {
    if (!reachable[g]) {
      reachable[g] = 1;
      reach.push(g);
    }
  };
  let hasMainGuard = false;
  let server = false;
  // `app.run(main)`, `tf.app.run(main=main)` is absl's runner (a local function as its argument), not a web server
  const startsServer = (t: string) => {
    if (!SERVER_RUN.test(t)) return false;
    const absl = /\bapp\s*\.\s*run\s*\(\s*(?:main\s*=\s*)?([A-Za-z_]\w*)\s*[,)]/.exec(t);
    return !(absl && fns.some((f) => f.name === absl[1]));
  };
  for (let i = 0; i < n; i++) {
    if (owner[i] !== -1) continue;
    if (x.flags[i] & MAIN) hasMainGuard = true;
    if (x.serverish[i] && (SERVER_CREATE.test(x.text[i]) || startsServer(x.text[i]))) server = true;
    for (const g of x.refs[i] ?? []) mark(g);
  }
  // click/typer commands run from the main block (`app()`, `cli()`): they are entry points of their own
  let cliTrains = false;
  if (hasMainGuard) {
    fns.forEach((f, i) => {
      if (!f.decorators.some((d) => CLI_COMMAND_DECORATOR.test(d))) return;
      mark(i);
      if (f.trainsT) cliTrains = true;
    });
  }
  while (reach.length) {
    const f = reach.pop()!;
    for (const g of fns[f].refs) mark(g);
  }
  for (let i = 0; i < n && !server; i++) {
    if (x.serverish[i] && owner[i] >= 0 && reachable[owner[i]] && startsServer(x.text[i])) server = true;
  }
  return server ? undefined : { reachable, cliTrains };
}

/** Functions called from training loops are steps of those loops, and so is what they call. */
function innerFunctions(x: Facts, trainingLoop: Uint8Array): Uint8Array {
  const { fns, owner, n } = x;
  const inner = new Uint8Array(fns.length);
  const stack: number[] = [];
  const markInner = (g: number) => {
    if (inner[g]) return;
    inner[g] = 1;
    stack.push(g);
  };
  for (let i = 0; i < n; i++) {
    if (!trainingLoop[i]) continue;
    const own = owner[i];
    for (let k = i; k <= x.blockEnd[i]; k++) {
      if (owner[k] !== own) continue;
      for (const g of x.refs[k] ?? []) markInner(g);
    }
  }
  while (stack.length) for (const g of fns[stack.pop()!].refs) markInner(g);
  return inner;
}

/** A lens that may be chosen: `at` its statement, `end` the last of its block. */
export interface Candidate extends TrainingEntrypoint {
  at: number;
  end: number;
  points: number;
}

/** Every candidate lens, unranked (see the model at the top). */
function candidates(
  x: Facts,
  opts: DetectOptions,
  trainingLoop: Uint8Array,
  runs: { reachable: Uint8Array; cliTrains: boolean },
  inner: Uint8Array,
): Candidate[] {
  const { owner, fns, n } = x;
  const { reachable, cliTrains } = runs;
  const refsTrain = (i: number) => (x.refs[i] ?? []).some((g) => fns[g].trainsT);
  const cands: Candidate[] = [];
  const add = (at: number, kind: EntrypointKind, points: number, label: string) =>
    cands.push({ at, end: x.blockEnd[at], line: x.line[at], kind, points, score: points / 100, label });
  const trainsHere = (i: number) => x.call[i] !== undefined || refsTrain(i) || trainingLoop[i] === 1;
  const epoch = (i: number) => (x.flags[i] & EPOCH ? 2 : 0);
  for (let i = 0; i < n; i++) {
    const o = owner[i];
    if (x.kind[i] !== OTHER) continue;
    const call = x.call[i];
    if (o === -1) {
      if (x.flags[i] & MAIN) {
        if (cliTrains || blockHas(x, i, trainsHere)) add(i, 'main', 100, 'main block');
      } else if (trainingLoop[i]) add(i, 'loop', 90 + epoch(i), 'training loop');
      else if (call) add(i, 'call', call.strength === 2 ? 88 : 86, call.label);
      else if (refsTrain(i)) {
        const g = x.refs[i]!.find((k) => fns[k].trainsT)!;
        add(i, 'call', 84, `${fns[g].name}()`);
      }
    } else if (!opts.notebook && reachable[o] && !inner[o]) {
      if (trainingLoop[i]) add(i, 'loop', 66 + epoch(i), 'training loop');
      else if (call) add(i, 'call', call.strength === 2 ? 64 : 56, call.label);
    }
  }
  if (!opts.notebook) {
    fns.forEach((f, k) => {
      if (!reachable[k] || inner[k] || !f.trainsT) return;
      if (!TRAIN_NAME.test(f.name) && !/train|fit/i.test(f.name)) return;
      if (NOT_TRAIN_NAME.test(f.name) || STEP_NAME.test(f.name) || /epoch|step|batch|^test/i.test(f.name)) return;
      add(f.at, 'function', 75, `${f.name}()`);
    });
  }
  return cands;
}

/** The chosen candidates, best first: none inside (or around) a better one, `max` at most. */
function rank(cands: Candidate[], max: number): Candidate[] {
  cands.sort((a, b) => b.points - a.points || a.at - b.at);
  const chosen: Candidate[] = [];
  for (const c of cands) {
    if (chosen.length >= max) break;
    if (chosen.some((s) => (c.at >= s.at && c.at <= s.end) || (s.at >= c.at && s.at <= c.end))) continue;
    chosen.push(c);
  }
  return chosen;
}

/** The lenses of a file from its facts, best first, as candidates (`at`: the statement in the facts). */
export function chooseCandidates(x: Facts, opts: DetectOptions): Candidate[] {
  if (isTestModule(x)) return [];
  const callers: number[][] = x.fns.map(() => []);
  x.fns.forEach((f, i) => f.refs.forEach((g) => callers[g].push(i)));
  const trainingLoop = trainingLoops(x, callers);
  const runs = whatRuns(x);
  if (!runs) return [];
  const inner = innerFunctions(x, trainingLoop);
  return rank(candidates(x, opts, trainingLoop, runs, inner), opts.maxLenses ?? MAX_LENSES);
}

/** The lines of a file where training starts, best first (`line` 0-based), from its facts. */
export function chooseLenses(x: Facts, opts: DetectOptions): TrainingEntrypoint[] {
  return chooseCandidates(x, opts).map(({ line, kind, score, label }) => ({ line, kind, score, label }));
}
