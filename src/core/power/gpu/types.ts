/**
 * What every GPU monitor gives the meter (NVML, nvidia-smi, amd-smi, rocm-smi): device readings, the compute
 * processes on them, and why a reading is missing. One snapshot may hold devices of both vendors (gpu/choose.ts).
 */

/** Who read a device. */
export type GpuSource = 'nvml' | 'nvidia-smi' | 'amd-smi' | 'rocm-smi';

export interface GpuDeviceReading {
  index: number;
  uuid: string;
  name: string;
  /** power.draw, W; null when the GPU does not report it */
  powerW: number | null;
  powerLimitW?: number | null;
  utilizationPct?: number | null;
  memoryUsedMB?: number | null;
  memoryTotalMB?: number | null;
  /** NVML total-energy counter, J since the driver was loaded (null: not supported on this device) */
  energyJ?: number | null;
  /** why the energy counter is not read (e.g. "Not Supported (3)") */
  energyError?: string;
  /** when the power value was taken (the driver's timestamp where it gives one), ms since epoch */
  powerAtMs?: number;
  /** SM utilisation per process over the last seconds; null when the driver does not report it */
  processUtil?: { pid: number; smPct: number }[] | null;
  /** why the per-process utilisation is not reported */
  processUtilError?: string;
  /** why the process list of this device could not be read */
  processesError?: string;
  migEnabled?: boolean;
  /** who read this device (absent: the snapshot's source) */
  source?: GpuSource;
  /** increases with every new reading of this device (absent: the snapshot's seq) */
  seq?: number;
  /** NVIDIA: the device node is /dev/nvidia<minor> (NVML) */
  minor?: number;
  /** NVIDIA MIG devices on this GPU: their UUIDs (CUDA_VISIBLE_DEVICES may name them) and GPU instances */
  migDevices?: { uuid: string; gpuInstanceId: number }[];
  /** 'amd' for AMD devices (absent: NVIDIA) */
  vendor?: 'nvidia' | 'amd';
  /** what processUtil measures, in words ("SM utilisation", "gfx engine time"); absent: SM utilisation */
  utilLabel?: string;
}

export interface GpuProcess {
  gpuUuid: string;
  pid: number;
  /** used_memory, MiB; null when not available (e.g. on Windows WDDM or in some containers) */
  usedMemoryMB: number | null;
  /** MIG GPU instance the process runs in (null or absent: MIG off) */
  gpuInstanceId?: number | null;
}

export interface GpuSnapshot {
  ok: boolean;
  devices: GpuDeviceReading[];
  processes: GpuProcess[];
  reason?: string;
  /** when the latest device reading arrived, ms since epoch (now, when there is none) */
  at: number;
  /** when the process list was last read, ms since epoch */
  processesAt?: number;
  /** why the process list could not be read the last time (the previous list is kept) */
  processesReason?: string;
  /** who gave the readings (absent: nvidia-smi) */
  source?: GpuSource;
  /** increases with every new reading (NVML): the same number means the same reading */
  seq?: number;
}
