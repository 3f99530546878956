/**
 * What the detector knows of a file, gathered per top-level statement (a "chunk", python.ts and shape.ts) so that an
 * edit re-reads only the chunks it touched (incremental.ts):
 *
 * - the file's context, from all chunk shapes: what names hold (import aliases, local classes and trainer subclasses,
 *   constructors), local function names, learning-rate and gradient names, handles of steps, whether a loss is
 *   computed anywhere;
 * - the evidence of a chunk's statements (steps, training calls, references to local functions, servers): from its
 *   shape and the part of the context its identifiers touch, so it is recomputed only when that part changes. Only
 *   the statements that matter to the lenses are kept (definitions, imports, loops, statements with evidence, the
 *   main guard), with a signature of what the lenses read from them;
 * - the facts of the whole file, assembled from the kept statements of the chunks in order, for lenses.ts.
 */
import { DEFINES, launchesTraining } from './commands';
import {
  CALL_WORDS,
  constructed,
  EPOCH_LOOP,
  FLOW_GATE,
  insideQuotes,
  isModeSwitch,
  isWordChar,
  MAIN_GUARD,
  SERVER,
  optimisationStep,
  TRAINING_WORD,
  trainingCall,
  TRAINS,
  type CallEvidence,
  type Constructors,
} from './evidence';
import { fileNames, isParameterUpdate, type FileNames } from './flow';
import { IS_CLASS, IS_DEF, IS_IMPORT, OTHER, stepHandle, type Chunk, type FnShape } from './shape';

