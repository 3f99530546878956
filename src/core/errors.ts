/**
 * One way to turn a thrown value into text. `catch (err)` gives `unknown`: an Error, but also a string, an object
 * from a rejected promise, or `undefined`. No Node and no `vscode` here: the webview bundles this module too.
 */

/** What went wrong, in one line for a message: an Error's message, else the value as text. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

/** What went wrong, with the stack where there is one: for logs, never for a notification. */
export function errorDetail(err: unknown): string {
  if (err instanceof Error && err.stack) return err.stack;
  return errorMessage(err);
}
