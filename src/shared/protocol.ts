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
import type { RunsChart, RunsChartSeries, PowerSeries } from '../core/view/series';
import type { RunDetail, Snapshot } from '../core/view/snapshot';
import {
  MAX_FILTER_TEXT,
  PAGE_SIZES,
  RUN_SOURCES,
  RUN_STATUSES,
  SORT_KEYS,
  type RunRow,
  type TablePage,
  type TableQuery,
} from '../core/view/table';
import type { RegionAdvice, RegionTip, TimeAdvice, TipGroup } from '../core/advice/tips';
import type { EquivalentSource, PeriodTotals } from '../core/view/totals';
import type {
  ComponentPower,
  GpuInfo,
  Hardware,
  NotebookCellFootprint,
  Run,
  RunIntensity,
  RunPower,
} from '../core/types';
import { MAX_CELLS, MAX_FIRST_LINE } from '../core/notebook/cells';
import { isObject as isObj } from '../core/util/isObject';

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
// checks: each returns undefined when the value is fine, else what is wrong with it (with its path)

type Check = (x: unknown, path: string) => string | undefined;

const str =
  (max = Infinity): Check =>
  (x, p) =>
    typeof x !== 'string'
      ? `${p} is not a string`
      : x.length > max
        ? `${p} is longer than ${max} characters`
        : undefined;
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

/**
 * One check per field of T, every field required (optional ones take `optional(...)`): a field added to T without a
 * check here fails to compile, and so does a check for a field T does not have.
 */
type Checks<T> = { readonly [K in keyof T]-?: Check };

/** An object whose fields pass their checks. T is always given: `shape<TableQuery>({...})`. */
function shape<T>(fields: Checks<NoInfer<T>>): Check {
  const entries = Object.entries<Check>(fields);
  return (x, p) => {
    if (!isObj(x)) return `${p} is not an object`;
    for (const [k, c] of entries) {
      const e = c(x[k], `${p}.${k}`);
      if (e) return e;
    }
    return undefined;
  };
}

/**
 * A tagged union: one set of field checks per tag value, every tag required (a new message type or advice kind
 * without its checks fails to compile).
 */
type TaggedChecks<U, Tag extends keyof U> = {
  readonly [V in U[Tag] & PropertyKey]: Checks<Omit<Extract<U, Record<Tag, V>>, Tag>>;
};

