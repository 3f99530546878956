/**
 * `carbon-meter slurm JOBID | --since 7d`: accounts SLURM jobs from SLURM's own records and adds them to the shared
 * history (once: a job already recorded is not recorded again). A job still pending or running is shown live
 * (squeue + sstat) and tracked, so that the next `carbon-meter slurm` or a VS Code window records it when it ends.
 */
import * as fs from 'node:fs';
import { escapeControl, formatCo2, formatDuration, formatEnergy, sig } from '../core/format';
import { getHardware } from '../core/hardware';
import { HistoryStore } from '../core/history/store';
import { groupJobs, isActiveState, type SlurmJob } from '../core/slurm/account';
import { localHostOf, SlurmAccountant } from '../core/slurm/accountant';
import { SlurmCommandError, SlurmCommands } from '../core/slurm/commands';
import { parseClustersConfig, type ClusterConfig, type ClustersConfig } from '../core/slurm/config';
import { SlurmJobStore } from '../core/slurm/jobStore';
import type { SlurmRecord } from '../core/slurm/parse';
import { belongsTo } from '../core/slurm/tracker';
import type { Run } from '../core/types';
import { errorMessage } from '../core/errors';
import { durationSeconds, numberOption, parseOptions, printLines, UsageError } from './common';

export const SLURM_HELP = `Usage: carbon-meter slurm JOBID [options]      account one job (live while it runs, final once it ended)
       carbon-meter slurm --since 7d [options]   bring in your jobs that started or ended since then

Energy comes from SLURM's ConsumedEnergyRaw where the cluster records it (an acct_gather_energy plugin), otherwise
from a model: TotalCPU × the nodes' CPU power, allocated GPUs × their power, allocated memory × 0.375 W/GB. Finished
jobs are added to the history once (source "slurm"); running jobs are tracked and recorded when they end.

Options:
  --json              print the run record(s) as JSON on stdout (one object for one job, else a list)
  --since D           7d, 12h, 30m, 2w or a date (2026-01-31): jobs since then (sacct -S)
  --all-users         with --since: every user's jobs (needs SLURM operator rights)
  --region CODE       region of the cluster (ISO 3166 code or provider:region); default: carbonMeter.clusters, else
                      $CARBON_METER_REGION, else a time-zone guess
  --pue N             PUE of the cluster's data centre (1.0–3.0)
  --cpu-model NAME    CPU model of the compute nodes ("AMD EPYC 7763"), for the TDP table
  --cpu-tdp W         TDP of one CPU package of the compute nodes
  --gpu-power W       power of one GPU
  --model             ignore the energy SLURM measured and model it
  --clusters FILE     per-cluster settings, JSON shaped like the carbonMeter.clusters setting
                      (default: $CARBON_METER_CLUSTERS, a file path)

Environment:
  CARBON_METER_SLURM_BIN       folder of sacct, squeue, sstat, scontrol (default: PATH)
  CARBON_METER_SLURM_TIMEOUT   seconds to wait for a SLURM command (default 20)
`;

/** A mistake in the command line: one line, exit 2 (main.ts). */
class SlurmUsageError extends UsageError {}

/** "7d" → ms ago from now; "2026-01-31" → that date; else throws. */
export function parseSince(text: string, now = Date.now()): number {
  const ago = durationSeconds(text);
  if (ago !== undefined) return now - ago * 1000;
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text.length === 10 ? `${text}T00:00:00` : text).getTime() : NaN;
  if (!Number.isFinite(t))
    throw new SlurmUsageError(`--since must be a duration (7d, 12h, 30m, 2w) or a date (2026-01-31), not "${text}"`);
  return t;
}

function loadClusters(file: string | undefined, warn: (m: string) => void): ClustersConfig {
  if (!file) return {};
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    warn(`cannot read the cluster settings ${file}: ${errorMessage(err)}; using defaults`);
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    warn(`${file} is not JSON (${errorMessage(err)}); using defaults`);
    return {};
  }
  const { clusters, problems } = parseClustersConfig(value, file);
  for (const p of problems) warn(p);
  return clusters;
}

