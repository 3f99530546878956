/**
 * Decides, once per process, how this machine is metered: RAPL or the TDP model for the CPU, NVML, nvidia-smi or
 * no GPU, which region and PUE. Shared by the CLI and the extension so both say the same thing.
 */
import { getHardware } from '../hardware';
import { StaticIntensityProvider, type IntensityProvider } from '../intensity/provider';
import {
  CO2JS_VERSION,
  guessRegionFromTimeZone,
  meteredRegion,
  resolveRegion,
  timeZoneCountryWithoutIntensity,
  worldRegion,
  type RegionInfo,
} from '../intensity/regions';
import { GpuMonitors } from '../power/gpu/choose';
import { probedDevices, probeGpus } from '../power/gpuMonitor';
import type { NvmlOptions } from '../power/gpuNvml';
import { probeRapl, RaplReader, type RaplProbe } from '../power/rapl';
import { lookupCpuTdp } from '../power/tdp';
import type { Hardware } from '../types';
import type { CpuPowerSource, MeterEnvironment, Place } from './meter';

export interface EnvironmentOptions {
  /** CPU TDP override, W (a setting or --tdp); wins over the table */
  cpuTdpW?: number;
  /** meter NVIDIA GPUs (default true) */
  gpu?: boolean;
  /** nvidia-smi executable (default: `nvidia-smi` on PATH, or $CARBON_METER_NVIDIA_SMI) */
  nvidiaSmi?: string;
  /** amd-smi / rocm-smi executables (default: on PATH, or $CARBON_METER_AMD_SMI / $CARBON_METER_ROCM_SMI) */
  amdSmi?: string;
  rocmSmi?: string;
  /** powercap root (tests) */
  powercapRoot?: string;
  /** the sampling interval, ms (the GPU monitors read at it too; default 1000) */
  intervalMs?: number;
  /**
   * the sampling interval when no GPU is found, ms (default: `intervalMs`): without a GPU, every quantity a tick reads
   * is cumulative (CPU time, RAPL) or slow (resident memory), so a longer interval loses nothing but resolution
   */
  intervalMsWithoutGpu?: number;
  intensity?: IntensityProvider;
  /** probe GPUs for the hardware inventory (NVML once, else one nvidia-smi call) */
  probeGpus?: boolean;
  /** NVML reader options, or false for nvidia-smi only (default: NVML, then nvidia-smi) */
  nvml?: NvmlOptions | false;
}

export interface MachineReport {
  hardware: Hardware;
  rapl: RaplProbe;
  cpu: CpuPowerSource;
}

export function nvidiaSmiCommand(opts: EnvironmentOptions = {}, env = process.env): string {
  return opts.nvidiaSmi || env.CARBON_METER_NVIDIA_SMI || 'nvidia-smi';
}

/** amd-smi executable: `amdSmi`, $CARBON_METER_AMD_SMI, or `amd-smi` on PATH. */
export function amdSmiCommand(opts: EnvironmentOptions = {}, env = process.env): string {
  return opts.amdSmi || env.CARBON_METER_AMD_SMI || 'amd-smi';
}

/** rocm-smi executable: `rocmSmi`, $CARBON_METER_ROCM_SMI, or `rocm-smi` on PATH. */
export function rocmSmiCommand(opts: EnvironmentOptions = {}, env = process.env): string {
  return opts.rocmSmi || env.CARBON_METER_ROCM_SMI || 'rocm-smi';
}

export async function createMeterEnvironment(
  opts: EnvironmentOptions = {},
): Promise<MeterEnvironment & { rapl: RaplProbe; intervalMs: number }> {
  const command = nvidiaSmiCommand(opts);
  const hardware = await getHardware({
    gpus:
      opts.gpu === false || opts.probeGpus === false
        ? undefined
        : async () => {
            const p = await probeGpus(command, { amd: { amdSmi: amdSmiCommand(opts), rocmSmi: rocmSmiCommand(opts) } });
            return probedDevices(p);
          },
  });
  const rapl = probeRapl(opts.powercapRoot);
  const cpu = chooseCpuSource(hardware, rapl, opts.cpuTdpW);
  const intervalMs = hardware.gpus.length
    ? (opts.intervalMs ?? 1000)
    : (opts.intervalMsWithoutGpu ?? opts.intervalMs ?? 1000);
  const gpu =
    opts.gpu === false
      ? { unavailable: 'GPU metering is turned off' }
      : new GpuMonitors({
          nvidia: {
            // one NVML reading per tick: the counter is cumulative, so reading it more often adds CPU, not energy
            nvml: opts.nvml === false ? false : { intervalMs, ...opts.nvml },
            nvidiaSmi: { command, intervalMs },
          },
          amd: { amdSmi: amdSmiCommand(opts), rocmSmi: rocmSmiCommand(opts) },
        });
  return { hardware, cpu, gpu, intensity: opts.intensity ?? new StaticIntensityProvider(), rapl, intervalMs };
}

