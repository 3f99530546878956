/**
 * Detection that follows a document's edits: the document is held as its top-level statements ("chunks", python.ts),
 * and an edit re-parses only the chunks it touched. Python's top-level statements start at column 0 and parse on
 * their own, so the text of the touched chunks (widened to whole lines) is parsed alone and spliced in; the chunks
 * after it only move. What each chunk says is kept with it (shape.ts, facts.ts) and recomputed only when its text
 * changes or when a name it uses changes meaning elsewhere in the file (contextChanges). Each chunk keeps only the
 * statements that matter to the lenses, with a signature of what lenses.ts reads from them: while the signatures
 * hold, the lenses chosen before are kept at their new lines; otherwise they are chosen again over the kept
 * statements of the whole file (assemble.ts, lenses.ts), linear in those.
 *
 * Why not tree-sitter's own incremental parse (`tree.edit()` + `parser.parse(text, oldTree)`): measured on the
 * 5,000-line bench file, it costs 14–20 ms of CPU for a one-character edit (the Python grammar's indentation scanner
 * keeps it from reusing most of the old tree), while parsing a 30-line function alone costs well under 1 ms.
 *
 * Where the slice is not a self-contained piece of Python, it is widened: a chunk with a syntax error (an unclosed
 * bracket or string may reach far) is always re-parsed with the edited region, a region takes in the statement
 * above an indented first line and below a decorator or a header, and a region that parses with an error takes in
 * 1, 2, 4… neighbours on each side until it parses or is the whole file (so an edit that leaves a syntax error costs
 * up to a full parse). Not while the text has a bracket or a string left open (balance.ts): no cut can make that
 * parse, so the edited lines are read alone, and the other chunks, error or not, keep their reading until the text
 * is balanced again. test/unit/codelens.incremental.test.ts checks the result against full parses after random
 * edits (whenever the text parses without error). Known gap: a search with other seeds still finds rare edit
 * histories (a docstring delimiter typed inside a function, then removed) after which the statements differ from a
 * full parse until the document is closed and opened again.
 *
 * The edit is found by comparing the new text with the previous one from both ends (well under a millisecond for
 * 5,000 lines), so no change event needs to be passed in and nothing can drift from the document.
 */
import { assemble } from './assemble';
import { BalanceScan, type TextEdit } from './balance';
import { mayTrain } from './evidence';
import {
  chunkEvidence,
  contextChanges,
  fileContext,
  hasLoss,
  moduleDefinitions,
  relevantKey,
  sameForLenses,
  type ChunkEvidence,
  type EvidencedChunk as Chunk,
  type FileContext,
} from './facts';
import {
  chooseCandidates,
  MAX_LENSES,
  type DetectOptions,
  type EntrypointKind,
  type TrainingEntrypoint,
} from './lenses';
import { parsePython } from './parser';
import { topLevelStatements } from './python';
import { chunkShape, SharedTree } from './shape';

/** The lenses last chosen: each by its chunk (among those with kept statements) and statement there. */
interface ChosenLenses {
  options: string;
  evidence: ChunkEvidence[];
  lenses: { chunk: number; local: number; kind: EntrypointKind; score: number; label: string }[];
}

/** One document's chunks, kept between calls. */
export class PythonDocument {
  private source = '';
  private chunks: Chunk[] = [];
  /** The file's context, while no edit changed what it is made of (see contribution). */
  private context: FileContext | undefined;
  /** false once an edit changed what the context is made of: it is read again, and compared with the one before */
  private contextValid = false;
  private chosen: ChosenLenses | undefined;
  /** How many chunks the last update re-parsed, and whether it was a full parse (for tests and the bench). */
  lastReparsed = 0;
  lastFull = false;
  /** Whether the last call kept the lenses chosen before (at their lines now) rather than choosing again. */
  lastReused = false;
  /** The lexical scan of `balanceText` (balance.ts), carried from edit to edit while it is asked at each. */
  private balance: BalanceScan | undefined;
  private balanceText = '';

  /** The lenses of `source`, the document's new text. */
  detect(source: string, opts: DetectOptions = {}): TrainingEntrypoint[] {
    this.update(source);
    this.refreshEvidence();
    return this.lenses(opts);
  }

