/** `carbon-meter import`: a CodeCarbon emissions.csv into the history. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseCodeCarbonCsv } from '../core/history/codecarbon';
import { openStore } from './common';

export function importCommand(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length !== 1) {
    process.stdout.write('Usage: carbon-meter import FILE   (a CodeCarbon emissions.csv, 2.x or 3.x)\n');
    return values.help ? 0 : 2;
  }
  const file = positionals[0];
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    process.stderr.write(`carbon-meter: cannot read ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  const { runs, errors } = parseCodeCarbonCsv(text, { fileName: path.basename(file) });
  for (const e of errors) process.stderr.write(`carbon-meter: ${file}:${e.line}: skipped: ${e.reason}\n`);
  const store = openStore();
  const known = new Set(store.load().runs.map((r) => r.id));
  let added = 0;
  for (const run of runs) {
    if (known.has(run.id)) continue;
    store.append(run);
    added++;
  }
  process.stdout.write(`Imported ${added} run(s) from ${file}${runs.length > added ? ` (${runs.length - added} already in the history)` : ''}.\n`);
  return errors.length && !runs.length ? 1 : 0;
}