function tagged<U, Tag extends keyof U & string>(tag: Tag, variants: TaggedChecks<NoInfer<U>, Tag>): Check {
  const byTag = new Map<unknown, Check>(
    Object.entries<Checks<unknown>>(variants).map(([v, fields]) => [v, shape<unknown>(fields)]),
  );
  return (x, p) => {
    if (!isObj(x)) return `${p} is not an object`;
    const check = typeof x[tag] === 'string' ? byTag.get(x[tag]) : undefined;
    if (!check) return `${p}.${tag} is not a known ${tag}`;
    return check(x, p);
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

const queryCheck = shape<TableQuery>({
  text: str(MAX_FILTER_TEXT),
  source: oneOf(['all', ...RUN_SOURCES]),
  status: oneOf(['all', ...RUN_STATUSES]),
  sort: oneOf(SORT_KEYS),
  dir: oneOf(['asc', 'desc']),
  page: (x, p) => int(x, p) ?? ((x as number) < 0 ? `${p} is negative` : undefined),
  pageSize: oneOf(PAGE_SIZES),
});

const uiStateCheck = shape<UiState>({ query: queryCheck, openRunId: optional(runId) });

/**
 * What the history store already requires of a run (core/history/records.ts `runProblem`); the panel checks the rest
 * (runExtras). A field added to Run must be checked in one of the two places.
 */
type CheckedByStore =
  | 'id'
  | 'name'
  | 'command'
  | 'cwd'
  | 'source'
  | 'startedAt'
  | 'status'
  | 'durationS'
  | 'cpuSeconds'
  | 'emissionsKg'
  | 'pue'
  | 'energyKWh'
  | 'notes';
const componentExtras = shape<Omit<ComponentPower, 'method' | 'detail' | 'meanW' | 'lastW'>>({
  unavailableReason: optional(str()),
  tdpW: optional(num),
  wPerGB: optional(num),
  source: optional(str()),
  shareRule: optional(str()),
});

/** The record keeps at most this many forecasts (core/forecast). */
const MAX_FORECASTS = 1000;

/** What the panel shows of a run, beyond what the history store already requires (runProblem). */
const runExtras = shape<Omit<Run, CheckedByStore>>({
  endedAt: optional(str()),
  exitCode: optional(nullable(num)),
  peakRamGB: optional(num),
  pueSource: optional(str()),
  meterVersion: optional(str()),
  host: optional(str()),
  sampleCount: optional(num),
  pid: optional(int),
  intensity: shape<Omit<RunIntensity, 'gPerKWh' | 'region' | 'source' | 'method'>>({
    regionName: optional(str()),
    regionReason: optional(str()),
    fallback: optional(str()),
    year: optional(num),
    guessed: optional(bool),
    factorType: optional(oneOf(['average', 'marginal'])),
  }),
  power: shape<RunPower>({ cpu: componentExtras, gpu: componentExtras, ram: componentExtras }),
  hardware: shape<Omit<Hardware, 'cpuModel' | 'logicalCpus' | 'ramGB'>>({
    gpus: arrayOf(shape<GpuInfo>({ index: num, name: str(), memoryMB: optional(num), uuid: optional(str()) }), 1024),
    sockets: optional(num),
    os: optional(str()),
    hostname: optional(str()),
  }),
  forecasts: optional(
    arrayOf(
      shape<NonNullable<Run['forecasts']>[number]>({ t: num, progress: num, predictedKWh: num, predictedKg: num }),
      MAX_FORECASTS,
    ),
  ),
  budget: optional(
    shape<NonNullable<Run['budget']>>({
      limitG: num,
      perRunG: optional(num),
      monthlyKg: optional(num),
      monthUsedKg: optional(num),
      onBudget: oneOf(['warn', 'stop']),
      forecastOverAt: optional(str()),
      forecastG: optional(num),
      reachedAt: optional(str()),
    }),
  ),
  stoppedBy: optional(oneOf(['budget'])),
  cells: optional(
    arrayOf(
      shape<NotebookCellFootprint>({
        index: int,
        firstLine: str(MAX_FIRST_LINE),
        startedAt: str(40),
        durationS: num,
        energyKWh: num,
        emissionsKg: num,
        cpuSeconds: num,
        method: oneOf(['measured', 'modelled', 'default']),
        success: optional(bool),
      }),
      MAX_CELLS,
    ),
  ),
  schedule: optional(
    shape<NonNullable<Run['schedule']>>({
      wait: optional(
        shape<NonNullable<NonNullable<Run['schedule']>['wait']>>({
          withinH: num,
          requestedAt: str(),
          plannedStart: str(),
          waitedS: num,
          nowMeanGPerKWh: num,
          plannedMeanGPerKWh: num,
          expectedSavingFraction: num,
          assumedDurationS: num,
          assumedFrom: str(),
          source: str(),
        }),
      ),
      startedNowReason: optional(str()),
      pause: optional(
        shape<NonNullable<NonNullable<Run['schedule']>['pause']>>({
          thresholdGPerKWh: num,
          maxDelayS: num,
          pausedS: num,
          pauses: num,
          avoidedMeanGPerKWh: optional(num),
          runningMeanGPerKWh: optional(num),
          estimatedSavingKg: optional(num),
          delayExhausted: optional(bool),
          source: str(),
        }),
      ),
    }),
  ),
});

const runCheck: Check = (x, p) => {
  const problem = runProblem(x);
  if (problem) return `${p}: ${problem}`;
  return runExtras(x, p);
};

const MAX_POINTS = 2000;
const powerCheck: Check = (x, p) => {
  const e = shape<PowerSeries>({
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

const tipCheck = shape<RegionTip>({
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

const adviceCheck = shape<RegionAdvice>({
  energyKWh: num,
  actualKg: num,
  ownPue: num,
  region: optional(str()),
  groups: arrayOf(
    shape<TipGroup>({
      key: oneOf(['countries', 'cloud', 'yours', 'near', 'providers']),
      tips: arrayOf(tipCheck, 100),
      compared: num,
    }),
    3,
  ),
  best: optional(shape({ regionGPerKWh: num, tip: tipCheck })),
  configured: arrayOf(str(), 1000),
  problems: arrayOf(str(), 1000),
  basis: oneOf(['annual-average']),
});

const timeCheck = tagged<TimeAdvice, 'kind'>('kind', {
  'needs-live-source': { settingKey: str(200) },
  pending: { settingKey: str(200) },
  'no-forecast': { settingKey: str(200), minGPerKWh: num, maxGPerKWh: num },
  unavailable: { settingKey: str(200), reason: str(2000) },
  forecast: {
    settingKey: str(200),
    startMs: num,
    startsNow: bool,
    savingFraction: num,
    savingKg: num,
    horizonH: num,
    pause: optional(
      shape<NonNullable<Extract<TimeAdvice, { kind: 'forecast' }>['pause']>>({
        thresholdGPerKWh: num,
        savingFraction: num,
        finishMs: num,
      }),
    ),
    factorType: oneOf(['average', 'marginal']),
    source: str(400),
  },
});

const detailCheck = shape<RunDetail>({
  run: runCheck,
  power: nullable(powerCheck),
  advice: adviceCheck,
  time: timeCheck,
  carKm: num,
  smartphoneCharges: num,
  canRerun: bool,
  canDelete: bool,
});

const rowCheck = shape<RunRow>({
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

const totalsCheck = shape<PeriodTotals>({
  period: oneOf(['today', 'week', 'month', 'all']),
  fromMs: optional(num),
  runs: num,
  running: num,
  emissionsKg: num,
  energyKWh: num,
  carKm: num,
  smartphoneCharges: num,
});

const equivalentCheck = shape<EquivalentSource>({ unit: str(), source: str(), url: str(), year: num });

const chartCheck: Check = (x, p) => {
  const e = shape<RunsChart>({
    series: arrayOf(
      shape<RunsChartSeries>({
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
    if (s.kg.length !== s.t.length || s.id.length !== s.t.length || s.name.length !== s.t.length)
      return `${p}.series[${i}] has series of different lengths`;
  }
  return undefined;
};

const tableCheck = shape<TablePage>({
  query: queryCheck,
  rows: arrayOf(rowCheck, Math.max(...PAGE_SIZES)),
  matched: num,
  total: num,
  pageCount: num,
  facets: shape<TablePage['facets']>({ source: recordOf(RUN_SOURCES, num), status: recordOf(RUN_STATUSES, num) }),
});

const snapshotCheck = shape<Snapshot>({
  generatedAt: num,
  historyDir: str(),
  corrupt: num,
  runCount: num,
  running: num,
  totals: arrayOf(totalsCheck, 4),
  equivalents: shape<Snapshot['equivalents']>({ carKm: equivalentCheck, smartphoneCharge: equivalentCheck }),
  totalsAdvice: adviceCheck,
  chart: chartCheck,
  table: tableCheck,
  detail: nullable(detailCheck),
  missingRunId: nullable(str(200)),
  monthBudget: optional(shape<NonNullable<Snapshot['monthBudget']>>({ limitKg: num, usedKg: num, fromMs: num })),
});

// ---------------------------------------------------------------------------------------------------------------
// the two entry points

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
