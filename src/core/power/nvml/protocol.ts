/**
 * The line protocol between the meter and the NVML reader child (nvml/reader.ts, bundled as dist/nvmlReader.js).
 *
 * The parent writes one JSON request per line on the child's stdin; the child answers each with one JSON line on
 * stdout carrying the same `id`. Requests: `init` (load the library, list the devices), `read` (one reading of every
 * device), `quit`. A library that cannot be loaded or initialised is an answer (`ok: false`, `code`), never a crash.
 */

/** `read` with `full` also lists processes, their SM utilisation and power; without, only the energy counter (and
 * power where the counter is not supported), the cheap part read often. */
export type NvmlRequest =
  { id: number; op: 'init' } | { id: number; op: 'read'; full?: boolean } | { id: number; op: 'quit' };

/** NVML return codes (nvml.h, nvmlReturn_t) the meter acts on. */
export const NVML_SUCCESS = 0;
export const NVML_ERROR_NOT_SUPPORTED = 3;
export const NVML_ERROR_NO_PERMISSION = 4;
export const NVML_ERROR_NOT_FOUND = 6;
export const NVML_ERROR_INSUFFICIENT_SIZE = 7;
export const NVML_ERROR_DRIVER_NOT_LOADED = 9;
export const NVML_ERROR_LIBRARY_NOT_FOUND = 12;
export const NVML_ERROR_FUNCTION_NOT_FOUND = 13;

/** A failed call: the function, its return code and NVML's words for it. */
export interface NvmlCallError {
  fn: string;
  code: number;
  message: string;
}

export interface NvmlDeviceInfo {
  index: number;
  uuid: string;
  name: string;
  /** nvmlDeviceGetTotalEnergyConsumption works on this device */
  energyCounter: boolean;
  energyError?: NvmlCallError;
  /** where power comes from: the instant field, nvmlDeviceGetPowerUsage, or nothing */
  power: 'field-instant' | 'power-usage' | 'none';
  powerError?: NvmlCallError;
  migEnabled: boolean;
  /** nvmlDeviceGetMinorNumber: the device node is /dev/nvidia<minor> */
  minor?: number;
  /** MIG devices (MIG mode on): their UUIDs (as CUDA_VISIBLE_DEVICES names them) and GPU instances */
  migDevices?: { uuid: string; gpuInstanceId: number }[];
}

export interface NvmlInitAnswer {
  id: number;
  ok: boolean;
  /** when ok is false: an NVML return code, or LIBRARY_NOT_FOUND when the library itself could not be loaded */
  code?: number;
  reason?: string;
  library?: string;
  driverVersion?: string;
  devices?: NvmlDeviceInfo[];
  /** the process list functions found in this driver (_v3, _v2 or the v1 one) */
  processFn?: string;
}

/** One process on a device: [pid, used memory bytes or null, GPU instance id or null (no MIG)]. */
export type NvmlProcess = [number, number | null, number | null];
/** One utilisation sample: [pid, SM %, memory %]. */
export type NvmlUtil = [number, number, number];

export interface NvmlDeviceRead {
  index: number;
  /** total energy counter, mJ since the driver was loaded; null when not read */
  energyMJ: number | null;
  energyError?: NvmlCallError;
  /** power, mW */
  powerMW: number | null;
  /** the driver's timestamp of the power value (field values), µs since 1970 */
  powerAtUs?: number;
  powerError?: NvmlCallError;
  /** absent in a reading that is not full */
  procs?: NvmlProcess[];
  procsError?: NvmlCallError;
  /** SM utilisation per process since the previous read; null when the driver does not report it; absent in a
   * reading that is not full */
  util?: NvmlUtil[] | null;
  utilError?: NvmlCallError;
}

export interface NvmlReadAnswer {
  id: number;
  ok: boolean;
  reason?: string;
  /** when the reading was taken, ms since epoch (reader's clock) */
  at: number;
  /** time spent in NVML calls for the whole reading, µs */
  readUs: number;
  /** the same per kind of call, µs (energy, power, processes, utilisation) */
  callsUs?: { energy: number; power: number; procs: number; util: number };
  /** processes, utilisation and power were read (a full reading) */
  full?: boolean;
  devices: NvmlDeviceRead[];
}

export type NvmlAnswer = NvmlInitAnswer | NvmlReadAnswer | { id: number; ok: true; bye: true };
