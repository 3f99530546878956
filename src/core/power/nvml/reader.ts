/**
 * The NVML reader: a small child process (dist/nvmlReader.js) that loads the driver's NVML library through koffi
 * and answers the line protocol of ./protocol.ts. It runs apart from the extension host and the CLI so that a
 * driver call that hangs or crashes takes down only this process; the parent gives every request a timeout.
 *
 * Library: `libnvidia-ml.so.1` from the dynamic loader's search path (LD_LIBRARY_PATH honoured) on Linux,
 * `nvml.dll` on Windows (System32 for current drivers, or the NVSMI folder of older ones).
 *
 * Struct layouts (nvml.h, NVML API version 12; 64-bit, natural alignment):
 *   nvmlProcessInfo_t (v2/v3)        pid u32 @0, usedGpuMemory u64 @8, gpuInstanceId u32 @16,
 *                                    computeInstanceId u32 @20; 24 bytes
 *   nvmlProcessInfo_v1_t             pid u32 @0, usedGpuMemory u64 @8; 16 bytes
 *   nvmlProcessUtilizationSample_t   pid u32 @0, timeStamp u64 @8, smUtil @16, memUtil @20, encUtil @24,
 *                                    decUtil @28; 32 bytes
 *   nvmlFieldValue_t                 fieldId u32 @0, scopeId u32 @4, timestamp i64 @8, latencyUsec i64 @16,
 *                                    valueType u32 @24, nvmlReturn u32 @28, value (8-byte union) @32; 40 bytes
 */
import * as path from 'node:path';
import * as readline from 'node:readline';
import {
  NVML_ERROR_FUNCTION_NOT_FOUND,
  NVML_ERROR_INSUFFICIENT_SIZE,
  NVML_ERROR_LIBRARY_NOT_FOUND,
  NVML_ERROR_NOT_FOUND,
  NVML_SUCCESS,
  type NvmlCallError,
  type NvmlDeviceInfo,
  type NvmlDeviceRead,
  type NvmlInitAnswer,
  type NvmlProcess,
  type NvmlReadAnswer,
  type NvmlRequest,
  type NvmlUtil,
} from './protocol';
import { errorMessage } from '../../errors';
import { loadKoffi } from '../../util/ffi';

const NVML_FI_DEV_POWER_INSTANT = 186;
const NOT_AVAILABLE_U64 = 0xffffffffffffffffn;
const NO_INSTANCE = 0xffffffff;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;

interface Bound {
  init: Fn;
  errorString?: Fn;
  driverVersion?: Fn;
  count: Fn;
  handle: Fn;
  uuid?: Fn;
  name?: Fn;
  mig?: Fn;
  minor?: Fn;
  maxMig?: Fn;
  migHandle?: Fn;
  migGi?: Fn;
  energy?: Fn;
  power?: Fn;
  fields?: Fn;
  procs?: Fn;
  procsFn?: string;
  procsStride: number;
  util?: Fn;
}

interface Device {
  index: number;
  handle: unknown;
  info: NvmlDeviceInfo;
  lastUtilUs: number;
  procBuf: Buffer;
  utilBuf: Buffer;
}

export function libraryNames(platform = process.platform, env = process.env): string[] {
  if (platform === 'win32') {
    const pf = env.ProgramW6432 || env.ProgramFiles || 'C:\\Program Files';
    return ['nvml.dll', path.win32.join(pf, 'NVIDIA Corporation', 'NVSMI', 'nvml.dll')];
  }
  return ['libnvidia-ml.so.1'];
}

/** koffi, then the first of `libraryNames()` it can load; why not, as an init answer's code and reason. */
function loadLibrary(): { lib: any; library: string } | { code: number; reason: string } {
  let koffi: any;
  try {
    koffi = loadKoffi();
  } catch (err) {
    return {
      code: NVML_ERROR_LIBRARY_NOT_FOUND,
      reason: `the FFI module (koffi) could not be loaded: ${errorMessage(err)}`,
    };
  }
  const failures: string[] = [];
  for (const name of libraryNames()) {
    try {
      return { lib: koffi.load(name), library: name };
    } catch (err) {
      failures.push(`${name}: ${errorMessage(err).replace(/^Failed to load shared library: /, '')}`);
    }
  }
  return { code: NVML_ERROR_LIBRARY_NOT_FOUND, reason: `NVML library not found (${failures.join('; ')})` };
}

