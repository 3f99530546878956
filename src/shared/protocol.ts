/**
 * Every message between the History panel's webview and the extension host, typed, with the runtime checks both sides
 * run on arrival: `parseWebviewMessage` in the host, `parseHostMessage` in the webview. A message that does not pass
 * is logged and ignored by the receiver; nothing it holds is used.
 *
 * Host → webview: full snapshots only (no deltas), answering `ready`, every query and action, and live changes (at
 * most once a second, only while the panel is visible).
 * Webview → host: `ready` (with the UI state the webview kept through `setState`), queries and actions.
 *
 * No `vscode` and no Node here: the webview bundles this module.
 */
import { isSafeRunId, runProblem } from '../core/history/records';
import type { Snapshot } from '../core/advice/snapshot';
import { MAX_FILTER_TEXT, PAGE_SIZES, RUN_SOURCES, RUN_STATUSES, SORT_KEYS, type TableQuery } from '../core/advice/table';

export type { Snapshot, RunDetail } from '../core/advice/snapshot';
export type { TableQuery, RunRow, TablePage, SortKey } from '../core/advice/table';

/** The webview panel's view type (also in package.json: `onWebviewPanel:carbonMeter.history`). */
export const HISTORY_VIEW_TYPE = 'carbonMeter.history';

/** Settings the panel may open. */
export const OPENABLE_SETTINGS = ['carbonMeter.intensity.provider', 'carbonMeter.advice.regions', 'carbonMeter.region'] as const;
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
// checks: each returns undefined when the value is fine, else what is wrong with it (with its path)

type Check = (x: unknown, path: string) => string | undefined;

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const str =
  (max = Infinity): Check =>
  (x, p) =>
    typeof x !== 'string' ? `${p} is not a string` : x.length > max ? `${p} is longer than ${max} characters` : undefined;
const num: Check = (x, p) => (typeof x === 'number' && Number.isFinite(x) ? undefined : `${p} is not a finite number`);
const int: Check = (x, p) => (Number.isInteger(x) ? undefined : `${p} is not an integer`);
const bool: Check = (x, p) => (typeof x === 'boolean' ? undefined : `${p} is not a boolean`);
const oneOf =
  (values: readonly unknown[]): Check =>
  (x, p) =>
    values.includes(x) ? undefined : `${p} is not one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
const optional =
  (c: Check): Check =>
  (x, p) =>
    x === undefined ? undefined : c(x, p);
const nullable =
  (c: Check): Check =>
  (x, p) =>
    x === null ? undefined : c(x, p);
const runId: Check = (x, p) => (isSafeRunId(x) ? undefined : `${p} is not a run id`);

function arrayOf(item: Check, max = Infinity): Check {
  return (x, p) => {
    if (!Array.isArray(x)) return `${p} is not an array`;
    if (x.length > max) return `${p} has more than ${max} items`;
    for (let i = 0; i < x.length; i++) {
      const e = item(x[i], `${p}[${i}]`);
      if (e) return e;
    }
    return undefined;
  };
}

/** An array of finite numbers (fast path for the chart series). */
function numbers(max: number): Check {
  return (x, p) => {
    if (!Array.isArray(x)) return `${p} is not an array`;
    if (x.length > max) return `${p} has more than ${max} items`;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${p}[${i}] is not a finite number`;
    }
    return undefined;
  };
}

function shape(fields: Record<string, Check>): Check {
  return (x, p) => {
    if (!isObj(x)) return `${p} is not an object`;
    for (const [k, c] of Object.entries(fields)) {
      const e = c(x[k], `${p}.${k}`);
      if (e) return e;
    }
    return undefined;
  };
}

