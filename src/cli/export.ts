/** `carbon-meter export`: the history as CodeCarbon emissions.csv or JSON. */
import { escapeControl, terminalSafeJson } from '../core/format';
import { runsToCodeCarbonCsv, runsToJson } from '../core/history/codecarbon';
import { toAlpha3 } from '../core/intensity/regions';
import { writeUserFile } from '../core/util/fs';
import {
  checkOutFile,
  CliError,
  loadHistory,
  openStore,
  parseOptions,
  reportCorrupt,
  UsageError,
  warn,
} from './common';

export const EXPORT_HELP = `Usage: carbon-meter export [--format codecarbon-csv|json] [--out FILE] [--keep-secrets]

Writes every finished run: CodeCarbon's emissions.csv columns and units (default), or a JSON array of run records.

Options:
  --format F      codecarbon-csv (default) or json
  --out FILE      write to FILE (replaced whole, never half-written, readable by you only: 0600; a FIFO or a
                  device is written through) instead of stdout
  --keep-secrets  command lines as stored (default: API keys, tokens, passwords and URL credentials are ***)
CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) are escaped with a quote.
`;

export function exportCommand(args: string[]): number {
  const { values } = parseOptions(args, {
    format: { type: 'string' },
    out: { type: 'string' },
    'keep-secrets': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  const format = values.format ?? 'codecarbon-csv';
  if (format !== 'codecarbon-csv' && format !== 'json')
    throw new UsageError(`--format must be codecarbon-csv or json, not "${format}"`);
  if (values.out !== undefined) checkOutFile('out', values.out);
  const store = openStore(!values['keep-secrets']);
  const { runs, corrupt } = loadHistory(store);
  reportCorrupt(corrupt, store);
  const done = runs.filter((r) => r.status !== 'running');
  const text = format === 'json' ? terminalSafeJson(runsToJson(done)) : runsToCodeCarbonCsv(done, toAlpha3);
  if (values.out) {
    writeWhole(values.out, text);
    warn(`wrote ${done.length} run(s) to ${values.out}`);
  } else {
    // a CSV read on a terminal is read by a person: its cells cannot carry escape sequences there
    process.stdout.write(process.stdout.isTTY ? text.split('\n').map(escapeControl).join('\n') : text);
  }
  return 0;
}

/** Writes the export as a shell's `>` would reach the file, never half-written where it can be replaced whole. */
function writeWhole(file: string, text: string): void {
  try {
    // command lines and paths are private: readable by the user only, like the history itself
    writeUserFile(file, text, { mode: 0o600 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(
      `cannot write ${file}: ${e.code === 'ENOENT' ? 'no such folder' : e.code === 'EISDIR' ? 'it is a folder' : e.code === 'EACCES' ? 'permission denied' : e.message}`,
    );
  }
}
