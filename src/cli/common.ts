/** What every subcommand shares: usage errors, number options, the history store, corrupt-line reports. */
import { HistoryStore } from '../core/history/store';

/** A mistake in the command line: printed as one line with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export function openStore(): HistoryStore {
  const store = new HistoryStore(process.env.CARBON_METER_HOME || HistoryStore.defaultDir());
  try {
    const recovered = store.recoverInterrupted();
    for (const r of recovered) {
      process.stderr.write(`carbon-meter: recovered interrupted run ${r.name} (${r.id}) up to its last checkpoint\n`);
    }
  } catch (err) {
    process.stderr.write(`carbon-meter: could not check for interrupted runs: ${(err as Error).message}\n`);
  }
  return store;
}

export function numberOption(value: string | undefined, name: string, min: number, max = Infinity): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min}${max < Infinity ? ` to ${max}` : ''}, not "${value}"`);
  return n;
}

export function reportCorrupt(corrupt: { line: number; reason: string }[], store: HistoryStore): void {
  if (!corrupt.length) return;
  process.stderr.write(
    `carbon-meter: skipped ${corrupt.length} unreadable line(s) in ${store.historyPath}: ${corrupt
      .slice(0, 3)
      .map((c) => `line ${c.line} (${c.reason})`)
      .join(', ')}${corrupt.length > 3 ? ', …' : ''}\n`,
  );
}

