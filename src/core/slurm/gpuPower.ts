/**
 * Board power of common data-centre GPUs, for modelling a SLURM job's GPUs when the cluster measures no energy.
 * SLURM names a GPU by its GRES type, which sites choose ("a100", "a100_80g", "h100", "v100s", "rtx_a6000", ...):
 * the type is matched by its model token. Figures are the vendors' maximum board power (TDP), as published on their
 * product pages; a modelled GPU draws this power for the job's whole elapsed time (SLURM keeps no GPU utilisation
 * unless acct_gather_energy/gpu is set, and then the energy is measured instead).
 */

export const GPU_POWER_SOURCE = 'vendor board power (NVIDIA/AMD product specifications)';

/** Used for an unknown or untyped GPU: a PCIe data-centre card (A100 PCIe, V100 PCIe, A40 are 250–300 W). */
export const DEFAULT_GPU_POWER_W = 300;

/** [model token, W]: checked in order, so more specific tokens come first. */
const TABLE: readonly [RegExp, number, string][] = [
  [/gh200/, 1000, 'NVIDIA GH200 (module, up to 1000 W)'],
  [/b200/, 1000, 'NVIDIA B200 SXM'],
  [/h200/, 700, 'NVIDIA H200 SXM'],
  [/h100.*(pcie|nvl)|h100_?pcie/, 350, 'NVIDIA H100 PCIe'],
  [/h100/, 700, 'NVIDIA H100 SXM'],
  [/a100.*pcie|a100_?pcie/, 300, 'NVIDIA A100 PCIe'],
  [/a100/, 400, 'NVIDIA A100 SXM'],
  [/a800/, 400, 'NVIDIA A800 SXM'],
  [/l40s/, 350, 'NVIDIA L40S'],
  [/l40/, 300, 'NVIDIA L40'],
  [/l4\b|^l4/, 72, 'NVIDIA L4'],
  [/a40\b|^a40/, 300, 'NVIDIA A40'],
  [/a30\b|^a30/, 165, 'NVIDIA A30'],
  [/a10\b|^a10/, 150, 'NVIDIA A10'],
  [/a2\b|^a2$/, 60, 'NVIDIA A2'],
  [/v100s/, 250, 'NVIDIA V100S PCIe'],
  [/v100.*pcie/, 250, 'NVIDIA V100 PCIe'],
  [/v100/, 300, 'NVIDIA V100 SXM2'],
  [/p100/, 250, 'NVIDIA P100'],
  [/t4\b|^t4/, 70, 'NVIDIA T4'],
  [/rtx_?a6000|a6000/, 300, 'NVIDIA RTX A6000'],
  [/rtx_?a5000|a5000/, 230, 'NVIDIA RTX A5000'],
  [/rtx_?a4000|a4000/, 140, 'NVIDIA RTX A4000'],
  [/4090/, 450, 'NVIDIA GeForce RTX 4090'],
  [/3090/, 350, 'NVIDIA GeForce RTX 3090'],
  [/2080/, 250, 'NVIDIA GeForce RTX 2080 Ti'],
  [/1080/, 250, 'NVIDIA GeForce GTX 1080 Ti'],
  [/mi300/, 750, 'AMD Instinct MI300X'],
  [/mi250/, 560, 'AMD Instinct MI250X'],
  [/mi210/, 300, 'AMD Instinct MI210'],
  [/mi100/, 300, 'AMD Instinct MI100'],
];

export interface GpuPowerLookup {
  powerW: number;
  method: 'modelled' | 'default';
  /** "NVIDIA A100 SXM 400 W (vendor board power ...)" or why the default was used */
  detail: string;
}

/** The board power for a GRES type ("a100", "tesla_v100-sxm2-16gb") or a model name ("NVIDIA A100-SXM4-40GB"). */
export function lookupGpuPower(typeOrModel: string | undefined): GpuPowerLookup {
  const t = (typeOrModel ?? '')
    .toLowerCase()
    .replace(/^nvidia[ _-]?|^tesla[ _-]?|^amd[ _-]?/g, '')
    .trim();
  if (t) {
    for (const [re, w, name] of TABLE) {
      if (re.test(t)) return { powerW: w, method: 'modelled', detail: `${name} ${w} W (${GPU_POWER_SOURCE})` };
    }
  }
  const why = t
    ? `GPU type "${typeOrModel}" is not in the table`
    : 'the GPUs have no type in SLURM (gres/gpu without a type)';
  return {
    powerW: DEFAULT_GPU_POWER_W,
    method: 'default',
    detail: `${why}: ${DEFAULT_GPU_POWER_W} W per GPU assumed (a PCIe data-centre GPU); set "gpuPowerW" for the cluster in carbonMeter.clusters or --gpu-power`,
  };
}