const SLURM_OPTIONS = {
  json: { type: 'boolean' },
  since: { type: 'string' },
  'all-users': { type: 'boolean' },
  region: { type: 'string' },
  pue: { type: 'string' },
  'cpu-model': { type: 'string' },
  'cpu-tdp': { type: 'string' },
  'gpu-power': { type: 'string' },
  model: { type: 'boolean' },
  clusters: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface SlurmArgs {
  help: boolean;
  json: boolean;
  jobId?: string;
  since?: string;
  allUsers: boolean;
  /** what the flags set for the cluster, and which flag set each */
  overrides: ClusterConfig;
  from: Partial<Record<keyof ClusterConfig, string>>;
  clustersFile?: string;
}

/** The command line of `carbon-meter slurm`; every mistake is a UsageError (one line, exit 2). */
function parseSlurmArgs(args: string[]): SlurmArgs {
  const { values, positionals } = parseOptions(args, SLURM_OPTIONS, true);
  const parsed: SlurmArgs = {
    help: values.help === true,
    json: values.json === true,
    jobId: positionals[0],
    since: values.since,
    allUsers: values['all-users'] === true,
    overrides: {},
    from: {},
    clustersFile: values.clusters,
  };
  if (parsed.help) return parsed;
  if (positionals.length > 1 || (positionals.length === 1) === (values.since !== undefined))
    throw new SlurmUsageError('give either one JOBID or --since D');
  if (parsed.jobId !== undefined && !/^\d+(_\d+)?(\+\d+)?$/.test(parsed.jobId))
    throw new SlurmUsageError(`"${parsed.jobId}" is not a SLURM job id (123, 123_4)`);
  if (parsed.allUsers && values.since === undefined) throw new SlurmUsageError('--all-users only applies with --since');
  const put = <K extends keyof ClusterConfig>(k: K, v: ClusterConfig[K] | undefined, flag: string) => {
    if (v === undefined) return;
    parsed.overrides[k] = v;
    parsed.from[k] = flag;
  };
  put('region', values.region, '--region');
  put('pue', numberOption(values.pue, 'pue', 1, 3), '--pue');
  put('cpuModel', values['cpu-model'], '--cpu-model');
  put('cpuTdpW', numberOption(values['cpu-tdp'], 'cpu-tdp', 1, 2000), '--cpu-tdp');
  put('gpuPowerW', numberOption(values['gpu-power'], 'gpu-power', 1, 3000), '--gpu-power');
  if (values.model) put('useMeasuredEnergy', false, '--model');
  return parsed;
}

export async function slurmCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const warn = (m: string) => process.stderr.write(`carbon-meter: ${escapeControl(m)}\n`);
  const a = parseSlurmArgs(args);
  if (a.help) {
    process.stdout.write(SLURM_HELP);
    return 0;
  }
  const since = a.since !== undefined ? parseSince(a.since) : undefined;
  const clustersFile = a.clustersFile ?? env.CARBON_METER_CLUSTERS;
  const clusters = loadClusters(clustersFile, warn);
  const timeoutS = numberOption(env.CARBON_METER_SLURM_TIMEOUT, 'CARBON_METER_SLURM_TIMEOUT', 1, 600) ?? 20;
  const commands = new SlurmCommands({ binDir: env.CARBON_METER_SLURM_BIN || undefined, timeoutMs: timeoutS * 1000 });
  const hw = await getHardware();
  const accountant = new SlurmAccountant(commands, {
    clusters: () => clusters,
    overrides: a.overrides,
    overridesFrom: a.from,
    settingName: clustersFile ?? 'carbonMeter.clusters',
    fallbackRegion: () => ({
      region: env.CARBON_METER_REGION,
      from: 'CARBON_METER_REGION',
      pue: numberOption(env.CARBON_METER_PUE, 'CARBON_METER_PUE', 1, 3),
      pueFrom: 'CARBON_METER_PUE',
    }),
    localHost: localHostOf(hw),
    log: (_l, m) => warn(m),
  });
  const history = new HistoryStore(env.CARBON_METER_HOME || HistoryStore.defaultDir(env));
  const ctx: Ctx = { commands, accountant, history, jobs: new SlurmJobStore(history.dir), json: a.json, warn };
  try {
    return a.jobId !== undefined ? await oneJob(ctx, a.jobId) : await sinceJobs(ctx, since!, a.allUsers);
  } catch (err) {
    if (!(err instanceof SlurmCommandError)) throw err;
    warn(err.message);
    return err.kind === 'missing' ? 127 : 1;
  }
}

interface Ctx {
  commands: SlurmCommands;
  accountant: SlurmAccountant;
  history: HistoryStore;
  jobs: SlurmJobStore;
  json: boolean;
  warn: (m: string) => void;
}

