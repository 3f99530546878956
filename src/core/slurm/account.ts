/**
 * A SLURM job's accounting records → a Carbon Meter `Run` (source `slurm`).
 *
 * Energy: measured from SLURM's ConsumedEnergyRaw when the cluster records it (an acct_gather_energy plugin; the
 * job allocation's figure, which SLURM sums over the job's nodes); otherwise modelled: TotalCPU × the power of one
 * logical CPU (the node's CPU TDP ÷ its logical CPUs), allocated GPUs × their board power × elapsed time, and the
 * allocated memory × W/GB × elapsed time. Every component says how it was obtained and why.
 */
import type { RegionInfo } from '../intensity/regions';
import { StaticIntensityProvider } from '../intensity/provider';
import { RAM_MODEL_SOURCE, RAM_W_PER_GB } from '../power/ram';
import { DEFAULT_W_PER_LOGICAL_CPU, lookupCpuTdp } from '../power/tdp';
import { J_PER_KWH, type ComponentPower, type Run, type RunStatus } from '../types';
import { VERSION } from '../version';
import type { ResolvedCluster } from './config';
import { lookupGpuPower } from './gpuPower';
import { gpusInTres, type SlurmRecord } from './parse';
import type { NodeInfo } from './scontrol';

/** A job (or one array task, or one het component) and its steps. */
export interface SlurmJob {
  job: SlurmRecord;
  steps: SlurmRecord[];
}

const ACTIVE = new Set([
  'PENDING',
  'RUNNING',
  'REQUEUED',
  'RESIZING',
  'SUSPENDED',
  'CONFIGURING',
  'COMPLETING',
  'STOPPED',
  'SIGNALING',
  'STAGE_OUT',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESV_DEL_HOLD',
  'PREEMPTED_RQ',
]);

/** True for a state a job leaves (pending, running, ...); false for COMPLETED, FAILED, CANCELLED, TIMEOUT, ... */
export function isActiveState(state: string): boolean {
  return ACTIVE.has(state.toUpperCase()) || state === '';
}

/** Groups records by job (array tasks and het components separately); job order follows the input. */
export function groupJobs(records: SlurmRecord[]): SlurmJob[] {
  const byId = new Map<string, SlurmJob>();
  for (const r of records) {
    let g = byId.get(r.jobId);
    if (!g) {
      g = { job: r.stepId === undefined ? r : { ...r, stepId: undefined }, steps: [] };
      byId.set(r.jobId, g);
    }
    if (r.stepId === undefined) g.job = r;
    else g.steps.push(r);
  }
  return [...byId.values()];
}

/** The run id of a job on a cluster: stable, so a job is recorded once whoever records it. */
export function slurmRunId(cluster: string, jobId: string): string {
  const clean = (x: string) => x.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '');
  return `slurm-${clean(cluster || 'cluster')}-${clean(jobId)}`;
}

export interface AccountOptions {
  cluster: ResolvedCluster;
  /** the job's first node, from `scontrol show node` */
  node?: NodeInfo;
  /** AcctGatherEnergyType from `scontrol show config` ("acct_gather_energy/rapl"), when known */
  energyPlugin?: string;
  /** this machine, used when the job ran on it (a single-node cluster, a login node that is also a compute node) */
  localHost?: { hostname: string; cpuModel: string; logicalCpus: number; sockets?: number };
  now?: number;
}

/** CPU seconds of a job: the sum over its steps (the job line's TotalCPU is 0 in --json for batch jobs). */
export function jobCpuSeconds(j: SlurmJob): number {
  const steps = j.steps.reduce((s, r) => s + (r.totalCpuS ?? 0), 0);
  return j.steps.length && steps > 0 ? steps : (j.job.totalCpuS ?? 0);
}

/** The job's measured energy, J, and which record it came from; undefined when SLURM recorded none (blank or 0). */
export function measuredEnergy(j: SlurmJob): { energyJ: number; from: string } | undefined {
  if ((j.job.energyJ ?? 0) > 0) return { energyJ: j.job.energyJ!, from: 'the job allocation' };
  const ext = j.steps.find((s) => s.stepId === 'extern');
  if ((ext?.energyJ ?? 0) > 0) return { energyJ: ext!.energyJ!, from: 'the extern step (the whole allocation)' };
  // steps on the same nodes overlap in time (the batch step spans the srun steps): take the largest, never a sum
  const best = j.steps.reduce<SlurmRecord | undefined>(
    (b, s) => ((s.energyJ ?? 0) > (b?.energyJ ?? 0) ? s : b),
    undefined,
  );
  if (best && (best.energyJ ?? 0) > 0)
    return { energyJ: best.energyJ!, from: `step ${best.stepId} (the largest step; steps overlap)` };
  return undefined;
}

