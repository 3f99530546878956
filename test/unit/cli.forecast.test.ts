/**
 * The forecast and the budget through the built CLI, with real processes: the workload prints its progress, the
 * CLI reads it from pipes (and through a pseudo-terminal when its own output is a terminal).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run } from '../../src/core/types';
import { HistoryStore } from '../../src/core/history/store';
import { runCli, type CliResult } from '../helpers/cli';
import { makeRun } from '../helpers/history-runs';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const EPOCHS = path.join(ROOT, 'test', 'fixtures', 'workloads', 'epochs.js');

function tmpHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cm-fc-'));
}

/** epochs.js arguments: epochs of 0.1 s for ever, each printing its progress, saving a checkpoint on SIGINT. */
const FOREVER = ['0.1', '0', '0.2', 'plain', '--forever'];

/**
 * `carbon-meter run --json --interval 0.5 OPTIONS -- node epochs.js WORKLOAD` with a history of its own (`home`), and
 * the record: the last line of stdout (undefined when that is not JSON).
 */
async function meterEpochs(
  options: string[],
  workload: string[],
  home = tmpHome(),
): Promise<{ r: CliResult; run?: Run }> {
  const args = ['run', '--json', '--interval', '0.5', ...options, '--', process.execPath, EPOCHS, ...workload];
  const r = await runCli(CLI, args, { CARBON_METER_HOME: home });
  try {
    return { r, run: JSON.parse(r.stdout.trim().split('\n').pop()!) as Run };
  } catch {
    return { r };
  }
}