/** The NVML functions the reader calls; undefined when the three it cannot do without are missing (old driver). */
function bindFunctions(lib: any): Bound | undefined {
  const opt = (decl: string): Fn | undefined => {
    try {
      return lib.func(decl);
    } catch {
      return undefined;
    }
  };
  const init = opt('int nvmlInit_v2()');
  const count = opt('int nvmlDeviceGetCount_v2(void *)');
  const handle = opt('int nvmlDeviceGetHandleByIndex_v2(unsigned int, _Out_ void **)');
  if (!init || !count || !handle) return undefined;
  // the newest process list function this driver has, and the size of its records
  const procs: [string, number][] = [
    ['nvmlDeviceGetComputeRunningProcesses_v3', 24],
    ['nvmlDeviceGetComputeRunningProcesses_v2', 24],
    ['nvmlDeviceGetComputeRunningProcesses', 16],
  ];
  let procsFn: Fn | undefined;
  let procsName: string | undefined;
  let procsStride = 24;
  for (const [name, stride] of procs) {
    procsFn = opt(`int ${name}(void *, void *, void *)`);
    if (procsFn) {
      procsName = name;
      procsStride = stride;
      break;
    }
  }
  return {
    init,
    count,
    handle,
    errorString: opt('const char *nvmlErrorString(int)'),
    driverVersion: opt('int nvmlSystemGetDriverVersion(void *, unsigned int)'),
    uuid: opt('int nvmlDeviceGetUUID(void *, void *, unsigned int)'),
    name: opt('int nvmlDeviceGetName(void *, void *, unsigned int)'),
    mig: opt('int nvmlDeviceGetMigMode(void *, void *, void *)'),
    minor: opt('int nvmlDeviceGetMinorNumber(void *, void *)'),
    maxMig: opt('int nvmlDeviceGetMaxMigDeviceCount(void *, void *)'),
    migHandle: opt('int nvmlDeviceGetMigDeviceHandleByIndex(void *, unsigned int, _Out_ void **)'),
    migGi: opt('int nvmlDeviceGetGpuInstanceId(void *, void *)'),
    energy: opt('int nvmlDeviceGetTotalEnergyConsumption(void *, void *)'),
    power: opt('int nvmlDeviceGetPowerUsage(void *, void *)'),
    fields: opt('int nvmlDeviceGetFieldValues(void *, int, void *)'),
    procs: procsFn,
    procsFn: procsName,
    procsStride,
    util: opt('int nvmlDeviceGetProcessUtilization(void *, void *, void *, unsigned long long)'),
  };
}

class Reader {
  private f?: Bound;
  private devices: Device[] = [];
  private readonly b8 = Buffer.alloc(8);
  private readonly b4 = Buffer.alloc(4);
  private readonly b4b = Buffer.alloc(4);
  /** when the previous full reading began, µs since 1970 (0: none yet) */
  private lastFullAtUs = 0;
  private readonly field = Buffer.alloc(40);
  private readonly text = Buffer.alloc(96);

