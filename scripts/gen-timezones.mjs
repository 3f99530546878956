#!/usr/bin/env node
// Generates src/core/intensity/timezones.generated.ts (IANA time zone → ISO 3166 alpha-2 country)
// from the tzdata files kept in data/:
//   data/zone.tab      tzdata's zone.tab (one country per zone), public domain
//   data/tz-links.tab  the Link lines of tzdata's tzdata.zi (old names → current names), public domain
//
//   node scripts/gen-timezones.mjs                        regenerate the TS module from data/
//   node scripts/gen-timezones.mjs --refresh /usr/share/zoneinfo
//                                                         first copy zone.tab, iso3166.tab and the links
//                                                         of tzdata.zi from a tzdata installation into data/
//
// The bundle never reads these files at runtime: the generated module is plain TypeScript.

import { readFileSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, 'data');
const outFile = join(root, 'src', 'core', 'intensity', 'timezones.generated.ts');

/**
 * Links that tzdata merged across countries (the alias now points at a zone of another country
 * because their clocks have agreed since 1970). Following the link would give the wrong country,
 * so the country is given here. Each key must be a link alias in data/tz-links.tab.
 */
const CROSS_COUNTRY_LINKS = {
  Iceland: 'IS', // → Africa/Abidjan (CI)
  'Atlantic/Jan_Mayen': 'SJ', // → Europe/Berlin (DE)
  'Africa/Asmera': 'ER', // → Africa/Nairobi (KE)
  'Africa/Timbuktu': 'ML', // → Africa/Abidjan (CI)
  'America/Coral_Harbour': 'CA', // → America/Panama (PA)
  'America/Virgin': 'VI', // → America/Puerto_Rico (PR)
  'Antarctica/South_Pole': 'AQ', // → Pacific/Auckland (NZ)
  'Pacific/Truk': 'FM', // → Pacific/Port_Moresby (PG)
  'Pacific/Yap': 'FM', // → Pacific/Port_Moresby (PG)
  'Pacific/Ponape': 'FM', // → Pacific/Guadalcanal (SB)
};

const NON_GEOGRAPHIC = new Set([
  'UTC',
  'UCT',
  'GMT',
  'GMT0',
  'GMT+0',
  'GMT-0',
  'Greenwich',
  'Universal',
  'Zulu',
  'Factory',
  // POSIX-style and continental rule names: since tzdata 2024b some are links to a city
  // (EST → America/Panama, CET → Europe/Brussels), which says nothing about the user's country.
  'CET',
  'EET',
  'MET',
  'WET',
  'EST',
  'MST',
  'HST',
  'EST5EDT',
  'CST6CDT',
  'MST7MDT',
  'PST8PDT',
]);

/** Names that say nothing about a place (UTC, fixed offsets, POSIX-style rules): never a guess. */
function isNonGeographic(zone) {
  if (zone.startsWith('Etc/') || zone.startsWith('SystemV/')) return true;
  return NON_GEOGRAPHIC.has(zone);
}

function refresh(from) {
  for (const f of ['zone.tab', 'iso3166.tab']) {
    copyFileSync(join(from, f), join(dataDir, f));
  }
  const zi = readFileSync(join(from, 'tzdata.zi'), 'utf8').split('\n');
  const version = (zi.find((l) => l.startsWith('# version')) ?? '# version unknown').slice('# version '.length).trim();
  const links = zi.filter((l) => l.startsWith('L ')).map((l) => l.split(/\s+/));
  const lines = [
    `# Links between time zone names, from the tz database (tzdata ${version}), file tzdata.zi:`,
    '# every "L TARGET ALIAS" line, written here as TARGET<tab>ALIAS.',
    '# The tz database is in the public domain (https://www.iana.org/time-zones).',
    `# tzdata-version\t${version}`,
    ...links.map(([, target, alias]) => `${target}\t${alias}`),
  ];
  writeFileSync(join(dataDir, 'tz-links.tab'), lines.join('\n') + '\n');
  console.log(`copied zone.tab, iso3166.tab and ${links.length} links (tzdata ${version}) from ${from}`);
}

function dataLines(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

function generate() {
  const zoneCountry = new Map();
  for (const line of dataLines(join(dataDir, 'zone.tab'))) {
    const [country, , zone] = line.split('\t');
    if (!/^[A-Z]{2}$/.test(country) || !zone) throw new Error(`bad zone.tab line: ${line}`);
    zoneCountry.set(zone, country);
  }
  const linksText = readFileSync(join(dataDir, 'tz-links.tab'), 'utf8');
  const version = /# tzdata-version\t(\S+)/.exec(linksText)?.[1];
  if (!version) throw new Error('data/tz-links.tab has no "# tzdata-version" line');
  const linkTarget = new Map();
  for (const line of dataLines(join(dataDir, 'tz-links.tab'))) {
    const [target, alias] = line.split('\t');
    linkTarget.set(alias, target);
  }
  for (const alias of Object.keys(CROSS_COUNTRY_LINKS)) {
    if (!linkTarget.has(alias)) throw new Error(`CROSS_COUNTRY_LINKS: ${alias} is not a link in data/tz-links.tab`);
  }

  const result = new Map(zoneCountry);
  let aliases = 0;
  for (const [alias, firstTarget] of linkTarget) {
    if (result.has(alias) || isNonGeographic(alias)) continue;
    let country = CROSS_COUNTRY_LINKS[alias];
    if (!country) {
      let target = firstTarget;
      for (let hops = 0; hops < 8 && !zoneCountry.has(target) && linkTarget.has(target); hops++) {
        target = linkTarget.get(target);
      }
      country = zoneCountry.get(target);
    }
    if (country) {
      result.set(alias, country);
      aliases++;
    }
  }

  const entries = [...result.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const body = entries.map(([zone, country]) => `  ${JSON.stringify(zone)}: ${JSON.stringify(country)},`).join('\n');
  const ts = `// Generated by scripts/gen-timezones.mjs from data/zone.tab and data/tz-links.tab. Do not edit.
// Source: the tz database (tzdata ${version}), public domain: zone.tab maps each zone to one
// ISO 3166 alpha-2 country; old names (links such as Asia/Calcutta, Europe/Kiev, US/Eastern)
// take the country of the zone they link to, except the cross-country links listed in the script.

/** tzdata release the table was generated from. */
export const TZDATA_VERSION = ${JSON.stringify(version)};

/** IANA time zone name → ISO 3166-1 alpha-2 country code (${zoneCountry.size} zones from zone.tab, ${aliases} old names). */
export const ZONE_COUNTRY: Readonly<Record<string, string>> = {
${body}
};
`;
  writeFileSync(outFile, ts);
  console.log(`wrote ${outFile}: ${entries.length} zones (${aliases} old names), tzdata ${version}`);
}

const i = process.argv.indexOf('--refresh');
if (i >= 0) {
  const from = process.argv[i + 1];
  if (!from || !existsSync(join(from, 'zone.tab'))) {
    console.error('usage: node scripts/gen-timezones.mjs --refresh <tzdata dir containing zone.tab and tzdata.zi>');
    process.exit(2);
  }
  refresh(from);
}
generate();