  /**
   * The lenses, chosen again only when what lenses.ts reads has changed: the signatures of the chunks that keep a
   * statement (facts.ts). Otherwise the same statements carry them, at their lines now.
   */
  private lenses(opts: DetectOptions): TrainingEntrypoint[] {
    const kept = this.chunks.filter((c) => c.evidence!.kept.n > 0);
    const options = `${opts.notebook ? 'n' : ''}${opts.maxLenses ?? MAX_LENSES}`;
    let chosen = this.chosen;
    let same = !!chosen && chosen.options === options && chosen.evidence.length === kept.length;
    for (let k = 0; same && k < kept.length; k++) same = sameForLenses(kept[k].evidence!, chosen!.evidence[k]);
    this.lastReused = same;
    if (!same || !chosen) {
      const x = assemble(kept);
      const lenses = chooseCandidates(x, opts).map(({ at, kind, score, label }) => ({
        chunk: x.chunk[at],
        local: x.local[at],
        kind,
        score,
        label,
      }));
      chosen = this.chosen = { options, evidence: kept.map((c) => c.evidence!), lenses };
    }
    return chosen.lenses.map(({ chunk, local, kind, score, label }) => ({
      line: kept[chunk].line + kept[chunk].evidence!.kept.line[local],
      kind,
      score,
      label,
    }));
  }

  /** Brings the chunks up to `source`. */
  update(source: string): void {
    if (source === this.source && (this.chunks.length || !source)) return;
    const old = this.source;
    this.source = source;
    if (!this.chunks.length || !old) {
      this.replaceAll(source);
      return;
    }
    // the changed span: a common prefix and a common suffix
    const a = commonPrefix(old, source);
    const s = commonSuffix(old, source, Math.min(old.length, source.length) - a);
    this.splice(old, source, a, old.length - s, source.length - s);
  }

  /** Frees the trees. */
  dispose(): void {
    for (const c of this.chunks) c.tree.release();
    this.chunks = [];
    this.source = '';
    this.context = undefined;
    this.chosen = undefined;
    this.balance = undefined;
    this.balanceText = '';
  }

  /** Statements of the whole document as the chunks hold them (absolute lines), for tests. */
  statementLines(): { line: number; text: string; blockEnd: number }[] {
    const out: { line: number; text: string; blockEnd: number }[] = [];
    for (const c of this.chunks) {
      const base = out.length;
      for (const s of c.stmts) out.push({ line: c.line + s.line, text: s.text, blockEnd: base + s.blockEnd });
    }
    return out;
  }

  private replaceAll(source: string): void {
    for (const c of this.chunks) c.tree.release();
    this.chunks = this.read(source, 0, 0);
    this.context = undefined;
    this.lastReparsed = this.chunks.length;
    this.lastFull = true;
  }

  /** Parses `text` (found at `offset`, `line` of the document) alone, as chunks. */
  private read(text: string, offset: number, line: number): Chunk[] {
    const tree = new SharedTree(parsePython(text));
    const tops = topLevelStatements(tree.tree, text);
    const chunks: Chunk[] = tops.map((t) => {
      tree.retain();
      // one literal with every field, so that all chunks share one shape (a spread made property reads slow)
      const chunk: Chunk = {
        text: t.text,
        start: t.start + offset,
        line: t.line + line,
        lines: t.lines,
        stmts: t.stmts,
        hasError: t.hasError,
        tree,
        treeStart: t.start,
        shape: chunkShape(t.stmts),
        evidence: undefined,
      };
      return chunk;
    });
    if (!chunks.length) tree.tree.delete();
    return chunks;
  }

