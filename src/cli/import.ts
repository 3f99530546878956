/** `carbon-meter import`: a CodeCarbon emissions.csv, or a Carbon Meter JSON export, into the history. */
import * as fs from 'node:fs';
import { importCodeCarbonFile, summariseImportProblems } from '../core/history/import';
import { importRunRecordsFile, looksLikeJsonRecords } from '../core/history/importRecords';
import { CliError, openStore, parseOptions, printLines, UsageError, warn } from './common';

export const IMPORT_HELP = `Usage: carbon-meter import FILE

Adds the runs of a CodeCarbon emissions.csv (2.x or 3.x), or of a JSON array of run records as written by
'carbon-meter export --format json' (the lossless way to move a history to another machine: CodeCarbon's CSV has
no column for a run's status, exit code, notes or forecasts), to the history. Runs already there are skipped (a
longer record of one updates it), and so are rows or records that cannot be read (a bad or negative number), which
are counted and reported by kind on stderr.
`;

export function importCommand(args: string[]): number {
  const { values, positionals } = parseOptions(args, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    process.stdout.write(IMPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length
        ? `takes one file, not ${positionals.length}`
        : 'needs a file: carbon-meter import emissions.csv',
    );
  const file = positionals[0];
  if (!fs.existsSync(file)) throw new CliError(`cannot read ${file}: no such file`);
  if (fs.statSync(file).isDirectory()) throw new CliError(`cannot read ${file}: it is a folder`);
  const store = openStore();
  const json = looksLikeJsonRecords(head(file));
  const r = json ? importRunRecordsFile(store, file) : importCodeCarbonFile(store, file);
  const skipped = summariseImportProblems(r.problems, json ? 'record' : 'row');
  if (skipped) warn(`${file}: ${skipped}`);
  if (r.fatal) warn(r.fatal.includes(file) ? r.fatal : `${file}: ${r.fatal}`);
  // nothing read (not a CodeCarbon file, an unreadable one): the reason alone
  if (r.fatal && !r.rows) return 1;
  const extra = [
    r.known ? `${r.known} already in the history` : '',
    r.updated ? `${r.updated} updated by later rows` : '',
    r.superseded
      ? json
        ? `${r.superseded} record(s) were earlier states of a run also in the file`
        : `${r.superseded} row(s) were earlier flushes of the same run`
      : '',
    r.skipped ? `${r.skipped} ${json ? 'record' : 'row'}(s) skipped` : '',
  ].filter(Boolean);
  printLines([`Imported ${r.added} run(s) from ${file}${extra.length ? ` (${extra.join('; ')})` : ''}.`]);
  return r.fatal || (r.skipped && !r.added && !r.known && !r.updated) ? 1 : 0;
}

/** The first bytes of `file` (empty when it cannot be read: the import itself then says why). */
function head(file: string): Buffer {
  const buf = Buffer.alloc(64);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } catch {
    return buf.subarray(0, 0);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
