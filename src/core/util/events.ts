/** A minimal typed event, shaped like VS Code's `Event<T>` so adapters can forward it as is. */
export interface Disposable {
  dispose(): void;
}

export type Listener<T> = (value: T) => void;

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
        console.error('[carbon-meter] listener failed:', err);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
