/** `carbon-meter regions`: emissions of an amount of energy in each known region, greenest first. */
import { parseArgs } from 'node:util';
import { formatCo2, formatEnergy, sig } from '../core/format';
import { greenerRegions } from '../core/intensity/regions';
import { numberOption } from './common';

export function regionsCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { 'energy-kwh': { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: carbon-meter regions [--energy-kwh X] [--json] [--limit N]\n  Emissions of X kWh (default 1) in each known region, greenest first (annual averages).\n');
    return 0;
  }
  const kwh = numberOption(values['energy-kwh'], 'energy-kwh', 0) ?? 1;
  const limit = numberOption(values.limit, 'limit', 1);
  const list = greenerRegions(kwh, { limit });
  if (values.json) {
    process.stdout.write(JSON.stringify(list.map((x) => ({ ...x.region, emissionsKg: x.emissionsKg }))) + '\n');
    return 0;
  }
  process.stdout.write(`${formatEnergy(kwh)} in each region (annual averages, PUE of cloud providers included), greenest first:\n`);
  for (const { region, emissionsKg } of list) {
    process.stdout.write(
      `  ${region.code.padEnd(32)} ${formatCo2(emissionsKg).padStart(10)}  ${sig(region.intensityGPerKWh).padStart(6)} g/kWh${region.pue ? ` × PUE ${region.pue}` : ''}  ${region.name} · ${region.source}${region.year ? ` ${region.year}` : ''}\n`,
    );
  }
  return 0;
}

