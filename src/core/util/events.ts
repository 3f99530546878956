/** A minimal typed event, shaped like VS Code's `Event<T>` so adapters can forward it as is. */
import { errorDetail } from '../errors';

export interface Disposable {
  dispose(): void;
}

export type Listener<T> = (value: T) => void;

/** Where a failing listener is reported: the extension's log (set at activation), the CLI's stderr by default. */
let reportListenerError: (err: unknown) => void = (err) =>
  process.stderr.write(`[carbon-meter] listener failed: ${errorDetail(err)}\n`);

/** Sends every listener failure to `report` (the extension's log) instead of stderr. */
export function setListenerErrorReporter(report: (err: unknown) => void): void {
  reportListenerError = report;
}

export class Emitter<T> {
  private listeners = new Set<Listener<T>>();

  /** Subscribe; the returned object unsubscribes. */
  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (err) {
        // a failing subscriber must not stop metering or the other subscribers
        reportListenerError(err);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
