/** The panel's and status bar's wording that follows the record (core/view): how a run's region was chosen. */
import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import { chooseRegion } from '../../src/core/meter/environment';
import {
  componentHow,
  keepWordsWhole,
  meaningfulEquivalents,
  regionBasis,
  runOutcome,
  shownExitCode,
  toRow,
} from '../../src/core/view';
import { makeRun } from '../helpers/history-runs';
import { readSettings } from '../../src/core/config/settings';

describe('regionBasis (core/view/region)', () => {
  it('says set, guessed or default from what chooseRegion recorded', () => {
    const set = chooseRegion({ region: 'DE', regionFrom: 'setting carbonMeter.region', timeZone: 'Etc/UTC' });
    assert.equal(regionBasis({ region: set.region.code, guessed: set.guessed, regionReason: set.reason }), 'set');
    const guess = chooseRegion({ timeZone: 'Europe/Paris' });
    assert.equal(
      regionBasis({ region: guess.region.code, guessed: guess.guessed, regionReason: guess.reason }),
      'guessed',
    );
    const none = chooseRegion({ timeZone: 'Etc/UTC' });
    assert.equal(none.region.code, 'WORLD');
    assert.equal(
      regionBasis({ region: none.region.code, guessed: none.guessed, regionReason: none.reason }),
      'default',
    );
  });

  it('names a rejected region first in the reason of its fallback, guessed or default', () => {
    const rejected = 'carbonMeter.region "XX"';
    const guess = chooseRegion({ timeZone: 'Europe/Paris', rejected });
    assert.equal(
      guess.reason,
      `${rejected} is not a known region; guessed from the time zone Europe/Paris; set a region for exact figures`,
    );
    assert.equal(guess.guessed, true);
    const none = chooseRegion({ timeZone: 'Etc/UTC', rejected });
    assert.equal(
      none.reason,
      `${rejected} is not a known region; the time zone names no country: world average (default)`,
    );
    assert.equal(
      chooseRegion({ timeZone: 'Etc/UTC' }).reason,
      'not set, and the time zone names no country: world average (default)',
    );
  });

  it('reads old records (world average stored as guessed) and the new ones (not guessed) as the default', () => {
    const reason = 'no region set and none could be guessed from the time zone: world average';
    assert.equal(regionBasis({ region: 'WORLD', guessed: true, regionReason: reason }), 'default');
    const now = 'not set, and the time zone names no country: world average (default)';
    assert.equal(regionBasis({ region: 'WORLD', guessed: false, regionReason: now }), 'default');
    assert.equal(regionBasis({ region: 'WORLD', regionReason: 'set by setting carbonMeter.region' }), 'set');
    // an imported run without a reason was not chosen by us: nothing to say
    assert.equal(regionBasis({ region: 'WORLD' }), 'set');
    assert.equal(regionBasis({ region: 'FR', guessed: true, regionReason: 'time zone Europe/Paris' }), 'guessed');
  });

  it("marks the table row: '~' only for a guess, the default flagged as such", () => {
    const base = makeRun();
    const row = (intensity: Partial<typeof base.intensity>) =>
      toRow({ ...base, intensity: { ...base.intensity, ...intensity } });
    const world = row({ region: 'WORLD', guessed: true, regionReason: 'no region set and none could be guessed' });
    assert.equal(world.guessed, undefined);
    assert.equal(world.regionDefault, true);
    const fr = row({ region: 'FR', guessed: true, regionReason: 'time zone Europe/Paris' });
    assert.equal(fr.guessed, true);
    assert.equal(fr.regionDefault, undefined);
    const de = row({ region: 'DE', guessed: undefined, regionReason: 'set by setting carbonMeter.region' });
    assert.deepEqual([de.guessed, de.regionDefault], [undefined, undefined]);
  });
});

