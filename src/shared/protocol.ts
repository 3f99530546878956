/**
 * Every message between the History panel's webview and the extension host, typed, with the runtime checks both sides
 * run on arrival: `parseWebviewMessage` in the host, `parseHostMessage` in the webview. A message that does not pass
 * is logged and ignored by the receiver; nothing it holds is used.
 *
 * Host → webview: full snapshots only (no deltas), answering `ready`, every query and action, and live changes (at
 * most once a second, only while the panel is visible).
 * Webview → host: `ready` (with the UI state the webview kept through `setState`), queries and actions.
 *
 * The checks are built in ./checks.ts (combinators) and ./snapshotChecks.ts (the snapshot's pieces). No `vscode` and
 * no Node here: the webview bundles these modules.
 */
import type { Snapshot } from '../core/view/snapshot';
import type { TableQuery } from '../core/view/table';
import { isObject as isObj } from '../core/util/isObject';
import { int, oneOf, optional, runId, shape, str, type Check, type TaggedChecks } from './checks';
import { queryCheck, snapshotCheck } from './snapshotChecks';

export type { Snapshot, RunDetail } from '../core/view/snapshot';
export type { TableQuery, RunRow, TablePage, SortKey } from '../core/view/table';

/** The webview panel's view type (also in package.json: `onWebviewPanel:carbonMeter.history`). */
export const HISTORY_VIEW_TYPE = 'carbonMeter.history';

/** Settings the panel may open. */
export const OPENABLE_SETTINGS = [
  'carbonMeter.intensity.provider',
  'carbonMeter.advice.regions',
  'carbonMeter.region',
] as const;
export type OpenableSetting = (typeof OPENABLE_SETTINGS)[number];

/** UI state the webview keeps with `setState` (and hands back in `ready` after a reload). */
export interface UiState {
  query: TableQuery;
  openRunId?: string;
}

export type WebviewMessage =
  | { type: 'ready'; state?: UiState }
  | { type: 'query'; query: TableQuery }
  | { type: 'openRun'; id: string }
  | { type: 'closeRun' }
  | { type: 'rerun'; id: string }
  /** run the run's recorded command (in its folder) again at the greenest start of the forecast */
  | { type: 'runAt'; id: string }
  | { type: 'copyCsv'; id: string }
  | { type: 'deleteRun'; id: string }
  | { type: 'openReport'; id: string }
  | { type: 'export'; format: 'csv' | 'json' }
  | { type: 'import' }
  | { type: 'openSettings'; key: OpenableSetting }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type HostMessage = { type: 'snapshot'; seq: number; snapshot: Snapshot };

/** Longest text a webview `log` message may carry. */
export const MAX_LOG_CHARS = 2000;

// ---------------------------------------------------------------------------------------------------------------
// the two entry points

const uiStateCheck = shape<UiState>({ query: queryCheck, openRunId: optional(runId) });

/** Every webview → host message type, with the checks of its fields (a new type or field must be added here). */
const WEBVIEW_MESSAGES: TaggedChecks<WebviewMessage, 'type'> = {
  ready: { state: optional(uiStateCheck) },
  query: { query: queryCheck },
  openRun: { id: runId },
  closeRun: {},
  rerun: { id: runId },
  runAt: { id: runId },
  copyCsv: { id: runId },
  deleteRun: { id: runId },
  openReport: { id: runId },
  export: { format: oneOf(['csv', 'json']) },
  import: {},
  openSettings: { key: oneOf(OPENABLE_SETTINGS) },
  log: { level: oneOf(['info', 'warn', 'error']), message: str(MAX_LOG_CHARS) },
};

/** Every host → webview message type, with the checks of its fields. */
const HOST_MESSAGES: TaggedChecks<HostMessage, 'type'> = {
  snapshot: { seq: int, snapshot: snapshotCheck },
};

/** `x` as one of the messages of `table` (by its `type`), or why it is not one. Field paths start at the message. */
function parseMessage<M>(x: unknown, table: Readonly<Record<string, Readonly<Record<string, Check>>>>): M | string {
  if (!isObj(x)) return 'message is not an object';
  const fields = typeof x.type === 'string' && Object.hasOwn(table, x.type) ? table[x.type] : undefined;
  if (!fields)
    return `unknown message type ${JSON.stringify(typeof x.type === 'string' ? x.type.slice(0, 40) : x.type)}`;
  for (const [k, check] of Object.entries(fields)) {
    const problem = check(x[k], k);
    if (problem) return `${String(x.type)} message: ${problem}`;
  }
  return x as unknown as M;
}

/** A message from the webview, checked; a string says why it is not one. */
export function parseWebviewMessage(x: unknown): WebviewMessage | string {
  return parseMessage<WebviewMessage>(x, WEBVIEW_MESSAGES);
}

/** A message from the extension host, checked; a string says why it is not one. */
export function parseHostMessage(x: unknown): HostMessage | string {
  return parseMessage<HostMessage>(x, HOST_MESSAGES);
}