  /** The edit replaced old[a, oldEnd) with source[a, newEnd). */
  private splice(old: string, source: string, a: number, oldEnd: number, newEnd: number): void {
    const chunks = this.chunks;
    const delta = newEnd - oldEnd;
    // whole lines around the edit, in the old text
    let from = a > 0 ? old.lastIndexOf('\n', a - 1) + 1 : 0; // (lastIndexOf reads -1 as 0)
    let to = old.indexOf('\n', oldEnd);
    if (to < 0) to = old.length;
    // A text with a bracket or string left open cannot parse without an error, however it is cut: the edited
    // lines are then read alone, and the rest keeps its reading until the text is balanced again (typing an
    // unclosed `(` would otherwise re-parse more and more of the file, up to all of it, at every keystroke).
    let balanced: boolean | undefined;
    const isBalanced = () => (balanced ??= this.balanced(old, source, { a, oldEnd, newEnd }));
    // every chunk with a syntax error is read again (what it means may depend on what follows)
    for (const c of chunks) {
      if (!c.hasError || !isBalanced()) continue;
      from = Math.min(from, c.start);
      to = Math.max(to, c.start + c.text.length);
    }
    // the chunks the region touches, all of them between the first and the last
    let first = chunks.length;
    let last = -1;
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k];
      if (c.start + c.text.length >= from && c.start <= to) {
        first = Math.min(first, k);
        last = k;
      }
    }
    if (first <= last) {
      from = Math.min(from, chunks[first].start);
      to = Math.max(to, chunks[last].start + chunks[last].text.length);
    } else {
      // between chunks: the region holds none of them
      first = chunks.findIndex((c) => c.start > to);
      if (first < 0) first = chunks.length;
      last = first - 1;
    }
    for (let round = 0; ; round++) {
      // a region must start and end where top-level statements do: not on an indented line or an `else:`, not
      // before the block of a header or the definition of a decorator
      while (first > 0 && needsPrevious(source, from, to + delta)) from = chunks[--first].start;
      while (last < chunks.length - 1 && (needsNext(source, from, to + delta) || continues(chunks[last + 1])))
        to = chunks[++last].start + chunks[last].text.length;
      const text = source.slice(from, to + delta);
      const fresh = text.trim() ? this.read(text, from, lineAt(source, from, chunks, first)) : [];
      if (fresh.some((c) => c.hasError) && (first > 0 || last < chunks.length - 1) && isBalanced()) {
        // an error may come from a cut (a string or bracket that the old chunks closed elsewhere): try again with
        // 1, 2, 4… neighbours on each side, up to the whole file, so that a file without errors is always read right
        for (const c of fresh) c.tree.release();
        const widen = 2 ** round;
        first = Math.max(0, first - widen);
        last = Math.min(chunks.length - 1, last + widen);
        from = Math.min(from, chunks[first].start);
        to = Math.max(to, chunks[last].start + chunks[last].text.length);
        continue;
      }
      const lineDelta = countLines(source, from, to + delta) - countLines(old, from, to);
      const removed = chunks.slice(first, last + 1);
      if (contribution(removed) !== contribution(fresh)) this.contextValid = false;
      for (const c of removed) c.tree.release();
      const after = chunks.slice(last + 1);
      for (const c of after) {
        c.start += delta;
        c.line += lineDelta;
      }
      this.chunks = [...chunks.slice(0, first), ...fresh, ...after];
      this.lastReparsed = fresh.length;
      this.lastFull = false;
      return;
    }
  }

  /** Whether `source`, which is `old` with `edit` made, is lexically balanced (from the scan of `old` if kept). */
  private balanced(old: string, source: string, edit: TextEdit): boolean {
    const scan = this.balance && this.balanceText === old ? this.balance.edited(source, edit) : BalanceScan.of(source);
    this.balance = scan;
    this.balanceText = source;
    return scan.balanced;
  }

  /**
   * Recomputes the evidence of the chunks that are new, or that name something whose meaning changed (when the
   * context is read again, contextChanges says what; when whether the file computes a loss changes, everything).
   */
  private refreshEvidence(): void {
    const old = this.context;
    let changed: string[] | undefined = [];
    if (!old || !this.contextValid || old.hasLoss !== hasLoss(this.source)) {
      const ctx = fileContext(this.chunks, this.source, old);
      changed = old && old.hasLoss === ctx.hasLoss ? [...contextChanges(old, ctx)] : undefined;
      this.context = ctx;
      this.contextValid = true;
    }
    const ctx = this.context!;
    const definitions = moduleDefinitions(this.chunks);
    for (const c of this.chunks) {
      const ev = c.evidence;
      if (ev && !ev.volatile && changed && !changed.some((n) => c.text.includes(n))) continue;
      const key = relevantKey(c.shape.ids, ctx);
      if (ev && !ev.volatile && ev.key === key) continue;
      c.evidence = chunkEvidence(c, ctx, definitions, key);
    }
  }
}

/** Characters compared at once: equal slices compare as fast as memory does, a character at a time does not. */
const BLOCK = 1024;

