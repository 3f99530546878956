/**
 * A run's GPU energy, from whatever the GPU monitors read (NVML, nvidia-smi, amd-smi, rocm-smi; both vendors may be
 * in one snapshot), one `GpuEnergyAccount` per run.
 *
 * Energy, per device, between two readings k-1 and k:
 *   - an energy counter (NVML total energy, amd-smi/rocm-smi accumulated energy): E_k − E_{k−1}. A counter that goes
 *     back restarts the difference from E_k (NVML: the driver was reloaded); AMD's may also have wrapped (see
 *     amdSmi.counterDeltaJ);
 *   - power samples (no counter): trapezoids of power over the readings' timestamps;
 *   - nvidia-smi power.draw: the latest power × the meter's tick.
 * The run's part of that energy is the device's share (below) at k, or at k−1 when the run has left the device at k
 * (its last interval is still its own).
 *
 * Share of a device, the rule said in words in every record:
 *   - not in the run's CUDA_VISIBLE_DEVICES (NVIDIA; MIG UUIDs name their GPU) or HIP/ROCR_VISIBLE_DEVICES (AMD): 0;
 *   - no process of the run on it (idle, or other people's work): 0;
 *   - only the run's processes: 1, the whole device;
 *   - MIG enabled: split by GPU instance (each busy instance an equal part; within one, by memory);
 *   - shared: Σ SM utilisation (NVIDIA) or gfx engine time (AMD) of the run's processes ÷ Σ over all processes, an
 *     estimate; memory share when that is not reported; process count when memory is not reported either;
 *   - the process list cannot be read (rocm-smi never gives one): 1 when the device is named in the run's visible
 *     devices (an allocated GPU, e.g. under SLURM), else 0;
 *   - the driver lists no process on any NVIDIA device (a container): 1 for the device whose /dev/nvidia<minor> the
 *     run holds open, when it is the only one or named in CUDA_VISIBLE_DEVICES (an estimate).
 */
import type { GpuDeviceReading, GpuProcess, GpuSnapshot, GpuSource } from './gpu';
import { counterDeltaJ } from './gpu/amdSmi';
import {
  amdVisibleDevices,
  isVisible,
  openGpuNodes,
  parseCudaVisibleDevices,
  readProcessCudaEnv,
  type GpuEnv,
  type VisibleEntry,
} from './gpu/visible';

export { amdVisibleDevices, isVisible, parseCudaVisibleDevices, readProcessCudaEnv, type GpuEnv, type VisibleEntry };

export const SOURCE_NVML_COUNTER = 'NVML total-energy counter';
export const SOURCE_NVML_POWER = 'NVML power samples';
export const SOURCE_NVIDIA_SMI = 'nvidia-smi power.draw';
export const SOURCE_AMD_SMI_COUNTER = 'amd-smi energy counter';
export const SOURCE_AMD_SMI_POWER = 'amd-smi power samples';
export const SOURCE_ROCM_SMI_COUNTER = 'rocm-smi energy counter';
export const SOURCE_ROCM_SMI_POWER = 'rocm-smi power samples';

export interface DeviceShare {
  share: number;
  rule: string;
  /** the share is an estimate (a shared device) */
  estimate: boolean;
}