  init(id: number): NvmlInitAnswer {
    const loaded = loadLibrary();
    if ('reason' in loaded) return { id, ok: false, ...loaded };
    const { library } = loaded;
    const f = bindFunctions(loaded.lib);
    if (!f) {
      return {
        id,
        ok: false,
        code: NVML_ERROR_FUNCTION_NOT_FOUND,
        library,
        reason: `${library} lacks nvmlInit_v2/nvmlDeviceGetCount_v2/nvmlDeviceGetHandleByIndex_v2 (driver too old)`,
      };
    }
    this.f = f;
    const r = f.init();
    if (r !== NVML_SUCCESS) return { id, ok: false, code: r, library, reason: `nvmlInit_v2 failed: ${this.err(r)}` };
    const driverVersion =
      f.driverVersion && f.driverVersion(this.text, 80) === NVML_SUCCESS ? cstr(this.text) : undefined;
    const rc = f.count(this.b4);
    if (rc !== NVML_SUCCESS)
      return {
        id,
        ok: false,
        code: rc,
        library,
        driverVersion,
        reason: `nvmlDeviceGetCount_v2 failed: ${this.err(rc)}`,
      };
    const n = this.b4.readUInt32LE(0);
    this.devices = [];
    for (let i = 0; i < n; i++) {
      const out: unknown[] = [null];
      const rh = f.handle(i, out);
      if (rh !== NVML_SUCCESS) continue; // e.g. no permission for this device: it is not ours to meter
      this.devices.push(this.describe(i, out[0]));
    }
    return { id, ok: true, library, driverVersion, devices: this.devices.map((d) => d.info), processFn: f.procsFn };
  }

  private describe(index: number, handle: unknown): Device {
    const f = this.f!;
    const str = (fn: Fn | undefined): string =>
      fn && fn(handle, this.text, 96) === NVML_SUCCESS ? cstr(this.text) : '';
    const uuid = str(f.uuid) || `GPU-index-${index}`;
    const name = str(f.name) || 'NVIDIA GPU';
    let migEnabled = false;
    if (f.mig && f.mig(handle, this.b4, this.b4b) === NVML_SUCCESS) migEnabled = this.b4.readUInt32LE(0) === 1;
    const info: NvmlDeviceInfo = { index, uuid, name, energyCounter: false, power: 'none', migEnabled };
    if (f.minor && f.minor(handle, this.b4) === NVML_SUCCESS) info.minor = this.b4.readUInt32LE(0);
    if (migEnabled) info.migDevices = this.migDevices(handle);
    const dev: Device = {
      index,
      handle,
      info,
      lastUtilUs: 0,
      procBuf: Buffer.alloc(16 * f.procsStride),
      utilBuf: Buffer.alloc(32 * 32),
    };
    const e = this.readEnergy(handle);
    info.energyCounter = e.mJ !== null;
    if (e.error) info.energyError = e.error;
    const p = this.readPower(handle);
    info.power = p.source;
    if (p.error) info.powerError = p.error;
    return dev;
  }

  /** The MIG devices of a device in MIG mode: UUID and GPU instance of each (CUDA_VISIBLE_DEVICES may name them). */
  private migDevices(handle: unknown): { uuid: string; gpuInstanceId: number }[] {
    const f = this.f!;
    const out: { uuid: string; gpuInstanceId: number }[] = [];
    if (!f.maxMig || !f.migHandle || !f.uuid || f.maxMig(handle, this.b4) !== NVML_SUCCESS) return out;
    const max = Math.min(this.b4.readUInt32LE(0), 64);
    for (let j = 0; j < max; j++) {
      const mig: unknown[] = [null];
      if (f.migHandle(handle, j, mig) !== NVML_SUCCESS) continue; // NVML_ERROR_NOT_FOUND: no MIG device in that slot
      if (f.uuid(mig[0], this.text, 96) !== NVML_SUCCESS) continue;
      const uuid = cstr(this.text);
      const gi = f.migGi && f.migGi(mig[0], this.b4) === NVML_SUCCESS ? this.b4.readUInt32LE(0) : -1;
      out.push({ uuid, gpuInstanceId: gi });
    }
    return out;
  }

  private err(code: number): string {
    try {
      const s = this.f?.errorString?.(code);
      return typeof s === 'string' && s ? `${s} (${code})` : `NVML error ${code}`;
    } catch {
      return `NVML error ${code}`;
    }
  }

  private callError(fn: string, code: number): NvmlCallError {
    return { fn, code, message: this.err(code) };
  }

