/** `carbon-meter doctor`: what this machine allows (RAPL, nvidia-smi, CPU TDP, region). */
import * as os from 'node:os';
import { sig, terminalSafeJson } from '../core/format';
import { getHardware } from '../core/hardware';
import { HistoryStore } from '../core/history/store';
import { guessRegionFromTimeZone } from '../core/intensity/regions';
import { chooseRegion, nvidiaSmiCommand, chooseCpuSource } from '../core/meter/environment';
import { probeNvidiaSmi } from '../core/power/gpu';
import { probeRapl } from '../core/power/rapl';
import { VERSION } from '../core/version';
import { parseOptions, printLines } from './common';

export async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parseOptions(args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write('Usage: carbon-meter doctor [--json]\n  What this machine allows: RAPL, nvidia-smi, the CPU model and its TDP, the region guess.\n');
    return 0;
  }
  const nvidia = nvidiaSmiCommand();
  const [hardware, gpu] = await Promise.all([getHardware(), probeNvidiaSmi(nvidia, 3000)]);
  const rapl = probeRapl();
  const cpu = chooseCpuSource(hardware, rapl);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const guess = guessRegionFromTimeZone(tz);
  let region: { code: string; reason: string; error?: string };
  try {
    const c = chooseRegion({ region: process.env.CARBON_METER_REGION, regionFrom: 'CARBON_METER_REGION' });
    region = { code: c.region.code, reason: c.reason };
  } catch (err) {
    region = { code: '?', reason: 'CARBON_METER_REGION is not a known region', error: (err as Error).message };
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
    gpu: { command: nvidia, available: gpu.available, devices: gpu.devices, reason: gpu.reason, driverVersion: gpu.driverVersion },
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
    `  CPU       ${hardware.cpuModel}, ${hardware.logicalCpus} logical CPUs, ${sig(hardware.ramGB)} GB RAM`,
    `  ${ok(rapl.readable)} RAPL    ${rapl.readable ? `readable: ${rapl.domains.map((d) => d.name).join(', ')}` : rapl.reason ?? 'not readable'}`,
    ...(rapl.fix ? [`            fix: ${rapl.fix}`] : []),
    `  CPU power ${report.cpuPower.method}: ${report.cpuPower.detail}`,
    `  ${ok(gpu.available)} GPU     ${gpu.available ? gpu.devices.map((d) => `#${d.index} ${d.name}`).join(', ') : gpu.reason ?? 'no NVIDIA GPU'}`,
    `  Region    ${region.code}: ${region.reason}`,
    ...(region.error ? [`            ${region.error}`] : []),
    `  Time zone ${tz}${guess ? ` → ${guess.code}` : ' (no country)'}`,
    `  History   ${store.dir}`,
  ];
  // the CPU model, GPU names and probe reasons come from the machine and its tools: printed escaped
  printLines(out);
  return 0;
}

