/**
 * What the detector knows of a file, gathered per top-level statement (a "chunk", python.ts) so that an edit re-reads
 * only the chunks it touched (incremental.ts):
 *
 * - the shape of a chunk, from its text alone: kinds of statements, the functions it defines, loops, what its names
 *   are assigned from, imports and class headers, learning-rate and gradient names, the identifiers it uses;
 * - the file's context, from all shapes: what names hold (import aliases, local trainer subclasses, constructors),
 *   local function names, learning-rate and gradient names, whether a loss is computed anywhere;
 * - the evidence of a chunk's statements (steps, training calls, references to local functions, servers): from its
 *   shape and the part of the context its identifiers touch, so it is recomputed only when that part changes;
 * - the facts of the whole file, assembled from the chunks in order, for detect.ts.
 */
import type { Tree } from 'web-tree-sitter';
import {
  ASSIGN_CTOR,
  constructed,
  DEF,
  FLOW_GATE,
  insideQuotes,
  isModeSwitch,
  isWordChar,
  launchesTraining,
  LOOP,
  LOOP_CALL,
  optimisationStep,
  TRAINING_WORD,
  trainingCall,
  type CallEvidence,
  type Constructors,
} from './evidence';
import { collectRateAndGradNames, fileNames, isParameterUpdate, type FileNames } from './flow';
import type { Statement, TopLevel } from './python';

export const OTHER = 0;
export const IS_DEF = 1;
export const IS_CLASS = 2;
export const IS_DECORATOR = 3;
export const IS_IMPORT = 4;

const KIND_OF_TYPE = new Map<string, number>([
  ['function_definition', IS_DEF],
  ['class_definition', IS_CLASS],
  ['decorator', IS_DECORATOR],
  ['import_statement', IS_IMPORT],
  ['import_from_statement', IS_IMPORT],
  ['future_import_statement', IS_IMPORT],
]);

const TRAINS = 1;
const SERVER = 2;
/**
 * Names of calls without which a statement neither steps nor trains (see optimisationStep and trainingCall; with
 * TRAINING_WORD and `-=`), or creates or starts a web server.
 */
const CALL_WORDS = new Map<string, number>([
  ...[
    'step',
    'apply_gradients',
    'update',
    'minimize',
    'train_on_batch',
    'partial_fit',
    'sub_',
    'add_',
    'search',
    'learn',
    'apply_updates',
    'LightningCLI',
    'run_epoch',
    'update_step',
    'sgd_step',
    'learn_step',
    'optimizer_step',
    'map',
    'tree_map',
    'Word2Vec',
    'Doc2Vec',
    'FastText',
    'LdaModel',
    'LdaMulticore',
    'LsiModel',
    'HdpModel',
    'notebook_launcher',
    'spawn',
    'launch',
    'start_processes',
    'agent',
    'replay',
    'optimize_model',
    'optimize',
    'experience_replay',
  ].map((w) => [w, TRAINS] as [string, number]),
  ...[
    'Flask',
    'FastAPI',
    'Starlette',
    'Sanic',
    'Quart',
    'Bottle',
    'Litestar',
    'APIRouter',
    'Interface',
    'Blocks',
    'ChatInterface',
    'run',
    'launch',
    'serve',
    'serve_forever',
    'run_app',
    'title',
    'write',
  ].map((w) => [w, SERVER] as [string, number]),
]);