function status(state: string, exitCode: number | null): RunStatus {
  if (isActiveState(state)) return 'running';
  return state === 'COMPLETED' && (exitCode ?? 0) === 0 ? 'completed' : 'failed';
}

/** "2:0" → 2; "0:15" (killed by signal 15) → 143 */
export function exitCodeOf(text: string | undefined): number | null {
  const m = /^(\d+):(\d+)$/.exec(text ?? '');
  if (!m) return null;
  return Number(m[2]) > 0 ? 128 + Number(m[2]) : Number(m[1]);
}

interface CpuModel {
  wPerCpu: number;
  method: 'modelled' | 'default';
  detail: string;
  tdpW?: number;
}

/** Power of one logical CPU of the job's nodes: a per-cluster setting, the node's CPU model, or CodeCarbon's fallback. */
export function cpuPowerPerCpu(opts: AccountOptions, nodeName?: string): CpuModel {
  const c = opts.cluster;
  const cpus =
    opts.node?.cpus ??
    (opts.localHost && nodeName === opts.localHost.hostname ? opts.localHost.logicalCpus : undefined);
  const sockets = opts.node?.sockets ?? 1;
  if (c.cpuTdpW !== undefined && cpus) {
    const tdp = c.cpuTdpW * sockets;
    return {
      wPerCpu: tdp / cpus,
      method: 'modelled',
      tdpW: tdp,
      detail: `TDP ${c.cpuTdpW} W × ${sockets} socket(s) ÷ ${cpus} logical CPUs per node (${c.from('cpuTdpW')})`,
    };
  }
  const model =
    c.cpuModel ??
    opts.node?.cpuModel ??
    (opts.localHost && nodeName === opts.localHost.hostname ? opts.localHost.cpuModel : undefined);
  if (model && cpus) {
    const t = lookupCpuTdp(model, cpus, { sockets });
    const whence = c.cpuModel
      ? c.from('cpuModel')
      : opts.node?.cpuModel
        ? `scontrol show node ${opts.node.name}`
        : `this machine, node ${nodeName}`;
    return {
      wPerCpu: t.tdpW / cpus,
      method: t.method,
      tdpW: t.tdpW,
      detail: `${t.detail} ÷ ${cpus} logical CPUs per node; CPU model from ${whence}`,
    };
  }
  const why = cpus
    ? "the nodes' CPU model is unknown (scontrol shows none)"
    : 'the nodes are unknown (scontrol show node gave nothing)';
  return {
    wPerCpu: DEFAULT_W_PER_LOGICAL_CPU,
    method: 'default',
    detail: `${why}: ${DEFAULT_W_PER_LOGICAL_CPU} W per logical CPU (CodeCarbon's fallback); set "cpuModel" or "cpuTdpW" for the cluster`,
  };
}

function component(
  method: ComponentPower['method'],
  detail: string,
  energyJ: number,
  durationS: number,
  extra: Partial<ComponentPower> = {},
): ComponentPower {
  const meanW = durationS > 0 ? energyJ / durationS : 0;
  return { method, detail, meanW: round(meanW), lastW: round(meanW), ...extra };
}

function round(x: number, d = 3): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** What a measured figure covers, from the energy plugin's name. */
function energyScope(plugin: string | undefined): 'node' | 'cpu+ram' | 'gpu' {
  if (!plugin) return 'node';
  if (/rapl/.test(plugin)) return 'cpu+ram';
  if (/\/gpu$/.test(plugin)) return 'gpu';
  return 'node';
}

interface Components {
  cpu: ComponentPower;
  gpu: ComponentPower;
  ram: ComponentPower;
  cpuJ: number;
  gpuJ: number;
  ramJ: number;
  gpuType?: string;
  gpuCount: number;
}

