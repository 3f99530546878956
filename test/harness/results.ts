/**
 * What the extension-host test wrapper (exthostMocha.ts) and the runners
 * (codeServer.ts runExtensionHostTests, runExthost.ts, runElectron.ts) share:
 * the environment variables and the completion record. No dependencies, so it
 * loads inside the extension host too.
 */
import * as fs from 'fs';

/** Path of the JSON completion record (TestRunRecord) written by run(). */
export const ENV_TEST_RESULT = 'CARBON_METER_TEST_RESULT';
/** Path of the file run() copies the mocha reporter's output to. */
export const ENV_TEST_OUTPUT = 'CARBON_METER_TEST_OUTPUT';

/** Written by exthostMocha.ts to $CARBON_METER_TEST_RESULT: "started", then "done" or "error". */
export interface TestRunRecord {
  state: 'started' | 'done' | 'error';
  pid?: number;
  files?: number;
  tests?: number;
  passes?: number;
  failures?: number;
  pending?: number;
  durationMs?: number;
  error?: string;
}

export function readRecord(file: string): TestRunRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!text) return undefined;
  try {
    return JSON.parse(text) as TestRunRecord;
  } catch {
    return { state: 'error', error: `unreadable result file: ${text.slice(0, 200)}` };
  }
}

/**
 * The closing line `exthost: N passed, N failed` (a plain line CI can read).
 * A run that failed without a finished record counts as one failure.
 */
export function summaryLine(record: TestRunRecord | undefined, exitCode: number): string {
  const done = record?.state === 'done';
  const passed = done ? (record.passes ?? 0) : 0;
  let failed = done ? (record.failures ?? 0) : 0;
  if (exitCode !== 0 && failed === 0) failed = 1;
  return `exthost: ${passed} passed, ${failed} failed`;
}