describe('run outcome and figure wording (core/view/labels)', () => {
  it('reads Ctrl-C (130) as interrupted and SIGTERM (143) as stopped; keeps real failures and their codes', () => {
    assert.equal(runOutcome('failed', 130), 'interrupted');
    assert.equal(runOutcome('failed', 143), 'stopped');
    assert.equal(runOutcome('failed', 1), 'failed');
    assert.equal(runOutcome('failed', null), 'failed');
    assert.equal(runOutcome('completed', 0), 'completed');
    assert.equal(runOutcome('interrupted'), 'interrupted');
    assert.equal(shownExitCode('failed', 130), undefined);
    assert.equal(shownExitCode('failed', 4), 4);
    assert.equal(shownExitCode('completed', null), undefined);
  });

  it('the exit status of a real shell killed by SIGINT or SIGTERM maps to interrupted / stopped', async function () {
    if (process.platform === 'win32') this.skip();
    // bash reports a child killed by a signal as 128 + the signal's number, as the terminal's shell integration does;
    // the child runs in the foreground (a background job of a script ignores SIGINT) and signals itself
    const codeOf = (sig: string) =>
      new Promise<number | null>((resolve) => {
        const c = cp.spawn('/bin/bash', ['-c', `sh -c "kill -${sig} \\$\\$"; exit $?`], { stdio: 'ignore' });
        c.on('close', (code) => resolve(code));
      });
    assert.equal(runOutcome('failed', await codeOf('INT')), 'interrupted');
    assert.equal(runOutcome('failed', await codeOf('TERM')), 'stopped');
  });

  it('says why a GPU is not metered once, even when its detail already says it', () => {
    const reason = 'nvidia-smi not found on PATH; GPU energy not metered';
    const gpu = { method: 'default' as const, meanW: 0, lastW: 0, unavailableReason: reason };
    assert.equal(componentHow({ ...gpu, detail: `0 W: ${reason}` }), `0 W: ${reason}`);
    assert.equal(componentHow({ ...gpu, detail: '0 W' }), `0 W (${reason})`);
    const shared = {
      method: 'measured' as const,
      meanW: 50,
      lastW: 50,
      detail: 'x',
      source: 'NVML',
      shareRule: 'GPU 0 100 %',
    };
    assert.equal(componentHow(shared, 'Anteil'), 'NVML; Anteil: GPU 0 100 %');
  });

  it('keeps tool names whole in a narrow hover (non-breaking hyphens inside words only)', () => {
    assert.equal(keepWordsWhole('nvidia-smi not found - GPU off'), 'nvidia\u2011smi not found - GPU off');
    assert.equal(keepWordsWhole('rocm-smi, package-0'), 'rocm\u2011smi, package\u20110');
  });
});

describe('settings messages name the default used (core/config)', () => {
  it('a PUE out of range names the default, not null', () => {
    const { settings, problems } = readSettings((k) => (k === 'pue' ? -1 : undefined));
    assert.equal(settings.pue, undefined);
    const msg = problems.find((p) => p.key === 'carbonMeter.pue')?.message ?? '';
    assert.match(
      msg,
      /^carbonMeter\.pue is -1; expected a number from 1 to 3\. Using the default \(the region's published PUE, else 1\.0/,
    );
    assert.doesNotMatch(msg, /null|undefined/);
    const tdp = readSettings((k) => (k === 'cpu.tdpWatts' ? 0 : undefined)).problems[0].message;
    assert.match(tdp, /Using the default \(the CPU model's TDP/);
  });
});

describe('everyday equivalents worth showing (core/view/labels)', () => {
  it('says metres and hundredths for a tiny run, km for a large one, and nothing for a negligible one', () => {
    assert.deepEqual(meaningfulEquivalents(0.0123, 0.034), { car: { value: 12, unit: 'm' }, charges: 0.034 });
    assert.deepEqual(meaningfulEquivalents(3.46, 250.04), { car: { value: 3.5, unit: 'km' }, charges: 250 });
    assert.deepEqual(meaningfulEquivalents(0.0004, 0.02), { charges: 0.02 });
    assert.equal(meaningfulEquivalents(0.00001, 0.0001), undefined);
    assert.equal(meaningfulEquivalents(Number.NaN, 0), undefined);
  });
});
