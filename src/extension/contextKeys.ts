/**
 * Context keys for `when` clauses (package.json's commandPalette menu): commands that only act on something show only
 * while there is something. `carbonMeter.metering`: runs are metered in this window; `carbonMeter.hasScheduledRuns`:
 * a run is scheduled for a greener hour in this window.
 */
import * as vscode from 'vscode';
import { CONTEXT_KEYS } from './commandIds';
import type { MeterService } from './meterService';

export const METERING_KEY = CONTEXT_KEYS.metering;
export const SCHEDULED_KEY = CONTEXT_KEYS.hasScheduledRuns;

/** Sets a context key only when its value changes (each set is a message to the workbench). */
export class ContextKey {
  private value?: boolean;
  constructor(private readonly key: string) {}
  set(value: boolean): void {
    if (value === this.value) return;
    this.value = value;
    void vscode.commands.executeCommand('setContext', this.key, value);
  }
}

export function registerMeteringContext(service: MeterService): vscode.Disposable {
  const key = new ContextKey(METERING_KEY);
  key.set(false);
  const update = () => key.set(service.active().length > 0);
  const started = service.onRunStarted(update);
  const finished = service.onRunFinished(update);
  return { dispose: () => (started.dispose(), finished.dispose()) };
}