  private readEnergy(h: unknown): { mJ: number | null; error?: NvmlCallError } {
    const f = this.f!;
    if (!f.energy)
      return {
        mJ: null,
        error: {
          fn: 'nvmlDeviceGetTotalEnergyConsumption',
          code: NVML_ERROR_FUNCTION_NOT_FOUND,
          message: 'not in this driver',
        },
      };
    const r = f.energy(h, this.b8);
    if (r !== NVML_SUCCESS) return { mJ: null, error: this.callError('nvmlDeviceGetTotalEnergyConsumption', r) };
    return { mJ: Number(this.b8.readBigUInt64LE(0)) };
  }

  private readPower(h: unknown): {
    mW: number | null;
    atUs?: number;
    source: NvmlDeviceInfo['power'];
    error?: NvmlCallError;
  } {
    const f = this.f!;
    if (f.fields) {
      const b = this.field;
      b.fill(0);
      b.writeUInt32LE(NVML_FI_DEV_POWER_INSTANT, 0);
      if (f.fields(h, 1, b) === NVML_SUCCESS && b.readUInt32LE(28) === NVML_SUCCESS) {
        const type = b.readUInt32LE(24);
        const mW =
          type === 0
            ? b.readDoubleLE(32)
            : type === 2 || type === 3
              ? Number(b.readBigUInt64LE(32))
              : b.readUInt32LE(32);
        const atUs = Number(b.readBigInt64LE(8));
        return { mW, source: 'field-instant', ...(atUs > 0 ? { atUs } : {}) };
      }
    }
    if (!f.power)
      return {
        mW: null,
        source: 'none',
        error: { fn: 'nvmlDeviceGetPowerUsage', code: NVML_ERROR_FUNCTION_NOT_FOUND, message: 'not in this driver' },
      };
    const r = f.power(h, this.b4);
    if (r !== NVML_SUCCESS) return { mW: null, source: 'none', error: this.callError('nvmlDeviceGetPowerUsage', r) };
    return { mW: this.b4.readUInt32LE(0), source: 'power-usage' };
  }