/** Length of the common prefix of two texts. */
function commonPrefix(x: string, y: string): number {
  const max = Math.min(x.length, y.length);
  let a = 0;
  while (a + BLOCK <= max && x.slice(a, a + BLOCK) === y.slice(a, a + BLOCK)) a += BLOCK;
  while (a < max && x.charCodeAt(a) === y.charCodeAt(a)) a++;
  return a;
}

/** Length of the common suffix of two texts, `max` at most. */
function commonSuffix(x: string, y: string, max: number): number {
  const xl = x.length;
  const yl = y.length;
  let s = 0;
  while (s + BLOCK <= max && x.slice(xl - s - BLOCK, xl - s) === y.slice(yl - s - BLOCK, yl - s)) s += BLOCK;
  while (s < max && x.charCodeAt(xl - 1 - s) === y.charCodeAt(yl - 1 - s)) s++;
  return s;
}

/** What chunks bring to the file's context: equal texts, equal context. */
function contribution(chunks: readonly Chunk[]): string {
  return chunks.map((c) => c.shape.contribution).join('\n');
}

/** The first line of code (not blank, not a comment) of source[from, to). */
function firstCodeLine(source: string, from: number, to: number): string | undefined {
  for (let k = from; k < to;) {
    let e = source.indexOf('\n', k);
    if (e < 0 || e > to) e = to;
    const line = source.slice(k, e);
    const t = line.trim();
    if (t && !t.startsWith('#')) return line;
    k = e + 1;
  }
  return undefined;
}

/** The last line of code of source[from, to), trimmed. */
function lastCodeLine(source: string, from: number, to: number): string | undefined {
  for (let e = to; e > from;) {
    const k = Math.max(from, source.lastIndexOf('\n', e - 1) + 1);
    const t = source.slice(k, e).trim();
    if (t && !t.startsWith('#')) return t;
    e = k - 1;
  }
  return undefined;
}

/** Does the region start inside the statement before it (an indented line, a clause of a compound statement)? */
function needsPrevious(source: string, from: number, to: number): boolean {
  const line = firstCodeLine(source, from, to);
  return line !== undefined && /^(?:[ \t]|(?:else|elif|except|finally)\b)/.test(line);
}

/** Is this chunk the rest of the statement before it (an indented line, an `else:`), left so by an earlier edit? */
function continues(chunk: Chunk): boolean {
  const first = chunk.stmts[0];
  return first.indent > 0 || /^(?:else|elif|except|finally)\b/.test(first.text);
}

/** Does the region end before the rest of its statement (a decorator, a header, a continued line)? */
function needsNext(source: string, from: number, to: number): boolean {
  const line = lastCodeLine(source, from, to);
  return line !== undefined && (line.startsWith('@') || /[:\\,([{]$/.test(line));
}

/** 0-based line of offset `at` in `text`, counting from the nearest chunk at or before it that has not moved. */
function lineAt(text: string, at: number, chunks: readonly Chunk[], first: number): number {
  const base = first > 0 ? chunks[first - 1] : undefined;
  const start = base && base.start <= at ? base.start : 0;
  return (base && base.start <= at ? base.line : 0) + countLines(text, start, at);
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = text.indexOf('\n', from); k >= 0 && k < to; k = text.indexOf('\n', k + 1)) n++;
  return n;
}

/**
 * The documents being edited, each with its chunks (least recently used dropped first, so that the parser's memory
 * stays bounded). Keyed by whatever names a document (its URI).
 */
export class DocumentDetectors {
  private readonly docs = new Map<string, PythonDocument>();

  constructor(readonly maxDocuments = 16) {}

  detect(key: string, source: string, opts: DetectOptions = {}): TrainingEntrypoint[] {
    if (!mayTrain(source)) {
      this.delete(key);
      return [];
    }
    let doc = this.docs.get(key);
    if (doc) this.docs.delete(key);
    else doc = new PythonDocument();
    this.docs.set(key, doc);
    while (this.docs.size > this.maxDocuments) {
      const oldest = this.docs.keys().next().value as string;
      this.docs.get(oldest)!.dispose();
      this.docs.delete(oldest);
    }
    return doc.detect(source, opts);
  }

  delete(key: string): void {
    this.docs.get(key)?.dispose();
    this.docs.delete(key);
  }

  /** Frees every document's trees. */
  clear(): void {
    for (const doc of this.docs.values()) doc.dispose();
    this.docs.clear();
  }

  get size(): number {
    return this.docs.size;
  }
}