/** A file computes a loss or a gradient somewhere: without one, `optimizer.step()` moves nothing (an LR-schedule plot). */
const LOSS_OR_GRADIENT = /\bbackward\s*\(|loss|\bgrads?\b|\.grad\b|gradient|closure|criterion/i;
const RUNS_SOMETHING = /system|subprocess|Popen|check_call/;
const IDENTIFIER = /[A-Za-z_]\w*/g;

/** A function definition as its chunk sees it (`at`: index of its `def` among the chunk's statements). */
export interface FnShape {
  name: string;
  at: number;
  isMethod: boolean;
  decorators: string[];
}

/** What a chunk says from its text alone. */
export interface ChunkShape {
  kind: Uint8Array;
  /** index (among the chunk's functions) of the innermost def around each statement; -1 at module level */
  owner: Int32Array;
  loop: Uint8Array;
  fns: FnShape[];
  /** `name = Ctor(…)` in order: [name, callee] */
  ctors: [string, string][];
  /** imports and class headers (for fileNames) */
  declarations: { text: string; type: string }[];
  lrNames: string[];
  gradNames: string[];
  /** the identifiers of its statements, each once: the part of the context its evidence depends on */
  ids: string[];
  /** what it brings to the file's context (ctors, functions, declarations, rate and gradient names), as text */
  contribution: string;
}

/** A chunk held by a document: its statements (relative, see TopLevel), where it is now, and what is known of it. */
export interface Chunk extends TopLevel {
  /** the tree its statements were read from, and where the chunk starts in that tree's text */
  tree: SharedTree;
  treeStart: number;
  shape: ChunkShape;
  evidence?: ChunkEvidence;
}

/** A syntax tree shared by the chunks read from it: deleted when the last of them is dropped. */
export class SharedTree {
  private holders = 0;
  constructor(readonly tree: Tree) {}
  retain(): void {
    this.holders++;
  }
  release(): void {
    if (--this.holders === 0) this.tree.delete();
  }
}

export function chunkShape(stmts: readonly Statement[]): ChunkShape {
  const n = stmts.length;
  const kind = new Uint8Array(n);
  const owner = new Int32Array(n).fill(-1);
  const loop = new Uint8Array(n);
  const fns: FnShape[] = [];
  const ctors: [string, string][] = [];
  const declarations: { text: string; type: string }[] = [];
  // scopes: defs and classes (a def directly in a class body is a method); `fn` is the innermost def around
  const scopes: { end: number; fn: number; isClass: boolean }[] = [];
  let pendingDecorators: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = stmts[i];
    while (scopes.length && scopes[scopes.length - 1].end < i) scopes.pop();
    const top = scopes[scopes.length - 1];
    owner[i] = top ? top.fn : -1;
    const t = s.text;
    const k = (kind[i] = KIND_OF_TYPE.get(s.type) ?? OTHER);
    if (s.type === 'import_from_statement' || s.type === 'class_definition')
      declarations.push({ text: t, type: s.type });
    if (k === IS_DECORATOR) {
      pendingDecorators.push(t);
      continue;
    }
    if (k === IS_DEF) {
      fns.push({
        name: DEF.exec(t)![1],
        at: i,
        isMethod: scopes.length > 0 && scopes[scopes.length - 1].isClass,
        decorators: pendingDecorators,
      });
      scopes.push({ end: s.blockEnd, fn: fns.length - 1, isClass: false });
    } else if (k === IS_CLASS) {
      scopes.push({ end: s.blockEnd, fn: top ? top.fn : -1, isClass: true });
    } else if (k === OTHER) {
      const c = t.charCodeAt(0);
      if ((c === 102 || c === 119 || c === 97) && LOOP.test(t))
        loop[i] = 1; // for, while, async
      else if (LOOP_CALL.test(t)) loop[i] = 1; // jax.lax.fori_loop(0, n, body, state): a loop over `body`
      if (t.includes('=') && t.includes('(')) {
        const a = ASSIGN_CTOR.exec(t);
        if (a) ctors.push([a[1], a[2]]);
      }
    }
    pendingDecorators = [];
  }
  const texts = stmts.map((st) => st.text);
  const { lrNames, gradNames } = collectRateAndGradNames(texts);
  const ids = [...new Set(texts.join('\n').match(IDENTIFIER) ?? [])];
  const contribution = JSON.stringify([
    ctors,
    fns.map((x) => [x.name, x.isMethod]),
    declarations.map((d) => d.text),
    [...lrNames],
    [...gradNames],
  ]);
  return {
    kind,
    owner,
    loop,
    fns,
    ctors,
    declarations,
    lrNames: [...lrNames],
    gradNames: [...gradNames],
    ids,
    contribution,
  };
}

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
  hasLoss: boolean;
}

export function fileContext(chunks: readonly Chunk[], source: string): FileContext {
  const names = fileNames(chunks.flatMap((c) => c.shape.declarations));
  const ctors: Constructors = new Map();
  const localNames = new Set<string>();
  const lrNames = new Set<string>();
  const gradNames = new Set<string>();
  for (const c of chunks) {
    for (const [name, callee] of c.shape.ctors) ctors.set(name, constructed(callee, names));
    for (const f of c.shape.fns) localNames.add(f.name);
    for (const l of c.shape.lrNames) lrNames.add(l);
    for (const g of c.shape.gradNames) gradNames.add(g);
  }
  return { names, ctors, localNames, lrNames, gradNames, hasLoss: hasLoss(source) };
}

