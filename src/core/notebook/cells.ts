/**
 * Per-cell footprint: a notebook run's energy, CO₂eq and CPU time attributed to the cells that executed, from the
 * run's readings (cumulative figures at each sampling tick) and each cell's execution window [startMs, endMs].
 *
 * Between two readings the kernel's energy per component is known, not how it was spread in time. Each interval's
 * energy is split in two:
 *  - the kernel's idle floor (the lowest power of that component seen over the run: near 0 W of CPU for an idle
 *    kernel, its resident memory for RAM, a GPU it holds idle) is spread over time, so each cell gets its overlap's
 *    share and the rest stays with the time between cells;
 *  - what is above the floor is work, and goes to the cells that executed in the interval, by their overlap.
 * So a cell that worked 3 s gets about three times the energy of one that worked 1 s, whatever the sampling interval,
 * and idle time costs what the kernel really used. An interval that began before the kernel was found (the span from
 * its start up to the first reading) is split by time only: what the kernel did before is not known to be a cell's.
 * The adapter asks for a reading at each cell's start and end, so intervals rarely straddle two cells.
 */
import type { Method, NotebookCellFootprint } from '../types';

/** A run's cumulative figures at one reading. */
export interface LedgerPoint {
  /** ms since epoch */
  t: number;
  /** before PUE */
  cpuKWh: number;
  gpuKWh: number;
  ramKWh: number;
  /** (cpu + gpu + ram) × PUE */
  totalKWh: number;
  emissionsKg: number;
  cpuSeconds: number;
}

/** One executed cell as the editor reports it. */
export interface CellWindow {
  /** the adapter's handle on the cell (not stored) */
  ref?: string;
  index: number;
  /** the first non-empty line of the cell's source, trimmed (bounded) */
  firstLine: string;
  startMs: number;
  endMs: number;
  success?: boolean;
}

export interface SettledCell {
  window: CellWindow;
  footprint: NotebookCellFootprint;
}

export interface ComponentMethods {
  cpu: Method;
  gpu: Method;
  ram: Method;
}

/** What one cell used. */
export interface CellShare {
  cpuKWh: number;
  gpuKWh: number;
  ramKWh: number;
  totalKWh: number;
  emissionsKg: number;
  cpuSeconds: number;
}

const CHANNELS = ['cpuKWh', 'gpuKWh', 'ramKWh', 'cpuSeconds'] as const;
type Channel = (typeof CHANNELS)[number];
export type Floors = Record<Channel, number>;

/** Intervals shorter than this do not set the floor (CPU time is counted in 10 ms ticks). */
const FLOOR_MIN_INTERVAL_MS = 50;
export const MAX_FIRST_LINE = 120;
/** A run keeps this many cells (the latest). */
export const MAX_CELLS = 500;
/** Readings kept whatever the cells (ms). */
const KEEP_MS = 120_000;

function zero(): CellShare {
  return { cpuKWh: 0, gpuKWh: 0, ramKWh: 0, totalKWh: 0, emissionsKg: 0, cpuSeconds: 0 };
}

function emptyFloors(): Floors {
  return { cpuKWh: Infinity, gpuKWh: Infinity, ramKWh: Infinity, cpuSeconds: Infinity };
}

function overlapsAny(a: number, b: number, windows: readonly { startMs: number; endMs: number }[]): boolean {
  return windows.some((w) => w.startMs < b && w.endMs > a);
}

/**
 * The lowest rate (per ms) of each channel over the intervals that began once the kernel was observed and that no
 * cell window touches (the kernel idle); over all observed intervals when there is no idle one.
 */
export function floorsOf(
  points: readonly LedgerPoint[],
  observedFromMs: number,
  windows: readonly { startMs: number; endMs: number }[] = [],
): Floors {
  const idle = emptyFloors();
  const all = emptyFloors();
  for (let i = 1; i < points.length; i++) {
    updateFloors(all, points[i - 1], points[i], observedFromMs);
    if (!overlapsAny(points[i - 1].t, points[i].t, windows))
      updateFloors(idle, points[i - 1], points[i], observedFromMs);
  }
  return finiteFloors(idle, all);
}