async function oneJob(ctx: Ctx, jobId: string): Promise<number> {
  const records = (await ctx.commands.sacct([jobId])).filter((r) => belongsTo(r, jobId));
  let groups = groupJobs(records).filter((g) => !/[[\]]/.test(g.job.jobId));
  if (!groups.length) {
    // not in the accounting database (yet): the queue may know it
    const q = await ctx.commands.squeue([jobId]);
    if (!q.length) {
      ctx.warn(`job ${jobId} is unknown to sacct and squeue (wrong id, another cluster, or purged from the database)`);
      return 1;
    }
    groups = q.map((e) => ({
      job: {
        jobId: e.jobId,
        name: '',
        state: e.state,
        stateText: e.state,
        allocTres: {},
        ...(e.elapsedS !== undefined ? { elapsedS: e.elapsedS } : {}),
      },
      steps: [],
    }));
  }
  const runs: Run[] = [];
  const lines: string[] = [];
  for (const g of groups) {
    if (isActiveState(g.job.state)) {
      await addLiveCpu(ctx, g);
      const run = await ctx.accountant.run(g);
      ctx.jobs.track({ jobId: g.job.jobId, submittedAt: g.job.submitMs ?? Date.now(), via: 'cli' });
      runs.push(run);
      lines.push(
        ...describe(
          run,
          `${g.job.state}, so far; tracked: it is recorded when it ends (next 'carbon-meter slurm' or a VS Code window)`,
        ),
      );
    } else {
      const run = await ctx.accountant.run(g);
      const what = ctx.jobs.record(ctx.history, run);
      untrackIfDone(ctx, g, records);
      runs.push(what === 'already' ? (ctx.history.get(run.id) ?? run) : run);
      lines.push(
        ...describe(
          run,
          what === 'recorded' ? `recorded in ${ctx.history.dir}` : 'already in the history (not recorded again)',
        ),
      );
    }
  }
  if (ctx.json) process.stdout.write(JSON.stringify(runs.length === 1 ? runs[0] : runs) + '\n');
  else printLines(lines);
  return 0;
}

/** A running job's CPU time so far, from sstat (sacct shows 0 until a step ends). */
async function addLiveCpu(ctx: Ctx, g: SlurmJob): Promise<void> {
  if (g.job.state !== 'RUNNING') return;
  try {
    const live = await ctx.commands.sstat(g.job.jobId);
    const finished = g.steps.filter((s) => !isActiveState(s.state));
    const running: SlurmRecord[] = live.map((s) => ({
      jobId: g.job.jobId,
      stepId: s.stepId,
      name: s.stepId,
      state: 'RUNNING',
      stateText: 'RUNNING',
      allocTres: {},
      totalCpuS: s.cpuS ?? 0,
      ...(s.energyJ ? { energyJ: s.energyJ } : {}),
    }));
    g.steps = [...finished, ...running];
  } catch (err) {
    ctx.warn(`live CPU time unavailable: ${errorMessage(err)}`);
  }
}

function untrackIfDone(ctx: Ctx, g: SlurmJob, all: SlurmRecord[]): void {
  ctx.jobs.untrack({ jobId: g.job.jobId });
  const base = g.job.jobIdRaw && g.job.jobId.includes('_') ? g.job.jobId.split('_')[0] : undefined;
  if (base && !all.some((r) => r.stepId === undefined && belongsTo(r, base) && isActiveState(r.state)))
    ctx.jobs.untrack({ jobId: base });
}

async function sinceJobs(ctx: Ctx, sinceMs: number, allUsers: boolean): Promise<number> {
  const records = await ctx.commands.sacctSince(sinceMs, { allUsers });
  const out: Run[] = [];
  let added = 0;
  let already = 0;
  let active = 0;
  const lines: string[] = [];
  for (const g of groupJobs(records)) {
    if (/[[\]]/.test(g.job.jobId)) continue;
    if (isActiveState(g.job.state)) {
      active++;
      ctx.jobs.track({ jobId: g.job.jobId, submittedAt: g.job.submitMs ?? Date.now(), via: 'cli' });
      continue;
    }
    const run = await ctx.accountant.run(g);
    const what = ctx.jobs.record(ctx.history, run);
    untrackIfDone(ctx, g, records);
    if (what === 'recorded') {
      added++;
      out.push(run);
      lines.push(...describe(run, 'recorded'));
    } else already++;
  }
  if (ctx.json) {
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    lines.push(
      `${added} job(s) recorded in ${ctx.history.dir}, ${already} already there${active ? `, ${active} still pending or running (tracked)` : ''}.`,
    );
    printLines(lines);
  }
  return 0;
}

/** The lines that tell a job's run (each escaped on its own when printed: a line break is the layout's alone). */
function describe(run: Run, what: string): string[] {
  const p = run.power;
  const method = [p.cpu, p.gpu, p.ram].some((c) => c.method === 'measured') ? 'measured by SLURM' : 'modelled';
  return [
    `${run.name} · ${run.status}${run.exitCode !== null && run.exitCode !== undefined ? ` (exit ${run.exitCode})` : ''} · ${formatDuration(run.durationS)} · ${sig(run.cpuSeconds)} CPU s · ${formatEnergy(run.energyKWh.total)} (${method}) · ${formatCo2(run.emissionsKg)} CO₂eq · ${run.intensity.region}`,
    `  CPU ${formatEnergy(run.energyKWh.cpu)} ${p.cpu.method}: ${p.cpu.detail}`,
    `  GPU ${formatEnergy(run.energyKWh.gpu)} ${p.gpu.method}: ${p.gpu.unavailableReason ?? p.gpu.detail}`,
    `  RAM ${formatEnergy(run.energyKWh.ram)} ${p.ram.method}: ${p.ram.detail}`,
    ...(run.notes ?? []).map((n) => `  Note ${n}`),
    `  ${run.id}: ${what}`,
  ];
}