/** The part of the context that a chunk's evidence depends on: what its identifiers stand for. */
export function relevantKey(shape: ChunkShape, ctx: FileContext): string {
  let key = ctx.hasLoss ? 'L' : 'l';
  for (const id of shape.ids) {
    const ctor = ctx.ctors.get(id);
    const local = ctx.localNames.has(id);
    const lr = ctx.lrNames.has(id);
    const grad = ctx.gradNames.has(id);
    const cli = ctx.names.cliNames.has(id);
    if (ctor !== undefined || local || lr || grad || cli)
      key += `|${id}:${ctor ?? ''}${local ? 'f' : ''}${lr ? 'r' : ''}${grad ? 'g' : ''}${cli ? 'c' : ''}`;
  }
  return key;
}

/** Evidence of a chunk's statements, valid while `key` (relevantKey) is unchanged, unless `volatile`. */
export interface ChunkEvidence {
  key: string;
  /** it looked elsewhere in the source (a command held in a variable): recomputed on every change */
  volatile: boolean;
  serverish: Uint8Array;
  step: Uint8Array;
  call: (CallEvidence | undefined)[];
  /** local functions each statement names: "name" (a plain function) or ".name" (a method) */
  refs: (string[] | undefined)[];
  /** module-level names of a step: `train_op = optimizer.minimize(loss)` */
  handles: string[];
}

