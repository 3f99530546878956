/**
 * How many terminal columns a text takes, for the CLI's tables: a CJK character or an emoji takes two, a combining
 * accent, a zero-width joiner or a variation selector none, anything else one. Measured per grapheme (what a reader
 * sees as one character: "e" + U+0301, a flag, a family emoji joined by ZWJ), as terminals draw them (the widths of
 * Unicode's East Asian Width W and F classes, and Emoji_Presentation). Cutting and padding work on whole graphemes.
 */

/** East Asian Wide and Fullwidth blocks (Unicode EastAsianWidth.txt, W and F), and the emoji blocks drawn wide. */
const WIDE =
  /[\u1100-\u115f\u231a\u231b\u2329\u232a\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{16fe0}-\u{16fe4}\u{17000}-\u{18cff}\u{1b000}-\u{1b2ff}\u{1f200}-\u{1f2ff}\u{20000}-\u{2fffd}\u{30000}-\u{3fffd}]/u;
const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\ufe0f/u;
/** Marks drawn on the character before them, and invisible format characters (ZWJ, ZWSP, variation selectors). */
const ZERO = /^[\p{Mn}\p{Me}\p{Cf}\ufe00-\ufe0f]+$/u;

let segmenter: Intl.Segmenter | undefined;

function graphemes(s: string): string[] {
  // plain printable ASCII, the common case, is one column per character
  if (/^[\u0020-\u007e]*$/.test(s)) return [...s];
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return Array.from(segmenter.segment(s), (g) => g.segment);
}

/** Columns of one grapheme: 0, 1 or 2. */
function graphemeWidth(g: string): number {
  if (g.length === 1 && g >= ' ' && g <= '~') return 1;
  if (ZERO.test(g)) return 0;
  return WIDE.test(String.fromCodePoint(g.codePointAt(0) ?? 0x20)) || EMOJI.test(g) ? 2 : 1;
}

/** Terminal columns of `s` (which holds no control characters: escape them first, format.ts escapeControl). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const g of graphemes(s)) w += graphemeWidth(g);
  return w;
}

/** `s` followed by spaces up to `width` columns (unchanged when it is already as wide). */
export function padEndColumns(s: string, width: number): string {
  const w = displayWidth(s);
  return w >= width ? s : s + ' '.repeat(width - w);
}

/**
 * At most `max` columns of `s`, in whole graphemes: cut between two words when one ends in the second half, else
 * mid-word; "…" (one column) marks the cut.
 */
export function truncateColumns(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  let head = '';
  let w = 0;
  for (const g of graphemes(s)) {
    const gw = graphemeWidth(g);
    if (w + gw > max - 1) break;
    head += g;
    w += gw;
  }
  const at = head.lastIndexOf(' ');
  return `${at >= 0 && displayWidth(head.slice(0, at)) >= max / 2 ? head.slice(0, at) : head}…`;
}
