/**
 * A small, fast scanner of Python source into logical statements, for CodeLens detection. It is not a parser: it
 * knows strings (all quote forms, prefixes, triple quotes across lines), comments, bracket and backslash
 * continuations, and indentation, which is what finding blocks and calls needs. It never throws: unbalanced brackets
 * or unterminated strings end at the end of the file.
 *
 * Cost: one pass over the characters plus one over the statements; no regular expression runs on the raw source.
 */

export interface Statement {
  /** 0-based line where the statement starts. */
  line: number;
  /** 0-based line where it ends (continuation lines and multi-line strings included). */
  endLine: number;
  /** Width of the first line's indentation (a tab advances to the next multiple of 8, as Python counts). */
  indent: number;
  /**
   * The code on one line: comments removed, continuation lines joined with a space, string literals blanked to `""`
   * except short identifier-like ones (`"__main__"`, `"cuda"`), which are kept so that guards can be recognised.
   */
  text: string;
  /** Index of the last statement of its block: itself when no more-indented statement follows it. */
  blockEnd: number;
}

/** Characters the statement loop stops at: newlines, #, backslash, quotes, brackets. */
const SPECIAL = new Uint8Array(126);
for (const ch of '\n\r#\\"\'()[]{}') SPECIAL[ch.charCodeAt(0)] = 1;
/** Characters of a string literal that is kept as it is ("__main__", "cuda", "gpt2-medium"). */
const KEEP_CHAR = new Uint8Array(128);
for (let k = 0; k < 128; k++) KEEP_CHAR[k] = /[\w.-]/.test(String.fromCharCode(k)) ? 1 : 0;

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const FF = 12;
const HASH = 35;
const BACKSLASH = 92;
const DQ = 34;
const SQ = 39;

/** Splits Python source into logical statements (blank and comment-only lines are dropped). */
export function scanStatements(source: string): Statement[] {
  const out: Statement[] = [];
  const n = source.length;
  let i = 0;
  let line = 0;

  while (i < n) {
    // --- start of a physical line outside any statement: measure the indentation
    let indent = 0;
    while (i < n) {
      const c = source.charCodeAt(i);
      if (c === SPACE) indent++;
      else if (c === TAB) indent = (Math.floor(indent / 8) + 1) * 8;
      else if (c === FF) indent = 0;
      else break;
      i++;
    }
    if (i >= n) break;
    const first = source.charCodeAt(i);
    if (first === NL || first === CR) {
      i = skipNewline(source, i);
      line++;
      continue;
    }
    if (first === HASH) {
      while (i < n && source.charCodeAt(i) !== NL && source.charCodeAt(i) !== CR) i++;
      continue;
    }

    // --- one logical statement
    const startLine = line;
    let text = '';
    let runStart = i;
    let depth = 0;
    let done = false;
    while (i < n) {
      const c = source.charCodeAt(i);
      if (c > 125 || SPECIAL[c] === 0) {
        i++;
        continue;
      }
      if (c === NL || c === CR) {
        if (depth > 0) {
          text += source.slice(runStart, i) + ' ';
          i = skipNewline(source, i);
          line++;
          runStart = i;
          continue;
        }
        done = true;
        break;
      }
      if (c === HASH) {
        text += source.slice(runStart, i);
        while (i < n && source.charCodeAt(i) !== NL && source.charCodeAt(i) !== CR) i++;
        runStart = i;
        continue;
      }
      if (c === BACKSLASH) {
        const next = source.charCodeAt(i + 1);
        if (next === NL || next === CR) {
          text += source.slice(runStart, i) + ' ';
          i = skipNewline(source, i + 1);
          line++;
          runStart = i;
        } else {
          i++;
        }
        continue;
      }
      if (c === DQ || c === SQ) {
        text += source.slice(runStart, i);
        const triple = source.charCodeAt(i + 1) === c && source.charCodeAt(i + 2) === c;
        const contentStart = i + (triple ? 3 : 1);
        let j = contentStart;
        let end = -1;
        let keep = true; // short and identifier-like so far
        while (j < n) {
          const d = source.charCodeAt(j);
          if (d === c && (!triple || (source.charCodeAt(j + 1) === c && source.charCodeAt(j + 2) === c))) {
            end = j;
            break;
          }
          if (d === BACKSLASH) {
            keep = false;
            const e = source.charCodeAt(j + 1);
            if (e === NL || e === CR) {
              j = skipNewline(source, j + 1);
              line++;
            } else {
              j += 2;
            }
            continue;
          }
          if (d === NL || d === CR) {
            keep = false;
            if (!triple) break; // unterminated: the string ends with the line
            j = skipNewline(source, j);
            line++;
            continue;
          }
          if (keep && !(d < 128 && KEEP_CHAR[d] === 1)) keep = false;
          j++;
        }
        const contentEnd = end < 0 ? Math.min(j, n) : end;
        text += keep && contentEnd - contentStart <= 40 ? `"${source.slice(contentStart, contentEnd)}"` : '""';
        i = end < 0 ? contentEnd : end + (triple ? 3 : 1);
        runStart = i;
        continue;
      }
      if (c === 40 || c === 91 || c === 123) depth++;
      else if (depth > 0) depth--; // ) ] }
      i++;
    }
    if (!done || runStart < i) text += source.slice(runStart, Math.min(i, n));
    const trimmed = text.trimEnd();
    if (trimmed) out.push({ line: startLine, endLine: line, indent, text: trimmed, blockEnd: out.length });
  }

  // blocks: a statement's block runs until the next statement indented no deeper than it
  const open: number[] = [];
  for (let k = 0; k < out.length; k++) {
    const ind = out[k].indent;
    while (open.length && out[open[open.length - 1]].indent >= ind) out[open.pop()!].blockEnd = k - 1;
    open.push(k);
  }
  while (open.length) out[open.pop()!].blockEnd = out.length - 1;
  return out;
}

function skipNewline(s: string, i: number): number {
  if (s.charCodeAt(i) === CR && s.charCodeAt(i + 1) === NL) return i + 2;
  return i + 1;
}
