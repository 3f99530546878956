/**
 * Text held as its UTF-8 bytes, one byte per character (a "latin1" string: every character is below 256, and is
 * one byte of the encoding). Such a string is written out with `Buffer.latin1Write`, a plain copy, where a
 * JavaScript string costs a UTF-8 encoding pass over every character: the import writes hundreds of MB of history
 * lines, nearly all ASCII, and builds them from pieces encoded once (codecarbonLine.ts).
 *
 * The pieces of a line are each encoded whole (a surrogate pair is never cut), so the concatenation of their bytes
 * is the encoding of the concatenated text.
 */

/** `s` as UTF-8 bytes, one per character. ASCII text is its own encoding and comes back as it is. */
export function utf8Bytes(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  return s;
}

/** Printable ASCII but the quote and the backslash: what JSON.stringify leaves as it is, and UTF-8 too. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Whether `s` is printable ASCII without a quote or a backslash: JSON and UTF-8 both leave it as it is. */
export function isPlain(s: string): boolean {
  return PLAIN.test(s);
}

/** `JSON.stringify(s)` as UTF-8 bytes, one per character: the quoted string at once when nothing needs escaping. */
export function jsonBytes(s: string): string {
  // one regular-expression test (native code) is cheaper than a loop over the characters of a concatenated string
  return PLAIN.test(s) ? '"' + s + '"' : utf8Bytes(JSON.stringify(s));
}

/** The text that `utf8Bytes` made (one byte per character), as a JavaScript string again. */
export function fromUtf8Bytes(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
