/**
 * The checks of what the host sends the panel: the table query and the snapshot (totals, chart, table page, the open
 * run's detail with its record, power series and advice). Built from ./checks.ts, one check per field of each type.
 */
import { runProblem } from '../core/history/records';
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
import {
  arrayOf,
  bool,
  int,
  nullable,
  num,
  numbers,
  oneOf,
  optional,
  recordOf,
  runId,
  shape,
  str,
  tagged,
  type Check,
} from './checks';

export const queryCheck = shape<TableQuery>({
  text: str(MAX_FILTER_TEXT),
  source: oneOf(['all', ...RUN_SOURCES]),
  status: oneOf(['all', ...RUN_STATUSES]),
  sort: oneOf(SORT_KEYS),
  dir: oneOf(['asc', 'desc']),
  page: (x, p) => int(x, p) ?? ((x as number) < 0 ? `${p} is negative` : undefined),
  pageSize: oneOf(PAGE_SIZES),
});

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
  regionDefault: optional(bool),
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

export const snapshotCheck = shape<Snapshot>({
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