/** The modelled components: CPU from TotalCPU, GPUs and memory from the allocation over the elapsed time. */
function modelled(j: SlurmJob, opts: AccountOptions, durationS: number, cpuSeconds: number): Components {
  const job = j.job;
  const cluster = opts.cluster;
  const gpus = gpusInTres(job.allocTres);
  const memBytes = job.allocTres.mem ?? 0;
  const cpuM = cpuPowerPerCpu(opts, opts.node?.name ?? firstNode(job.nodeList));
  const cpuJ = cpuSeconds * cpuM.wPerCpu;
  const gpuType = cluster.gpuModel ?? gpus.types[0]?.type ?? opts.node?.gpuType;
  const g =
    cluster.gpuPowerW !== undefined
      ? {
          powerW: cluster.gpuPowerW,
          method: 'modelled' as const,
          detail: `${cluster.gpuPowerW} W per GPU (${cluster.from('gpuPowerW')})`,
        }
      : lookupGpuPower(gpuType);
  const gpuJ = gpus.count * g.powerW * durationS;
  const ramJ = (memBytes / 1024 ** 3) * RAM_W_PER_GB * durationS;
  const cpuDetail = `TotalCPU ${round(cpuSeconds, 1)} s × ${round(cpuM.wPerCpu, 2)} W per logical CPU: ${cpuM.detail}`;
  return {
    cpu: component(cpuM.method, cpuDetail, cpuJ, durationS, cpuM.tdpW !== undefined ? { tdpW: cpuM.tdpW } : {}),
    gpu: gpus.count
      ? component(
          g.method,
          `${gpus.count} allocated GPU(s) × ${g.detail} × elapsed time (no utilisation data)`,
          gpuJ,
          durationS,
          { tdpW: g.powerW },
        )
      : component('modelled', 'no GPU allocated (AllocTRES has no gres/gpu)', 0, durationS, {
          unavailableReason: 'no GPU allocated to the job',
        }),
    ram: component(
      'modelled',
      `${round(memBytes / 1024 ** 3, 2)} GB allocated × ${RAM_W_PER_GB} W/GB × elapsed time (${RAM_MODEL_SOURCE})`,
      ramJ,
      durationS,
      { wPerGB: RAM_W_PER_GB },
    ),
    cpuJ,
    gpuJ,
    ramJ,
    gpuCount: gpus.count,
    ...(gpuType ? { gpuType } : {}),
  };
}

/** Replaces the components the measurement covers (by the energy plugin: whole node, RAPL CPU+DRAM, or GPUs). */
function applyMeasured(
  c: Components,
  m: { energyJ: number; from: string },
  plugin: string | undefined,
  nodes: number,
  durationS: number,
): void {
  const scope = energyScope(plugin);
  const name = plugin ?? 'acct_gather_energy';
  const what = `SLURM ConsumedEnergyRaw ${round(m.energyJ / 1000, 3)} kJ from ${m.from}, ${nodes} node(s) summed by SLURM (${name})`;
  const inNode = `included in the energy SLURM measured (${name})`;
  if (scope === 'gpu') {
    c.gpuJ = m.energyJ;
    c.gpu = component('measured', `${what}: GPUs`, c.gpuJ, durationS);
    return;
  }
  c.cpuJ = m.energyJ;
  c.cpu = component(
    'measured',
    scope === 'node' ? `${what}: whole nodes (CPU, GPU, memory), not split` : `${what}: CPU packages and DRAM`,
    c.cpuJ,
    durationS,
  );
  c.ramJ = 0;
  c.ram = component('measured', inNode, 0, durationS, { unavailableReason: inNode });
  if (scope === 'node' && c.gpuCount) {
    c.gpuJ = 0;
    c.gpu = component('measured', inNode, 0, durationS, { unavailableReason: inNode });
  }
}

/** What the run's figures rest on: modelled or measured and why, the nodes, the steps, SLURM's state, the cluster. */
function jobNotes(j: SlurmJob, opts: AccountOptions, nodes: number, measured: boolean): string[] {
  const job = j.job;
  const cluster = opts.cluster;
  const notes: string[] = [];
  if (!measured)
    notes.push(
      cluster.useMeasuredEnergy
        ? 'energy modelled: SLURM recorded no energy for this job (ConsumedEnergyRaw blank or 0: no acct_gather_energy plugin on the cluster)'
        : `energy modelled: measured energy ignored (${cluster.from('useMeasuredEnergy')})`,
    );
  if (nodes > 1)
    notes.push(
      `${nodes} nodes (${job.nodeList ?? '?'}); CPU power per node from ${opts.node?.name ?? firstNode(job.nodeList) ?? 'the first node'}, nodes assumed alike`,
    );
  if (j.steps.length) notes.push(`steps: ${j.steps.map((s) => s.stepId).join(', ')}`);
  if (job.stateText && job.stateText !== 'COMPLETED')
    notes.push(`SLURM state ${job.stateText}${job.exitCode ? `, exit code ${job.exitCode}` : ''}`);
  notes.push(...cluster.notes);
  return notes;
}

