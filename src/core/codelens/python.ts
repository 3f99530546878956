/**
 * Python source as logical statements, from a real syntax tree (tree-sitter-python, see parser.ts). A compound
 * statement (`def`, `class`, `for`, `if`, `with`, `try`…) gives its header (`for x in y:`), then the statements of
 * its block; `elif`, `else`, `except` and `finally` clauses are statements of their own; decorators too. Expressions
 * are not visited here: the detector asks for the nodes of the few statements it reads closely.
 *
 * Cost: one parse, and one cursor walk over statements and their direct children (never into expressions, except
 * to find the string literals and comments of a statement that has a quote or a `#`).
 */
import type { Node, Tree, TreeCursor } from 'web-tree-sitter';
import { parsePython } from './parser';

export interface Statement {
  /** 0-based line where the statement starts. */
  line: number;
  /** 0-based line where it ends (for a compound statement, where its header ends). */
  endLine: number;
  /** Column of its first character. */
  indent: number;
  /**
   * The code of the statement (a compound one: its header) on one line: comments removed, line breaks as spaces,
   * string literals blanked to `""` except short identifier-like ones (`"__main__"`, `"cuda"`), which are kept so
   * that guards can be recognised.
   */
  text: string;
  /** Index of the last statement of its block: itself when it has no block. */
  blockEnd: number;
  /** The tree-sitter node type: `expression_statement`, `for_statement`, `function_definition`, `decorator`… */
  type: string;
  /** Character offsets of the statement (a compound one: its header) in the source. */
  start: number;
  end: number;
}

/** Statements with a block: the header ends where the first `block` child starts. */
const COMPOUND = new Set([
  'if_statement',
  'for_statement',
  'while_statement',
  'try_statement',
  'with_statement',
  'function_definition',
  'class_definition',
  'match_statement',
  'elif_clause',
  'else_clause',
  'except_clause',
  'except_group_clause',
  'finally_clause',
  'case_clause',
]);
/** Children of a compound statement that are statements of their own (at the same level). */
const CLAUSES = new Set(['elif_clause', 'else_clause', 'except_clause', 'except_group_clause', 'finally_clause']);
/** Containers whose children are statements. */
const CONTAINERS = new Set(['module', 'block', 'ERROR', 'decorated_definition']);

const KEEP = /^[\w.-]{0,40}$/;

/** The source parsed into statements, and its tree (to read the nodes of some statements). */
export interface ParsedSource {
  stmts: Statement[];
  tree: Tree;
  source: string;
}

/** Parses and splits into statements; the caller deletes `tree`. Needs `initDetector()` to have finished. */
export function parseStatements(source: string): ParsedSource {
  const tree = parsePython(source);
  const stmts: Statement[] = [];
  const cursor = tree.walk();
  try {
    walkContainer(cursor, source, stmts);
  } finally {
    cursor.delete();
  }
  return { stmts, tree, source };
}

/** Splits Python source into logical statements (comments and blank lines are dropped). */
export function scanStatements(source: string): Statement[] {
  const parsed = parseStatements(source);
  parsed.tree.delete();
  return parsed.stmts;
}

/** The cursor is on a container (module, block, ERROR, decorated_definition): each child is a statement. */
function walkContainer(c: TreeCursor, source: string, out: Statement[]): void {
  if (!c.gotoFirstChild()) return;
  do walkChild(c, source, out);
  while (c.gotoNextSibling());
  c.gotoParent();
}

/** One child of a container: nothing (a comment), a statement, or the statements it contains. */
function walkChild(c: TreeCursor, source: string, out: Statement[]): void {
  const type = c.nodeType;
  if (type === 'comment' || !c.nodeIsNamed) return;
  if (CONTAINERS.has(type)) walkContainer(c, source, out);
  else if (COMPOUND.has(type)) walkCompound(c, source, out);
  else if (type !== 'line_continuation') {
    // statements, decorators; expressions in an ERROR node
    const st = simple(c, source, type);
    st.blockEnd = out.length;
    out.push(st);
  }
}

/**
 * A top-level statement of a module, the unit that is re-read after an edit (incremental.ts): its text, where it
 * starts, and its statements in coordinates relative to it (`line`, `endLine`, `start`, `end` and `blockEnd` count
 * from its own first line, character and statement), so that an edit above it only moves `start` and `line`.
 */
export interface TopLevel {
  text: string;
  /** Offset and 0-based line of its first character in the parsed text. */
  start: number;
  line: number;
  /** Lines it spans after the first. */
  lines: number;
  stmts: Statement[];
  /** The parser found a syntax error in it. */
  hasError: boolean;
}

