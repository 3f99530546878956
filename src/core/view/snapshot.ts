/**
 * The History panel's model: everything the panel shows, as one snapshot (the panel receives full snapshots, never
 * deltas). Plain data, no `vscode`: the extension host builds it, the bench measures it, unit tests check it.
 *
 * The snapshot stays small whatever the history holds: one page of compact rows, compact totals, a runs chart of at
 * most MAX_RUN_POINTS points and, for the open run only, at most 2,000 points per power series.
 */
import { kmByCar, smartphoneCharges } from '../equivalents';
import { monthUsedKg } from '../forecast/budget';
import type { Run, Sample } from '../types';
import { powerSeries, runsChart, type PowerSeries, type RunsChart } from './series';
import { RunTable, normaliseQuery, type TablePage, type TableQuery } from './table';
import { runRegionAdvice, timeAdvice, totalsRegionAdvice, type RegionAdvice, type TimeAdvice } from '../advice/tips';
import { countryOf, providersOf } from '../advice/usable';
import { equivalentSources, periodTotals, type EquivalentSource, type PeriodTotals } from './totals';

export interface RunDetail {
  run: Run;
  /** null when the run has no samples (imported runs, or a run that has just started) */
  power: PowerSeries | null;
  advice: RegionAdvice;
  time: TimeAdvice;
  carKm: number;
  smartphoneCharges: number;
  /** the run has a command to run again */
  canRerun: boolean;
  /** finished runs only: a running run belongs to its meter */
  canDelete: boolean;
}

export interface Snapshot {
  /** ms since epoch */
  generatedAt: number;
  historyDir: string;
  /** unreadable lines and files of the history */
  corrupt: number;
  runCount: number;
  running: number;
  totals: PeriodTotals[];
  equivalents: { carKm: EquivalentSource; smartphoneCharge: EquivalentSource };
  /** greener regions for all runs */
  totalsAdvice: RegionAdvice;
  /** CO₂eq per run over time, for the runs matching the filters */
  chart: RunsChart;
  table: TablePage;
  detail: RunDetail | null;
  /** the run asked for is not in the history (deleted, or another history folder) */
  missingRunId: string | null;
  /** carbonMeter.budget.monthlyKg and what this calendar month's runs (UTC) used of it; absent without a budget */
  monthBudget?: MonthBudget;
}

export interface MonthBudget {
  limitKg: number;
  usedKg: number;
  /** the month's first moment (UTC), ms */
  fromMs: number;
}

export interface SnapshotInput {
  /** every run, as HistoryStore.load() gives them (running runs from their checkpoints) */
  runs: readonly Run[];
  /** runs being metered by this window: fresher than their checkpoints */
  live?: readonly Run[];
  query?: Partial<TableQuery>;
  openRunId?: string;
  /** the samples of a run (HistoryStore.samples) */
  samples?: (id: string) => readonly Sample[];
  /** carbonMeter.advice.regions */
  adviceRegions?: readonly unknown[];
  /** the greener-time line for a run, when a live provider has (or is asked for) a forecast; else the core's */
  greenerTime?: (run: Run, samples: readonly Sample[]) => TimeAdvice | undefined;
  historyDir?: string;
  corrupt?: number;
  now?: number;
  /** carbonMeter.budget.monthlyKg */
  monthlyBudgetKg?: number;
}

/** The stored runs with the live records of the runs metered here in place of their checkpoints. */
export function mergeLive(runs: readonly Run[], live: readonly Run[] = []): Run[] {
  if (!live.length) return runs.slice();
  const byId = new Map(live.map((r) => [r.id, r]));
  const out: Run[] = [];
  for (const r of runs) {
    const l = byId.get(r.id);
    if (l) {
      out.push(l);
      byId.delete(r.id);
    } else out.push(r);
  }
  // live runs whose first checkpoint is not on disk yet
  for (const l of byId.values()) out.push(l);
  return out;
}

/** Builds snapshots; keeps the table index between snapshots while the history does not change. */
export class PanelModel {
  private table?: RunTable;

  /** The table index for these runs: reused when they are the same run objects and none is running. */
  tableFor(runs: readonly Run[]): RunTable {
    const t = this.table;
    if (t && t.runs.length === runs.length && runs.every((r, i) => r === t.runs[i] && r.status !== 'running')) return t;
    this.table = new RunTable(runs);
    return this.table;
  }

  build(input: SnapshotInput): Snapshot {
    const now = input.now ?? Date.now();
    const runs = mergeLive(input.runs, input.live);
    const table = this.tableFor(runs);
    const query = normaliseQuery(input.query);
    const page = table.query(query);
    const filtered =
      query.text.trim() || query.source !== 'all' || query.status !== 'all'
        ? table.matching({ ...query, sort: 'startedAt' })
        : runs;
    const userRegions = input.adviceRegions?.filter((x): x is string => typeof x === 'string') ?? [];
    // where the user can run: their providers (from their runs and the setting), the grids near each run's
    const providers = providersOf([...runs.map((r) => r.intensity.region), ...userRegions]);
    const adviceOpts = { userRegions, usable: { providers, homeCountry: countryOf(runs[0]?.intensity.region) } };
    let detail: RunDetail | null = null;
    let missingRunId: string | null = null;
    if (input.openRunId) {
      const run = runs.find((r) => r.id === input.openRunId);
      if (run) {
        const samples = input.samples?.(run.id) ?? [];
        detail = runDetail(run, samples, adviceOpts.userRegions, input.greenerTime?.(run, samples), providers);
      } else missingRunId = input.openRunId;
    }
    return {
      generatedAt: now,
      historyDir: input.historyDir ?? '',
      corrupt: input.corrupt ?? 0,
      runCount: runs.length,
      running: runs.reduce((n, r) => n + (r.status === 'running' ? 1 : 0), 0),
      totals: periodTotals(runs, now),
      equivalents: equivalentSources(),
      totalsAdvice: totalsRegionAdvice(runs, adviceOpts),
      chart: runsChart(filtered),
      table: page,
      detail,
      missingRunId,
      ...(input.monthlyBudgetKg && input.monthlyBudgetKg > 0
        ? {
            monthBudget: {
              limitKg: input.monthlyBudgetKg,
              usedKg: monthUsedKg(runs, now),
              fromMs: Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1),
            },
          }
        : {}),
    };
  }
}

/** A run's detail: its record, its power series, greener regions and the greener-time line. */
export function runDetail(
  run: Run,
  samples: readonly Sample[],
  userRegions: readonly string[] = [],
  time?: TimeAdvice,
  providers: readonly string[] = [],
): RunDetail {
  const power = powerSeries(run, samples) ?? null;
  const kg = Number.isFinite(run.emissionsKg) && run.emissionsKg > 0 ? run.emissionsKg : 0;
  const seen = samples.map((s) => s.gPerKWh).filter((g): g is number => typeof g === 'number');
  return {
    run,
    power,
    advice: runRegionAdvice(run, { userRegions, usable: { providers, homeCountry: countryOf(run.intensity.region) } }),
    time: time ?? timeAdvice(run.intensity, seen),
    carKm: kmByCar(kg),
    smartphoneCharges: smartphoneCharges(kg),
    canRerun: run.command.trim().length > 0 && run.status !== 'running' && run.source !== 'notebook', // a kernel's command line is no re-run
    canDelete: run.status !== 'running',
  };
}
