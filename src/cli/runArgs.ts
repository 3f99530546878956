/** The command line of `carbon-meter run`: its options, its help, and where the command starts. */
import type { OnBudget } from '../core/forecast/budget';
import { checkOutFile, numberOption, parseOptions, UsageError } from './common';
import { BUDGET_HELP, parseOnBudget } from './runWatch';
import { parseDurationH, SCHEDULE_HELP } from './schedule';
import { errorMessage } from '../core/errors';

export const RUN_HELP = `Usage: carbon-meter run [options] [--] <command> [args...]

Runs <command> with its input and output passed through, meters it and every process it starts, prints a live
readout on stderr and a summary at the end, and adds the run to the history. Exits with the command's exit code
(127 when the command is not found, 126 when it cannot be run: a folder, no execute permission).
Options come before the command: from the first word that is not an option (or after "--"), every argument is the
command's, so "carbon-meter run echo --name=x" prints "--name=x".

Options:
  --region CODE      ISO 3166 country (FR, DEU) or provider:region (aws:eu-west-3, gcp:europe-west9,
                     azure:francecentral); default: $CARBON_METER_REGION, else a guess from the time zone, else the
                     world average (the summary says which)
  --pue N            power usage effectiveness of the data centre, 1 to 3 (default: $CARBON_METER_PUE, else 1.0
                     locally, the provider's for cloud regions)
  --interval S       sampling interval in seconds (default 10, or 2 when a GPU is metered; minimum 0.5); a sample is
                     taken after 1 s and at each checkpoint too. CPU time is cumulative: a longer interval loses no
                     CPU energy, it only makes the power curve and the live readout on a terminal coarser (a log or
                     a pipe gets a readout line every 10 s at most, whatever the interval); resident memory (the RAM
                     model's input) is read at each sample, so a peak between two is missed
  --name NAME        name of the run in the history (default: the script's or module's name, else the command's
                     first words, whole)
  --tdp W            CPU TDP in watts, instead of RAPL or the CPU table
  --checkpoint S     save the running run every S seconds (default 10, from 1 to 10)
  --no-gpu           do not meter GPUs (no NVML, nvidia-smi, amd-smi or rocm-smi)
  --json             print the run record as one JSON line on stdout at the end, instead of the summary. It comes after
                     whatever the command printed, on a line of its own: it is always the last line (tail -n 1)
  --json-out FILE    write the run record (JSON) to FILE at the end, apart from the command's output: the clean
                     channel for scripts whose command prints. FILE is replaced whole, never half-written (a FIFO
                     or a device is written through)
  --quiet            no live readout
  --keep-secrets     store the command line as typed (default: API keys, tokens, passwords and URL credentials in it
                     are replaced by ***)
  --kill-after S     seconds a command gets to stop after a SIGTERM or SIGHUP before SIGKILL (default 10; 0: never)
  --provider NAME    carbon intensity source: static (annual averages, default), electricitymaps, uk-carbon-intensity,
                     watttime (default: $CARBON_METER_PROVIDER). Live sources are asked at most once per period
                     (Electricity Maps 1 h, GB 30 min, WattTime 5 min) by all windows and CLIs together; on failure the
                     static average is used and the run record says why.

What is metered: CPU by RAPL energy counters where readable, else the CPU's TDP × the run's CPU time; GPUs by NVML
(libnvidia-ml: the energy counter where the GPU has one, else its power), else nvidia-smi's power.draw, and AMD GPUs
by amd-smi, else rocm-smi; only the GPUs the command may use (CUDA_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES,
ROCR_VISIBLE_DEVICES), shared by processes' use when other processes use them too; RAM as 0.375 W per GB resident.
'carbon-meter doctor' shows which of these this machine allows.

Signals: SIGINT, SIGQUIT, SIGHUP and SIGTERM reach the command once: passed on when they were sent to the CLI
alone (kill -INT <pid>), not repeated when the command got them too (Ctrl-C at a terminal, a signal to the process
group, GNU timeout). A second signal to the CLI alone, or --kill-after seconds after SIGTERM or SIGHUP, stops the
command and the processes under it with SIGKILL; the run's notes say so. A copy of a signal sent to the whole group
(timeout sends each signal twice: to the CLI, then to its group) never escalates.

Environment: CARBON_METER_HOME (history folder), CARBON_METER_REGION, CARBON_METER_PUE, CARBON_METER_PROVIDER,
CARBON_METER_NVIDIA_SMI, CARBON_METER_AMD_SMI, CARBON_METER_ROCM_SMI (GPU tools); see 'carbon-meter --help'.

Live intensity environment:
  CARBON_METER_<PROVIDER>_URL          API root: CARBON_METER_ELECTRICITYMAPS_URL, CARBON_METER_UK_CARBON_INTENSITY_URL,
                                       CARBON_METER_WATTTIME_URL
  CARBON_METER_ELECTRICITYMAPS_TOKEN   Electricity Maps API token
  CARBON_METER_ELECTRICITYMAPS_ZONE    Electricity Maps zone, such as US-CAL-CISO (default: from the region)
  CARBON_METER_UK_POSTCODE             GB outward postcode (RG10) for regional figures; default: national
  CARBON_METER_WATTTIME_USERNAME, CARBON_METER_WATTTIME_PASSWORD, CARBON_METER_WATTTIME_REGION (CAISO_NORTH)
                                       WattTime account and grid region (marginal MOER, not an average);
                                       or CARBON_METER_WATTTIME_LATITUDE and _LONGITUDE to find the region
  CARBON_METER_INTENSITY_TIMEOUT       seconds per request (default 10)

Forecast and budget:
${BUDGET_HELP}
Greener hours (need a live --provider):
${SCHEDULE_HELP}`;

