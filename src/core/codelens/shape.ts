/**
 * What a chunk (a top-level statement with everything inside it, python.ts) says from its text alone: the kinds of
 * its statements, the functions it defines, loops, what its names are assigned from, imports and class headers,
 * learning-rate and gradient names, handles of optimisation steps, and the identifiers it uses. Computed once per
 * chunk text (incremental.ts keeps it with the chunk); facts.ts reads it in the file's context.
 */
import type { Tree } from 'web-tree-sitter';
import {
  ASSIGN_CTOR,
  DEF,
  INPUT_OPTIMISER,
  LOOP,
  LOOP_CALL,
  optimisationStep,
  OPTIMIZER_CLASS,
  optimisesInputs,
} from './evidence';
import { DEFINES } from './commands';
import { collectRateAndGradNames } from './flow';
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
  /** `name = Ctor(…)` in order: [name, callee] (INPUT_OPTIMISER for an optimiser over inputs) */
  ctors: [string, string][];
  /** imports and class headers (for fileNames) */
  declarations: { text: string; type: string }[];
  lrNames: string[];
  gradNames: string[];
  /** module-level names of a step: `train_op = optimizer.minimize(loss)` (whatever runs train_op steps) */
  handles: string[];
  /** module-level statements that put something into a variable (commands.ts DEFINES): [name, statement index] */
  defines: [string, number][];
  /** the identifiers of its statements, each once: the part of the context its evidence depends on */
  ids: string[];
  /** what it brings to the file's context (ctors, functions, declarations, rate, gradient and handle names), as text */
  contribution: string;
}

/** A chunk held by a document: its statements (relative, see TopLevel), where it is now, and what is known of it. */
export interface Chunk<E = unknown> extends TopLevel {
  /** the tree its statements were read from, and where the chunk starts in that tree's text */
  tree: SharedTree;
  treeStart: number;
  shape: ChunkShape;
  evidence?: E;
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

/** `train_op = optimizer.minimize(loss)`, `self.train_op = …`: the name that holds a step, if this statement makes one. */
export function stepHandle(text: string): string | undefined {
  if (!text.includes('=') || !/\.\s*(?:minimize|apply_gradients)\s*\(/.test(text)) return undefined;
  const h = /^((?:self\s*\.\s*)?[A-Za-z_]\w*)\s*=(?!=)(.*)$/.exec(text);
  if (!h || new RegExp(`\\b${h[1].replace(/^self\s*\.\s*/, '')}\\b`).test(h[2]) || !optimisationStep(h[2]))
    return undefined;
  return h[1].replace(/\s+/g, '');
}

/** Kinds, owners, loops and functions of a chunk's statements. */
function scopes(stmts: readonly Statement[]): Pick<ChunkShape, 'kind' | 'owner' | 'loop' | 'fns'> {
  const n = stmts.length;
  const kind = new Uint8Array(n);
  const owner = new Int32Array(n).fill(-1);
  const loop = new Uint8Array(n);
  const fns: FnShape[] = [];
  // scopes: defs and classes (a def directly in a class body is a method); `fn` is the innermost def around
  const open: { end: number; fn: number; isClass: boolean }[] = [];
  let pendingDecorators: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = stmts[i];
    while (open.length && open[open.length - 1].end < i) open.pop();
    const top = open[open.length - 1];
    owner[i] = top ? top.fn : -1;
    const t = s.text;
    const k = (kind[i] = KIND_OF_TYPE.get(s.type) ?? OTHER);
    if (k === IS_DECORATOR) {
      pendingDecorators.push(t);
      continue;
    }
    if (k === IS_DEF) {
      fns.push({ name: DEF.exec(t)![1], at: i, isMethod: !!top?.isClass, decorators: pendingDecorators });
      open.push({ end: s.blockEnd, fn: fns.length - 1, isClass: false });
    } else if (k === IS_CLASS) {
      open.push({ end: s.blockEnd, fn: top ? top.fn : -1, isClass: true });
    } else if (k === OTHER) {
      const c = t.charCodeAt(0);
      if ((c === 102 || c === 119 || c === 97) && LOOP.test(t))
        loop[i] = 1; // for, while, async
      else if (LOOP_CALL.test(t)) loop[i] = 1; // jax.lax.fori_loop(0, n, body, state): a loop over `body`
    }
    pendingDecorators = [];
  }
  return { kind, owner, loop, fns };
}

export function chunkShape(stmts: readonly Statement[]): ChunkShape {
  const { kind, owner, loop, fns } = scopes(stmts);
  const ctors: [string, string][] = [];
  const declarations: { text: string; type: string }[] = [];
  const handles: string[] = [];
  const defines: [string, number][] = [];
  for (let i = 0; i < stmts.length; i++) {
    const { text: t, type } = stmts[i];
    if (type === 'import_from_statement' || type === 'class_definition') declarations.push({ text: t, type });
    const d = owner[i] === -1 && kind[i] === OTHER ? DEFINES.exec(t) : null;
    if (d) defines.push([d[1], i]);
    if (kind[i] !== OTHER || !t.includes('=') || !t.includes('(')) continue;
    const a = ASSIGN_CTOR.exec(t);
    if (a) {
      const inputs = OPTIMIZER_CLASS.test(a[2].split('.').pop()!) && optimisesInputs(t.slice(a[0].length));
      ctors.push([a[1], inputs ? INPUT_OPTIMISER : a[2]]);
    }
    const h = owner[i] === -1 ? stepHandle(t) : undefined;
    if (h && !h.startsWith('self.')) handles.push(h);
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
    handles,
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
    handles,
    defines,
    ids,
    contribution,
  };
}
