import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessRegionFromTimeZone, resolveRegion } from '../../src/core/intensity/regions';
import { TZDATA_VERSION, ZONE_COUNTRY } from '../../src/core/intensity/timezones.generated';

describe('intensity/regions: guessRegionFromTimeZone', () => {
  it('Europe/Paris → FR, with the reason', () => {
    assert.deepEqual(guessRegionFromTimeZone('Europe/Paris'), {
      code: 'FR',
      reason: 'guessed from the time zone Europe/Paris',
    });
  });

  it('America/New_York → US, Asia/Kolkata → IN, Europe/Berlin → DE, Australia/Sydney → AU', () => {
    assert.equal(guessRegionFromTimeZone('America/New_York')?.code, 'US');
    assert.equal(guessRegionFromTimeZone('Asia/Kolkata')?.code, 'IN');
    assert.equal(guessRegionFromTimeZone('Europe/Berlin')?.code, 'DE');
    // zones many countries share name none of them (tzdata links CET to Brussels); a country's own alias does
    for (const shared of ['CET', 'EET', 'WET', 'MET', 'EST5EDT', 'PST8PDT', 'EST'])
      assert.equal(guessRegionFromTimeZone(shared), undefined, shared);
    assert.equal(guessRegionFromTimeZone('Japan')?.code, 'JP');
    assert.equal(guessRegionFromTimeZone('Australia/Sydney')?.code, 'AU');
  });

  it('old names still in use (ICU, old systems) give the country of their zone', () => {
    assert.equal(guessRegionFromTimeZone('Asia/Calcutta')?.code, 'IN');
    assert.equal(guessRegionFromTimeZone('Europe/Kiev')?.code, 'UA');
    assert.equal(guessRegionFromTimeZone('US/Eastern')?.code, 'US');
    assert.equal(guessRegionFromTimeZone('US/Pacific')?.code, 'US');
    assert.equal(guessRegionFromTimeZone('Asia/Saigon')?.code, 'VN');
    assert.equal(guessRegionFromTimeZone('America/Buenos_Aires')?.code, 'AR');
    assert.equal(guessRegionFromTimeZone('GB')?.code, 'GB');
    assert.equal(guessRegionFromTimeZone('Japan')?.code, 'JP');
  });

  it('links tzdata merged across countries keep their own country', () => {
    assert.equal(ZONE_COUNTRY.Iceland, 'IS'); // a link to Africa/Abidjan (CI)
    assert.equal(guessRegionFromTimeZone('Iceland')?.code, 'IS');
    assert.equal(ZONE_COUNTRY['America/Coral_Harbour'], 'CA'); // a link to America/Panama
    assert.equal(ZONE_COUNTRY['Atlantic/Jan_Mayen'], 'SJ'); // a link to Europe/Berlin
  });

  it('UTC, Etc/* and rule names give no guess', () => {
    for (const tz of ['UTC', 'Etc/UTC', 'Etc/GMT+5', 'GMT', 'Universal', 'Zulu', 'EST', 'CET', 'EST5EDT']) {
      assert.equal(guessRegionFromTimeZone(tz), undefined, tz);
    }
  });

  it('unknown zones and countries without intensity data give no guess', () => {
    assert.equal(guessRegionFromTimeZone('Mars/Olympus_Mons'), undefined);
    assert.equal(guessRegionFromTimeZone(''), undefined);
    assert.equal(ZONE_COUNTRY['Antarctica/Troll'], 'AQ');
    assert.equal(guessRegionFromTimeZone('Antarctica/Troll'), undefined);
    assert.equal(guessRegionFromTimeZone('constructor'), undefined);
  });

  it('is case-insensitive as a last resort', () => {
    assert.equal(guessRegionFromTimeZone('europe/paris')?.code, 'FR');
  });

  it('without an argument uses this machine’s time zone and returns a code that resolves', () => {
    const system = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const guess = guessRegionFromTimeZone();
    assert.deepEqual(guess, guessRegionFromTimeZone(system));
    if (guess) assert.equal(resolveRegion(guess.code).code, guess.code);
  });

  it('every guess resolves to a region', () => {
    let guessed = 0;
    for (const zone of Object.keys(ZONE_COUNTRY)) {
      const g = guessRegionFromTimeZone(zone);
      if (!g) continue;
      guessed++;
      assert.equal(g.code, ZONE_COUNTRY[zone]);
      assert.equal(resolveRegion(g.code).code, g.code);
    }
    assert.ok(guessed > 400, `only ${guessed} zones give a guess`);
  });
});

describe('intensity/timezones: generated module vs data/zone.tab', () => {
  it('contains every zone of zone.tab with its country (run scripts/gen-timezones.mjs after updating data/)', () => {
    const file = path.resolve(__dirname, '../../../data/zone.tab');
    const rows = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.split('\t'));
    assert.ok(rows.length > 400);
    for (const [country, , zone] of rows) assert.equal(ZONE_COUNTRY[zone], country, zone);
  });

  it('names the tzdata release of data/tz-links.tab', () => {
    const links = fs.readFileSync(path.resolve(__dirname, '../../../data/tz-links.tab'), 'utf8');
    assert.match(links, new RegExp(`# tzdata-version\\t${TZDATA_VERSION}\\n`));
  });
});