/**
 * `run`'s sampling interval, s, when --interval is not given. Every tick costs the CLI a wake-up and a pass through
 * the meter, whatever the tree does, and on a shared 2-core VM the wake-up is much of it: an idle Node process whose
 * only work is an empty timer costs 0.4–1.5 ms of CPU per wake there (Python's sleep loop 0.1–0.2 ms); a tick of a
 * 20-process tree costs 1–1.5 ms more inside the meter, a checkpoint 3–5 ms. The CLI's CPU per metered second for
 * that tree (1.5–21.5 s, then 31.5–61.5 s, one after the other on the same VM): 1.72 and 1.81 ms at 2 s, 1.18 and
 * 0.75 at 5 s, 0.93 and 0.58 at 10 s; the goal is 1 ms (`npm run bench`, `overhead`).
 * - Without a GPU every quantity a tick reads is cumulative (CPU time, RAPL's counters) or slow (resident memory):
 *   a longer interval loses no energy, only resolution in the power curve and the live readout. 10 s, the checkpoint
 *   period, so that every wake-up is also a checkpoint (CodeCarbon samples every 15 s).
 * - With a GPU, 2 s: the GPU monitors read at the same interval, and nvidia-smi's power.draw (a 1 s average, the
 *   fallback when NVML is absent) is integrated as the latest power × the tick, so a longer tick would miss changes
 *   in power; NVML's and AMD's energy counters lose nothing either way.
 */
export const DEFAULT_INTERVAL_S = { gpu: 2, withoutGpu: 10 } as const;

const RUN_OPTIONS = {
  region: { type: 'string' },
  pue: { type: 'string' },
  interval: { type: 'string' },
  name: { type: 'string' },
  tdp: { type: 'string' },
  checkpoint: { type: 'string' },
  'no-gpu': { type: 'boolean' },
  provider: { type: 'string' },
  json: { type: 'boolean' },
  'json-out': { type: 'string' },
  quiet: { type: 'boolean' },
  'keep-secrets': { type: 'boolean' },
  'kill-after': { type: 'string' },
  'budget-g': { type: 'string' },
  'budget-month-kg': { type: 'string' },
  'on-budget': { type: 'string' },
  'stop-grace': { type: 'string' },
  'start-within': { type: 'string' },
  'pause-above': { type: 'string' },
  'max-delay': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface RunArgs {
  command: string[];
  help: boolean;
  region?: string;
  pue?: string;
  /** --interval, s; undefined: the default (DEFAULT_INTERVAL_S) */
  intervalS?: number;
  name?: string;
  tdpW?: number;
  checkpointS: number;
  gpu: boolean;
  provider?: string;
  json: boolean;
  jsonOut?: string;
  quiet: boolean;
  keepSecrets: boolean;
  killAfterS: number;
  budgetG?: number;
  budgetMonthKg?: number;
  onBudget: OnBudget;
  stopGraceS: number;
  startWithinH?: number;
  pauseAbove?: number;
  maxDelayS: number;
}

/**
 * Splits `run`'s arguments into its own options and the command: the command starts at "--" or at the first word
 * that is neither an option nor an option's value. `--name=x` and `--name x` are both the option's; an unknown
 * option stays on the CLI's side, so it is reported rather than taken as the command.
 */
export function splitRunArgs(args: string[]): { own: string[]; command: string[] } {
  const takesValue = new Set(
    Object.entries(RUN_OPTIONS)
      .filter(([, o]) => o.type === 'string')
      .map(([name]) => `--${name}`),
  );
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return { own: args.slice(0, i), command: args.slice(i + 1) };
    if (!a.startsWith('-') || a === '-') return { own: args.slice(0, i), command: args.slice(i) };
    if (takesValue.has(a)) i++;
  }
  return { own: args, command: [] };
}

