/** `carbon-meter regions`: emissions of an amount of energy in each known region, greenest first. */
import { formatCo2, formatEnergy, sig, terminalSafeJson } from '../core/format';
import { greenerRegions } from '../core/intensity/regions';
import { numberOption, parseOptions, printLines } from './common';

export const REGIONS_HELP = `Usage: carbon-meter regions [--energy-kwh X] [--limit N] [--json]

Emissions of X kWh in each known region (countries and AWS, GCP and Azure regions), greenest first, from annual
average grid intensities; cloud regions include their provider's PUE. Regions without a figure (CO2.js has 0 or
nothing for a few countries) are left out rather than shown as zero-carbon.

Options:
  --energy-kwh X  the energy, kWh (default 1)
  --limit N       only the N greenest regions (a whole number from 1)
  --json          one JSON array on stdout
`;

export function regionsCommand(args: string[]): number {
  const { values } = parseOptions(args, {
    'energy-kwh': { type: 'string' },
    json: { type: 'boolean' },
    limit: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(REGIONS_HELP);
    return 0;
  }
  const kwh = numberOption(values['energy-kwh'], 'energy-kwh', 0, Infinity, { positive: true }) ?? 1;
  const limit = numberOption(values.limit, 'limit', 1, Infinity, { integer: true }) ?? Infinity;
  // a zero or missing intensity is a hole in the data (CO2.js has 0 for the Central African Republic), not a
  // zero-carbon grid: leave it out, as the panel's greener-region tips do
  const list = greenerRegions(kwh)
    .filter(({ region }) => Number.isFinite(region.intensityGPerKWh) && region.intensityGPerKWh > 0)
    .slice(0, limit);
  if (values.json) {
    process.stdout.write(
      terminalSafeJson(JSON.stringify(list.map((x) => ({ ...x.region, emissionsKg: x.emissionsKg })))) + '\n',
    );
    return 0;
  }
  printLines([
    `${formatEnergy(kwh)} in each region (annual averages, PUE of cloud providers included), greenest first:`,
    ...list.map(
      ({ region, emissionsKg }) =>
        `  ${region.code.padEnd(32)} ${formatCo2(emissionsKg).padStart(10)}  ${sig(region.intensityGPerKWh).padStart(6)} g/kWh${region.pue ? ` × PUE ${region.pue}` : ''}  ${region.name} · ${region.source}${region.year && !region.source.includes(String(region.year)) ? ` ${region.year}` : ''}`,
    ),
  ]);
  return 0;
}