/** The job's allocation as the run's hardware: CPUs, memory and GPUs it was given, on which nodes. */
function jobHardware(j: SlurmJob, opts: AccountOptions, c: Components): Run['hardware'] {
  const job = j.job;
  return {
    cpuModel: opts.cluster.cpuModel ?? opts.node?.cpuModel ?? 'unknown (SLURM nodes)',
    logicalCpus: job.allocCpus ?? job.allocTres.cpu ?? 0,
    ramGB: round((job.allocTres.mem ?? 0) / 1024 ** 3, 3),
    gpus: Array.from({ length: c.gpuCount }, (_, i) => ({ index: i, name: c.gpuType ?? 'gpu' })),
    hostname: job.nodeList ?? '',
  };
}

/** Builds the run of a job. Works for a running job too (status `running`, figures so far). */
export function jobToRun(j: SlurmJob, opts: AccountOptions): Run {
  const job = j.job;
  const now = opts.now ?? Date.now();
  const cluster = opts.cluster;
  const startMs = job.startMs ?? job.submitMs ?? now;
  const endMs = isActiveState(job.state) ? undefined : (job.endMs ?? now);
  const durationS = Math.max(0, job.elapsedS ?? ((endMs ?? now) - startMs) / 1000);
  const cpuSeconds = jobCpuSeconds(j);
  const exitCode = isActiveState(job.state) ? null : exitCodeOf(job.exitCode);
  const nodes = job.nNodes ?? job.allocTres.node ?? 1;
  const c = modelled(j, opts, durationS, cpuSeconds);
  const measured = cluster.useMeasuredEnergy ? measuredEnergy(j) : undefined;
  if (measured) applyMeasured(c, measured, opts.energyPlugin, nodes, durationS);
  const notes = jobNotes(j, opts, nodes, measured !== undefined);

  const pue = cluster.place.pue;
  const energyKWh = {
    cpu: c.cpuJ / J_PER_KWH,
    gpu: c.gpuJ / J_PER_KWH,
    ram: c.ramJ / J_PER_KWH,
    total: ((c.cpuJ + c.gpuJ + c.ramJ) / J_PER_KWH) * pue,
  };
  const region: RegionInfo = cluster.place.region;
  const intensity = new StaticIntensityProvider().at(region, startMs);
  const clusterName = job.cluster ?? cluster.name;
  const run: Run = {
    id: slurmRunId(clusterName, job.jobId),
    name: `${job.name || 'job'} (SLURM ${job.jobId})`,
    command: job.submitLine ?? `SLURM job ${job.jobId} on ${clusterName}`,
    cwd: job.workDir ?? '',
    source: 'slurm',
    startedAt: new Date(startMs).toISOString(),
    durationS: round(durationS, 3),
    status: status(job.state, exitCode),
    exitCode,
    cpuSeconds: round(cpuSeconds, 3),
    energyKWh,
    emissionsKg: (energyKWh.total * intensity.gPerKWh) / 1000,
    pue,
    pueSource: cluster.place.pueSource,
    intensity: {
      gPerKWh: intensity.gPerKWh,
      region: region.code,
      regionName: region.name,
      source: intensity.source,
      method: intensity.method,
      factorType: intensity.factorType,
      regionReason: cluster.place.reason,
      ...(intensity.year !== undefined ? { year: intensity.year } : {}),
      ...(cluster.place.guessed ? { guessed: true } : {}),
    },
    power: { cpu: c.cpu, gpu: c.gpu, ram: c.ram },
    hardware: jobHardware(j, opts, c),
    meterVersion: VERSION,
    notes,
    host: clusterName,
  };
  if (endMs !== undefined) run.endedAt = new Date(endMs).toISOString();
  return run;
}

/** "nid[001002,001004]" → "nid001002"; "vm" → "vm"; "None assigned" → undefined */
export function firstNode(nodeList: string | undefined): string | undefined {
  if (!nodeList || /^none/i.test(nodeList) || nodeList === '(null)') return undefined;
  const m = /^([^[,]*)(?:\[([^\],-]+)[^\]]*\])?/.exec(nodeList.trim());
  if (!m) return undefined;
  return `${m[1]}${m[2] ?? ''}` || undefined;
}
