/**
 * Whether Python source is lexically balanced: every bracket closed by its own kind, every string closed (a string
 * in single quotes on its own line, unless a backslash continues it), comments skipped. A text that is not cannot
 * parse without an error, however it is cut into statements: incremental.ts uses that to read a bracket or a string
 * left open while typing as an error of the lines being edited, instead of re-parsing larger and larger parts of the
 * file around them (which ends in a full parse at every keystroke until the bracket is closed).
 *
 * The scan follows Python's tokenizer where it matters here: string prefixes (r, b, f, u and their pairs) are plain
 * letters before the quote; a backslash escapes the next character in every string (in a raw string it keeps the
 * quote from ending it, as in Python); an f-string is read as a string, its replacement fields included (an f-string
 * that reuses its own quote inside a field, allowed since Python 3.12, is read as two strings and stays balanced).
 */

const HASH = 0x23;
const BACKSLASH = 0x5c;
const LF = 0x0a;
const CR = 0x0d;
const DOUBLE = 0x22;
const SINGLE = 0x27;
const OPENERS: Record<number, number> = { 0x29: 0x28, 0x5d: 0x5b, 0x7d: 0x7b }; // ) ( ] [ } {

/** The offset just past the string that starts with a quote at `i`, or -1 when it is not closed. */
function stringEnd(s: string, i: number): number {
  const q = s.charCodeAt(i);
  const n = s.length;
  const triple = s.charCodeAt(i + 1) === q && s.charCodeAt(i + 2) === q;
  for (let j = i + (triple ? 3 : 1); j < n; j++) {
    const d = s.charCodeAt(j);
    if (d === BACKSLASH) {
      // the escaped character, a line break (CRLF included) when the backslash continues the line
      if (s.charCodeAt(j + 1) === CR && s.charCodeAt(j + 2) === LF) j++;
      j++;
    } else if (d === q) {
      if (!triple) return j + 1;
      if (s.charCodeAt(j + 1) === q && s.charCodeAt(j + 2) === q) return j + 3;
    } else if (!triple && (d === LF || d === CR)) {
      return -1;
    }
  }
  return -1;
}

/** Whether every bracket and string of `source` is closed (see the module comment). */
export function lexicallyBalanced(source: string): boolean {
  const open: number[] = [];
  const n = source.length;
  for (let i = 0; i < n; i++) {
    const c = source.charCodeAt(i);
    if (c === HASH) {
      const e = source.indexOf('\n', i);
      if (e < 0) break;
      i = e;
    } else if (c === DOUBLE || c === SINGLE) {
      const e = stringEnd(source, i);
      if (e < 0) return false;
      i = e - 1;
    } else if (c === 0x28 || c === 0x5b || c === 0x7b) {
      open.push(c);
    } else if (c === 0x29 || c === 0x5d || c === 0x7d) {
      if (open.pop() !== OPENERS[c]) return false;
    }
  }
  return open.length === 0;
}
