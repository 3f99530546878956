/**
 * A run's GPU energy, from whatever the GPU monitor reads (NVML or nvidia-smi), one `GpuEnergyAccount` per run.
 *
 * Energy, per device, between two readings k-1 and k:
 *   - NVML total-energy counter: E_k − E_{k−1} (mJ since the driver was loaded). A counter that goes back (the
 *     driver was reloaded) restarts the difference from E_k;
 *   - NVML power samples (the counter is not supported): trapezoids of power over the driver's timestamps;
 *   - nvidia-smi power.draw: the latest power × the meter's tick.
 * The run's part of that energy is the device's share (below) at k, or at k−1 when the run has left the device at k
 * (its last interval is still its own).
 *
 * Share of a device, the rule said in words in every record:
 *   - not in the run's CUDA_VISIBLE_DEVICES: 0;
 *   - no process of the run on it (idle, or other people's work): 0;
 *   - only the run's processes: 1, the whole device;
 *   - MIG enabled: split by GPU instance (each busy instance an equal part; within one, by memory);
 *   - shared: Σ SM utilisation of the run's processes ÷ Σ over all processes (nvmlDeviceGetProcessUtilization), an
 *     estimate; memory share when utilisation is not reported; process count when memory is not reported either;
 *   - the process list cannot be read: 1 when the device is named in the run's CUDA_VISIBLE_DEVICES (an allocated
 *     GPU, e.g. under SLURM), else 0.
 */
import * as fs from 'node:fs';
import type { GpuDeviceReading, GpuProcess, GpuSnapshot } from './gpu';

export const SOURCE_NVML_COUNTER = 'NVML total-energy counter';
export const SOURCE_NVML_POWER = 'NVML power samples';
export const SOURCE_NVIDIA_SMI = 'nvidia-smi power.draw';

/** One entry of CUDA_VISIBLE_DEVICES. */
export type VisibleEntry = { index: number } | { uuidPrefix: string } | { mig: string };

/**
 * CUDA_VISIBLE_DEVICES as CUDA reads it: indices or UUIDs (`GPU-…`, a unique prefix is enough; `MIG-…`), separated
 * by commas; the list stops at the first invalid entry (so "-1" hides every GPU). undefined when not set (every
 * device visible).
 */
export function parseCudaVisibleDevices(value: string | undefined): VisibleEntry[] | undefined {
  if (value === undefined) return undefined;
  const out: VisibleEntry[] = [];
  for (const raw of value.split(',')) {
    const s = raw.trim();
    if (/^\d+$/.test(s)) out.push({ index: Number(s) });
    else if (/^GPU-[0-9a-fA-F-]+$/.test(s)) out.push({ uuidPrefix: s.toLowerCase() });
    else if (/^MIG-[0-9A-Za-z/-]+$/.test(s)) out.push({ mig: s });
    else break;
  }
  return out;
}

/** Reads CUDA_VISIBLE_DEVICES (and CUDA_DEVICE_ORDER) of a process from /proc/<pid>/environ (Linux); undefined elsewhere. */
export function readProcessCudaEnv(pid: number, procRoot = '/proc'): { visible?: string; order?: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
  const env: { visible?: string; order?: string } = {};
  for (const kv of text.split('\0')) {
    if (kv.startsWith('CUDA_VISIBLE_DEVICES=')) env.visible = kv.slice(21);
    else if (kv.startsWith('CUDA_DEVICE_ORDER=')) env.order = kv.slice(18);
  }
  return env;
}

/** Does CUDA_VISIBLE_DEVICES name this device? undefined when the list cannot say (MIG entries only). */
export function isVisible(entries: VisibleEntry[], d: Pick<GpuDeviceReading, 'index' | 'uuid'>): boolean | undefined {
  let onlyMig = entries.length > 0;
  for (const e of entries) {
    if ('index' in e && e.index === d.index) return true;
    if ('uuidPrefix' in e && d.uuid.toLowerCase().startsWith(e.uuidPrefix)) return true;
    if (!('mig' in e)) onlyMig = false;
  }
  return onlyMig ? undefined : false;
}