export function parseRunArgs(args: string[]): RunArgs {
  const { own, command } = splitRunArgs(args);
  const { values } = parseOptions(own, RUN_OPTIONS);
  const parsed: RunArgs = {
    command,
    help: values.help === true,
    region: values.region,
    pue: values.pue,
    intervalS: numberOption(values.interval, 'interval', 0.5, 3600),
    name: values.name,
    tdpW: numberOption(values.tdp, 'tdp', 1, 2000),
    checkpointS: numberOption(values.checkpoint, 'checkpoint', 1, 10) ?? 10,
    gpu: !values['no-gpu'],
    provider: values.provider,
    json: values.json === true,
    jsonOut: values['json-out'],
    quiet: values.quiet === true,
    keepSecrets: values['keep-secrets'] === true,
    killAfterS: numberOption(values['kill-after'], 'kill-after', 0, 86_400) ?? 10,
    budgetG: numberOption(values['budget-g'], 'budget-g', 0, Infinity, { positive: true }),
    budgetMonthKg: numberOption(values['budget-month-kg'], 'budget-month-kg', 0, Infinity, { positive: true }),
    onBudget: 'warn',
    stopGraceS: numberOption(values['stop-grace'], 'stop-grace', 0, 3600) ?? 30,
    pauseAbove: numberOption(values['pause-above'], 'pause-above', 0, Infinity, { positive: true }),
    maxDelayS: 6 * 3600,
  };
  try {
    parsed.onBudget = parseOnBudget(values['on-budget']);
    if (values['start-within'] !== undefined)
      parsed.startWithinH = parseDurationH(values['start-within'], 'start-within');
    parsed.maxDelayS = parseDurationH(values['max-delay'] ?? '6h', 'max-delay') * 3600;
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (parsed.help) return parsed;
  checkCompanions(values);
  if (parsed.killAfterS === 0) parsed.killAfterS = Infinity;
  if (!command.length) throw new UsageError('a command to run is needed: carbon-meter run -- python train.py');
  if (parsed.name !== undefined && parsed.name.trim() === '') throw new UsageError('--name needs a non-empty name');
  // `--region=$REGION` with the variable unset must not fall back to the world average unseen
  if (parsed.region !== undefined && parsed.region.trim() === '')
    throw new UsageError('--region needs a region code (FR, aws:eu-west-3); leave it out for the default');
  if (parsed.jsonOut !== undefined) checkOutFile('json-out', parsed.jsonOut);
  return parsed;
}

/** Options that mean something only with another: [option, what it needs, whether that is there]. */
const COMPANIONS: [string, string, (v: Record<string, unknown>) => boolean][] = [
  ['max-delay', '--pause-above', (v) => v['pause-above'] !== undefined],
  [
    'on-budget',
    '--budget-g or --budget-month-kg',
    (v) => v['budget-g'] !== undefined || v['budget-month-kg'] !== undefined,
  ],
  ['stop-grace', '--on-budget stop', (v) => v['on-budget'] === 'stop'],
];

/** An option given without the one that gives it a meaning would be ignored silently: a usage error instead. */
function checkCompanions(values: Record<string, unknown>): void {
  for (const [option, needs, present] of COMPANIONS) {
    if (values[option] !== undefined && !present(values))
      throw new UsageError(`--${option} only applies with ${needs}`);
  }
}
