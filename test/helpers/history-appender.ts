/**
 * Appends many runs with large lines to a store once the parent says "go".
 *   node history-appender.js <dir> <count> <writer>
 * Each run carries a padding note of 2–4 KB derived from its id, so the reader can check it arrived whole.
 * Prints "ready", then "done <count>".
 */
import { HistoryStore } from '../../src/core/history/store';
import { makeRun } from './history-runs';
import { padFor } from './history-pad';
import { waitForGo } from './stdin-go';

const [dir, countArg, writer] = process.argv.slice(2);
const count = Number(countArg);
const store = new HistoryStore(dir);
process.stdout.write('ready\n');
void waitForGo().then(() => {
  for (let i = 0; i < count; i++) {
    const run = makeRun({ name: `writer-${writer} run ${i}` });
    run.notes = [padFor(run.id)];
    store.append(run);
  }
  process.stdout.write(`done ${count}\n`);
});
