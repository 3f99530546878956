/**
 * The webview's strings, translated like `vscode.l10n.t`: the host puts `vscode.l10n.bundle` (the translations of the
 * extension's strings for VS Code's language) in the page as inert JSON; a message is its own key; `{0}` are arguments.
 */
import type { Translate } from '../core/advice/text';

let bundle: Record<string, string> = {};

export function loadBundle(): void {
  const el = document.getElementById('cm-l10n');
  try {
    const x: unknown = JSON.parse(el?.textContent || '{}');
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      bundle = Object.fromEntries(Object.entries(x).filter((e): e is [string, string] => typeof e[1] === 'string'));
    }
  } catch {
    bundle = {};
  }
}

export const t: Translate = (message, ...args) =>
  (bundle[message] ?? message).replace(/\{(\d+)\}/g, (m, i: string) =>
    args[Number(i)] !== undefined ? String(args[Number(i)]) : m,
  );