function visibleName(d: Pick<GpuDeviceReading, 'vendor'>): string {
  return d.vendor === 'amd' ? 'HIP/ROCR_VISIBLE_DEVICES' : 'CUDA_VISIBLE_DEVICES';
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10} %`;
}

/** The GPU device nodes the run holds open, looked at when the driver lists no process at all (see below). */
export interface HeldNodes {
  nodes: Set<string>;
}

/**
 * A device the driver lists no process on, while it lists none anywhere (inside a container whose pids the driver
 * cannot see, e.g. a VM's or a pod's): the run's if it holds /dev/nvidia<minor> open and that node is the only GPU
 * node it holds or its CUDA_VISIBLE_DEVICES names the device (CUDA opens the node of every device it may use, so
 * several held nodes without a list cannot say which is busy). An estimate, said so; undefined: the rule says nothing.
 */
function heldNodeShare(
  d: GpuDeviceReading,
  held: HeldNodes | undefined,
  visible: VisibleEntry[] | undefined,
): DeviceShare | undefined {
  if (!held || d.vendor === 'amd') return undefined;
  const node = `/dev/nvidia${d.minor ?? d.index}`;
  if (!held.nodes.has(node)) return undefined;
  const nvidiaHeld = [...held.nodes].filter((n) => n.startsWith('/dev/nvidia')).length;
  const why = 'the driver lists no process on any GPU (a container hides them from it)';
  if (nvidiaHeld === 1 || (visible && isVisible(visible, d))) {
    return { share: 1, rule: `${why}; the run holds ${node} open: charged whole (estimate)`, estimate: true };
  }
  return {
    share: 0,
    rule: `${why}; the run holds ${nvidiaHeld} GPU nodes open: set CUDA_VISIBLE_DEVICES to charge the one it uses`,
    estimate: false,
  };
}

/** The run's share of one device and the rule that gave it (see the file comment). */
export function deviceShare(
  d: GpuDeviceReading,
  processes: GpuProcess[],
  pids: Set<number>,
  visible?: VisibleEntry[],
  held?: HeldNodes,
): DeviceShare {
  if (visible) {
    const v = isVisible(visible, d);
    if (v === false) return { share: 0, rule: `not in the run's ${visibleName(d)}`, estimate: false };
  }
  if (d.processesError) {
    if (visible && isVisible(visible, d)) {
      return {
        share: 1,
        rule: `process list not readable (${d.processesError}); named in the run's ${visibleName(d)}, charged whole`,
        estimate: true,
      };
    }
    return { share: 0, rule: `process list not readable (${d.processesError}); not charged`, estimate: false };
  }
  const apps = processes.filter((p) => p.gpuUuid === d.uuid);
  const mine = apps.filter((p) => pids.has(p.pid));
  if (!apps.length) {
    const h = heldNodeShare(d, held, visible);
    if (h) return h;
  }
  if (!mine.length) {
    return {
      share: 0,
      rule: apps.length
        ? `used only by ${apps.length} process${apps.length === 1 ? '' : 'es'} outside the run`
        : 'idle: no compute process',
      estimate: false,
    };
  }
  if (mine.length === apps.length) return { share: 1, rule: 'used only by the run: whole device', estimate: false };
  if (d.migEnabled && apps.every((p) => p.gpuInstanceId !== undefined && p.gpuInstanceId !== null)) {
    const instances = [...new Set(apps.map((p) => p.gpuInstanceId as number))];
    let share = 0;
    for (const gi of instances) {
      const inGi = apps.filter((p) => p.gpuInstanceId === gi);
      const mineGi = inGi.filter((p) => pids.has(p.pid));
      if (mineGi.length) share += memoryShare(mineGi, inGi).share / instances.length;
    }
    return {
      share,
      rule: `MIG: split by GPU instance (${instances.length} busy, an equal part each; by memory within one): ${pct(share)}`,
      estimate: true,
    };
  }
  const util = d.processUtil;
  const label = d.utilLabel ?? 'SM utilisation';
  if (util) {
    const total = util.reduce((s, u) => s + u.smPct, 0);
    if (total > 0) {
      const run = util.filter((u) => pids.has(u.pid)).reduce((s, u) => s + u.smPct, 0);
      return {
        share: run / total,
        rule: `shared: split by ${label} (estimate): the run ${round1(run)} % of ${round1(total)} %`,
        estimate: true,
      };
    }
  }
  const why = util
    ? `no ${label} sample`
    : `${label} not reported${d.processUtilError ? ` (${d.processUtilError})` : ''}`;
  const m = memoryShare(mine, apps);
  return { share: m.share, rule: `shared: ${m.rule} (estimate; ${why})`, estimate: true };
}

function memoryShare(mine: GpuProcess[], apps: GpuProcess[]): { share: number; rule: string } {
  const known = apps.every((p) => p.usedMemoryMB !== null);
  const total = known ? apps.reduce((s, p) => s + (p.usedMemoryMB ?? 0), 0) : 0;
  if (known && total > 0) {
    const used = mine.reduce((s, p) => s + (p.usedMemoryMB ?? 0), 0);
    return { share: used / total, rule: `split by memory, the run ${Math.round(used)} of ${Math.round(total)} MiB` };
  }
  return { share: mine.length / apps.length, rule: `split by process count, ${mine.length} of ${apps.length}` };
}

export interface GpuStep {
  /** the run's GPU energy in this step, J */
  joules: number;
  /** the run's GPU power now, W */
  powerW: number;
  /** where the energy comes from, e.g. "NVML total-energy counter" */
  source: string;
  /** the share rule of each device, e.g. "GPU 0: used only by the run: whole device" */
  shareRule: string;
  /** source and rule together, for the record's detail */
  detail: string;
  /** set when the snapshot is not usable */
  unavailableReason?: string;
}

interface DeviceState {
  seq?: number;
  energyJ?: number;
  energyAtMs?: number;
  powerW?: number;
  powerAtMs?: number;
  share: number;
  resets: number;
  wraps: number;
  /** the rule of the last step in which the run had a share of this device */
  chargedRule?: string;
}

