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

const KEEP_STRING = /^[\w.-]{0,40}$/;

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
    while (i < n && !done) {
      const c = source.charCodeAt(i);
      switch (c) {
        case NL:
        case CR:
          text += source.slice(runStart, i);
          if (depth > 0) {
            text += ' ';
            i = skipNewline(source, i);
            line++;
            runStart = i;
          } else {
            done = true;
          }
          break;
        case HASH:
          text += source.slice(runStart, i);
          while (i < n && source.charCodeAt(i) !== NL && source.charCodeAt(i) !== CR) i++;
          runStart = i;
          break;
        case BACKSLASH: {
          const next = source.charCodeAt(i + 1);
          if (next === NL || next === CR) {
            text += source.slice(runStart, i) + ' ';
            i = skipNewline(source, i + 1);
            line++;
            runStart = i;
          } else {
            i++;
          }
          break;
        }
        case DQ:
        case SQ: {
          text += source.slice(runStart, i);
          const triple = source.charCodeAt(i + 1) === c && source.charCodeAt(i + 2) === c;
          const contentStart = i + (triple ? 3 : 1);
          let j = contentStart;
          let end = -1;
          while (j < n) {
            const d = source.charCodeAt(j);
            if (d === BACKSLASH) {
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
              if (!triple) break; // unterminated: the string ends with the line
              j = skipNewline(source, j);
              line++;
              continue;
            }
            if (d === c && (!triple || (source.charCodeAt(j + 1) === c && source.charCodeAt(j + 2) === c))) {
              end = j;
              break;
            }
            j++;
          }
          const contentEnd = end < 0 ? Math.min(j, n) : end;
          const content = contentEnd - contentStart <= 40 ? source.slice(contentStart, contentEnd) : '';
          text += KEEP_STRING.test(content) ? `"${content}"` : '""';
          i = end < 0 ? contentEnd : end + (triple ? 3 : 1);
          runStart = i;
          break;
        }
        case 40: // (
        case 91: // [
        case 123: // {
          depth++;
          i++;
          break;
        case 41: // )
        case 93: // ]
        case 125: // }
          if (depth > 0) depth--;
          i++;
          break;
        default:
          i++;
      }
    }
    if (!done) text += source.slice(runStart, Math.min(i, n));
    const trimmed = text.trim();
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
