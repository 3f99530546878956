/**
 * What a lens says about a file's runs: the last run's footprint, an estimate for the next run, and the best
 * greener-region saving, in short lines. Pure: the extension passes the runs of the file (RunFileIndex), the time,
 * the region the next run would use, and a translation function.
 *
 * - Estimate (two finished runs or more): the median energy (before PUE) and duration of the last ESTIMATE_WINDOW
 *   completed runs (finished runs of any status when fewer than two completed), times the PUE and the annual
 *   intensity the next run would use (by default the last run's).
 * - Greener region: the same energy where the grid is cleanest, among the countries that host a public cloud region
 *   (places one can rent a machine in), or among the regions of the run's own provider when it ran in a cloud region,
 *   or among the user's regions when given (`carbonMeter.advice.regions`). Countries keep the run's PUE, cloud regions
 *   get their provider's. Annual averages, as the tooltip says.
 */
import { formatAgo, formatCo2, formatDuration, formatEnergy, formatIntensity, formatPercent } from '../format';
import { greenerRegions, listRegions, WORLD_CODE, type RegionInfo } from '../intensity/regions';
import type { Run } from '../types';

/** Which hints a lens shows (`carbonMeter.codeLens.show`). */
export type LensHint = 'lastRun' | 'estimate' | 'greenerRegion';
export const LENS_HINTS: readonly LensHint[] = ['lastRun', 'estimate', 'greenerRegion'];

/** Shaped like `vscode.l10n.t`: the message is its own key, `{0}` are arguments. */
export type Translate = (message: string, ...args: (string | number)[]) => string;
export const untranslated: Translate = (message, ...args) =>
  message.replace(/\{(\d+)\}/g, (m, i: string) => (args[Number(i)] !== undefined ? String(args[Number(i)]) : m));

/** Runs the estimate looks at, newest first. */
export const ESTIMATE_WINDOW = 5;
/** A greener region is shown when it saves at least this share. */
export const MIN_SAVING = 0.05;

export interface NextRunContext {
  /** gCO₂eq/kWh the next run would use (default: the last run's). */
  intensityGPerKWh?: number;
  /** PUE the next run would use (default: the last run's). */
  pue?: number;
  /** Region code the next run would use (default: the last run's). */
  region?: string;
}

export interface GreenerRegion {
  code: string;
  name: string;
  emissionsKg: number;
  /** (emissionsKg − estimate) ÷ estimate: −0.85 for 85 % less */
  change: number;
  intensityGPerKWh: number;
  pue: number;
  /** How the candidates were chosen, in words. */
  among: string;
}

export interface NextRunEstimate {
  /** Runs the estimate is based on. */
  basedOn: number;
  energyBeforePueKWh: number;
  /** With the next run's PUE. */
  energyKWh: number;
  emissionsKg: number;
  durationS: number;
  /** Emissions range of the runs looked at, rescaled to the next run's intensity and PUE. */
  lowKg: number;
  highKg: number;
  region: string;
  intensityGPerKWh: number;
  pue: number;
  greener?: GreenerRegion;
}

function finite(x: number | undefined, fallback = 0): number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : fallback;
}

