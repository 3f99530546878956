/**
 * The History panel's browser code (bundled by scripts/build.mjs into dist/webview.js, an IIFE).
 *
 * It says `ready` with the UI state it kept (`setState`), then renders every snapshot the host sends. Messages are
 * checked on arrival (src/shared/protocol.ts); a malformed one is logged (here and in the extension's log) and
 * ignored. Everything from a run is rendered as text.
 */
import { DEFAULT_QUERY, normaliseQuery } from '../core/view/table';
import { isSafeRunId } from '../core/history/records';
import { parseHostMessage, type UiState, type WebviewMessage } from '../shared/protocol';
import { App } from './app';
import { loadBundle } from './l10n';
import { errorDetail } from '../core/errors';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: UiState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (m: WebviewMessage) => vscode.postMessage(m);

function log(level: 'info' | 'warn' | 'error', message: string): void {
  if (level === 'error') console.error(`[carbon-meter] ${message}`);
  else console.warn(`[carbon-meter] ${message}`);
  post({ type: 'log', level, message: message.slice(0, 2000) });
}

/** The kept UI state, if it is still a valid one (an older version may have kept something else). */
function keptState(): UiState {
  const s = vscode.getState() as Partial<UiState> | undefined;
  const query = normaliseQuery(s && typeof s === 'object' ? s.query : undefined);
  const openRunId = s && isSafeRunId(s.openRunId) ? s.openRunId : undefined;
  return openRunId ? { query, openRunId } : { query };
}

let cspViolations = 0;
document.addEventListener('securitypolicyviolation', (e) => {
  cspViolations++;
  document.body.dataset.cspViolations = String(cspViolations);
  log('warn', `Content Security Policy blocked ${e.blockedURI || 'an inline resource'} (${e.violatedDirective})`);
});
window.addEventListener('error', (e) => log('error', `${e.message} (${e.filename}:${e.lineno})`));
window.addEventListener('unhandledrejection', (e) => log('error', `unhandled rejection: ${String(e.reason)}`));

loadBundle();
const root = document.getElementById('app');
if (!root) throw new Error('the panel has no #app element');
const state = keptState();
const app = new App(root, post, (s) => vscode.setState(s), state.query ?? { ...DEFAULT_QUERY }, state.openRunId);

let lastSeq = -1;
window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const msg = parseHostMessage(e.data);
  if (typeof msg === 'string') {
    document.body.dataset.rejected = String(Number(document.body.dataset.rejected ?? 0) + 1);
    log('warn', `ignored a malformed message from the extension: ${msg}`);
    return;
  }
  if (msg.seq <= lastSeq) return; // an older snapshot overtaken by a newer one
  lastSeq = msg.seq;
  try {
    app.render(msg.snapshot);
  } catch (err) {
    log('error', `could not render the snapshot: ${errorDetail(err)}`);
  }
});

post({ type: 'ready', state });
