/** `carbon-meter history`: the metered runs, newest first. */
import { parseArgs } from 'node:util';
import { formatCo2, formatDuration, formatEnergy } from '../core/format';
import { numberOption, openStore, reportCorrupt } from './common';

export function historyCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: carbon-meter history [--json] [--limit N]\n');
    return 0;
  }
  const limit = numberOption(values.limit, 'limit', 1) ?? (values.json ? Infinity : 20);
  const store = openStore();
  const { runs, corrupt } = store.load();
  reportCorrupt(corrupt, store);
  const shown = runs.slice(0, limit);
  if (values.json) {
    process.stdout.write(JSON.stringify(shown) + '\n');
    return 0;
  }
  if (!runs.length) {
    process.stdout.write(`No runs yet in ${store.dir}. Try: carbon-meter run -- python train.py\n`);
    return 0;
  }
  const rows = shown.map((r) => [
    r.startedAt.replace('T', ' ').slice(0, 19),
    r.name.slice(0, 28),
    r.source,
    r.status,
    formatDuration(r.durationS),
    formatEnergy(r.energyKWh.total),
    formatCo2(r.emissionsKg),
    r.intensity.region,
  ]);
  const head = ['started (UTC)', 'name', 'source', 'status', 'duration', 'energy', 'CO₂eq', 'region'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (r: string[]) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd();
  process.stdout.write([fmt(head), ...rows.map(fmt)].join('\n') + '\n');
  if (runs.length > shown.length) process.stdout.write(`(${runs.length - shown.length} older runs; --limit N to show more)\n`);
  return 0;
}

