/** `carbon-meter export`: the history as CodeCarbon emissions.csv or JSON. */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { runsToCodeCarbonCsv, runsToJson } from '../core/history/codecarbon';
import { resolveRegion } from '../core/intensity/regions';
import { openStore, reportCorrupt, UsageError } from './common';

export function exportCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: carbon-meter export --format codecarbon-csv|json [--out FILE]\n');
    return 0;
  }
  const format = values.format ?? 'codecarbon-csv';
  if (format !== 'codecarbon-csv' && format !== 'json') throw new UsageError(`--format must be codecarbon-csv or json, not "${format}"`);
  const store = openStore();
  const { runs, corrupt } = store.load();
  reportCorrupt(corrupt, store);
  const done = runs.filter((r) => r.status !== 'running');
  const text = format === 'json' ? runsToJson(done) : runsToCodeCarbonCsv(done, toAlpha3);
  if (values.out) {
    fs.writeFileSync(values.out, text);
    process.stderr.write(`carbon-meter: wrote ${done.length} run(s) to ${values.out}\n`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}

function toAlpha3(code: string): string | undefined {
  try {
    return resolveRegion(code).countryAlpha3;
  } catch {
    return undefined;
  }
}

