/**
 * The GPU power modules, by responsibility (this file only re-exports them, so existing imports keep working):
 *   gpu/types.ts      what every monitor gives the meter (device readings, processes, snapshots)
 *   gpu/tools.ts      running a GPU command-line tool: timeouts, process-group kills, missing tools remembered
 *   gpu/nvidiaSmi.ts  NVIDIA through nvidia-smi (the fallback when NVML cannot be loaded)
 *   gpu/amdSmi.ts     parsing amd-smi and rocm-smi JSON (every known layout)
 *   gpu/amdMonitor.ts AMD through amd-smi, rocm-smi when amd-smi is absent
 *   gpu/visible.ts    which devices a run may use (CUDA/HIP/ROCR_VISIBLE_DEVICES)
 *   gpu/choose.ts     NVIDIA (NVML, else nvidia-smi) and AMD (amd-smi, else rocm-smi) metered together
 */
export * from './gpu/types';
export {
  describeSpawnError,
  forgetAbsentTools,
  formatSeconds,
  isAbsentTool,
  runOnce,
  type RunResult,
} from './gpu/tools';
export * from './gpu/nvidiaSmi';
export * from './gpu/nvidiaSmiParse';