/** The idle floors where known, else the floors over all intervals, else 0. */
function finiteFloors(idle: Floors, all: Floors): Floors {
  const f = { ...idle };
  for (const c of CHANNELS) f[c] = Number.isFinite(idle[c]) ? idle[c] : Number.isFinite(all[c]) ? all[c] : 0;
  return f;
}

/** Folds one interval into a running floor (the incremental form of floorsOf). */
function updateFloors(f: Floors, a: LedgerPoint, b: LedgerPoint, observedFromMs: number): void {
  const d = b.t - a.t;
  if (a.t < observedFromMs || d < FLOOR_MIN_INTERVAL_MS) return;
  for (const c of CHANNELS) f[c] = Math.min(f[c], Math.max(0, b[c] - a[c]) / d);
}

/**
 * Attributes the energy between consecutive `points` to `windows` (see the file's comment). A window may be open
 * (endMs = Infinity: a cell executing now); it then only takes its part of the split, for the others' sake.
 */
export function attributeCells(
  points: readonly LedgerPoint[],
  windows: readonly { startMs: number; endMs: number }[],
  observedFromMs: number,
  floors: Floors,
): CellShare[] {
  const out = windows.map(zero);
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const d = b.t - a.t;
    if (d <= 0) continue;
    const overlaps = windows.map((w) => Math.max(0, Math.min(w.endMs, b.t) - Math.max(w.startMs, a.t)));
    const busy = overlaps.reduce((x, y) => x + y, 0);
    if (busy <= 0) continue;
    const byTime = a.t < observedFromMs;
    const deltaPre =
      Math.max(0, b.cpuKWh - a.cpuKWh) + Math.max(0, b.gpuKWh - a.gpuKWh) + Math.max(0, b.ramKWh - a.ramKWh);
    const deltaTotal = Math.max(0, b.totalKWh - a.totalKWh);
    const deltaKg = Math.max(0, b.emissionsKg - a.emissionsKg);
    const pue = deltaPre > 0 ? deltaTotal / deltaPre : 1;
    overlaps.forEach((o, k) => {
      if (o <= 0) return;
      const share = out[k];
      let pre = 0;
      for (const c of CHANNELS) {
        const e = Math.max(0, b[c] - a[c]);
        let part: number;
        if (byTime) part = (e * o) / Math.max(d, busy);
        else {
          const base = Math.min(e, floors[c] * d);
          part = (base * o) / Math.max(d, busy) + ((e - base) * o) / busy;
        }
        share[c] += part;
        if (c !== 'cpuSeconds') pre += part;
      }
      const total = pre * pue;
      share.totalKWh += total;
      if (deltaTotal > 0) share.emissionsKg += (deltaKg * total) / deltaTotal;
    });
  }
  return out;
}

const CERTAINTY: Record<Method, number> = { default: 0, modelled: 1, measured: 2 };

/** The least certain method among the components that make at least a tenth of the cell's energy. */
export function cellMethod(share: CellShare, methods: ComponentMethods): Method {
  const pre = share.cpuKWh + share.gpuKWh + share.ramKWh;
  if (pre <= 0) return methods.cpu;
  let worst: Method | undefined;
  for (const c of ['cpu', 'gpu', 'ram'] as const) {
    if (share[`${c}KWh`] < pre / 10) continue;
    if (!worst || CERTAINTY[methods[c]] < CERTAINTY[worst]) worst = methods[c];
  }
  return worst ?? methods.cpu;
}