describe('carbon-meter run: forecast and budget', function () {
  this.timeout(180_000);
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  });

  it('reads the progress a real process prints and keeps bounded forecasts in the record', async () => {
    const { r, run } = await meterEpochs(['--region', 'DE'], ['0.3', '6', '0.3', 'keras']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Epoch 6\/6/, 'the output is passed through');
    assert.ok(run, r.stdout);
    assert.ok(run.forecasts && run.forecasts.length >= 1, `forecasts: ${JSON.stringify(run.forecasts)}`);
    for (const f of run.forecasts) {
      assert.ok(f.progress > 0 && f.progress <= 1, `progress ${f.progress}`);
      assert.ok(f.predictedKWh > 0 && f.predictedKg > 0 && Number.isFinite(f.t));
      // bounded: never below what was used when it was made, never more than 10× the final energy
      assert.ok(f.predictedKWh <= run.energyKWh.total * 10, `${f.predictedKWh} vs ${run.energyKWh.total}`);
    }
    assert.ok(run.forecasts.every((f, i) => i === 0 || f.progress > run.forecasts![i - 1].progress));
    assert.equal(run.stoppedBy, undefined);
  });

  it('stops a real process on its budget: SIGINT first (it saves a checkpoint), then the record says why', async () => {
    const budget = ['--region', 'PL', '--budget-g', '0.002', '--on-budget', 'stop', '--stop-grace', '60'];
    const { r, run } = await meterEpochs(budget, FOREVER);
    assert.match(r.stdout, /checkpoint saved at epoch \d+/, `the script handled SIGINT; stderr: ${r.stderr}`);
    assert.equal(r.code, 130);
    // at a reading that found the budget reached (a regular one, or one taken when the power said it was near)
    assert.match(r.stderr, /the run has emitted .* its budget is .*stopping it \(SIGINT/);
    assert.ok(run, r.stdout);
    assert.equal(run.stoppedBy, 'budget');
    assert.equal(run.status, 'stopped', 'stopped by its budget, not failed');
    assert.equal(run.exitCode, 130, 'the command’s own exit code is kept');
    assert.equal(run.budget?.limitG, 0.002);
    assert.equal(run.budget?.onBudget, 'stop');
    assert.ok(run.budget?.reachedAt);
    assert.ok(run.notes?.some((n) => /budget/.test(n)));
  });

  it('the summary of a run stopped before its progress ended says how far it got and what the whole run was forecast at', async () => {
    const home = tmpHome();
    const budget = ['--region', 'PL', '--budget-g', '0.002', '--on-budget', 'stop', '--stop-grace', '60'];
    const args = ['run', '--interval', '0.5', ...budget, '--', process.execPath, EPOCHS, '0.1', '40', '0.3', 'plain'];
    const r = await runCli(CLI, args, { CARBON_METER_HOME: home });
    assert.equal(r.code, 130, r.stderr);
    const [run] = JSON.parse((await runCli(CLI, ['history', '--json'], { CARBON_METER_HOME: home })).stdout) as Run[];
    const last = run.forecasts?.at(-1);
    assert.ok(last && last.progress < 1, `forecasts: ${JSON.stringify(run.forecasts)}`);
    const line = r.stderr.split('\n').find((l) => l.startsWith('  Progress '));
    assert.ok(line, r.stderr);
    const pct = last.progress * 100;
    assert.ok(
      line.includes(`it ended at about ${pct < 1 ? 'under 1' : Math.floor(pct)} % of the progress it printed`),
      line,
    );
    assert.match(line, /the whole run was forecast at ≈ \S+ [µm]?g CO₂eq \(\S+ [µm]?Wh\)$/);
  });

  it('warns once, on stderr, when the forecast goes over the budget, and lets the run finish', async () => {
    const { r, run } = await meterEpochs(['--region', 'PL', '--budget-g', '0.0001'], ['0.1', '5', '0.3', 'plain']);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => /is over the budget/.test(l));
    assert.ok(warnings.length <= 1, r.stderr);
    assert.ok(run, r.stdout);
    assert.equal(run.stoppedBy, undefined);
    assert.equal(run.status, 'completed');
    assert.ok(run.budget?.reachedAt, 'reached, but only warned');
    assert.match(r.stderr, /the run has emitted .* its budget is/);
    const over = run.notes?.find((n) => n.startsWith('over its budget'));
    assert.ok(over, `the record says it went over: ${JSON.stringify(run.notes)}`);
    const pct = Math.round((run.emissionsKg * 1e5) / 0.0001);
    assert.match(over, new RegExp(`^over its budget of 0\\.1 mg CO₂eq: \\S+ [µm]?g \\(${pct} % of it\\)$`));
  });

  it('gives the command a terminal when its own output is one (util-linux script), and still reads the progress', function () {
    const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0 || !/util-linux/.test(probe.stdout + probe.stderr)) this.skip();
    const home = tmpHome();
    const py = `${process.execPath} -e "process.stdout.write('tty ' + !!process.stdout.isTTY + ' ' + !!process.stderr.isTTY + '\\n'); for (let k = 1; k <= 3; k++) process.stdout.write('epoch ' + k + '/3 loss=1\\n')"`;
    const inner = `${process.execPath} ${CLI} run --json --region DE -- sh -c ${JSON.stringify(py)}`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CARBON_METER_')));
    const r = spawnSync('script', ['-q', '-e', '-c', inner, '/dev/null'], {
      encoding: 'utf8',
      env: { ...env, CARBON_METER_HOME: home, CARBON_METER_NVIDIA_SMI: '/nonexistent/nvidia-smi' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /tty true true/, 'the command saw a terminal');
    const json = r.stdout.split(/\r?\n/).find((l) => l.startsWith('{"id"'));
    assert.ok(json, r.stdout);
    const run: Run = JSON.parse(json);
    assert.equal(run.exitCode, 0);
    assert.equal(run.forecasts?.[run.forecasts.length - 1]?.progress, 1, 'the progress was read through the terminal');
  });
  describe('--budget-month-kg', () => {
    /** A history with a run of this month (1 kg) and one of last month (50 kg, not counted). */
    function seededHome(): string {
      const home = tmpHome();
      const store = new HistoryStore(home);
      const now = new Date();
      const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      store.append({ ...makeRun({}, { startedAt: new Date(monthStart + 1000), durationS: 60 }), emissionsKg: 1 });
      store.append({
        ...makeRun({}, { startedAt: new Date(monthStart - 86_400_000), durationS: 60 }),
        emissionsKg: 50,
      });
      return home;
    }

    it("stops a real process when the month's budget is used up: this month's runs count, last month's do not", async () => {
      const budget = ['--region', 'PL', '--budget-month-kg', '1.000002', '--on-budget', 'stop', '--stop-grace', '60'];
      const { r, run } = await meterEpochs(budget, FOREVER, seededHome());
      assert.match(r.stderr, /this month's runs have emitted 1(\.0+)? kg CO₂eq of the monthly budget/, r.stderr);
      assert.match(r.stdout, /checkpoint saved at epoch \d+/, `the script handled SIGINT; stderr: ${r.stderr}`);
      assert.equal(r.code, 130);
      assert.ok(run, r.stdout);
      assert.equal(run.stoppedBy, 'budget');
      assert.equal(run.status, 'stopped');
      assert.equal(run.budget?.monthlyKg, 1.000002);
      assert.equal(run.budget?.monthUsedKg, 1);
      assert.ok(Math.abs((run.budget?.limitG ?? 0) - 0.002) < 1e-6, `limit ${run.budget?.limitG}`);
      assert.ok(run.budget?.reachedAt);
    });

    it('with --on-budget stop and the month used up, starts nothing: one line, exit code 1, no run recorded', async () => {
      const home = seededHome();
      const marker = path.join(home, 'started');
      const before = new HistoryStore(home).load().runs.length;
      const r = await runCli(
        CLI,
        ['run', '--region', 'PL', '--budget-month-kg', '0.5', '--on-budget', 'stop', '--', 'touch', marker],
        { CARBON_METER_HOME: home },
      );
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(r.stderr.trim().split('\n'), [
        "carbon-meter: this month's runs have emitted 1 kg CO₂eq, the whole monthly budget of 500 g: nothing was " +
          'started (--on-budget stop; --on-budget warn runs it anyway)',
      ]);
      assert.equal(fs.existsSync(marker), false, 'the command ran');
      assert.equal(new HistoryStore(home).load().runs.length, before);
      // warn: the run starts and is warned about
      const w = await runCli(CLI, ['run', '--region', 'PL', '--budget-month-kg', '0.5', '--', 'touch', marker], {
        CARBON_METER_HOME: home,
      });
      assert.equal(w.code, 0, w.stderr);
      assert.ok(fs.existsSync(marker));
    });

    it('warns on the forecast and lets the run finish with --on-budget warn; the smaller of the two budgets applies', async () => {
      const budget = ['--region', 'PL', '--budget-g', '1000', '--budget-month-kg', '1.0000001'];
      const { r, run } = await meterEpochs(budget, ['0.1', '5', '0.3', 'plain'], seededHome());
      assert.equal(r.code, 0, r.stderr);
      assert.ok(run, r.stdout);
      assert.equal(run.stoppedBy, undefined);
      assert.ok(Math.abs((run.budget?.limitG ?? 0) - 0.0001) < 1e-6, `limit ${run.budget?.limitG}`);
      assert.equal(run.budget?.perRunG, 1000);
      assert.ok(r.stderr.split('\n').filter((l) => /is over the budget/.test(l)).length <= 1, r.stderr);
      assert.ok(run.budget?.reachedAt || run.budget?.forecastOverAt, JSON.stringify(run.budget));
      // --budget-g is the larger here: the month's remainder is the run's budget, and nothing else is said
      assert.match(r.stderr, /of the monthly budget of 1 kg: 0\.1 mg left\n/);
    });

    it("says the run's budget when --budget-g is the smaller of the two", async () => {
      const budget = ['--region', 'PL', '--budget-g', '0.5', '--budget-month-kg', '3'];
      const { r } = await meterEpochs(budget, ['0.1', '1', '0.1', 'plain'], seededHome());
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /of the monthly budget of 3 kg: 2 kg left; this run's budget is 500 mg \(--budget-g\)\n/);
    });

    for (const bad of ['-1', 'ten', '']) {
      it(`refuses --budget-month-kg "${bad}" with one line and exit code 2, running nothing`, async () => {
        const home = tmpHome();
        const r = await runCli(
          CLI,
          ['run', `--budget-month-kg=${bad}`, '--', process.execPath, '-e', 'console.log("ran")'],
          { CARBON_METER_HOME: home },
        );
        assert.equal(r.code, 2);
        assert.doesNotMatch(r.stdout, /ran/);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /--budget-month-kg must be a number/);
      });
    }

    it('is documented in run --help', async () => {
      const r = await runCli(CLI, ['run', '--help'], { CARBON_METER_HOME: tmpHome() });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--budget-month-kg KG/);
    });
  });
});
