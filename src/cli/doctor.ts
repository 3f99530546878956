/** `carbon-meter doctor`: what this machine allows (RAPL, NVML, nvidia-smi, amd-smi, rocm-smi, CPU TDP, region). */
import * as os from 'node:os';
import { sig, terminalSafeJson } from '../core/format';
import { getHardware } from '../core/hardware';
import { HistoryStore } from '../core/history/store';
import { guessRegionFromTimeZone } from '../core/intensity/regions';
import {
  amdSmiCommand,
  chooseRegion,
  nvidiaSmiCommand,
  chooseCpuSource,
  rocmSmiCommand,
} from '../core/meter/environment';
import { probedDevices, probeGpus, type GpuProbe } from '../core/power/gpuMonitor';
import { probeRapl } from '../core/power/rapl';
import { VERSION } from '../core/version';
import { parseOptions, printLines } from './common';
import { errorMessage } from '../core/errors';

export const DOCTOR_HELP = `Usage: carbon-meter doctor [--json]

What this machine allows, and so how 'carbon-meter run' will meter: RAPL energy counters (readable or why not, and
the fix), NVML (libnvidia-ml) and each NVIDIA GPU's energy counter, nvidia-smi, amd-smi and rocm-smi, the CPU model
and the TDP it gets, and the region a run would use and where it comes from ($CARBON_METER_REGION, a time zone
guess, or the world average). Reads only; starts nothing that stays.

Options:
  --json   one JSON object on stdout

Environment: CARBON_METER_NVIDIA_SMI, CARBON_METER_AMD_SMI, CARBON_METER_ROCM_SMI (the GPU tools, default: on
PATH), CARBON_METER_REGION, CARBON_METER_PUE (see 'carbon-meter --help').
`;

export async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parseOptions(args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const nvidia = nvidiaSmiCommand();
  const amd = { amdSmi: amdSmiCommand(), rocmSmi: rocmSmiCommand() };
  const probe = probeGpus(nvidia, { amd, amdEnergy: true, fresh: true });
  const [hardware, gpu] = await Promise.all([getHardware({ gpus: async () => probedDevices(await probe) }), probe]);
  const rapl = probeRapl();
  const cpu = chooseCpuSource(hardware, rapl);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const guess = guessRegionFromTimeZone(tz);
  let region: { code: string; reason: string; error?: string };
  try {
    const c = chooseRegion({ region: process.env.CARBON_METER_REGION, regionFrom: 'CARBON_METER_REGION' });
    region = { code: c.region.code, reason: c.reason };
  } catch (err) {
    region = { code: '?', reason: 'CARBON_METER_REGION is not a known region', error: errorMessage(err) };
  }
  const store = new HistoryStore(process.env.CARBON_METER_HOME || HistoryStore.defaultDir());
  const report = {
    version: VERSION,
    platform: `${process.platform} ${os.release()}`,
    hardware,
    cpuPower:
      cpu.kind === 'rapl'
        ? { method: 'measured', detail: `RAPL ${cpu.domains.join(', ')}` }
        : { method: cpu.tdp.method, tdpW: cpu.tdp.tdpW, detail: cpu.tdp.detail, source: cpu.tdp.source },
    rapl: { readable: rapl.readable, domains: rapl.domains.map((d) => d.name), reason: rapl.reason, fix: rapl.fix },
    gpu: {
      command: nvidia,
      available: gpu.source !== 'none' || (gpu.amd?.source ?? 'none') !== 'none',
      source: gpu.source,
      devices: gpu.devices,
      ...(gpu.source === 'none' && (gpu.amd?.source ?? 'none') === 'none'
        ? {
            reason: [gpu.nvidiaSmi?.reason, gpu.nvml.reason, gpu.amd?.amdSmi.reason, gpu.amd?.rocmSmi?.reason]
              .filter(Boolean)
              .join('; '),
          }
        : {}),
      driverVersion: gpu.nvml.driverVersion ?? gpu.nvidiaSmi?.driverVersion,
      nvml: gpu.nvml,
      nvidiaSmi: gpu.nvidiaSmi,
      amd: gpu.amd,
    },
    region: { ...region, timeZone: tz, timeZoneGuess: guess?.code ?? null },
    history: store.dir,
  };
  if (values.json) {
    process.stdout.write(terminalSafeJson(JSON.stringify(report, null, 2)) + '\n');
    return 0;
  }
  const ok = (b: boolean) => (b ? '✓' : '✗');
  const out = [
    `Carbon Meter ${VERSION} on ${report.platform}`,
    row('CPU', `${hardware.cpuModel}, ${hardware.logicalCpus} logical CPUs, ${sig(hardware.ramGB)} GB RAM`),
    row(
      `${ok(rapl.readable)} RAPL`,
      rapl.readable ? `readable: ${rapl.domains.map((d) => d.name).join(', ')}` : (rapl.reason ?? 'not readable'),
    ),
    ...(rapl.fix ? [more(`fix: ${rapl.fix}`)] : []),
    row('CPU power', `${report.cpuPower.method}: ${report.cpuPower.detail}`),
    ...gpuDoctorLines(gpu, ok),
    row('Region', `${region.code}: ${region.reason}`),
    ...(region.error ? [more(region.error)] : []),
    row(
      'Time zone',
      tz === undefined
        ? `unknown: ${process.env.TZ ? `TZ=${process.env.TZ} is not a time zone Node knows` : 'none found'} (no country)`
        : `${tz}${guess ? ` → ${guess.code}` : ' (no country)'}`,
    ),
    row('History', store.dir),
  ];
  // the CPU model, GPU names and probe reasons come from the machine and its tools: printed escaped
  printLines(out);
  return 0;
}

