/**
 * Parsing `nvidia-smi --format=csv,noheader,nounits` output: device lines of `--query-gpu` and process lines of
 * `--query-compute-apps`. Missing values ("[N/A]", "[Not Supported]", "N/A", "ERR!") read as null.
 */
import type { GpuDeviceReading, GpuProcess } from './types';

/** The fields of every device line, in this order. */
export const GPU_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'power.draw',
  'power.limit',
  'utilization.gpu',
  'memory.used',
  'memory.total',
] as const;

export const APPS_QUERY_FIELDS = ['gpu_uuid', 'pid', 'used_memory'] as const;

export const FORMAT = '--format=csv,noheader,nounits';

/** A numeric field: a number (units tolerated: "61.42 W"), null for "[N/A]", "N/A", "[Not Supported]", "ERR!",
 * "[Unknown Error]" and the like; undefined for anything else (not nvidia-smi output). */
export function parseNumberField(raw: string): number | null | undefined {
  const s = raw.trim();
  if (s === '' || /^\[.*\]$/.test(s) || /^n\/a$/i.test(s) || /^err!?$/i.test(s) || /^not supported$/i.test(s))
    return null;
  const m = /^(-?\d+(?:\.\d+)?)(?:\s*(?:W|MiB|MB|%))?$/.exec(s);
  return m ? Number(m[1]) : undefined;
}

/** Splits a `csv,noheader` line. GPU names and UUIDs hold no commas. */
export function splitCsvLine(line: string): string[] {
  return line.split(',').map((f) => f.trim());
}

/**
 * Parses one device line of `--query-gpu=<fields>`; undefined when the line is not one (a message, a table,
 * garbage). `extra` gets the fields that are not part of GpuDeviceReading (e.g. driver_version).
 */
export function parseGpuLine(
  line: string,
  fields: readonly string[] = GPU_QUERY_FIELDS,
  extra?: Record<string, string>,
): GpuDeviceReading | undefined {
  const parts = splitCsvLine(line);
  if (parts.length !== fields.length) return undefined;
  const get = (f: string): string | undefined => {
    const i = fields.indexOf(f);
    return i < 0 ? undefined : parts[i];
  };
  const index = get('index');
  const uuid = get('uuid');
  const name = get('name');
  if (index === undefined || !/^\d+$/.test(index)) return undefined;
  if (uuid === undefined || !/^GPU-[0-9A-Za-z-]+$/.test(uuid)) return undefined;
  if (name === undefined || !name || /^\[.*\]$/.test(name)) return undefined;
  const reading: GpuDeviceReading = { index: Number(index), uuid, name, powerW: null };
  const numeric: [string, keyof GpuDeviceReading][] = [
    ['power.draw', 'powerW'],
    ['power.limit', 'powerLimitW'],
    ['utilization.gpu', 'utilizationPct'],
    ['memory.used', 'memoryUsedMB'],
    ['memory.total', 'memoryTotalMB'],
  ];
  for (const [field, key] of numeric) {
    const raw = get(field);
    if (raw === undefined) continue;
    const v = parseNumberField(raw);
    if (v === undefined) return undefined;
    (reading as unknown as Record<string, number | null>)[key] = v;
  }
  if (extra) {
    fields.forEach((f, i) => {
      if (!(GPU_QUERY_FIELDS as readonly string[]).includes(f)) extra[f] = parts[i]!;
    });
  }
  return reading;
}

/**
 * Parses one line of `--query-compute-apps=gpu_uuid,pid,used_memory`: a process, null for nvidia-smi's
 * "No running processes found" (printed by some versions even with noheader), undefined for anything else.
 */
export function parseComputeAppLine(line: string): GpuProcess | null | undefined {
  const s = line.trim();
  if (/^no running (?:compute )?processes found/i.test(s)) return null;
  const parts = splitCsvLine(s);
  if (parts.length !== APPS_QUERY_FIELDS.length) return undefined;
  const [uuid, pid, mem] = parts as [string, string, string];
  if (!/^(?:GPU|MIG)-[0-9A-Za-z/-]+$/.test(uuid) || !/^\d+$/.test(pid)) return undefined;
  const usedMemoryMB = parseNumberField(mem);
  if (usedMemoryMB === undefined) return undefined;
  return { gpuUuid: uuid, pid: Number(pid), usedMemoryMB };
}