function beforePue(run: Run): number {
  const e = run.energyKWh;
  const parts = finite(e?.cpu) + finite(e?.gpu) + finite(e?.ram);
  if (parts > 0) return parts;
  return finite(e?.total) / (run.pue >= 1 ? run.pue : 1);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

let cloudCountries: RegionInfo[] | undefined;

/** Countries that host at least one public cloud region, with an intensity above 0 (0 is a data gap). */
function countriesWithCloudRegions(): RegionInfo[] {
  if (!cloudCountries) {
    const all = listRegions();
    const codes = new Set(all.filter((r) => r.kind === 'cloud' && r.countryAlpha2).map((r) => r.countryAlpha2));
    cloudCountries = all.filter(
      (r) => r.kind === 'country' && r.code !== WORLD_CODE && codes.has(r.code) && r.intensityGPerKWh > 0,
    );
  }
  return cloudCountries;
}

/**
 * The greenest place for `energyBeforePueKWh` compared with `actualKg`, or undefined when none saves MIN_SAVING.
 * `userRegions`: codes and groups as `greenerRegions` takes them ("FR", "gcp:*"); unknown entries are ignored.
 */
export function bestGreenerRegion(
  energyBeforePueKWh: number,
  actualKg: number,
  ownPue: number,
  region: string,
  userRegions?: readonly string[],
): GreenerRegion | undefined {
  if (!(energyBeforePueKWh > 0) || !(actualKg > 0)) return undefined;
  let candidates: RegionInfo[];
  let among: string;
  const own = region.trim().toLowerCase();
  const provider = own.includes(':') ? own.slice(0, own.indexOf(':')) : undefined;
  if (userRegions?.length) {
    const picked = new Map<string, RegionInfo>();
    for (const entry of userRegions) {
      try {
        for (const r of greenerRegions(1, { include: [entry] })) picked.set(r.region.code, r.region);
      } catch {
        /* an unknown entry: the settings reader reports it */
      }
    }
    candidates = [...picked.values()];
    among = 'your regions (carbonMeter.advice.regions)';
  } else if (provider && ['aws', 'gcp', 'azure'].includes(provider)) {
    candidates = listRegions().filter((r) => r.kind === 'cloud' && r.provider === provider);
    among = `the ${provider.toUpperCase()} regions`;
  } else {
    candidates = countriesWithCloudRegions();
    among = 'countries with a public cloud region';
  }
  let best: GreenerRegion | undefined;
  for (const r of candidates) {
    if (r.code.toLowerCase() === own || !(r.intensityGPerKWh > 0) || r.code === WORLD_CODE) continue;
    const pue = r.kind === 'cloud' ? (r.pue ?? 1) : ownPue;
    const kg = (energyBeforePueKWh * pue * r.intensityGPerKWh) / 1000;
    if (!best || kg < best.emissionsKg || (kg === best.emissionsKg && r.code < best.code)) {
      best = {
        code: r.code,
        name: r.name,
        emissionsKg: kg,
        change: (kg - actualKg) / actualKg,
        intensityGPerKWh: r.intensityGPerKWh,
        pue,
        among,
      };
    }
  }
  return best && best.change <= -MIN_SAVING ? best : undefined;
}

/** The next run of a file, from its runs (newest first); undefined with fewer than two finished runs. */
export function estimateNextRun(
  runs: readonly Run[],
  next: NextRunContext = {},
  userRegions?: readonly string[],
): NextRunEstimate | undefined {
  const finished = runs.filter((r) => r.status !== 'running');
  const completed = finished.filter((r) => r.status === 'completed');
  const pool = (completed.length >= 2 ? completed : finished).slice(0, ESTIMATE_WINDOW);
  if (pool.length < 2) return undefined;
  const last = pool[0];
  const intensity = finite(next.intensityGPerKWh, finite(last.intensity?.gPerKWh));
  const pue = next.pue !== undefined && next.pue >= 1 ? next.pue : last.pue >= 1 ? last.pue : 1;
  const region = next.region ?? last.intensity?.region ?? '';
  const energies = pool.map(beforePue);
  const e = median(energies);
  const kg = (e * pue * intensity) / 1000;
  const est: NextRunEstimate = {
    basedOn: pool.length,
    energyBeforePueKWh: e,
    energyKWh: e * pue,
    emissionsKg: kg,
    durationS: median(pool.map((r) => finite(r.durationS))),
    lowKg: (Math.min(...energies) * pue * intensity) / 1000,
    highKg: (Math.max(...energies) * pue * intensity) / 1000,
    region,
    intensityGPerKWh: intensity,
    pue,
  };
  est.greener = bestGreenerRegion(e, kg, pue, region, userRegions);
  return est;
}

export interface FileLensText {
  /** The main lens: "$(pulse) last run 12.4 g CO₂eq · 30 Wh · 14 min (2 h ago)" or "$(pulse) Run with Carbon Meter". */
  primary: string;
  /** The run the primary lens speaks of, when it speaks of one. */
  run?: Run;
  /** "$(graph-line) next run ≈ 12.4 g CO₂eq · 14 min · −85 % in FR", with two finished runs or more. */
  estimate?: string;
  /** Plain-text tooltip lines: the figures and how they were obtained. */
  tooltip: string[];
  estimateDetail?: NextRunEstimate;
}

export interface LensTextOptions {
  show?: ReadonlySet<LensHint>;
  next?: NextRunContext;
  userRegions?: readonly string[];
  now?: number;
  t?: Translate;
}

const co2 = (kg: number) => `${formatCo2(kg)} CO₂eq`;

/** The texts of a file's lenses, from its runs (newest first). */
export function fileLensText(runs: readonly Run[], opts: LensTextOptions = {}): FileLensText {
  const t = opts.t ?? untranslated;
  const show = opts.show ?? new Set(LENS_HINTS);
  const { primary, run, tooltip } = lastRunText(runs, show, opts.now ?? Date.now(), t);
  let estimate: string | undefined;
  let detail: NextRunEstimate | undefined;
  if (show.has('estimate') || show.has('greenerRegion')) {
    detail = estimateNextRun(runs, opts.next, opts.userRegions);
    if (detail) estimate = estimateText(detail, show, t, tooltip);
  }
  return { primary, run, estimate, tooltip, estimateDetail: detail };
}

/** The lens's first text (the run going on, or the last one) and the tooltip's lines on the last run. */
function lastRunText(
  runs: readonly Run[],
  show: ReadonlySet<LensHint>,
  now: number,
  t: Translate,
): { primary: string; run: Run | undefined; tooltip: string[] } {
  const tooltip: string[] = [];
  const running = runs.find((r) => r.status === 'running');
  const last = runs.find((r) => r.status !== 'running');
  let primary = `$(pulse) ${t('Run with Carbon Meter')}`;
  let run: Run | undefined;
  if (show.has('lastRun') && running) {
    run = running;
    primary = `$(pulse) ${t('running now: {0} so far · {1}', co2(running.emissionsKg), formatDuration(running.durationS))}`;
  } else if (show.has('lastRun') && last) {
    run = last;
    const ago = formatAgo(Date.parse(last.startedAt) + finite(last.durationS) * 1000, now);
    const when = last.status === 'completed' ? ago : `${t(last.status)}, ${ago}`;
    primary = `$(pulse) ${t('last run {0} · {1} · {2} ({3})', co2(last.emissionsKg), formatEnergy(finite(last.energyKWh?.total)), formatDuration(last.durationS), when)}`;
  }
  if (last) {
    tooltip.push(
      t(
        'Last run: {0}, {1}, {2} in {3} ({4}), {5}.',
        co2(last.emissionsKg),
        formatEnergy(finite(last.energyKWh?.total)),
        formatDuration(last.durationS),
        last.intensity?.regionName ?? last.intensity?.region ?? '?',
        formatIntensity(finite(last.intensity?.gPerKWh)),
        last.status,
      ),
    );
    tooltip.push(t('Command: {0}', last.command));
  }
  tooltip.push(
    runs.length
      ? t('{0} run(s) of this file in the history.', runs.length)
      : t('No run of this file in the history yet.'),
  );
  return { primary, run, tooltip };
}

/** The lens's estimate of the next run and its greener region; their tooltip lines go to `tooltip`. */
function estimateText(
  detail: NextRunEstimate,
  show: ReadonlySet<LensHint>,
  t: Translate,
  tooltip: string[],
): string | undefined {
  const parts: string[] = [];
  if (show.has('estimate'))
    parts.push(t('next run ≈ {0} · {1}', co2(detail.emissionsKg), formatDuration(detail.durationS)));
  if (show.has('greenerRegion') && detail.greener)
    parts.push(t('{0} in {1}', formatPercent(detail.greener.change), detail.greener.code));
  if (show.has('estimate')) {
    tooltip.push(
      t(
        'Next run: about {0} ({1}–{2}), {3}: the median of the last {4} runs, at {5} (annual average, {6}) and PUE {7}.',
        co2(detail.emissionsKg),
        formatCo2(detail.lowKg),
        formatCo2(detail.highKg),
        formatEnergy(detail.energyKWh),
        detail.basedOn,
        formatIntensity(detail.intensityGPerKWh),
        detail.region,
        String(detail.pue),
      ),
    );
  }
  if (show.has('greenerRegion') && detail.greener) {
    const g = detail.greener;
    tooltip.push(
      t(
        'In {0} ({1}) it would emit {2} ({3}): {4} × PUE {5}, the greenest of {6}; annual averages, not the hour of the run.',
        g.name,
        g.code,
        co2(g.emissionsKg),
        formatPercent(g.change),
        formatIntensity(g.intensityGPerKWh),
        String(g.pue),
        g.among,
      ),
    );
  }
  return parts.length ? `${show.has('estimate') ? '$(graph-line)' : '$(globe)'} ${parts.join(' · ')}` : undefined;
}