/** A file computes a loss or a gradient somewhere: without one, `optimizer.step()` moves nothing (an LR-schedule plot). */
const LOSS_OR_GRADIENT =
  /backward\s*\(|\bgrads?\b|\.grad\b|gradient|closure|criterion|autograd|GradientTape|value_and_grad/i;
const RUNS_SOMETHING = /system|subprocess|Popen|check_call|check_output/;

/** Imports of test frameworks: the only imports lenses.ts reads (a test module has no lens). */
export const TEST_IMPORT = /^(?:import|from)\s+(?:pytest|unittest|hypothesis)\b/;

/** Flags of a kept statement (Kept.flags). */
export const MAIN = 1;
export const EPOCH = 2;
export const TOP = 4;

/** A chunk held by a document, with its evidence. */
export type EvidencedChunk = Chunk<ChunkEvidence>;

/** Does the file compute a loss or a gradient anywhere (comments included)? */
export function hasLoss(source: string): boolean {
  return LOSS_OR_GRADIENT.test(source);
}

/** What the names of the whole file stand for. */
export interface FileContext {
  names: FileNames;
  ctors: Constructors;
  localNames: Set<string>;
  lrNames: Set<string>;
  gradNames: Set<string>;
  /** module-level names of steps (`train_op = optimizer.minimize(loss)`) */
  handles: Set<string>;
  hasLoss: boolean;
  /** the imports and class headers `names` was read from, and what each callee builds under them (a memo) */
  declarations: string;
  built: Map<string, string>;
}

/**
 * The context of a file from its chunks. With `previous` (the context before an edit), its reading of the imports and
 * class headers is reused when they are the same (the common case: an edit that adds a statement in a function).
 */
export function fileContext(chunks: readonly Chunk[], source: string, previous?: FileContext): FileContext {
  const decls = chunks.flatMap((c) => c.shape.declarations);
  const declarations = decls.map((d) => d.text).join('\n');
  const same = previous?.declarations === declarations;
  const names = same ? previous.names : fileNames(decls);
  const built = same ? previous.built : new Map<string, string>();
  const ctors: Constructors = new Map();
  const localNames = new Set<string>();
  const lrNames = new Set<string>();
  const gradNames = new Set<string>();
  const handles = new Set<string>();
  for (const c of chunks) {
    for (const [name, callee] of c.shape.ctors) {
      let what = built.get(callee);
      if (what === undefined) built.set(callee, (what = constructed(callee, names)));
      ctors.set(name, what);
    }
    for (const f of c.shape.fns) localNames.add(f.name);
    for (const l of c.shape.lrNames) lrNames.add(l);
    for (const g of c.shape.gradNames) gradNames.add(g);
    for (const h of c.shape.handles) handles.add(h);
  }
  return { names, ctors, localNames, lrNames, gradNames, handles, hasLoss: hasLoss(source), declarations, built };
}

/** The part of the context that a chunk's evidence depends on: what its identifiers stand for. */
export function relevantKey(ids: readonly string[], ctx: FileContext): string {
  let key = ctx.hasLoss ? 'L' : 'l';
  for (const id of ids) {
    const ctor = ctx.ctors.get(id);
    const local = ctx.localNames.has(id);
    const lr = ctx.lrNames.has(id);
    const grad = ctx.gradNames.has(id);
    const cli = ctx.names.cliNames.has(id);
    const handle = ctx.handles.has(id);
    const cls = ctx.names.classes.has(ctor ?? id);
    if (ctor === undefined && !local && !lr && !grad && !cli && !handle && !cls) continue;
    key += `|${id}:${ctor ?? ''}${local ? 'f' : ''}${lr ? 'r' : ''}${grad ? 'g' : ''}${cli ? 'c' : ''}`;
    key += `${handle ? 'h' : ''}${cls ? 'k' : ''}`;
  }
  return key;
}

/**
 * The names whose meaning differs between two contexts of the same file (a chunk that names none of them keeps its
 * evidence): functions, constructors, rate, gradient and handle names, CLI names, local classes and what holds one.
 */
export function contextChanges(a: FileContext, b: FileContext): Set<string> {
  const out = new Set<string>();
  const diff = (x: ReadonlySet<string> | ReadonlyMap<string, string>, y: typeof x, into = out) => {
    for (const n of x.keys())
      if (!y.has(n) || (x instanceof Map && x.get(n) !== (y as Map<string, string>).get(n))) into.add(n);
  };
  for (const [x, y] of [
    [a.localNames, b.localNames],
    [a.lrNames, b.lrNames],
    [a.gradNames, b.gradNames],
    [a.handles, b.handles],
    [a.names.cliNames, b.names.cliNames],
    [a.ctors, b.ctors],
  ] as const) {
    diff(x, y);
    diff(y, x);
  }
  const classes = new Set<string>();
  diff(a.names.classes, b.names.classes, classes);
  diff(b.names.classes, a.names.classes, classes);
  for (const c of classes) out.add(c);
  for (const ctors of [a.ctors, b.ctors]) for (const [n, held] of ctors) if (classes.has(held)) out.add(n);
  return out;
}

/** The statements of a chunk that matter to the lenses, relative to the chunk (see keep). */
export interface Kept {
  n: number;
  text: string[];
  /** line of each, relative to the chunk's first line */
  line: Int32Array;
  /** index (among the kept ones) of the last kept statement of each one's block */
  blockEnd: Int32Array;
  /** index among the chunk's functions of the innermost def around each; -1 at module level */
  owner: Int32Array;
  kind: Uint8Array;
  loop: Uint8Array;
  /** MAIN (the main guard), EPOCH (an epoch loop), TOP (a statement at column 0) */
  flags: Uint8Array;
  serverish: Uint8Array;
  step: Uint8Array;
  call: (CallEvidence | undefined)[];
  /** local functions each names: "name" (a plain function) or ".name" (a method) */
  refs: (string[] | undefined)[];
  /** the chunk's functions, `at` among the kept statements */
  fns: FnShape[];
}

/** Evidence of a chunk's statements, valid while `key` (relevantKey) is unchanged, unless `volatile`. */
export interface ChunkEvidence {
  key: string;
  /** it looked elsewhere in the source (a command held in a variable): recomputed on every change */
  volatile: boolean;
  kept: Kept;
  /** what the lenses read from the kept statements, lines left out (see sameForLenses); computed when first asked */
  signature?: string;
}

/** The raw texts of the module-level statements of the file that put something into a variable (shape.defines). */
export type Definitions = (name: string) => string[];

/** The module-level definitions of the file's chunks, as Definitions (an index built on the first call). */
export function moduleDefinitions(chunks: readonly Chunk[]): Definitions {
  let index: Map<string, string[]> | undefined;
  return (name) => {
    if (!index) {
      index = new Map();
      for (const c of chunks)
        for (const [n, i] of c.shape.defines) {
          const list = index.get(n) ?? [];
          if (list.length < 8) list.push(c.text.slice(c.stmts[i].start, c.stmts[i].end));
          index.set(n, list);
        }
    }
    return index.get(name) ?? [];
  };
}

/** The raw texts of a chunk's statements inside functions that put something into `name`. */
function chunkDefinitions(chunk: Chunk, name: string): string[] {
  const out: string[] = [];
  chunk.stmts.forEach((s, i) => {
    if (chunk.shape.owner[i] === -1 || !s.text.startsWith(name)) return;
    const d = DEFINES.exec(s.text);
    if (d && d[1] === name) out.push(chunk.text.slice(s.start, s.end));
  });
  return out;
}

/** Offsets of a chunk's statements in the text of all of them joined by newlines (`starts[n]`: its length). */
function statementStarts(texts: readonly string[]): Int32Array {
  const starts = new Int32Array(texts.length + 1);
  let pos = 0;
  for (let i = 0; i < texts.length; i++) {
    starts[i] = pos;
    pos += texts[i].length + 1;
  }
  starts[texts.length] = pos;
  return starts;
}

/** The statement of the joined text that holds `offset`, searching forward from statement `from`. */
function statementAt(starts: Int32Array, offset: number, from: number): number {
  let i = from;
  while (starts[i + 1] <= offset) i++;
  return i;
}

/** Every call: the name before each "(" says whether its statement may train or step (marked), or serve. */
function callMarks(all: string, starts: Int32Array, n: number, ctx: FileContext) {
  const serverish = new Uint8Array(n);
  const marked = new Uint8Array(n);
  for (let p = all.indexOf('('), i = 0; p >= 0; p = all.indexOf('(', p + 1)) {
    let k = p - 1;
    while (k >= 0 && all.charCodeAt(k) === 32) k--;
    const end = k + 1;
    while (k >= 0 && isWordChar(all.charCodeAt(k))) k--;
    if (end - k - 1 < 3) continue;
    const word = all.slice(k + 1, end);
    const known = CALL_WORDS.get(word);
    if (known === undefined && !TRAINING_WORD.test(word) && !ctx.names.cliNames.has(word)) continue;
    i = statementAt(starts, p, i);
    if (known === undefined || known & TRAINS) marked[i] = 1;
    if (known !== undefined && known & SERVER) serverish[i] = 1;
  }
  for (let p = all.indexOf('-='), i = 0; p >= 0; p = all.indexOf('-=', p + 2))
    marked[(i = statementAt(starts, p, i))] = 1;
  return { serverish, marked };
}

/** The local functions each statement names (`train(…)`, `.fit(…)` on a local class, `mp.spawn(worker, …)`). */
function localRefs(chunk: EvidencedChunk, all: string, starts: Int32Array, ctx: FileContext) {
  const { stmts, shape } = chunk;
  const refs: (string[] | undefined)[] = new Array(stmts.length);
  const mine = shape.ids.filter((id) => ctx.localNames.has(id));
  if (!mine.length) return refs;
  const names = new RegExp(`\\b(?:${mine.sort((x, y) => y.length - x.length).join('|')})\\b`, 'g');
  for (let m = names.exec(all), i = 0; m; m = names.exec(all)) {
    i = statementAt(starts, m.index, i);
    if (shape.kind[i] !== OTHER) continue;
    const text = stmts[i].text;
    const at = m.index - starts[i];
    if (insideQuotes(text, at)) continue;
    let b = at - 1;
    while (b >= 0 && text.charCodeAt(b) === 32) b--;
    const dotted = b >= 0 && text.charCodeAt(b) === 46;
    // `model.train()` switches a torch module to training mode: not a call of a local `train` method
    if (dotted && m[0] === 'train' && isModeSwitch(text, b, at + 5)) continue;
    (refs[i] ??= []).push(dotted ? `.${m[0]}` : m[0]);
  }
  return refs;
}

/** Steps and training calls of a chunk's statements (`marked`: those that may have one, see callMarks). */
function judge(chunk: EvidencedChunk, marked: Uint8Array, ctx: FileContext, definitions: Definitions) {
  const { stmts, shape } = chunk;
  const n = stmts.length;
  const step = new Uint8Array(n);
  const call: (CallEvidence | undefined)[] = new Array(n);
  let volatile = false;
  for (let i = 0; i < n; i++) {
    if (shape.kind[i] !== OTHER) continue;
    const t = stmts[i].text;
    if (marked[i]) {
      if (
        optimisationStep(t, ctx.localNames, ctx.ctors, ctx.names.classes) &&
        (ctx.hasLoss || !/\bstep\s*\(\s*\)/.test(t))
      )
        step[i] = 1;
      call[i] = trainingCall(t, ctx.ctors, ctx.localNames, ctx.names);
      // `optimizer.step(closure)`: LBFGS runs its iterations inside the one call
      const closure = step[i] ? /\.\s*step\s*\(\s*(closure\b|lambda\b|[A-Za-z_]\w*(?=\s*\)))/.exec(t) : null;
      if (closure && !call[i] && (ctx.localNames.has(closure[1]) || /^(?:closure|lambda)$/.test(closure[1])))
        call[i] = { strength: 2, label: 'optimizer.step(closure)' };
    }
    if (!call[i] && RUNS_SOMETHING.test(t)) {
      volatile = true;
      const defs = (name: string) => [...chunkDefinitions(chunk, name), ...definitions(name)].join('\n');
      if (launchesTraining(chunk.text.slice(stmts[i].start, stmts[i].end), defs))
        call[i] = { strength: 1, label: 'training command' };
    }
    const at = chunk.treeStart + stmts[i].start;
    const end = at + stmts[i].end - stmts[i].start;
    if (!step[i] && FLOW_GATE.test(t) && isParameterUpdate(chunk.tree.tree, t, at, end, ctx.lrNames, ctx.gradNames))
      step[i] = 1;
  }
  return { step, call, volatile };
}

/**
 * Whatever runs a step's handle steps: `sess.run(train_op)` after `train_op = optimizer.minimize(loss)`. Module-level
 * handles (the context's) count everywhere; a function's own within that function; `self.train_op` in its class.
 */
function applyHandles(chunk: EvidencedChunk, step: Uint8Array, ctx: FileContext): void {
  const { stmts, shape } = chunk;
  const scoped: { re: RegExp; from: number; to: number }[] = [];
  if (ctx.handles.size) scoped.push({ re: wordsRegExp([...ctx.handles]), from: 0, to: stmts.length - 1 });
  for (let i = 0; i < stmts.length; i++) {
    if (!step[i] || shape.kind[i] !== OTHER) continue;
    const h = stepHandle(stmts[i].text);
    if (!h || (shape.owner[i] === -1 && !h.startsWith('self.'))) continue;
    const self = h.startsWith('self.');
    const def = shape.owner[i] >= 0 ? shape.fns[shape.owner[i]].at : 0;
    const re = self ? new RegExp(`\\bself\\s*\\.\\s*${h.slice(5)}\\b`) : wordsRegExp([h]);
    scoped.push(self ? { re, from: 0, to: stmts.length - 1 } : { re, from: def, to: stmts[def].blockEnd });
  }
  for (const { re, from, to } of scoped)
    for (let i = from; i <= to; i++) if (shape.kind[i] === OTHER && !step[i] && re.test(stmts[i].text)) step[i] = 1;
}

function wordsRegExp(words: readonly string[]): RegExp {
  return new RegExp(`\\b(?:${words.join('|')})\\b`);
}

/** The evidence of one chunk's statements in the file's context. */
export function chunkEvidence(
  chunk: EvidencedChunk,
  ctx: FileContext,
  definitions: Definitions,
  key: string,
): ChunkEvidence {
  const texts = chunk.stmts.map((st) => st.text);
  const starts = statementStarts(texts);
  const all = texts.join('\n');
  const { serverish, marked } = callMarks(all, starts, texts.length, ctx);
  const refs = localRefs(chunk, all, starts, ctx);
  const { step, call, volatile } = judge(chunk, marked, ctx, definitions);
  applyHandles(chunk, step, ctx);
  const kept = keep(chunk, { serverish, step, call, refs });
  return { key, volatile, kept };
}

/**
 * The statements that matter to the lenses: definitions and classes, imports of test frameworks, loops, the main
 * guard, those with evidence. The rest (most statements) never reach lenses.ts.
 */
function keep(chunk: EvidencedChunk, ev: Pick<Kept, 'serverish' | 'step' | 'call' | 'refs'>): Kept {
  const { stmts, shape } = chunk;
  const n = stmts.length;
  const index = new Int32Array(n + 1); // kept statements before each statement
  const flags = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = stmts[i].text;
    if (stmts[i].indent === 0) flags[i] |= TOP;
    if (t.charCodeAt(0) === 105 && t.includes('__main__') && MAIN_GUARD.test(t)) flags[i] |= MAIN;
    if (shape.loop[i] && EPOCH_LOOP.test(t)) flags[i] |= EPOCH;
    const k = shape.kind[i];
    const kept =
      k === IS_DEF ||
      k === IS_CLASS ||
      (k === IS_IMPORT && TEST_IMPORT.test(t)) ||
      shape.loop[i] ||
      flags[i] & MAIN ||
      ev.serverish[i] ||
      ev.step[i] ||
      ev.call[i] !== undefined ||
      ev.refs[i] !== undefined;
    index[i + 1] = index[i] + (kept ? 1 : 0);
  }
  const m = index[n];
  const k: Kept = {
    n: m,
    text: new Array<string>(m),
    line: new Int32Array(m),
    blockEnd: new Int32Array(m),
    owner: new Int32Array(m),
    kind: new Uint8Array(m),
    loop: new Uint8Array(m),
    flags: new Uint8Array(m),
    serverish: new Uint8Array(m),
    step: new Uint8Array(m),
    call: new Array<CallEvidence | undefined>(m),
    refs: new Array<string[] | undefined>(m),
    fns: shape.fns.map((f) => ({ ...f, at: index[f.at] })),
  };
  for (let i = 0; i < n; i++) {
    if (index[i + 1] === index[i]) continue;
    const j = index[i];
    k.text[j] = stmts[i].text;
    k.line[j] = stmts[i].line;
    k.blockEnd[j] = index[stmts[i].blockEnd + 1] - 1;
    k.owner[j] = shape.owner[i];
    k.kind[j] = shape.kind[i];
    k.loop[j] = shape.loop[i];
    k.flags[j] = flags[i];
    k.serverish[j] = ev.serverish[i];
    k.step[j] = ev.step[i];
    k.call[j] = ev.call[i];
    k.refs[j] = ev.refs[i];
  }
  return k;
}

/** Do two evidences give lenses.ts the same to read (lines left out)? The same object, or equal signatures. */
export function sameForLenses(a: ChunkEvidence, b: ChunkEvidence): boolean {
  if (a === b) return true;
  a.signature ??= signature(a.kept);
  b.signature ??= signature(b.kept);
  return a.signature === b.signature;
}

/** What lenses.ts reads from the kept statements, lines left out (texts only where it reads them). */
function signature(k: Kept): string {
  const rows: unknown[] = [];
  for (let j = 0; j < k.n; j++) {
    const text = k.serverish[j] || (k.flags[j] & TOP && k.kind[j] !== OTHER) ? k.text[j] : '';
    const c = k.call[j];
    rows.push([k.kind[j], k.owner[j], k.blockEnd[j], k.loop[j], k.flags[j], k.step[j], k.serverish[j], text]);
    rows.push(c ? `${c.strength}${c.label}` : 0, k.refs[j] ?? 0);
  }
  return JSON.stringify([rows, k.fns]);
}
