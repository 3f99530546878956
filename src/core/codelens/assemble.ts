/**
 * The facts of a whole file for lenses.ts: the kept statements of its chunks (facts.ts) in order, with absolute
 * indexes and lines, its functions, and what each statement refers to among them. Linear in the kept statements.
 */
import type { CallEvidence } from './evidence';
import type { EvidencedChunk, Kept } from './facts';
import type { FnShape } from './shape';

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

/** The kept statements of the whole file (absolute indexes and lines). */
export interface Facts {
  n: number;
  text: string[];
  line: Int32Array;
  /** index of the last statement of each statement's block */
  blockEnd: Int32Array;
  /** index of the innermost def containing each statement (-1: module level; a def belongs to its parent) */
  owner: Int32Array;
  /** OTHER, IS_DEF, IS_CLASS, IS_DECORATOR or IS_IMPORT */
  kind: Uint8Array;
  /** MAIN, EPOCH, TOP (facts.ts) */
  flags: Uint8Array;
  serverish: Uint8Array;
  fns: Fn[];
  step: Uint8Array;
  call: (CallEvidence | undefined)[];
  refs: (number[] | undefined)[];
  loop: Uint8Array;
  /** for each statement, its chunk (index in the chunks given) and its index among that chunk's kept statements */
  chunk: Int32Array;
  local: Int32Array;
}

function emptyFacts(n: number): Facts {
  return {
    n,
    text: new Array<string>(n),
    line: new Int32Array(n),
    blockEnd: new Int32Array(n),
    owner: new Int32Array(n),
    kind: new Uint8Array(n),
    flags: new Uint8Array(n),
    serverish: new Uint8Array(n),
    fns: [],
    step: new Uint8Array(n),
    call: new Array<CallEvidence | undefined>(n),
    refs: new Array<number[] | undefined>(n),
    loop: new Uint8Array(n),
    chunk: new Int32Array(n),
    local: new Int32Array(n),
  };
}

/** Copies one chunk's kept statements to `x` from index `b`; `names` gets the names each refers to. */
function copyChunk(x: Facts, k: Kept, c: number, line: number, b: number, names: (string[] | undefined)[]): void {
  const fb = x.fns.length;
  for (const f of k.fns)
    x.fns.push({ ...f, at: b + f.at, step: false, call: false, refs: new Set(), stepsT: false, trainsT: false });
  for (let j = 0; j < k.n; j++) {
    const i = b + j;
    x.text[i] = k.text[j];
    x.line[i] = line + k.line[j];
    x.blockEnd[i] = b + k.blockEnd[j];
    x.owner[i] = k.owner[j] >= 0 ? fb + k.owner[j] : -1;
    x.kind[i] = k.kind[j];
    x.loop[i] = k.loop[j];
    x.flags[i] = k.flags[j];
    x.serverish[i] = k.serverish[j];
    x.step[i] = k.step[j];
    x.call[i] = k.call[j];
    x.chunk[i] = c;
    x.local[i] = j;
    names[i] = k.refs[j];
  }
}

/** Names → functions (plain functions by bare name, methods by `.name`), and what each function does directly. */
function link(x: Facts, names: (string[] | undefined)[]): void {
  const byName = new Map<string, number[]>();
  x.fns.forEach((f, k) => {
    const key = f.isMethod ? `.${f.name}` : f.name;
    const list = byName.get(key);
    if (list) list.push(k);
    else byName.set(key, [k]);
  });
  for (let i = 0; i < x.n; i++) {
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
}

/** The facts of the file from its chunks in order (each with its evidence computed). */
export function assemble(chunks: readonly EvidencedChunk[]): Facts {
  let n = 0;
  for (const c of chunks) n += c.evidence!.kept.n;
  const x = emptyFacts(n);
  const names: (string[] | undefined)[] = new Array(n);
  let b = 0;
  chunks.forEach((c, k) => {
    const kept = c.evidence!.kept;
    copyChunk(x, kept, k, c.line, b, names);
    b += kept.n;
  });
  link(x, names);
  return x;
}
