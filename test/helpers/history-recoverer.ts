/**
 * Calls recoverInterrupted() on a store once the parent says "go".
 *   node history-recoverer.js <dir>
 * Prints "ready", then "recovered <json array of ids>".
 */
import { HistoryStore } from '../../src/core/history/store';
import { waitForGo } from './stdin-go';

const [dir] = process.argv.slice(2);
const store = new HistoryStore(dir);
process.stdout.write('ready\n');
void waitForGo().then(() => {
  const ids = store.recoverInterrupted().map((r) => r.id);
  process.stdout.write(`recovered ${JSON.stringify(ids)}\n`);
});