export interface DeviceShare {
  share: number;
  rule: string;
  /** the share is an estimate (a shared device) */
  estimate: boolean;
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10} %`;
}

/** The run's share of one device and the rule that gave it (see the file comment). */
export function deviceShare(d: GpuDeviceReading, processes: GpuProcess[], pids: Set<number>, visible?: VisibleEntry[]): DeviceShare {
  if (visible) {
    const v = isVisible(visible, d);
    if (v === false) return { share: 0, rule: 'not in the run\'s CUDA_VISIBLE_DEVICES', estimate: false };
  }
  if (d.processesError) {
    if (visible && isVisible(visible, d)) {
      return { share: 1, rule: `process list not readable (${d.processesError}); named in the run's CUDA_VISIBLE_DEVICES, charged whole`, estimate: true };
    }
    return { share: 0, rule: `process list not readable (${d.processesError}); not charged`, estimate: false };
  }
  const apps = processes.filter((p) => p.gpuUuid === d.uuid);
  const mine = apps.filter((p) => pids.has(p.pid));
  if (!mine.length) {
    return { share: 0, rule: apps.length ? `used only by ${apps.length} process${apps.length === 1 ? '' : 'es'} outside the run` : 'idle: no compute process', estimate: false };
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
    return { share, rule: `MIG: split by GPU instance (${instances.length} busy, an equal part each; by memory within one): ${pct(share)}`, estimate: true };
  }
  const util = d.processUtil;
  if (util) {
    const total = util.reduce((s, u) => s + u.smPct, 0);
    if (total > 0) {
      const run = util.filter((u) => pids.has(u.pid)).reduce((s, u) => s + u.smPct, 0);
      return { share: run / total, rule: `shared: split by SM utilisation (estimate): the run ${run} % of ${total} %`, estimate: true };
    }
  }
  const why = util ? 'no SM utilisation sample' : `SM utilisation not reported${d.processUtilError ? ` (${d.processUtilError})` : ''}`;
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
  powerW?: number;
  powerAtMs?: number;
  share: number;
  resets: number;
  /** the rule of the last step in which the run had a share of this device */
  chargedRule?: string;
}

export interface AccountOptions {
  /** the run's root process: CUDA_VISIBLE_DEVICES is read from its environment once */
  rootPid?: number;
  /** CUDA_VISIBLE_DEVICES of the run, when known otherwise (wins over rootPid) */
  cudaVisibleDevices?: string;
  procRoot?: string;
}

export class GpuEnergyAccount {
  private readonly state = new Map<string, DeviceState>();
  private visible: VisibleEntry[] | undefined;
  private visibleRead = false;
  private order: string | undefined;
  private seenPids = new Set<number>();

  constructor(private readonly opts: AccountOptions = {}) {}

  private visibleDevices(): VisibleEntry[] | undefined {
    if (!this.visibleRead) {
      this.visibleRead = true;
      if (this.opts.cudaVisibleDevices !== undefined) this.visible = parseCudaVisibleDevices(this.opts.cudaVisibleDevices);
      else if (this.opts.rootPid !== undefined) {
        const env = readProcessCudaEnv(this.opts.rootPid, this.opts.procRoot);
        this.visible = parseCudaVisibleDevices(env?.visible);
        this.order = env?.order;
      }
    }
    return this.visible;
  }

  /** Takes the readings at the run's start as the baseline, so the run's first interval is counted. */
  begin(snap: GpuSnapshot | undefined): void {
    if (!snap?.ok || snap.source !== 'nvml') return;
    for (const d of snap.devices) this.state.set(d.uuid, { seq: snap.seq, energyJ: d.energyJ ?? undefined, powerW: d.powerW ?? undefined, powerAtMs: d.powerAtMs, share: 0, resets: 0 });
  }