export function chooseCpuSource(hardware: Hardware, rapl: RaplProbe, cpuTdpW?: number): CpuPowerSource {
  if (rapl.readable && rapl.domains.length && cpuTdpW === undefined) {
    return { kind: 'rapl', reader: new RaplReader(rapl.domains), domains: rapl.domains.map((d) => d.name) };
  }
  if (cpuTdpW !== undefined && Number.isFinite(cpuTdpW) && cpuTdpW > 0) {
    return {
      kind: 'tdp',
      tdp: { tdpW: cpuTdpW, method: 'modelled', source: 'user setting', detail: `TDP ${cpuTdpW} W set by the user` },
    };
  }
  return { kind: 'tdp', tdp: lookupCpuTdp(hardware.cpuModel, hardware.logicalCpus, { sockets: hardware.sockets }) };
}

export interface RegionChoice extends Place {
  warnings: string[];
}

/**
 * The region and PUE of a run: what the user set (flag, setting, environment), else a guess from the time zone
 * (said to be a guess), else the world average. A country CO2.js has no figure for (missing, or 0) gives the world
 * average too, said in the reason and in a warning. Throws UnknownRegionError for a code nobody knows.
 */
export function chooseRegion(input: {
  region?: string;
  regionFrom?: string;
  pue?: number;
  pueFrom?: string;
  timeZone?: string;
  /** the setting that named an unknown region (`carbonMeter.region "XX"`): said first in the reason of the fallback */
  rejected?: string;
}): RegionChoice {
  const warnings: string[] = [];
  let region: RegionInfo;
  let reason: string;
  let guessed = false;
  if (input.region && input.region.trim()) {
    const from = input.regionFrom ?? 'the user';
    const found = meteredRegion(input.region.trim());
    if ('noData' in found) {
      // a country CO2.js has no figure for (missing, or 0 as for CF) would record 0 g: the world average instead
      region = worldRegion();
      const why = `${found.noData.code} (${found.noData.name}), set by ${from}, has no intensity in CO2.js ${CO2JS_VERSION}`;
      reason = `${why}: world average (default)`;
      warnings.push(
        `region ${why}: using the world average (${region.intensityGPerKWh} gCO₂eq/kWh); a neighbouring country or a cloud region gives a closer figure`,
      );
    } else {
      region = found;
      reason = `set by ${from}`;
    }
  } else {
    const guess = guessRegionFromTimeZone(input.timeZone);
    let resolved: RegionInfo | undefined;
    if (guess) {
      try {
        resolved = resolveRegion(guess.code);
      } catch {
        resolved = undefined;
      }
    }
    if (guess && resolved) {
      region = resolved;
      reason = `${guess.reason}; set a region for exact figures`;
      guessed = true;
    } else {
      // a default, not a guess: nothing was guessed
      region = resolveRegion('WORLD');
      const bare = timeZoneCountryWithoutIntensity(input.timeZone);
      const zone = bare
        ? `the time zone ${bare.zone} names ${bare.code} (${bare.name}), which has no intensity in CO2.js ${CO2JS_VERSION}`
        : 'the time zone names no country';
      reason = `${input.rejected ? '' : 'not set, and '}${zone}: world average (default)`;
    }
    if (input.rejected) reason = `${input.rejected} is not a known region; ${reason}`;
  }
  let pue: number;
  let pueSource: string;
  if (input.pue !== undefined) {
    if (!Number.isFinite(input.pue) || input.pue < 1 || input.pue > 3) {
      warnings.push(`PUE ${input.pue} is outside 1.0–3.0; using ${region.pue ?? 1}`);
      pue = region.pue ?? 1;
      pueSource = region.pue ? (region.pueSource ?? `${region.provider} published PUE`) : 'default (local machine)';
    } else {
      pue = input.pue;
      pueSource = `set by ${input.pueFrom ?? 'the user'}`;
    }
  } else if (region.pue) {
    pue = region.pue;
    pueSource = region.pueSource ?? `${region.provider} published PUE`;
  } else {
    pue = 1;
    pueSource = 'default 1.0 for a local machine (CodeCarbon default)';
  }
  return { region, reason, guessed, pue, pueSource, warnings };
}
