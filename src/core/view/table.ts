/**
 * The panel's table of runs: filtering (text, source, status), sorting and paging over the whole history, done where
 * the history is (the extension host), so that only one page of compact rows crosses to the webview.
 *
 * Cost at n runs: a query is one filter pass over a cached sort order (O(n)); a sort order is computed once per
 * history version and key (O(n log n) over precomputed keys); the lowercase search text of a run is computed once
 * per run object (the store shares its run objects between loads).
 */
import type { Run, RunSource, RunStatus } from '../types';
import { regionBasis } from './region';

export const RUN_SOURCES: readonly RunSource[] = [
  'terminal',
  'debug',
  'task',
  'notebook',
  'cli',
  'slurm',
  'codecarbon-import',
  'manual',
];
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'interrupted', 'stopped'];
export const SORT_KEYS = [
  'startedAt',
  'name',
  'durationS',
  'energyKWh',
  'emissionsKg',
  'region',
  'status',
  'source',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export const PAGE_SIZES = [25, 50, 100] as const;
export type PageSize = (typeof PAGE_SIZES)[number];
/** Longest filter text kept. */
export const MAX_FILTER_TEXT = 200;
/** Commands are cut to this many characters in rows (the detail has the whole command). */
export const ROW_COMMAND_CHARS = 160;

export interface TableQuery {
  text: string;
  source: RunSource | 'all';
  status: RunStatus | 'all';
  sort: SortKey;
  dir: 'asc' | 'desc';
  /** 0-based */
  page: number;
  pageSize: PageSize;
}

export const DEFAULT_QUERY: Readonly<TableQuery> = Object.freeze({
  text: '',
  source: 'all',
  status: 'all',
  sort: 'startedAt',
  dir: 'desc',
  page: 0,
  pageSize: 50,
});

/** One row of the table: what the table shows, nothing more. */
export interface RunRow {
  id: string;
  name: string;
  /** cut to ROW_COMMAND_CHARS */
  command: string;
  /** ms since epoch */
  startedAt: number;
  durationS: number;
  energyKWh: number;
  emissionsKg: number;
  region: string;
  status: RunStatus;
  source: RunSource;
  exitCode?: number | null;
  /** the region was guessed from the time zone */
  guessed?: boolean;
  /** no region was set or guessed: the world average (default) */
  regionDefault?: boolean;
}

export interface TablePage {
  /** the query as applied (page clamped to the last page) */
  query: TableQuery;
  rows: RunRow[];
  /** runs matching the filters */
  matched: number;
  /** runs in the history */
  total: number;
  pageCount: number;
  /** runs per source and per status in the whole history */
  facets: { source: Partial<Record<RunSource, number>>; status: Partial<Record<RunStatus, number>> };
}

interface Keyed {
  run: Run;
  start: number;
  hay: string;
  name: string;
  region: string;
}

const hayCache = new WeakMap<Run, string>();

function hayOf(run: Run): string {
  let h = hayCache.get(run);
  if (h === undefined) {
    h = [
      run.name,
      run.command,
      run.id,
      run.intensity.region,
      run.intensity.regionName ?? '',
      run.cwd,
      run.source,
      run.status,
    ]
      .join('\u0000')
      .toLowerCase();
    // a running run's record changes (status): keep it out of the cache
    if (run.status !== 'running') hayCache.set(run, h);
  }
  return h;
}

function finiteOr0(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

function compareKeyed(key: SortKey): (a: Keyed, b: Keyed) => number {
  const byStart = (a: Keyed, b: Keyed) => a.start - b.start || (a.run.id < b.run.id ? -1 : a.run.id > b.run.id ? 1 : 0);
  const str = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  switch (key) {
    case 'startedAt':
      return byStart;
    case 'name':
      return (a, b) => str(a.name, b.name) || byStart(a, b);
    case 'region':
      return (a, b) => str(a.region, b.region) || byStart(a, b);
    case 'status':
      return (a, b) => str(a.run.status, b.run.status) || byStart(a, b);
    case 'source':
      return (a, b) => str(a.run.source, b.run.source) || byStart(a, b);
    case 'durationS':
      return (a, b) => finiteOr0(a.run.durationS) - finiteOr0(b.run.durationS) || byStart(a, b);
    case 'energyKWh':
      return (a, b) => finiteOr0(a.run.energyKWh.total) - finiteOr0(b.run.energyKWh.total) || byStart(a, b);
    case 'emissionsKg':
      return (a, b) => finiteOr0(a.run.emissionsKg) - finiteOr0(b.run.emissionsKg) || byStart(a, b);
  }
}

export function toRow(run: Run): RunRow {
  const row: RunRow = {
    id: run.id,
    name: run.name,
    command: run.command.length > ROW_COMMAND_CHARS ? run.command.slice(0, ROW_COMMAND_CHARS - 1) + '…' : run.command,
    startedAt: Date.parse(run.startedAt),
    durationS: finiteOr0(run.durationS),
    energyKWh: finiteOr0(run.energyKWh.total),
    emissionsKg: finiteOr0(run.emissionsKg),
    region: run.intensity.region,
    status: run.status,
    source: run.source,
  };
  if (run.exitCode !== undefined) row.exitCode = run.exitCode;
  const basis = regionBasis(run.intensity);
  if (basis === 'guessed') row.guessed = true;
  else if (basis === 'default') row.regionDefault = true;
  return row;
}

/** Clamps and completes a query (unknown values fall back to the defaults). */
export function normaliseQuery(q: Partial<TableQuery> | undefined): TableQuery {
  const d = DEFAULT_QUERY;
  const x = q ?? {};
  return {
    text: typeof x.text === 'string' ? x.text.slice(0, MAX_FILTER_TEXT) : d.text,
    source:
      x.source === 'all' || RUN_SOURCES.includes(x.source as RunSource) ? (x.source as TableQuery['source']) : d.source,
    status:
      x.status === 'all' || RUN_STATUSES.includes(x.status as RunStatus)
        ? (x.status as TableQuery['status'])
        : d.status,
    sort: SORT_KEYS.includes(x.sort as SortKey) ? (x.sort as SortKey) : d.sort,
    dir: x.dir === 'asc' || x.dir === 'desc' ? x.dir : d.dir,
    page: Number.isInteger(x.page) && (x.page as number) >= 0 ? (x.page as number) : 0,
    pageSize: PAGE_SIZES.includes(x.pageSize as PageSize) ? (x.pageSize as PageSize) : d.pageSize,
  };
}

/** Whether a run passes the query's filters. `needle` is the lowercase trimmed text. */
function passes(k: Keyed, q: TableQuery, needle: string): boolean {
  if (q.source !== 'all' && k.run.source !== q.source) return false;
  if (q.status !== 'all' && k.run.status !== q.status) return false;
  return !needle || k.hay.includes(needle);
}

/**
 * An index over one version of the history. Build a new one when the runs change; queries on the same index reuse
 * its sort orders.
 */
export class RunTable {
  private readonly keyed: Keyed[];
  private readonly orders = new Map<SortKey, Keyed[]>();
  readonly facets: TablePage['facets'];

  constructor(readonly runs: readonly Run[]) {
    const source: Partial<Record<RunSource, number>> = {};
    const status: Partial<Record<RunStatus, number>> = {};
    this.keyed = runs.map((run) => {
      source[run.source] = (source[run.source] ?? 0) + 1;
      status[run.status] = (status[run.status] ?? 0) + 1;
      const start = Date.parse(run.startedAt);
      return {
        run,
        start: Number.isFinite(start) ? start : 0,
        hay: hayOf(run),
        name: run.name.toLowerCase(),
        region: run.intensity.region.toLowerCase(),
      };
    });
    this.facets = { source, status };
  }

  private ascending(key: SortKey): Keyed[] {
    let o = this.orders.get(key);
    if (!o) {
      o = [...this.keyed].sort(compareKeyed(key));
      this.orders.set(key, o);
    }
    return o;
  }

  /** The runs matching the filters, in the query's order (every page). */
  matching(query: Partial<TableQuery>): Run[] {
    const q = normaliseQuery(query);
    const needle = q.text.trim().toLowerCase();
    const order = this.ascending(q.sort);
    const out: Run[] = [];
    if (q.dir === 'asc') {
      for (const k of order) if (passes(k, q, needle)) out.push(k.run);
    } else {
      for (let i = order.length - 1; i >= 0; i--) if (passes(order[i], q, needle)) out.push(order[i].run);
    }
    return out;
  }

  /** One page of rows. */
  query(query: Partial<TableQuery>): TablePage {
    const q = normaliseQuery(query);
    const needle = q.text.trim().toLowerCase();
    const order = this.ascending(q.sort);
    const n = order.length;
    // count every match, keep only the rows of the page asked for (or of the last page, when it is past the end)
    let matched = 0;
    const from = q.page * q.pageSize;
    let rows: Keyed[] = [];
    let lastPage: Keyed[] = [];
    for (let j = 0; j < n; j++) {
      const k = order[q.dir === 'asc' ? j : n - 1 - j];
      if (!passes(k, q, needle)) continue;
      if (matched >= from && matched < from + q.pageSize) rows.push(k);
      if (matched % q.pageSize === 0) lastPage = [];
      lastPage.push(k);
      matched++;
    }
    const pageCount = Math.max(1, Math.ceil(matched / q.pageSize));
    let page = q.page;
    if (page >= pageCount) {
      page = pageCount - 1;
      rows = matched ? lastPage : [];
    }
    return {
      query: { ...q, page },
      rows: rows.map((k) => toRow(k.run)),
      matched,
      total: n,
      pageCount,
      facets: this.facets,
    };
  }
}