  /** One meter tick: the run's part of the energy since the previous step. */
  step(snap: GpuSnapshot, pids: Iterable<number>, dtS: number): GpuStep {
    if (!snap.ok) {
      const reason = snap.reason ?? 'the GPU is not read';
      return { joules: 0, powerW: 0, source: '', shareRule: '', detail: `0 W: ${reason}`, unavailableReason: reason };
    }
    // a process of the run stays the run's: NVML still lists a context for a moment after its process has exited
    for (const p of pids) this.seenPids.add(p);
    if (this.seenPids.size > 10_000) this.seenPids = new Set(pids);
    const mine = this.seenPids;
    const visible = this.visibleDevices();
    let joules = 0;
    let powerW = 0;
    const sources = new Set<string>();
    const rules: string[] = [];
    for (const d of snap.devices) {
      const s = deviceShare(d, snap.processes, mine, visible);
      const st = this.state.get(d.uuid) ?? { share: 0, resets: 0 };
      const fresh = snap.seq === undefined || st.seq !== snap.seq;
      const use = s.share > 0 ? s.share : st.share;
      let deviceJ = 0;
      if (snap.source === 'nvml' && d.energyJ !== null && d.energyJ !== undefined) {
        sources.add(SOURCE_NVML_COUNTER);
        if (fresh && st.energyJ !== undefined) {
          let diff = d.energyJ - st.energyJ;
          if (diff < 0) {
            diff = d.energyJ; // the counter restarted: the driver was reloaded
            st.resets++;
          }
          deviceJ = diff;
        }
        st.energyJ = d.energyJ;
      } else if (snap.source === 'nvml') {
        sources.add(SOURCE_NVML_POWER);
        const t = d.powerAtMs ?? snap.at;
        if (fresh && d.powerW !== null && st.powerW !== undefined && st.powerAtMs !== undefined && t > st.powerAtMs) {
          deviceJ = ((st.powerW + d.powerW) / 2) * ((t - st.powerAtMs) / 1000);
        }
        if (d.powerW !== null && (st.powerAtMs === undefined || t > st.powerAtMs)) {
          st.powerW = d.powerW;
          st.powerAtMs = t;
        }
      } else {
        sources.add(SOURCE_NVIDIA_SMI);
        deviceJ = (d.powerW ?? 0) * dtS;
      }
      joules += deviceJ * (snap.source === 'nvml' ? use : s.share);
      powerW += (d.powerW ?? 0) * s.share;
      st.share = s.share;
      st.seq = snap.seq;
      this.state.set(d.uuid, st);
      const notes = [d.powerW === null ? 'no power reading' : '', st.resets ? `energy counter restarted ${st.resets}× (driver reloaded)` : ''].filter(Boolean);
      const rule = `GPU ${d.index} ${pct(s.share)}: ${s.rule}${notes.length ? ` (${notes.join('; ')})` : ''}`;
      if (s.share > 0) st.chargedRule = rule;
      // a device the run has left keeps saying how it was charged while the run was on it
      rules.push(s.share === 0 && st.chargedRule ? `${st.chargedRule} (until the run left it)` : rule);
    }
    if (visible && this.order !== 'PCI_BUS_ID' && visible.some((e) => 'index' in e)) {
      rules.push('CUDA_VISIBLE_DEVICES indices read in NVML (PCI bus) order; set CUDA_DEVICE_ORDER=PCI_BUS_ID to be sure');
    }
    const source = [...sources].join(' + ') || (snap.source === 'nvml' ? SOURCE_NVML_COUNTER : SOURCE_NVIDIA_SMI);
    const shareRule = rules.length ? rules.join('; ') : 'no GPU listed';
    return { joules, powerW, source, shareRule, detail: `${source}; ${shareRule}` };
  }
}
