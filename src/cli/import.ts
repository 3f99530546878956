/** `carbon-meter import`: a CodeCarbon emissions.csv into the history. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCodeCarbonCsv } from '../core/history/codecarbon';
import { CliError, openStore, parseOptions, printLines, UsageError, warn } from './common';

export const IMPORT_HELP = `Usage: carbon-meter import FILE

Adds the runs of a CodeCarbon emissions.csv (2.x or 3.x) to the history; runs already there are skipped.
`;

/** At most this many skipped lines are listed one by one; the rest are counted. */
const LISTED_ERRORS = 20;

export function importCommand(args: string[]): number {
  const { values, positionals } = parseOptions(args, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    process.stdout.write(IMPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `takes one file, not ${positionals.length}` : 'needs a file: carbon-meter import emissions.csv');
  const file = positionals[0];
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder' : e.message}`);
  }
  const { runs, errors } = parseCodeCarbonCsv(text, { fileName: path.basename(file) });
  for (const e of errors.slice(0, LISTED_ERRORS)) warn(`${file}:${e.line}: skipped: ${e.reason}`);
  if (errors.length > LISTED_ERRORS) warn(`${file}: ${errors.length - LISTED_ERRORS} more line(s) skipped`);
  const store = openStore();
  const known = new Set(store.load().runs.map((r) => r.id));
  const fresh = runs.filter((r) => !known.has(r.id));
  store.appendMany(fresh);
  const already = runs.length - fresh.length;
  printLines([`Imported ${fresh.length} run(s) from ${file}${already ? ` (${already} already in the history)` : ''}.`]);
  return errors.length && !runs.length ? 1 : 0;
}