/** The evidence of one chunk's statements in the file's context. */
export function chunkEvidence(chunk: Chunk, ctx: FileContext, source: string, key: string): ChunkEvidence {
  const { stmts, shape } = chunk;
  const { kind, owner } = shape;
  const n = stmts.length;
  const starts = new Int32Array(n + 1);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    starts[i] = pos;
    pos += stmts[i].text.length + 1;
  }
  starts[n] = pos;
  const all = stmts.map((st) => st.text).join('\n');
  const statementAt = (offset: number, from: number) => {
    let i = from;
    while (starts[i + 1] <= offset) i++;
    return i;
  };
  // every call: the name before each "(" says whether the statement may train or step, or start a server
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
    i = statementAt(p, i);
    if (known === SERVER) serverish[i] = 1;
    else marked[i] = 1;
  }
  for (let p = all.indexOf('-='), i = 0; p >= 0; p = all.indexOf('-=', p + 2)) marked[(i = statementAt(p, i))] = 1;
  const refs: (string[] | undefined)[] = new Array(n);
  const mine = shape.ids.filter((id) => ctx.localNames.has(id));
  if (mine.length) {
    const names = new RegExp(`\\b(?:${mine.sort((x, y) => y.length - x.length).join('|')})\\b`, 'g');
    for (let m = names.exec(all), i = 0; m; m = names.exec(all)) {
      i = statementAt(m.index, i);
      if (kind[i] !== OTHER) continue;
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
  }

  const step = new Uint8Array(n);
  const call: (CallEvidence | undefined)[] = new Array(n);
  const handles: string[] = [];
  let volatile = false;
  for (let i = 0; i < n; i++) {
    if (kind[i] !== OTHER) continue;
    const t = stmts[i].text;
    if (marked[i]) {
      if (optimisationStep(t, ctx.localNames, ctx.ctors) && (ctx.hasLoss || !/\bstep\s*\(\s*\)/.test(t))) step[i] = 1;
      call[i] = trainingCall(t, ctx.ctors, ctx.localNames, ctx.names);
    }
    if (!call[i] && RUNS_SOMETHING.test(t)) {
      volatile = true;
      if (launchesTraining(chunk.text.slice(stmts[i].start, stmts[i].end), source))
        call[i] = { strength: 1, label: 'training command' };
    }
    const at = chunk.treeStart + stmts[i].start;
    if (
      !step[i] &&
      FLOW_GATE.test(t) &&
      isParameterUpdate(chunk.tree.tree, t, at, at + stmts[i].end - stmts[i].start, ctx.lrNames, ctx.gradNames)
    )
      step[i] = 1;
    // `train_op = optimizer.minimize(loss)`: whatever runs train_op steps
    if (step[i] && owner[i] === -1) {
      const h = /^([A-Za-z_]\w*)\s*=(?!=)(.*)$/.exec(t);
      if (h && /\.\s*(?:minimize|apply_gradients)\s*\(/.test(h[2]) && !new RegExp(`\\b${h[1]}\\b`).test(h[2]))
        handles.push(h[1]);
    }
  }
  return { key, volatile, serverish, step, call, refs, handles };
}

/** A function of the file, with what the detector learns of it. */
export interface Fn extends FnShape {
  /** direct evidence in its own statements (not in nested defs) */
  step: boolean;
  call: boolean;
  /** functions it names */
  refs: Set<number>;
  stepsT: boolean;
  trainsT: boolean;
}

/** The whole file, statement by statement (absolute indexes and lines). */
export interface Facts {
  n: number;
  text: string[];
  type: string[];
  indent: Int32Array;
  line: Int32Array;
  /** index of the last statement of each statement's block */
  blockEnd: Int32Array;
  /** index of the innermost def containing each statement (-1: module level; a def belongs to its parent) */
  owner: Int32Array;
  /** OTHER, IS_DEF, IS_CLASS, IS_DECORATOR or IS_IMPORT */
  kind: Uint8Array;
  serverish: Uint8Array;
  fns: Fn[];
  step: Uint8Array;
  call: (CallEvidence | undefined)[];
  refs: (number[] | undefined)[];
  loop: Uint8Array;
}

/** The facts of the file from its chunks in order (each with its evidence computed). */
export function assemble(chunks: readonly Chunk[]): Facts {
  let n = 0;
  for (const c of chunks) n += c.stmts.length;
  const x: Facts = {
    n,
    text: new Array<string>(n),
    type: new Array<string>(n),
    indent: new Int32Array(n),
    line: new Int32Array(n),
    blockEnd: new Int32Array(n),
    owner: new Int32Array(n),
    kind: new Uint8Array(n),
    serverish: new Uint8Array(n),
    fns: [],
    step: new Uint8Array(n),
    call: new Array<CallEvidence | undefined>(n),
    refs: new Array<number[] | undefined>(n),
    loop: new Uint8Array(n),
  };
  const names: (string[] | undefined)[] = new Array(n);
  const handles: string[] = [];
  let b = 0;
  for (const c of chunks) {
    const fb = x.fns.length;
    for (const f of c.shape.fns)
      x.fns.push({
        name: f.name,
        at: b + f.at,
        isMethod: f.isMethod,
        decorators: f.decorators,
        step: false,
        call: false,
        refs: new Set(),
        stepsT: false,
        trainsT: false,
      });
    const { shape, stmts } = c;
    const ev = c.evidence!;
    for (let j = 0; j < stmts.length; j++) {
      const s = stmts[j];
      const i = b + j;
      x.text[i] = s.text;
      x.type[i] = s.type;
      x.indent[i] = s.indent;
      x.line[i] = c.line + s.line;
      x.blockEnd[i] = b + s.blockEnd;
      x.owner[i] = shape.owner[j] >= 0 ? fb + shape.owner[j] : -1;
      x.kind[i] = shape.kind[j];
      x.loop[i] = shape.loop[j];
      x.serverish[i] = ev.serverish[j];
      x.step[i] = ev.step[j];
      x.call[i] = ev.call[j];
      names[i] = ev.refs[j];
    }
    handles.push(...ev.handles);
    b += stmts.length;
  }
  // names → functions (plain functions by bare name, methods by `.name`)
  const byName = new Map<string, number[]>();
  x.fns.forEach((f, k) => {
    const key = f.isMethod ? `.${f.name}` : f.name;
    const list = byName.get(key);
    if (list) list.push(k);
    else byName.set(key, [k]);
  });
  for (let i = 0; i < n; i++) {
    const r = names[i];
    if (r) {
      const targets: number[] = [];
      for (const name of r) targets.push(...(byName.get(name) ?? []));
      if (targets.length) x.refs[i] = targets;
    }
    const o = x.owner[i];
    if (o >= 0) {
      const f = x.fns[o];
      if (x.step[i]) f.step = true;
      if (x.call[i]) f.call = true;
      for (const g of x.refs[i] ?? []) f.refs.add(g);
    }
  }
  if (handles.length) {
    const re = new RegExp(`\\b(?:${handles.join('|')})\\b`);
    for (let i = 0; i < n; i++) {
      if (x.kind[i] !== OTHER || x.step[i] || !re.test(x.text[i])) continue;
      x.step[i] = 1;
      if (x.owner[i] >= 0) x.fns[x.owner[i]].step = true;
    }
  }
  return x;
}
