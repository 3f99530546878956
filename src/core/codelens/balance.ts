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
  return BalanceScan.of(source).balanced;
}

/** Where an edited text differs from the one scanned before: old[a, oldEnd) became text[a, newEnd). */
export interface TextEdit {
  a: number;
  oldEnd: number;
  newEnd: number;
}

/** The line starts a scan reached outside strings and comments, with what it knew there. */
interface Lines {
  /** their offsets */
  starts: number[];
  /** the number of brackets open at each */
  depths: number[];
  /** the fewest brackets open from each to the next (or to where the scan ended) */
  segMin: number[];
}

/**
 * The scan of one text, kept so that the scan of an edited copy (`edited`) reads only the part that can differ: it
 * starts at the last line start before the edit with no bracket open, and stops at the first line start after the
 * edit that the old scan also reached outside strings and comments, when the rest of the text is known from there.
 * A bracket left open while typing in a 5,000-line file is then found without reading the whole file at each
 * keystroke (the incremental CodeLens detector asks at every edit while an error is in the file).
 *
 * Why the stop is sound: from a line start outside strings and comments, the rest of the text is read the same
 * whatever brackets are open before it (strings and comments do not depend on them). If the old scan read the rest
 * to the end without a mismatch and never closed a bracket opened before that line start, the rest closes only its
 * own brackets and adds `finalDepth − depth` open ones, whatever is open before it.
 */
export class BalanceScan {
  /** the fewest brackets open at any point from each line start to where the scan ended */
  private readonly minAfter: number[];

  private constructor(
    readonly balanced: boolean,
    private readonly lines: Lines,
    /** false when the scan stopped before the end (a mismatched bracket, a string not closed) */
    private readonly reachedEnd: boolean,
    /** brackets open at the end, when `reachedEnd` */
    private readonly finalDepth: number,
  ) {
    const m = lines.segMin;
    this.minAfter = new Array<number>(m.length);
    let low = Infinity;
    for (let k = m.length - 1; k >= 0; k--) this.minAfter[k] = low = Math.min(low, m[k]);
  }

  /** Scans `text` from the start. */
  static of(text: string): BalanceScan {
    return scan(text, { starts: [], depths: [], segMin: [] }, 0, undefined);
  }

  /** The scan of `text`, which is this scan's text with `edit` made. */
  edited(text: string, edit: TextEdit): BalanceScan {
    const { starts, depths, segMin } = this.lines;
    // the last line start at or before the edit with no bracket open: the text before it did not change
    let k = lastAtOrBefore(starts, edit.a);
    while (k >= 0 && depths[k] > 0) k--;
    const kept: Lines =
      k < 0
        ? { starts: [], depths: [], segMin: [] }
        : { starts: starts.slice(0, k), depths: depths.slice(0, k), segMin: segMin.slice(0, k) };
    return scan(text, kept, k < 0 ? 0 : starts[k], { scan: this, edit });
  }

  /**
   * Where line start `p` of the new text (at or after the edit) is also a line start of this scan whose rest is known,
   * the scan of the new text from there: this one's, moved by the edit, with `open` brackets open before it.
   */
  meet(lines: Lines, p: number, open: number, edit: TextEdit): BalanceScan | undefined {
    const q = p - (edit.newEnd - edit.oldEnd);
    if (p < edit.newEnd || q < edit.oldEnd || !this.reachedEnd) return undefined;
    const { starts, depths, segMin } = this.lines;
    const k = lastAtOrBefore(starts, q);
    if (k < 0 || starts[k] !== q || this.minAfter[k] < depths[k]) return undefined;
    const shift = open - depths[k];
    const delta = p - q;
    // line start p itself was added by the caller, with a fresh segment: that segment is the old one's
    lines.segMin[lines.segMin.length - 1] = segMin[k] + shift;
    for (let j = k + 1; j < starts.length; j++) {
      lines.starts.push(starts[j] + delta);
      lines.depths.push(depths[j] + shift);
      lines.segMin.push(segMin[j] + shift);
    }
    const finalDepth = this.finalDepth + shift;
    return new BalanceScan(finalDepth === 0, lines, true, finalDepth);
  }

  /** Used by `scan` to build a result. */
  static made(lines: Lines, reachedEnd: boolean, finalDepth: number): BalanceScan {
    return new BalanceScan(reachedEnd && finalDepth === 0, lines, reachedEnd, finalDepth);
  }
}

/** Index of the last of the sorted `xs` at or before `x`, -1 when none. */
function lastAtOrBefore(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * Scans `s` from `start` (0, or a line start outside strings and comments with no bracket open) to the end, adding
 * its line starts to `lines` (which holds those before `start`); with `old` (the scan before an edit), stops where
 * the rest is known from it.
 */
function scan(
  s: string,
  lines: Lines,
  start: number,
  old: { scan: BalanceScan; edit: TextEdit } | undefined,
): BalanceScan {
  const open: number[] = [];
  const { starts, depths, segMin } = lines;
  const n = s.length;
  // line starts from here on may meet the old scan's
  const meetFrom = old ? old.edit.newEnd : Infinity;
  for (let i = start - 1; i < n; i++) {
    // i = start - 1 stands for the line feed before `start`
    const c = i < start ? LF : s.charCodeAt(i);
    if (c === LF) {
      const p = i + 1;
      starts.push(p);
      depths.push(open.length);
      segMin.push(open.length);
      if (p >= meetFrom) {
        const met = old!.scan.meet(lines, p, open.length, old!.edit);
        if (met) return met;
      }
    } else if (c === HASH) {
      const e = s.indexOf('\n', i);
      if (e < 0) break;
      i = e - 1; // the line feed is read next, as a line start
    } else if (c === DOUBLE || c === SINGLE) {
      const e = stringEnd(s, i);
      if (e < 0) return BalanceScan.made(lines, false, 0);
      i = e - 1;
    } else if (c === 0x28 || c === 0x5b || c === 0x7b) {
      open.push(c);
    } else if (c === 0x29 || c === 0x5d || c === 0x7d) {
      if (open.pop() !== OPENERS[c]) return BalanceScan.made(lines, false, 0);
      const m = segMin.length - 1;
      if (open.length < segMin[m]) segMin[m] = open.length;
    }
  }
  return BalanceScan.made(lines, true, open.length);
}