export interface AccountOptions {
  /** the run's root process: CUDA_VISIBLE_DEVICES (and HIP/ROCR_VISIBLE_DEVICES) are read from its environment once */
  rootPid?: number;
  /** CUDA_VISIBLE_DEVICES of the run, when known otherwise (wins over rootPid) */
  cudaVisibleDevices?: string;
  /** the run's device-selection variables, when known otherwise (wins over rootPid) */
  gpuEnv?: GpuEnv;
  /** false: never look at the run's open GPU device nodes (see heldNodeShare) */
  heldNodes?: boolean;
  procRoot?: string;
}

/** The source labels of each reader: [energy counter, power samples]. */
const LABELS: Record<Exclude<GpuSource, 'nvidia-smi'>, [string, string]> = {
  nvml: [SOURCE_NVML_COUNTER, SOURCE_NVML_POWER],
  'amd-smi': [SOURCE_AMD_SMI_COUNTER, SOURCE_AMD_SMI_POWER],
  'rocm-smi': [SOURCE_ROCM_SMI_COUNTER, SOURCE_ROCM_SMI_POWER],
};

/** The device's energy since the state's previous reading, J, and the source label; updates the state. */
function deviceEnergy(
  d: GpuDeviceReading,
  src: GpuSource,
  st: DeviceState,
  fresh: boolean,
  at: number,
  dtS: number,
): { joules: number; label: string } {
  if (src === 'nvidia-smi') return { joules: (d.powerW ?? 0) * dtS, label: SOURCE_NVIDIA_SMI };
  const [counter, samples] = LABELS[src];
  const t = d.powerAtMs ?? at;
  let joules = 0;
  if (d.energyJ !== null && d.energyJ !== undefined) {
    if (fresh && st.energyJ !== undefined) {
      if (src === 'nvml') {
        joules = d.energyJ - st.energyJ;
        if (joules < 0) {
          joules = d.energyJ; // the counter restarted: the driver was reloaded
          st.resets++;
        }
      } else {
        const step = counterDeltaJ(
          st.energyJ,
          d.energyJ,
          st.energyAtMs !== undefined && t > st.energyAtMs ? (t - st.energyAtMs) / 1000 : dtS,
        );
        joules = step.joules;
        if (step.event === 'wrap') st.wraps++;
        else if (step.event === 'restart') st.resets++;
      }
    }
    st.energyJ = d.energyJ;
    st.energyAtMs = t;
    return { joules, label: counter };
  }
  if (fresh && d.powerW !== null && st.powerW !== undefined && st.powerAtMs !== undefined && t > st.powerAtMs) {
    joules = ((st.powerW + d.powerW) / 2) * ((t - st.powerAtMs) / 1000);
  }
  if (d.powerW !== null && (st.powerAtMs === undefined || t > st.powerAtMs)) {
    st.powerW = d.powerW;
    st.powerAtMs = t;
  }
  return { joules, label: samples };
}

export class GpuEnergyAccount {
  private readonly state = new Map<string, DeviceState>();
  private visible: VisibleEntry[] | undefined;
  private env: GpuEnv | undefined;
  private envRead = false;
  private seenPids = new Set<number>();
  private held: { nodes: HeldNodes; at: number } | undefined;

  constructor(private readonly opts: AccountOptions = {}) {}

  /**
   * The GPU nodes the run's processes hold open, read only when the driver lists no process on any NVIDIA device
   * (then at most every 5 s: a few readlinks per process).
   */
  private heldNodes(snap: GpuSnapshot, pids: number[]): HeldNodes | undefined {
    const nvidia = snap.devices.filter((d) => d.vendor !== 'amd');
    if (
      !nvidia.length ||
      nvidia.some((d) => d.processesError) ||
      snap.processes.some((p) => nvidia.some((d) => d.uuid === p.gpuUuid))
    )
      return undefined;
    if (this.opts.heldNodes === false || !pids.length) return undefined;
    const now = Date.now();
    if (!this.held || now - this.held.at >= 5000)
      this.held = { nodes: { nodes: openGpuNodes(pids, this.opts.procRoot) }, at: now };
    return this.held.nodes;
  }

  private gpuEnv(): GpuEnv | undefined {
    if (!this.envRead) {
      this.envRead = true;
      if (this.opts.gpuEnv) this.env = this.opts.gpuEnv;
      else if (this.opts.cudaVisibleDevices !== undefined) this.env = { visible: this.opts.cudaVisibleDevices };
      else if (this.opts.rootPid !== undefined) this.env = readProcessCudaEnv(this.opts.rootPid, this.opts.procRoot);
      this.visible = parseCudaVisibleDevices(this.env?.visible);
    }
    return this.env;
  }

