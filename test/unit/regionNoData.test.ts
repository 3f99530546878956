/**
 * A country CO2.js has no figure for (0 as for the Central African Republic in 0.19.0, or missing as for Andorra)
 * never meters a run at 0 g: the flag, the environment, the setting and the time zone all fall back to the world
 * average, and say why (the reason, a warning: the run's notes and one line on stderr).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { averageIntensity } from '@tgwf/co2';
import { readSettings } from '../../src/core/config/settings';
import {
  guessRegionFromTimeZone,
  hasIntensity,
  meteredRegion,
  resolveRegion,
  worldRegion,
} from '../../src/core/intensity/regions';
import { chooseRegion } from '../../src/core/meter/environment';
import { regionBasis } from '../../src/core/view';
import type { Run } from '../../src/core/types';
import { runCli } from '../helpers/cli';
import { ROOT } from '../helpers/fakeNvml';

const CLI = path.join(ROOT, 'dist', 'cli.js');

describe('regions CO2.js has no figure for (0 or missing): the world average, said', function () {
  this.timeout(120_000);

  it('CO2.js 0.19.0 gives 0 for the Central African Republic: no figure, not 0 g', () => {
    assert.equal(averageIntensity.data.CAF, 0, 'the dataset still writes 0 for CAF (else this test has no case)');
    assert.equal(hasIntensity(resolveRegion('CF')), false);
    assert.equal(hasIntensity(resolveRegion('FR')), true);
    assert.deepEqual(meteredRegion('caf'), { noData: { code: 'CF', name: 'Central African Rep.' } });
    assert.deepEqual(meteredRegion('AD'), { noData: { code: 'AD', name: 'Andorra' } });
    assert.equal((meteredRegion('fr') as { code: string }).code, 'FR');
    assert.throws(() => meteredRegion('XX'), { name: 'UnknownRegionError' });
  });

  it('a region set by flag, environment or setting falls back to the world average with a reason and a warning', () => {
    const { settings } = readSettings((k) => (k === 'region' ? 'CF' : undefined));
    const inputs = [
      { region: 'CF', regionFrom: '--region' },
      { region: ' caf ', regionFrom: 'CARBON_METER_REGION' },
      { region: settings.region, regionFrom: 'setting carbonMeter.region' },
      { region: 'AD', regionFrom: '--region' },
    ];
    for (const input of inputs) {
      const c = chooseRegion({ ...input, timeZone: 'Europe/Paris' });
      assert.equal(c.region.code, 'WORLD', input.region);
      assert.deepEqual(c.region, worldRegion());
      assert.ok(c.region.intensityGPerKWh > 0);
      assert.equal(c.guessed, false);
      const country =
        input.region.trim().toUpperCase() === 'AD' ? 'AD \\(Andorra\\)' : 'CF \\(Central African Rep\\.\\)';
      assert.match(
        c.reason,
        new RegExp(
          `^${country}, set by ${input.regionFrom}, has no intensity in CO2\\.js 0\\.19\\.0: world average \\(default\\)$`,
        ),
      );
      assert.equal(regionBasis({ region: c.region.code, guessed: c.guessed, regionReason: c.reason }), 'default');
      assert.equal(c.warnings.length, 1);
      assert.match(c.warnings[0]!, new RegExp(`^region ${country}, set by .*: using the world average \\(\\d`));
    }
    // a region with a figure is unchanged
    const fr = chooseRegion({ region: 'FR', regionFrom: '--region' });
    assert.equal(fr.region.code, 'FR');
    assert.equal(fr.reason, 'set by --region');
    assert.deepEqual(fr.warnings, []);
  });

  it('the time zone of such a country gives no guess, and the default says which country it named', () => {
    assert.equal(guessRegionFromTimeZone('Africa/Bangui'), undefined);
    assert.equal(guessRegionFromTimeZone('Africa/Douala')?.code, 'CM');
    const c = chooseRegion({ timeZone: 'Africa/Bangui' });
    assert.equal(c.region.code, 'WORLD');
    assert.equal(c.guessed, false);
    assert.equal(
      c.reason,
      'not set, and the time zone Africa/Bangui names CF (Central African Rep.), which has no intensity in CO2.js 0.19.0: world average (default)',
    );
    assert.equal(regionBasis({ region: c.region.code, guessed: c.guessed, regionReason: c.reason }), 'default');
    assert.equal(
      chooseRegion({ timeZone: 'Etc/UTC' }).reason,
      'not set, and the time zone names no country: world average (default)',
    );
  });

  it('carbon-meter run --region CF records the world average, says why on stderr, and emits more than 0 g', async () => {
    if (!fs.existsSync(CLI)) assert.fail(`${CLI} is missing: run npm run build first`);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-region-nodata-'));
    try {
      // a run that uses some CPU, so that its energy (and so its emissions) is above 0
      const work = 'let x = 0; for (let i = 0; i < 3e7; i++) x += i; console.log(x > 0)';
      const r = await runCli(CLI, ['run', '--region', 'CF', '--', process.execPath, '-e', work], {
        CARBON_METER_HOME: home,
        CARBON_METER_AMD_SMI: path.join(home, 'none', 'amd-smi'),
        CARBON_METER_ROCM_SMI: path.join(home, 'none', 'rocm-smi'),
      });
      assert.equal(r.code, 0, r.stderr);
      const said = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('carbon-meter: ') && /has no intensity in CO2\.js/.test(l));
      assert.equal(said.length, 1, r.stderr);
      assert.match(said[0]!, /^carbon-meter: region CF \(Central African Rep\.\), set by --region, has no intensity/);
      const h = await runCli(CLI, ['history', '--json'], { CARBON_METER_HOME: home });
      assert.equal(h.code, 0, h.stderr);
      const parsed = JSON.parse(h.stdout) as Run[] | { runs: Run[] };
      const run = (Array.isArray(parsed) ? parsed : parsed.runs)[0]!;
      assert.equal(run.intensity.region, 'WORLD');
      assert.equal(run.intensity.gPerKWh, worldRegion().intensityGPerKWh);
      assert.match(
        run.intensity.regionReason ?? '',
        /^CF \(Central African Rep\.\), set by --region, has no intensity/,
      );
      assert.ok(
        run.notes?.some((n) => /using the world average/.test(n)),
        JSON.stringify(run.notes),
      );
      assert.ok(run.energyKWh.total > 0, 'the run used energy');
      assert.ok(run.emissionsKg > 0, 'so it emitted more than 0 g');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