/** The top-level statements of a parsed module (comments between them are not statements). */
export function topLevelStatements(tree: Tree, source: string): TopLevel[] {
  const out: TopLevel[] = [];
  const anyError = tree.rootNode.hasError;
  const c = tree.walk();
  try {
    if (!c.gotoFirstChild()) return out;
    do {
      const type = c.nodeType;
      if (type === 'comment' || !c.nodeIsNamed || type === 'line_continuation') continue;
      const start = c.startIndex;
      const end = c.endIndex;
      const startRow = c.startPosition.row;
      const stmts: Statement[] = [];
      walkChild(c, source, stmts);
      if (!stmts.length) continue;
      for (const st of stmts) {
        st.line -= startRow;
        st.endLine -= startRow;
        st.start -= start;
        st.end -= start;
      }
      const hasError = anyError && (type === 'ERROR' || c.currentNode.hasError);
      out.push({
        text: source.slice(start, end),
        start,
        line: startRow,
        lines: c.endPosition.row - startRow,
        stmts,
        hasError,
      });
    } while (c.gotoNextSibling());
  } finally {
    c.delete();
  }
  return out;
}

function simple(c: TreeCursor, source: string, type: string): Statement {
  const start = c.startIndex;
  const end = c.endIndex;
  const startPos = c.startPosition;
  const endPos = c.endPosition;
  return {
    line: startPos.row,
    endLine: endPos.row,
    indent: startPos.column,
    text: cleanText(c, source, start, end),
    blockEnd: -1,
    type,
    start,
    end,
  };
}

/** A compound statement: its header, then its blocks, then its clauses as statements of their own. */
function walkCompound(c: TreeCursor, source: string, out: Statement[]): void {
  const type = c.nodeType;
  const start = c.startIndex;
  const startPos = c.startPosition;
  const index = out.length;
  const self: Statement = {
    line: startPos.row,
    endLine: startPos.row,
    indent: startPos.column,
    text: '',
    blockEnd: index,
    type,
    start,
    end: c.endIndex,
  };
  out.push(self);
  let headerDone = false;
  const node = c.currentNode;
  if (c.gotoFirstChild()) {
    do {
      const t = c.nodeType;
      if (t === 'block') {
        if (!headerDone) finishHeader(self, node, source, c.startIndex, c.startPosition.row);
        headerDone = true;
        walkContainer(c, source, out);
        self.blockEnd = out.length - 1;
      } else if (CLAUSES.has(t)) {
        if (!headerDone) finishHeader(self, node, source, c.startIndex, c.startPosition.row);
        headerDone = true;
        walkCompound(c, source, out);
      } else if (t === 'case_clause') {
        walkCompound(c, source, out);
        self.blockEnd = out.length - 1;
      }
    } while (c.gotoNextSibling());
    c.gotoParent();
  }
  if (!headerDone) finishHeader(self, node, source, c.endIndex, c.endPosition.row);
}

function finishHeader(self: Statement, node: Node, source: string, end: number, endRow: number): void {
  self.end = end;
  self.endLine = endRow;
  self.text = cleanText(undefined, source, self.start, end, node).replace(/\s+$/, '');
}

/**
 * The text between `start` and `end` on one line, with comments dropped and strings blanked. The string and comment
 * nodes are looked for only when the text has a quote or a `#`.
 */
function cleanText(c: TreeCursor | undefined, source: string, start: number, end: number, node?: Node): string {
  const raw = source.slice(start, end);
  if (!/["'#]/.test(raw)) return oneLine(raw);
  const n = node ?? c!.currentNode;
  const pieces: { s: number; e: number; keep?: string }[] = [];
  collectLiterals(n, start, end, pieces);
  if (!pieces.length) return oneLine(raw);
  pieces.sort((a, b) => a.s - b.s);
  let text = '';
  let at = start;
  for (const p of pieces) {
    if (p.s < at) continue;
    text += source.slice(at, p.s) + (p.keep ?? '');
    at = p.e;
  }
  text += source.slice(at, end);
  return oneLine(text);
}

/** String literals and comments inside `n`, between `start` and `end`. */
function collectLiterals(n: Node, start: number, end: number, out: { s: number; e: number; keep?: string }[]): void {
  const cur = n.walk();
  try {
    for (;;) {
      const t = cur.nodeType;
      const s = cur.startIndex;
      const e = cur.endIndex;
      let descend = e > start && s < end && t !== 'block';
      if (descend && (t === 'string' || t === 'concatenated_string' || t === 'comment')) {
        descend = false;
        if (t === 'comment') out.push({ s, e, keep: '' });
        else out.push({ s, e, keep: keptString(cur.nodeText) });
      }
      if (descend && cur.gotoFirstChild()) continue;
      while (!cur.gotoNextSibling()) if (!cur.gotoParent() || cur.currentDepth === 0) return;
    }
  } finally {
    cur.delete();
  }
}

function keptString(raw: string): string {
  const m = /^[rRbBuUfF]*("""|'''|"|')([\s\S]*)\1$/.exec(raw);
  return m && KEEP.test(m[2]) ? `"${m[2]}"` : '""';
}

function oneLine(text: string): string {
  return text.indexOf('\n') < 0 && text.indexOf('\r') < 0
    ? text
    : text.replace(/\\\r?\n/g, ' ').replace(/\r?\n|\r/g, ' ');
}