/** The first non-empty line of a cell's source, trimmed and bounded. */
export function firstLineOf(source: string): string {
  const line = source.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const t = line.trim();
  return t.length > MAX_FIRST_LINE ? `${t.slice(0, MAX_FIRST_LINE - 1)}…` : t;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The running attribution of one notebook run: readings come in (`addPoint`), cells start and end, and `settle`
 * returns the cells whose window is covered by a reading. Keeps only the readings still needed.
 */
export class CellLedger {
  private points: LedgerPoint[] = [];
  /** floors over the intervals no cell touched, and over all intervals */
  private readonly idleFloors = emptyFloors();
  private readonly allFloors = emptyFloors();
  private pending: CellWindow[] = [];
  /** settled windows that may still share an interval with a later cell */
  private recent: CellWindow[] = [];
  private openStartMs?: number;

  constructor(
    /** when the kernel was found: intervals that began earlier are split by time only */
    readonly observedFromMs: number,
    private readonly methods: () => ComponentMethods,
  ) {}

  addPoint(p: LedgerPoint): void {
    const last = this.points[this.points.length - 1];
    if (last && p.t <= last.t) return;
    if (last) {
      updateFloors(this.allFloors, last, p, this.observedFromMs);
      const busy = this.openStartMs !== undefined || overlapsAny(last.t, p.t, [...this.pending, ...this.recent]);
      if (!busy) updateFloors(this.idleFloors, last, p, this.observedFromMs);
    }
    this.points.push(p);
    if (this.points.length % 32 === 0) this.prune();
  }

  /** A cell began executing (its end is not known yet). */
  cellStarted(startMs: number): void {
    this.openStartMs = startMs;
  }

  cellEnded(w: CellWindow): void {
    if (!(w.endMs >= w.startMs)) return;
    this.openStartMs = undefined;
    this.pending.push(w);
  }

  /** Cells whose window ended at or before the latest reading, attributed. */
  settle(): SettledCell[] {
    const lastT = this.points.length ? this.points[this.points.length - 1].t : -Infinity;
    const ready = this.pending.filter((w) => w.endMs <= lastT);
    if (!ready.length) return [];
    this.pending = this.pending.filter((w) => w.endMs > lastT);
    const context = [
      ...this.recent,
      ...this.pending,
      ...(this.openStartMs !== undefined ? [{ startMs: this.openStartMs, endMs: Infinity }] : []),
    ];
    const floors = finiteFloors(this.idleFloors, this.allFloors);
    const shares = attributeCells(this.points, [...ready, ...context], this.observedFromMs, floors);
    const methods = this.methods();
    const out = ready.map((w, k): SettledCell => {
      const s = shares[k];
      const footprint: NotebookCellFootprint = {
        index: w.index,
        firstLine: w.firstLine,
        startedAt: new Date(w.startMs).toISOString(),
        durationS: round((w.endMs - w.startMs) / 1000, 3),
        energyKWh: s.totalKWh,
        emissionsKg: s.emissionsKg,
        cpuSeconds: round(s.cpuSeconds, 3),
        method: cellMethod(s, methods),
        ...(w.success !== undefined ? { success: w.success } : {}),
      };
      return { window: w, footprint };
    });
    this.recent = [...this.recent, ...ready].slice(-16);
    this.prune();
    return out;
  }

  /**
   * Drops readings no window can need any more: those before the earliest unsettled window's start, keeping the last
   * two minutes in any case (a cell whose start was not seen, only its end).
   */
  private prune(): void {
    const lastT = this.points.length ? this.points[this.points.length - 1].t : 0;
    const starts = this.pending.map((w) => w.startMs);
    if (this.openStartMs !== undefined) starts.push(this.openStartMs);
    const keepFrom = Math.min(lastT - KEEP_MS, ...starts);
    let i = 0;
    while (i < this.points.length - 1 && this.points[i + 1].t <= keepFrom) i++;
    if (i > 0) this.points = this.points.slice(i);
    const oldest = this.points[0]?.t ?? -Infinity;
    this.recent = this.recent.filter((w) => w.endMs > oldest);
  }

  /** How many readings are held (bounded by the cells in flight; for tests). */
  get heldPoints(): number {
    return this.points.length;
  }
}
