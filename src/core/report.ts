/** A run as a Markdown report: every figure with its method and source. */
import { EQUIVALENT_FACTORS, kmByCar, smartphoneCharges } from './equivalents';
import { formatCo2, formatDistance, formatDuration, formatEnergy, formatIntensity, formatPower, sig } from './format';
import type { Run } from './types';

/** Escapes Markdown's special characters so a run's strings show as typed. */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>~&]/g, (c) => `\\${c}`);
}

export function runReportMarkdown(run: Run): string {
  const e = run.energyKWh;
  const p = run.power;
  const i = run.intensity;
  const rows = [
    ['CPU', formatEnergy(e.cpu), formatPower(p.cpu.meanW), p.cpu.method, p.cpu.detail],
    ['GPU', formatEnergy(e.gpu), formatPower(p.gpu.meanW), p.gpu.method, p.gpu.unavailableReason ?? p.gpu.detail],
    ['RAM', formatEnergy(e.ram), formatPower(p.ram.meanW), p.ram.method, p.ram.detail],
  ];
  return [
    `# ${escapeMarkdown(run.name)}`,
    '',
    `\`${run.command.replace(/`/g, "'")}\``,
    '',
    `- **Status:** ${run.status}${run.exitCode !== null && run.exitCode !== undefined ? ` (exit ${run.exitCode})` : ''} · ${run.source}`,
    `- **Started:** ${run.startedAt} · **duration** ${formatDuration(run.durationS)} · **CPU time** ${sig(run.cpuSeconds)} s`,
    `- **Folder:** ${escapeMarkdown(run.cwd)}`,
    '',
    '| component | energy | mean power | method | how |',
    '|---|---:|---:|---|---|',
    ...rows.map((r) => `| ${r[0]} | ${r[1]} | ${r[2]} | ${r[3]} | ${escapeMarkdown(r[4])} |`),
    `| **total × PUE ${run.pue}** | **${formatEnergy(e.total)}** | | | PUE: ${escapeMarkdown(run.pueSource ?? '')} |`,
    '',
    `**${formatCo2(run.emissionsKg)} CO₂eq** = ${formatEnergy(e.total)} × ${formatIntensity(i.gPerKWh)}`,
    '',
    `- **Intensity:** ${escapeMarkdown(i.region)}${i.regionName ? ` (${escapeMarkdown(i.regionName)})` : ''}, ${escapeMarkdown(i.source)}${i.year ? ` (${i.year})` : ''}, ${i.method}${i.guessed ? ', **region guessed**' : ''}`,
    `- **Region:** ${escapeMarkdown(i.regionReason ?? '')}${i.fallback ? ` · fallback: ${escapeMarkdown(i.fallback)}` : ''}`,
    `- **Equivalent:** ${formatDistance(kmByCar(run.emissionsKg))} by car, ${sig(smartphoneCharges(run.emissionsKg))} smartphone charges (${escapeMarkdown(EQUIVALENT_FACTORS.carKm.source)}; ${escapeMarkdown(EQUIVALENT_FACTORS.smartphoneCharge.source)})`,
    `- **Hardware:** ${escapeMarkdown(run.hardware.cpuModel)}, ${run.hardware.logicalCpus} logical CPUs, ${sig(run.hardware.ramGB)} GB RAM${run.hardware.gpus.length ? `, ${run.hardware.gpus.map((g) => escapeMarkdown(g.name)).join(', ')}` : ''}`,
    ...(run.notes ?? []).map((n) => `- **Note:** ${escapeMarkdown(n)}`),
    '',
    `_Run ${run.id}, Carbon Meter ${run.meterVersion ?? ''}_`,
    '',
  ].join('\n');
}
