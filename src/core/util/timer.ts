/** A cancellable timer that does not keep the process alive; tests pass their own in its place to hold time. */
export type SetTimer = (fn: () => void, ms: number) => { cancel(): void };

/** The real one: an unref'd setTimeout. */
export const unrefTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return { cancel: () => clearTimeout(t) };
};
