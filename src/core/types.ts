/**
 * The shared vocabulary of Carbon Meter's core. No `vscode` import here or anywhere under src/core.
 *
 * Units are part of every name: `...W` watts, `...KWh` kilowatt-hours, `...S` seconds,
 * `...Kg` kilograms, `...GPerKWh` grams CO₂eq per kWh.
 */

/** How a figure was obtained. The UI shows it next to every number. */
export type Method = 'measured' | 'modelled' | 'default';

/** Where a run was started from. */
export type RunSource = 'cli' | 'terminal' | 'debug' | 'task' | 'codecarbon-import' | 'manual' | 'slurm' | 'notebook';

/**
 * `stopped`: Carbon Meter stopped the run on purpose (its carbon budget, which `stoppedBy` says; or with SIGKILL after
 * the user's signal, when the command would not stop, which its notes say), or the reader of the output that the CLI
 * passes through went away (`| head`) and the command ended on the closed pipe (its notes say so), whatever exit
 * code the command then gave; `interrupted`: the run's owner went away and the run was recovered from its last checkpoint.
 */
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted' | 'stopped';

export interface EnergyKWh {
  cpu: number;
  gpu: number;
  ram: number;
  /** (cpu + gpu + ram) × PUE */
  total: number;
}

/** How a component's power was obtained, and with which figure. */
export interface ComponentPower {
  method: Method;
  /** One line a person can read: "RAPL package-0, share by CPU time", "TDP 240 W (AMD EPYC 7763, codecarbon cpu_power.csv) × utilisation". */
  detail: string;
  /** Mean power over the run so far, W (before PUE). */
  meanW: number;
  /** Last sampled power, W (before PUE). */
  lastW: number;
  /** Model inputs, when modelled: TDP (W), W per GB, per-core fallback... */
  tdpW?: number;
  wPerGB?: number;
  /** Why a component is not measured (e.g. "nvidia-smi not found"). */
  unavailableReason?: string;
  /** Where a measured figure comes from, e.g. "NVML total-energy counter", "nvidia-smi power.draw". */
  source?: string;
  /** How a shared device is split between runs, per device, e.g. "GPU 0 100 %: used only by the run: whole device". */
  shareRule?: string;
}

export interface RunPower {
  cpu: ComponentPower;
  gpu: ComponentPower;
  ram: ComponentPower;
}

/**
 * How a run's intensity was obtained: an annual average for its region, time-resolved from a live source, a
 * default (world average), or `imported` with the run from another tool's file (CodeCarbon's emissions ÷ energy;
 * `source` names it).
 */
export type IntensityMethod = 'annual-average' | 'time-resolved' | 'default' | 'imported';

/** The carbon intensity a run used. */
export interface RunIntensity {
  /** Energy-weighted mean over the run, gCO₂eq/kWh. */
  gPerKWh: number;
  /** Region code as the user wrote it, normalised: "FR", "aws:eu-west-3". */
  region: string;
  /** Human-readable name: "France", "AWS eu-west-3 (Paris)". */
  regionName?: string;
  /** Data source: "CO2.js 0.19.0 (Ember 2023)", "Cloud Carbon Footprint (carbonfootprint.com 2022)". */
  source: string;
  /** Reference year of the figure, when annual. */
  year?: number;
  method: IntensityMethod;
  /** True when the region was guessed (time zone), not configured. */
  guessed?: boolean;
  /** How the region was chosen: "setting carbonMeter.region", "--region", "time zone Europe/Paris". */
  regionReason?: string;
  /** Set when a live provider failed and the static value was used instead. */
  fallback?: string;
  /** Average or marginal emissions factor. */
  factorType?: 'average' | 'marginal';
}

export interface GpuInfo {
  index: number;
  name: string;
  uuid?: string;
  memoryMB?: number;
}

export interface Hardware {
  cpuModel: string;
  logicalCpus: number;
  /** CPU packages (sockets), when known */
  sockets?: number;
  ramGB: number;
  gpus: GpuInfo[];
  os?: string;
  hostname?: string;
}

/** One point of a run's power over time (before PUE). */
export interface Sample {
  /** ms since epoch */
  t: number;
  cpuW: number;
  gpuW: number;
  ramW: number;
  /** intensity in force for this sample, gCO₂eq/kWh */
  gPerKWh?: number;
}

/** What one notebook cell used: its share of the kernel's run inside the cell's execution window (core/notebook/cells.ts). */
export interface NotebookCellFootprint {
  /** the cell's index in the notebook when it executed */
  index: number;
  /** the first non-empty line of its source (bounded) */
  firstLine: string;
  /** ISO time the cell started executing */
  startedAt: string;
  durationS: number;
  /** with PUE */
  energyKWh: number;
  emissionsKg: number;
  /** the kernel's CPU time attributed to the cell */
  cpuSeconds: number;
  /** the least certain method among the components that make at least a tenth of its energy */
  method: Method;
  success?: boolean;
}

/** A run as stored in the history and printed by `carbon-meter run --json`. */
export interface Run {
  id: string;
  name: string;
  command: string;
  cwd: string;
  source: RunSource;
  startedAt: string;
  endedAt?: string;
  durationS: number;
  status: RunStatus;
  exitCode?: number | null;
  /** CPU seconds (user + system) of the tracked tree. */
  cpuSeconds: number;
  /** Peak resident memory of the tracked tree, GB. */
  peakRamGB?: number;
  energyKWh: EnergyKWh;
  emissionsKg: number;
  pue: number;
  /** Where the PUE came from: "default (local machine)", "aws (Cloud Carbon Footprint)", "setting". */
  pueSource?: string;
  intensity: RunIntensity;
  power: RunPower;
  hardware: Hardware;
  /** pid of the tracked root process, when known */
  pid?: number;
  /** Version of Carbon Meter that wrote the record. */
  meterVersion?: string;
  /** Free-form notes: what was not metered and why. */
  notes?: string[];
  /** Number of samples in the run's sample file. */
  sampleCount?: number;
  /** Who wrote the record. */
  host?: string;
  /** Forecasts of the final footprint from the progress the run printed (bounded; core/forecast). */
  forecasts?: { t: number; progress: number; predictedKWh: number; predictedKg: number }[];
  /** The run's carbon budget and what happened to it (core/forecast/budget). */
  budget?: import('./forecast/budget').RunBudget;
  /** Set when Carbon Meter stopped the run itself. */
  stoppedBy?: 'budget';
  /** Waiting for a greener start, and pausing while the grid was dirty (core/schedule). */
  schedule?: import('./schedule/types').RunSchedule;
  /** Notebook runs: the cells that executed on the kernel, latest last (bounded; core/notebook/cells.ts). */
  cells?: NotebookCellFootprint[];
}

/** J (W·s) → kWh */
export const J_PER_KWH = 3.6e6;

/** Who holds a running run's checkpoint (history/running/<id>.json): written and judged by core/history/owner.ts. */
export interface CheckpointOwner {
  pid: number;
  host: string;
  /** Linux: the owner's start time in clock ticks since boot (/proc/<pid>/stat field 22), to survive pid reuse. */
  startTicks?: number;
  /** Linux: /proc/sys/kernel/random/boot_id. */
  bootId?: string;
  /** Linux: the owner's pid namespace ("pid:[4026531836]"); pids are only comparable inside one namespace. */
  pidNs?: string;
  /** ISO time of the owner's last checkpoint. */
  heartbeatAt: string;
}