  /** Takes the readings at the run's start as the baseline, so the run's first interval is counted. */
  begin(snap: GpuSnapshot | undefined): void {
    if (!snap?.ok) return;
    for (const d of snap.devices) {
      if ((d.source ?? snap.source ?? 'nvidia-smi') === 'nvidia-smi') continue;
      const t = d.powerAtMs ?? snap.at;
      this.state.set(d.uuid, {
        seq: d.seq ?? snap.seq,
        energyJ: d.energyJ ?? undefined,
        energyAtMs: d.energyJ === null || d.energyJ === undefined ? undefined : t,
        powerW: d.powerW ?? undefined,
        powerAtMs: d.powerW === null ? undefined : t,
        share: 0,
        resets: 0,
        wraps: 0,
      });
    }
  }

  /** One meter tick: the run's part of the energy since the previous step. */
  step(snap: GpuSnapshot, pids: Iterable<number>, dtS: number): GpuStep {
    if (!snap.ok) {
      const reason = snap.reason ?? 'the GPU is not read';
      return { joules: 0, powerW: 0, source: '', shareRule: '', detail: `0 W: ${reason}`, unavailableReason: reason };
    }
    // a process of the run stays the run's: NVML still lists a context for a moment after its process has exited
    const now = [...pids];
    for (const p of now) this.seenPids.add(p);
    if (this.seenPids.size > 10_000) this.seenPids = new Set(now);
    const held = this.heldNodes(snap, now);
    const mine = this.seenPids;
    const env = this.gpuEnv();
    const visible = this.visible;
    const amdVisible = amdVisibleDevices(env, snap.devices.filter((d) => d.vendor === 'amd').length);
    let joules = 0;
    let powerW = 0;
    const sources = new Set<string>();
    const rules: string[] = [];
    for (const d of snap.devices) {
      const amd = d.vendor === 'amd';
      const src = d.source ?? snap.source ?? 'nvidia-smi';
      const s = deviceShare(d, snap.processes, mine, amd ? amdVisible : visible, held);
      const st = this.state.get(d.uuid) ?? { share: 0, resets: 0, wraps: 0 };
      const seq = d.seq ?? snap.seq;
      const fresh = seq === undefined || st.seq !== seq;
      const e = deviceEnergy(d, src, st, fresh, snap.at, dtS);
      sources.add(e.label);
      // a cumulative reading covers the time since the previous one: a run that has just left the device owns it
      joules += e.joules * (src === 'nvidia-smi' ? s.share : s.share > 0 ? s.share : st.share);
      powerW += (d.powerW ?? 0) * s.share;
      st.share = s.share;
      st.seq = seq;
      this.state.set(d.uuid, st);
      const notes = [
        d.powerW === null ? 'no power reading' : '',
        st.resets ? `energy counter restarted ${st.resets}× (driver reloaded)` : '',
        st.wraps ? `energy counter wrapped ${st.wraps}×` : '',
      ].filter(Boolean);
      const rule = `${amd ? 'AMD ' : ''}GPU ${d.index} ${pct(s.share)}: ${s.rule}${notes.length ? ` (${notes.join('; ')})` : ''}`;
      if (s.share > 0) st.chargedRule = rule;
      // a device the run has left keeps saying how it was charged while the run was on it
      rules.push(s.share === 0 && st.chargedRule ? `${st.chargedRule} (until the run left it)` : rule);
    }
    const nvidiaIndices = visible?.some((e) => 'index' in e) && snap.devices.some((d) => d.vendor !== 'amd');
    if (nvidiaIndices && env?.order !== 'PCI_BUS_ID') {
      rules.push(
        'CUDA_VISIBLE_DEVICES indices read in NVML (PCI bus) order; set CUDA_DEVICE_ORDER=PCI_BUS_ID to be sure',
      );
    }
    if (amdVisible && snap.devices.some((d) => d.vendor === 'amd'))
      rules.push('HIP/ROCR_VISIBLE_DEVICES indices read in amd-smi order');
    if (snap.reason) rules.push(`not read: ${snap.reason}`); // the other vendor's GPUs, when one of two fails
    const source = [...sources].join(' + ') || (snap.source === 'nvml' ? SOURCE_NVML_COUNTER : SOURCE_NVIDIA_SMI);
    const shareRule = rules.length ? rules.join('; ') : 'no GPU listed';
    return { joules, powerW, source, shareRule, detail: `${source}; ${shareRule}` };
  }
}
