/** `carbon-meter history`: the metered runs, newest first. */
import { escapeControl, formatCo2, formatDuration, formatEnergy, terminalSafeJson } from '../core/format';
import { displayWidth, padEndColumns, truncateColumns } from '../core/textWidth';
import { runOutcome } from '../core/view/labels';
import { loadHistory, numberOption, openStore, parseOptions, printLines, reportCorrupt } from './common';

export const HISTORY_HELP = `Usage: carbon-meter history [--json] [--limit N]

Lists metered runs, newest first: a table (the 20 newest unless --limit) or, with --json, one JSON array of the run
records (all of them unless --limit). Status: completed (exit 0), failed (another exit code), stopped (by its carbon
budget, killed with SIGKILL after a signal it did not stop on, or ended on a closed pipe when the reader of its
output went away, as with '| head': its notes say which), interrupted (its metering ended without a record:
recovered up to its last checkpoint), running. As in the VS Code panel, a command the user ended shows as
interrupted (Ctrl-C, exit 130) or stopped (SIGTERM, exit 143) rather than failed; --json keeps the stored status and
exit code. The history is in $CARBON_METER_HOME (see 'carbon-meter --help'), shared with the VS Code extension.

Options:
  --json      one JSON array of run records on stdout
  --limit N   show at most N runs (a whole number from 1)
`;

export function historyCommand(args: string[]): number {
  const { values } = parseOptions(args, {
    json: { type: 'boolean' },
    limit: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HISTORY_HELP);
    return 0;
  }
  const limit = numberOption(values.limit, 'limit', 1, Infinity, { integer: true }) ?? (values.json ? Infinity : 20);
  const store = openStore();
  const { runs, corrupt } = loadHistory(store);
  reportCorrupt(corrupt, store);
  const shown = runs.slice(0, limit);
  if (values.json) {
    process.stdout.write(terminalSafeJson(JSON.stringify(shown)) + '\n');
    return 0;
  }
  if (!runs.length) {
    printLines([`No runs yet in ${store.dir}. Try: carbon-meter run -- python train.py`]);
    return 0;
  }
  // every cell is escaped before it is measured, so a newline or an escape sequence in a name cannot split a row
  // or move the cursor; cells are measured in terminal columns (a CJK character or an emoji takes two)
  const rows = shown.map((r) =>
    [
      r.startedAt.replace('T', ' ').slice(0, 19),
      truncateColumns(escapeControl(r.name), 28),
      r.source,
      runOutcome(r.status, r.exitCode),
      formatDuration(r.durationS),
      formatEnergy(r.energyKWh.total),
      formatCo2(r.emissionsKg),
      r.intensity.region,
    ].map((cell) => escapeControl(String(cell))),
  );
  const head = ['started (UTC)', 'name', 'source', 'status', 'duration', 'energy', 'CO₂eq', 'region'];
  const widths = head.map((h, c) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[c]))));
  const fmt = (r: string[]) =>
    r
      .map((v, c) => padEndColumns(v, widths[c]))
      .join('  ')
      .trimEnd();
  const lines = [fmt(head), ...rows.map(fmt)];
  if (runs.length > shown.length) lines.push(`(${runs.length - shown.length} older runs; --limit N to show more)`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