/** Width of doctor's first column (its longest label, "✗ nvidia-smi"): the texts start in one column. */
const LABEL = 12;

/** One line of doctor's report: a label (with its ✓ or ✗), then the text in the second column. */
function row(label: string, text: string): string {
  return `  ${label.padEnd(LABEL)} ${text}`;
}

/** A further line of the item above, in the second column. */
function more(text: string): string {
  return `${' '.repeat(LABEL + 3)}${text}`;
}

/** doctor's GPU lines: NVML's state, the driver, each device and its energy counter; nvidia-smi when NVML is absent. */
function gpuDoctorLines(gpu: GpuProbe, ok: (b: boolean) => string): string[] {
  const n = gpu.nvml;
  const lines = [
    row(
      `${ok(n.available)} NVML`,
      n.available
        ? `${n.library ?? 'loaded'}, driver ${n.driverVersion ?? '?'}, ${n.devices.length} GPU(s)`
        : (n.reason ?? 'not available'),
    ),
  ];
  for (const d of n.devices) {
    const energy = d.energyCounter
      ? 'energy counter works'
      : `no energy counter (${d.energyError?.message ?? 'not supported'}): power samples integrated`;
    lines.push(
      more(`#${d.index} ${d.name} ${d.uuid}: ${energy}; power ${d.power}${d.migEnabled ? '; MIG enabled' : ''}`),
    );
  }
  if (gpu.nvidiaSmi) {
    const s = gpu.nvidiaSmi;
    const devs = gpu.devices.map((d) => `#${d.index} ${d.name}`).join(', ');
    lines.push(
      row(
        `${ok(s.available)} nvidia-smi`,
        s.available ? `driver ${s.driverVersion ?? '?'}: ${devs} (power.draw samples)` : (s.reason ?? 'not available'),
      ),
    );
  }
  lines.push(...amdDoctorLines(gpu, ok));
  const meters = [
    gpu.source === 'none' ? '' : `NVIDIA: ${gpu.source}`,
    gpu.amd && gpu.amd.source !== 'none' ? `AMD: ${gpu.amd.source}` : '',
  ].filter(Boolean);
  lines.push(row('GPU meter', meters.length ? meters.join(', ') : 'none: GPU energy is not metered'));
  return lines;
}

/** doctor's AMD lines: amd-smi's state (else rocm-smi's), each device and whether its energy counter works. */
function amdDoctorLines(gpu: GpuProbe, ok: (b: boolean) => string): string[] {
  const a = gpu.amd;
  if (!a) return [];
  const lines = [
    row(
      `${ok(a.amdSmi.available)} amd-smi`,
      a.amdSmi.available ? `${a.devices.length} GPU(s)` : (a.amdSmi.reason ?? 'not available'),
    ),
  ];
  if (a.rocmSmi)
    lines.push(
      row(
        `${ok(a.rocmSmi.available)} rocm-smi`,
        a.rocmSmi.available ? `${a.devices.length} GPU(s)` : (a.rocmSmi.reason ?? 'not available'),
      ),
    );
  for (const d of a.devices) {
    const energy =
      d.energyCounter === undefined
        ? 'energy counter not read'
        : d.energyCounter
          ? 'energy counter works'
          : 'no energy counter (N/A): power samples integrated';
    const power = d.powerW === undefined || d.powerW === null ? '' : `; ${d.powerW} W now`;
    lines.push(more(`#${d.index} ${d.name} ${d.uuid}: ${energy}${power}`));
  }
  return lines;
}
