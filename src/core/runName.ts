/** The name a run gets when nobody names it, from its command line. */
import { posixQuote } from './shell';

/** The longest default name, in characters. */
const MAX_NAME = 60;

/**
 * The words of a POSIX shell command line, quotes removed: `sh -c 'echo "a b"'` → ["sh", "-c", 'echo "a b"'].
 * Single quotes, double quotes (with \" \\ \$ \` escapes) and backslashes outside quotes; an unclosed quote runs to
 * the end. Not an evaluator: variables and globs stay as written.
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    } else if (c === '"') {
      word ??= '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && /["\\$`]/.test(line[i + 1] ?? '')) i++;
        word += line[i];
      }
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * "python train.py --epochs 3" → "train.py"; "torchrun --nproc 2 train.py" → "train.py"; "python -m pkg.mod" →
 * "pkg.mod"; otherwise the first words, each whole and quoted as the shell would take it back, up to 60 characters
 * (cut between words, or inside a quoted word between its own words, marked "…").
 */
export function defaultRunName(command: string): string {
  const words = splitShellWords(command.trim());
  // a script inside a quoted word counts too: sh -c 'python train.py'
  const pieces = words.flatMap((w) => w.split(/\s+/)).filter(Boolean);
  const script = pieces.find((w) => /\.(py|ipynb|sh|js|ts|jl|r)$/i.test(w));
  if (script) return script.split(/[\\/]/).pop()!;
  const mod = pieces.indexOf('-m');
  if (mod >= 0 && pieces[mod + 1]) return pieces[mod + 1];
  let name = '';
  for (const w of words.slice(0, 3)) {
    const quoted = posixQuote(w);
    const sep = name ? ' ' : '';
    if (name.length + sep.length + quoted.length <= MAX_NAME) {
      name += sep + quoted;
      continue;
    }
    const room = MAX_NAME - name.length - sep.length - 3; // the quotes and "…"
    const cut = cutAtWord(w, room);
    if (cut) return `${name}${sep}${posixQuote(cut + '…')}`;
    if (name) return `${name} …`;
    // one long word without spaces: a path by its file name, anything else cut with a mark
    const base = w.split(/[\\/]/).filter(Boolean).pop() ?? w;
    return base.length <= MAX_NAME ? base : `${base.slice(0, MAX_NAME - 1)}…`;
  }
  return name || 'run';
}

/** The longest start of `text` of at most `room` characters that ends between two words ('' when none). */
function cutAtWord(text: string, room: number): string {
  if (room <= 0) return '';
  const head = text.slice(0, room + 1);
  const at = head.search(/\s\S*$/);
  return (at > 0 ? head.slice(0, at) : '').trimEnd();
}
