/** Quoting a word for a shell command line: the one copy (the CLI's `script -c` line, CodeLens's "Run"). */

/** A word for a POSIX shell: left as is when it needs no quoting, else in single quotes. */
export function posixQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A word for the platform's terminal shell: POSIX quoting, double quotes on Windows (PowerShell, cmd). */
export function shellQuote(word: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32' && !/^[\w@%+=:,./-]+$/.test(word)) return `"${word.replace(/"/g, '""')}"`;
  return posixQuote(word);
}