  private readProcs(d: Device): { procs: NvmlProcess[]; error?: NvmlCallError } {
    const f = this.f!;
    if (!f.procs)
      return {
        procs: [],
        error: {
          fn: 'nvmlDeviceGetComputeRunningProcesses_v3',
          code: NVML_ERROR_FUNCTION_NOT_FOUND,
          message: 'not in this driver',
        },
      };
    const stride = f.procsStride;
    let r = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      this.b4.writeUInt32LE(d.procBuf.length / stride, 0);
      r = f.procs(d.handle, this.b4, d.procBuf);
      if (r !== NVML_ERROR_INSUFFICIENT_SIZE) break;
      d.procBuf = Buffer.alloc((this.b4.readUInt32LE(0) + 8) * stride);
    }
    if (r !== NVML_SUCCESS) return { procs: [], error: this.callError(f.procsFn!, r) };
    const n = this.b4.readUInt32LE(0);
    const procs: NvmlProcess[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * stride;
      const mem = d.procBuf.readBigUInt64LE(o + 8);
      const gi = stride >= 24 ? d.procBuf.readUInt32LE(o + 16) : NO_INSTANCE;
      procs.push([
        d.procBuf.readUInt32LE(o),
        mem === NOT_AVAILABLE_U64 ? null : Number(mem),
        gi === NO_INSTANCE ? null : gi,
      ]);
    }
    return { procs };
  }

  /**
   * SM utilisation samples of a device's processes newer than `sinceUs` (µs since 1970, the previous full reading): a
   * device asked again after a pause (it had one process) must not get the driver's older samples, from before a
   * second process came, as if they were current.
   */
  private readUtil(d: Device, sinceUs: number): { util: NvmlUtil[] | null; error?: NvmlCallError } {
    const f = this.f!;
    if (!f.util)
      return {
        util: null,
        error: {
          fn: 'nvmlDeviceGetProcessUtilization',
          code: NVML_ERROR_FUNCTION_NOT_FOUND,
          message: 'not in this driver',
        },
      };
    let r = 0;
    if (d.lastUtilUs < sinceUs) d.lastUtilUs = sinceUs;
    for (let attempt = 0; attempt < 3; attempt++) {
      this.b4.writeUInt32LE(d.utilBuf.length / 32, 0);
      r = f.util(d.handle, d.utilBuf, this.b4, d.lastUtilUs);
      if (r !== NVML_ERROR_INSUFFICIENT_SIZE) break;
      d.utilBuf = Buffer.alloc((this.b4.readUInt32LE(0) + 8) * 32);
    }
    if (r === NVML_ERROR_NOT_FOUND) return { util: [] }; // no new sample: no process was busy since the last read
    if (r !== NVML_SUCCESS) return { util: null, error: this.callError('nvmlDeviceGetProcessUtilization', r) };
    const n = this.b4.readUInt32LE(0);
    const util: NvmlUtil[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * 32;
      const ts = Number(d.utilBuf.readBigUInt64LE(o + 8));
      if (ts > d.lastUtilUs) d.lastUtilUs = ts;
      util.push([d.utilBuf.readUInt32LE(o), d.utilBuf.readUInt32LE(o + 16), d.utilBuf.readUInt32LE(o + 20)]);
    }
    return { util };
  }

  read(id: number, full = true): NvmlReadAnswer {
    const at = Date.now();
    if (!this.f) return { id, ok: false, reason: 'NVML is not initialised', at, readUs: 0, devices: [] };
    const calls = { energy: 0, power: 0, procs: 0, util: 0 };
    const clock = (): bigint => process.hrtime.bigint();
    const t0 = clock();
    const sinceUs = this.lastFullAtUs;
    if (full) this.lastFullAtUs = at * 1000;
    const devices: NvmlDeviceRead[] = this.devices.map((d) => {
      let t = clock();
      const e = this.readEnergy(d.handle);
      calls.energy += Number(clock() - t) / 1000;
      const out: NvmlDeviceRead = { index: d.index, energyMJ: e.mJ, powerMW: null };
      if (e.error) out.energyError = e.error;
      if (full || e.mJ === null) {
        t = clock();
        const p = this.readPower(d.handle);
        calls.power += Number(clock() - t) / 1000;
        out.powerMW = p.mW;
        if (p.atUs !== undefined) out.powerAtUs = p.atUs;
        if (p.error) out.powerError = p.error;
      }
      if (full) {
        t = clock();
        const pr = this.readProcs(d);
        calls.procs += Number(clock() - t) / 1000;
        out.procs = pr.procs;
        if (pr.error) out.procsError = pr.error;
        // utilisation only splits a device between processes (and costs about 1.3 ms a device on an H100): asked
        // where two or more are listed, or the list failed; the driver keeps the samples since the last ask
        if (pr.error !== undefined || pr.procs.length >= 2) {
          t = clock();
          const u = this.readUtil(d, sinceUs);
          calls.util += Number(clock() - t) / 1000;
          out.util = u.util;
          if (u.error) out.utilError = u.error;
        }
      }
      return out;
    });
    const readUs = Number(clock() - t0) / 1000;
    return { id, ok: true, at, readUs, callsUs: calls, full, devices };
  }
}

function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z < 0 ? b.length : z).trim();
}

export function main(): void {
  const reader = new Reader();
  const rl = readline.createInterface({ input: process.stdin });
  const send = (o: unknown): void => {
    process.stdout.write(`${JSON.stringify(o)}\n`);
  };
  rl.on('line', (line) => {
    let req: NvmlRequest;
    try {
      req = JSON.parse(line) as NvmlRequest;
    } catch {
      send({ id: -1, ok: false, reason: 'not a request' });
      return;
    }
    try {
      if (req.op === 'init') send(reader.init(req.id));
      else if (req.op === 'read') send(reader.read(req.id, req.full !== false));
      else if (req.op === 'quit') {
        send({ id: req.id, ok: true, bye: true });
        process.exit(0);
      } else send({ id: (req as { id?: number }).id ?? -1, ok: false, reason: 'unknown request' });
    } catch (err) {
      send({
        id: req.id,
        ok: false,
        reason: `NVML reader error: ${errorMessage(err)}`,
        at: Date.now(),
        readUs: 0,
        devices: [],
      });
    }
  });
  rl.on('close', () => process.exit(0));
}

if (require.main === module) main();