function recordOf(keys: readonly string[], value: Check): Check {
  return (x, p) => {
    if (!isObj(x)) return `${p} is not an object`;
    for (const [k, v] of Object.entries(x)) {
      if (!keys.includes(k)) return `${p} has an unknown key ${JSON.stringify(k.slice(0, 40))}`;
      const e = value(v, `${p}.${k}`);
      if (e) return e;
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// the pieces

const queryCheck = shape({
  text: str(MAX_FILTER_TEXT),
  source: oneOf(['all', ...RUN_SOURCES]),
  status: oneOf(['all', ...RUN_STATUSES]),
  sort: oneOf(SORT_KEYS),
  dir: oneOf(['asc', 'desc']),
  page: (x, p) => int(x, p) ?? ((x as number) < 0 ? `${p} is negative` : undefined),
  pageSize: oneOf(PAGE_SIZES),
});

const uiStateCheck = shape({ query: queryCheck, openRunId: optional(runId) });

/** What the panel shows of a run, beyond what the history store already requires (runProblem). */
const runExtras = shape({
  endedAt: optional(str()),
  exitCode: optional(nullable(num)),
  peakRamGB: optional(num),
  pueSource: optional(str()),
  meterVersion: optional(str()),
  host: optional(str()),
  sampleCount: optional(num),
  intensity: shape({
    regionName: optional(str()),
    regionReason: optional(str()),
    fallback: optional(str()),
    year: optional(num),
    guessed: optional(bool),
    factorType: optional(str()),
  }),
  power: shape({
    cpu: shape({ unavailableReason: optional(str()), tdpW: optional(num), wPerGB: optional(num) }),
    gpu: shape({ unavailableReason: optional(str()), tdpW: optional(num), wPerGB: optional(num), source: optional(str()), shareRule: optional(str()) }),
    ram: shape({ unavailableReason: optional(str()), tdpW: optional(num), wPerGB: optional(num) }),
  }),
  hardware: shape({
    gpus: arrayOf(shape({ index: num, name: str(), memoryMB: optional(num), uuid: optional(str()) }), 1024),
    os: optional(str()),
    hostname: optional(str()),
  }),
});

const runCheck: Check = (x, p) => {
  const problem = runProblem(x);
  if (problem) return `${p}: ${problem}`;
  return runExtras(x, p);
};

const MAX_POINTS = 2000;
const powerCheck: Check = (x, p) => {
  const e = shape({
    t0: num,
    t: numbers(MAX_POINTS),
    cpuW: numbers(MAX_POINTS),
    gpuW: numbers(MAX_POINTS),
    ramW: numbers(MAX_POINTS),
    co2Kg: numbers(MAX_POINTS),
    gPerKWh: optional(numbers(MAX_POINTS)),
    sampleCount: num,
  })(x, p);
  if (e) return e;
  const s = x as Record<string, unknown[]>;
  const n = s.t.length;
  for (const k of ['cpuW', 'gpuW', 'ramW', 'co2Kg', ...(s.gPerKWh ? ['gPerKWh'] : [])]) {
    if (s[k].length !== n) return `${p}.${k} has ${s[k].length} points where t has ${n}`;
  }
  return undefined;
};

const tipCheck = shape({
  code: str(200),
  name: str(400),
  kind: oneOf(['country', 'cloud']),
  emissionsKg: num,
  change: optional(num),
  intensityGPerKWh: num,
  pue: num,
  pueSource: str(),
  source: str(),
  year: optional(num),
});

const adviceCheck = shape({
  energyKWh: num,
  actualKg: num,
  ownPue: num,
  region: optional(str()),
  groups: arrayOf(shape({ key: oneOf(['countries', 'cloud', 'yours', 'near', 'providers']), tips: arrayOf(tipCheck, 100), compared: num }), 3),
  best: optional(shape({ regionGPerKWh: num, tip: tipCheck })),
  configured: arrayOf(str(), 1000),
  problems: arrayOf(str(), 1000),
  basis: oneOf(['annual-average']),
});

const timeCheck: Check = (x, p) => {
  if (!isObj(x)) return `${p} is not an object`;
  switch (x.kind) {
    case 'needs-live-source':
    case 'pending':
      return shape({ settingKey: str(200) })(x, p);
    case 'no-forecast':
      return shape({ settingKey: str(200), minGPerKWh: num, maxGPerKWh: num })(x, p);
    case 'unavailable':
      return shape({ settingKey: str(200), reason: str(2000) })(x, p);
    case 'forecast':
      return shape({
        settingKey: str(200),
        startMs: num,
        startsNow: bool,
        savingFraction: num,
        savingKg: num,
        horizonH: num,
        pause: optional(shape({ thresholdGPerKWh: num, savingFraction: num, finishMs: num })),
        factorType: oneOf(['average', 'marginal']),
        source: str(400),
      })(x, p);
    default:
      return `${p}.kind is not a known kind`;
  }
};

const detailCheck = shape({
  run: runCheck,
  power: nullable(powerCheck),
  advice: adviceCheck,
  time: timeCheck,
  carKm: num,
  smartphoneCharges: num,
  canRerun: bool,
  canDelete: bool,
});

const rowCheck = shape({
  id: runId,
  name: str(),
  command: str(),
  startedAt: num,
  durationS: num,
  energyKWh: num,
  emissionsKg: num,
  region: str(),
  status: oneOf(RUN_STATUSES),
  source: oneOf(RUN_SOURCES),
  exitCode: optional(nullable(num)),
  guessed: optional(bool),
});

const totalsCheck = shape({
  period: oneOf(['today', 'week', 'month', 'all']),
  fromMs: optional(num),
  runs: num,
  running: num,
  emissionsKg: num,
  energyKWh: num,
  carKm: num,
  smartphoneCharges: num,
});

const equivalentCheck = shape({ unit: str(), source: str(), url: str(), year: num });

const chartCheck: Check = (x, p) => {
  const e = shape({
    series: arrayOf(
      shape({
        source: oneOf(RUN_SOURCES),
        t: numbers(MAX_POINTS),
        kg: numbers(MAX_POINTS),
        id: arrayOf(runId, MAX_POINTS),
        name: arrayOf(str(200), MAX_POINTS),
        count: num,
      }),
      RUN_SOURCES.length,
    ),
    shown: num,
    total: num,
    zero: num,
  })(x, p);
  if (e) return e;
  const series = (x as { series: { t: unknown[]; kg: unknown[]; id: unknown[]; name: unknown[] }[] }).series;
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    if (s.kg.length !== s.t.length || s.id.length !== s.t.length || s.name.length !== s.t.length) return `${p}.series[${i}] has series of different lengths`;
  }
  return undefined;
};

const tableCheck = shape({
  query: queryCheck,
  rows: arrayOf(rowCheck, Math.max(...PAGE_SIZES)),
  matched: num,
  total: num,
  pageCount: num,
  facets: shape({ source: recordOf(RUN_SOURCES, num), status: recordOf(RUN_STATUSES, num) }),
});

const snapshotCheck = shape({
  generatedAt: num,
  historyDir: str(),
  corrupt: num,
  runCount: num,
  running: num,
  totals: arrayOf(totalsCheck, 4),
  equivalents: shape({ carKm: equivalentCheck, smartphoneCharge: equivalentCheck }),
  totalsAdvice: adviceCheck,
  chart: chartCheck,
  table: tableCheck,
  detail: nullable(detailCheck),
  missingRunId: nullable(str(200)),
});

// ---------------------------------------------------------------------------------------------------------------
// the two entry points

/** A message from the webview, checked; a string says why it is not one. */
export function parseWebviewMessage(x: unknown): WebviewMessage | string {
  if (!isObj(x)) return 'message is not an object';
  const withId = (): string | undefined => runId(x.id, 'id');
  let problem: string | undefined;
  switch (x.type) {
    case 'ready':
      problem = optional(uiStateCheck)(x.state, 'state');
      break;
    case 'query':
      problem = queryCheck(x.query, 'query');
      break;
    case 'openRun':
    case 'rerun':
    case 'copyCsv':
    case 'deleteRun':
    case 'openReport':
      problem = withId();
      break;
    case 'closeRun':
    case 'import':
      break;
    case 'export':
      problem = oneOf(['csv', 'json'])(x.format, 'format');
      break;
    case 'openSettings':
      problem = oneOf(OPENABLE_SETTINGS)(x.key, 'key');
      break;
    case 'log':
      problem = oneOf(['info', 'warn', 'error'])(x.level, 'level') ?? str(MAX_LOG_CHARS)(x.message, 'message');
      break;
    default:
      return `unknown message type ${JSON.stringify(typeof x.type === 'string' ? x.type.slice(0, 40) : x.type)}`;
  }
  return problem ? `${String(x.type)} message: ${problem}` : (x as unknown as WebviewMessage);
}

/** A message from the extension host, checked; a string says why it is not one. */
export function parseHostMessage(x: unknown): HostMessage | string {
  if (!isObj(x)) return 'message is not an object';
  if (x.type !== 'snapshot') return `unknown message type ${JSON.stringify(typeof x.type === 'string' ? x.type.slice(0, 40) : x.type)}`;
  const problem = int(x.seq, 'seq') ?? snapshotCheck(x.snapshot, 'snapshot');
  return problem ? `snapshot message: ${problem}` : (x as unknown as HostMessage);
}
