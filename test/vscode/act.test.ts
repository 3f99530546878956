/**
 * Acting on the footprint in a real VS Code: a training script run in a terminal (shell integration) prints
 * "epoch k/N" while it burns CPU; its forecast reaches the status bar tooltip and the run record; a per-run budget
 * warns, or stops it (SIGINT: the script saves a checkpoint; the record says stoppedBy "budget"). "Run at" plans
 * with the local forecast server (GB Carbon Intensity API shapes): the scheduled time is the forecast's dip,
 * "Cancel" and "Run now" work, and with a clock the test moves the run starts in a terminal at its time.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Clock } from '../../src/core/schedule/startTime';
import type { Run } from '../../src/core/types';
import type { CarbonMeterApi } from '../../src/extension/extension';
import type { PanelUi } from '../../src/extension/panel/actions';
import { ScheduledRuns, type RunAtResult } from '../../src/extension/scheduledRuns';
import { makeRun } from '../helpers/history-runs';
import { IntensityServer } from '../helpers/intensityServer';

const EXT_ID = 'carbon-meter.carbon-meter';
const HALF = 1_800_000;

async function api(): Promise<CarbonMeterApi> {
  const ext = vscode.extensions.getExtension<CarbonMeterApi>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} is installed`);
  return ext.isActive ? ext.exports : await ext.activate();
}

async function waitFor<T>(
  fn: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  what: string,
  boundMs = 60_000,
): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function nextFinished(a: CarbonMeterApi, predicate: (r: Run) => boolean): Promise<Run> {
  return new Promise((resolve) => {
    const sub = a.service.onRunFinished((r) => {
      if (!predicate(r)) return;
      sub.dispose();
      resolve(r);
    });
  });
}

/** A training-like script: a short set-up, then epochs of CPU work, each followed by "epoch k/N"; saves on Ctrl-C. */
const TRAIN_PY = `import sys, time
epochs = int(sys.argv[1]); epoch_cpu = float(sys.argv[2])
def burn(s):
    end = time.process_time() + s
    while time.process_time() < end:
        sum(i * i for i in range(20000))
burn(0.2)
k = 0
try:
    while epochs == 0 or k < epochs:
        burn(epoch_cpu)
        k += 1
        print(f"epoch {k}/{epochs or 1000000} loss={1 / k:.3f}", flush=True)
except KeyboardInterrupt:
    print(f"checkpoint saved at epoch {k}", flush=True)
    sys.exit(130)
`;

/** Writes its argument to a file: the command "Run at" runs again. */
const MARK_PY = `import sys, pathlib
pathlib.Path(sys.argv[1]).write_text("ran")
`;

async function terminalWithShellIntegration(name: string): Promise<vscode.Terminal> {
  const terminal = vscode.window.createTerminal({ name, cwd: vscode.workspace.workspaceFolders![0].uri });
  terminal.show();
  await waitFor(() => terminal.shellIntegration, 'shell integration', 30_000);
  return terminal;
}

/** A clock the test moves; sleepers wake when it reaches their time. */
class ManualClock implements Clock {
  private sleepers: { until: number; wake: () => void }[] = [];
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const s = { until: this.t + ms, wake: () => resolve() };
      this.sleepers.push(s);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        resolve();
      });
    });
  }
  advanceTo(t: number): void {
    this.t = t;
    const due = this.sleepers.filter((s) => s.until <= t);
    this.sleepers = this.sleepers.filter((s) => s.until > t);
    for (const s of due) s.wake();
  }
}

class QuietUi implements PanelUi {
  messages: string[] = [];
  async confirm(): Promise<boolean> {
    return false;
  }
  async saveUri(): Promise<vscode.Uri | undefined> {
    return undefined;
  }
  async openUri(): Promise<vscode.Uri | undefined> {
    return undefined;
  }
  info(m: string): void {
    this.messages.push(m);
  }
  warn(m: string): void {
    this.messages.push(m);
  }
  error(m: string): void {
    this.messages.push(m);
  }
}

describe('Acting on the footprint: forecast, budgets, run at the greener hour', function () {
  this.timeout(180_000);
  const cfg = () => vscode.workspace.getConfiguration('carbonMeter');
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-act-'));
    fs.writeFileSync(path.join(dir, 'train_epochs.py'), TRAIN_PY);
    fs.writeFileSync(path.join(dir, 'mark.py'), MARK_PY);
    await cfg().update('region', 'PL', vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    for (const k of [
      'region',
      'budget.perRunGrams',
      'budget.onBudget',
      'intensity.provider',
      'intensity.ukCarbonIntensity.baseUrl',
    ]) {
      await cfg().update(k, undefined, vscode.ConfigurationTarget.Global);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('forecasts a terminal run from its "epoch k/N" lines (status bar tooltip, record) and warns on its budget', async () => {
    const a = await api();
    await cfg().update('budget.perRunGrams', 0.00001, vscode.ConfigurationTarget.Global);
    await cfg().update('budget.onBudget', 'warn', vscode.ConfigurationTarget.Global);
    await waitFor(
      () => a.service.settings.budgetPerRunG === 0.00001 && a.service.settings.region === 'PL',
      'the settings',
    );
    const terminal = await terminalWithShellIntegration('cm-forecast');
    try {
      const finished = nextFinished(a, (r) => /train_epochs\.py 8/.test(r.command));
      terminal.shellIntegration!.executeCommand(`python3 ${path.join(dir, 'train_epochs.py')} 8 0.4`);
      // the tooltips of the run while it goes (the status bar updates at most once a second)
      const tooltips = new Set<string>();
      // as Markdown: appendText writes spaces as &nbsp; and escapes punctuation
      const watch = setInterval(
        () => tooltips.add(a.statusBar.tooltip.replace(/&nbsp;/g, ' ').replace(/\\(.)/g, '$1')),
        50,
      );
      let run: Run;
      try {
        run = await finished;
      } finally {
        clearInterval(watch);
      }
      assert.equal(run.status, 'completed');
      assert.ok(run.forecasts && run.forecasts.length >= 1, JSON.stringify(run.forecasts));
      for (const f of run.forecasts)
        assert.ok(f.progress > 0 && f.progress <= 1 && f.predictedKWh > 0 && f.predictedKg > 0);
      const live = [...tooltips].find((x) => /at the end/.test(x));
      assert.ok(live, `no forecast in the tooltips seen:\n${[...tooltips].join('\n---\n').slice(0, 3000)}`);
      assert.match(live, /≈ .* CO₂eq at the end · \d+ % done/);
      assert.equal(run.budget?.limitG, 0.00001);
      assert.equal(run.budget?.onBudget, 'warn');
      assert.ok(run.budget?.forecastOverAt || run.budget?.reachedAt, JSON.stringify(run.budget));
      assert.equal(run.stoppedBy, undefined, 'warned only');
      const stored = await waitFor(() => a.service.store.get(run.id), 'the record in the history');
      assert.ok(stored.forecasts?.length);
    } finally {
      terminal.dispose();
    }
  });

  it('stops a terminal run on its budget: SIGINT, the script saves a checkpoint, the record says stoppedBy "budget"', async () => {
    const a = await api();
    await cfg().update('budget.perRunGrams', 0.002, vscode.ConfigurationTarget.Global);
    await cfg().update('budget.onBudget', 'stop', vscode.ConfigurationTarget.Global);
    await waitFor(
      () => a.service.settings.budgetPerRunG === 0.002 && a.service.settings.onBudget === 'stop',
      'the settings',
    );
    const terminal = await terminalWithShellIntegration('cm-budget');
    try {
      const finished = nextFinished(a, (r) => /train_epochs\.py 0/.test(r.command));
      const execution = terminal.shellIntegration!.executeCommand(`python3 ${path.join(dir, 'train_epochs.py')} 0 0.2`);
      let output = '';
      const reading = (async () => {
        for await (const d of execution.read()) output += d;
      })();
      const run = await finished;
      await reading;
      assert.equal(run.stoppedBy, 'budget');
      assert.equal(run.budget?.limitG, 0.002);
      assert.ok(run.budget?.reachedAt);
      assert.ok(run.emissionsKg * 1000 >= 0.002, String(run.emissionsKg));
      assert.match(output, /checkpoint saved at epoch \d+/, 'the script got SIGINT first');
      assert.ok(run.notes?.some((n) => /budget/.test(n)));
    } finally {
      await cfg().update('budget.perRunGrams', undefined, vscode.ConfigurationTarget.Global);
      await cfg().update('budget.onBudget', undefined, vscode.ConfigurationTarget.Global);
      terminal.dispose();
    }
  });

  describe('Run at the greener hour', () => {
    let server: IntensityServer;
    let dip: number;
    before(async () => {
      const a = await api();
      server = await IntensityServer.start();
      // 300 g/kWh, but 60 g/kWh for 4 h from 5 h from now (half-hour periods, as the GB API gives them)
      dip = Math.floor(Date.now() / HALF) * HALF + 10 * HALF;
      server.intensityAt = (t) => (t >= dip && t < dip + 8 * HALF ? 60 : 300);
      await cfg().update('intensity.ukCarbonIntensity.baseUrl', server.url, vscode.ConfigurationTarget.Global);
      await cfg().update('intensity.provider', 'uk-carbon-intensity', vscode.ConfigurationTarget.Global);
      await waitFor(() => a.service.intensity?.id === 'uk-carbon-intensity', 'the live provider');
    });
    after(async () => {
      await cfg().update('intensity.provider', undefined, vscode.ConfigurationTarget.Global);
      await cfg().update('intensity.ukCarbonIntensity.baseUrl', undefined, vscode.ConfigurationTarget.Global);
      await server.close();
      for (const term of vscode.window.terminals) if (term.name.includes('gb-train')) term.dispose();
    });

    function seedRun(a: CarbonMeterApi, marker: string): Run {
      const run = makeRun(
        { name: 'gb-train', command: `python3 ${path.join(dir, 'mark.py')} ${marker}`, cwd: dir },
        { region: 'GB', regionName: 'United Kingdom', durationS: 3600, gPerKWh: 300 },
      );
      a.service.store.append(run);
      return run;
    }

    it('schedules a run of the history at the forecast dip; the status bar shows it; Cancel and Run now work', async () => {
      const a = await api();
      const marker = path.join(dir, 'ran-now.txt');
      const run = seedRun(a, marker);
      const r1 = await vscode.commands.executeCommand<RunAtResult>('carbonMeter.runAtGreenerTime', { runId: run.id });
      assert.ok(r1?.scheduled, JSON.stringify(r1));
      assert.equal(r1.scheduled.atMs, dip, 'the start of the dip');
      assert.ok(Math.abs(r1.scheduled.savingFraction - 0.8) < 1e-9, String(r1.scheduled.savingFraction));
      assert.equal(r1.scheduled.command, run.command);
      assert.equal(r1.scheduled.cwd, dir);
      assert.match(a.scheduled.statusText ?? '', /Scheduled/);
      await vscode.commands.executeCommand('carbonMeter.cancelScheduledRun', r1.scheduled.id);
      assert.equal(a.scheduled.scheduler.list().length, 0);
      assert.equal(a.scheduled.statusText, undefined, 'the status bar item is gone');

      const r2 = await vscode.commands.executeCommand<RunAtResult>('carbonMeter.runAtGreenerTime', { runId: run.id });
      assert.ok(r2?.scheduled);
      await vscode.commands.executeCommand('carbonMeter.runScheduledNow', r2.scheduled.id);
      assert.equal(a.scheduled.scheduler.list().length, 0);
      await waitFor(() => fs.existsSync(marker), 'the command run again in a terminal');
      assert.equal(fs.readFileSync(marker, 'utf8'), 'ran');
    });

    it('starts the run in a terminal when its time comes, on a clock the test moves', async () => {
      const a = await api();
      const marker = path.join(dir, 'ran-at-time.txt');
      const run = seedRun(a, marker);
      const clock = new ManualClock(Date.now());
      const ui = new QuietUi();
      const scheduled = new ScheduledRuns(a.service, clock, ui);
      try {
        const r = await scheduled.runAtGreenerTime({ kind: 'run', runId: run.id });
        assert.ok(r.scheduled, JSON.stringify(r));
        assert.equal(r.scheduled.atMs, dip);
        clock.advanceTo(dip - 1000);
        // nothing may start before its time: the scheduler still holds it after the clock's wake-ups have run
        await new Promise((res) => setImmediate(res));
        assert.equal(scheduled.scheduler.list().length, 1);
        assert.equal(fs.existsSync(marker), false);
        clock.advanceTo(dip);
        await waitFor(() => fs.existsSync(marker), 'the command run in a terminal at its time');
        assert.equal(scheduled.scheduler.list().length, 0);
        assert.deepEqual(
          ui.messages.filter((m) => /could not/.test(m)),
          [],
        );
      } finally {
        scheduled.dispose();
      }
    });

    it('puts "Run at" on the CodeLens of a training file with earlier runs; it schedules that file', async () => {
      const a = await api();
      await cfg().update('region', 'GB', vscode.ConfigurationTarget.Global);
      const root = process.env.CARBON_METER_TEST_ROOT ?? path.join(__dirname, '..', '..', '..');
      const folder = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'runat');
      fs.mkdirSync(folder, { recursive: true });
      const file = path.join(folder, 'runat_train.py');
      fs.copyFileSync(path.join(root, 'test', 'fixtures', 'codelens', 'workspace', 'train_tiny.py'), file);
      const uri = vscode.Uri.file(file);
      try {
        await waitFor(() => a.service.settings.region === 'GB', 'the region setting');
        a.service.store.append(
          makeRun(
            { command: 'python3 runat_train.py', cwd: folder, source: 'cli', name: 'runat_train.py' },
            { durationS: 3600, region: 'GB', gPerKWh: 300 },
          ),
        );
        await vscode.workspace.openTextDocument(uri);
        let lens: vscode.CodeLens | undefined;
        await waitFor(async () => {
          const lenses =
            (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
          lens = lenses.find((l) => /Run at/.test(l.command?.title ?? ''));
          return !!lens;
        }, 'the "Run at" lens');
        assert.match(lens!.command!.title, /^\$\(clock\) Run at (\w{3} )?\d\d:\d\d \(−80\s%\)$/);
        assert.equal(lens!.command!.command, 'carbonMeter.runAtGreenerTime');
        const r = await vscode.commands.executeCommand<RunAtResult>(
          lens!.command!.command,
          ...(lens!.command!.arguments ?? []),
        );
        assert.ok(r?.scheduled, JSON.stringify(r));
        assert.equal(r.scheduled.atMs, dip);
        assert.equal(r.scheduled.payload.kind, 'file');
        await vscode.commands.executeCommand('carbonMeter.cancelScheduledRun', r.scheduled.id);
        assert.equal(a.scheduled.scheduler.list().length, 0);
      } finally {
        await cfg().update('region', 'PL', vscode.ConfigurationTarget.Global);
      }
    });

    it('with no forecast, says why and schedules nothing', async () => {
      const a = await api();
      const run = seedRun(a, path.join(dir, 'never.txt'));
      const fr = makeRun(
        { name: 'fr-train', command: 'python3 train.py', cwd: dir },
        { region: 'FR', durationS: 3600 },
      );
      a.service.store.append(fr);
      const r = await vscode.commands.executeCommand<RunAtResult>('carbonMeter.runAtGreenerTime', { runId: fr.id });
      assert.equal(r?.scheduled, undefined);
      assert.match(r?.reason ?? '', /Great Britain/);
      await cfg().update('intensity.provider', 'static', vscode.ConfigurationTarget.Global);
      await waitFor(() => a.service.intensity?.id !== 'uk-carbon-intensity', 'the static source');
      const r2 = await vscode.commands.executeCommand<RunAtResult>('carbonMeter.runAtGreenerTime', { runId: run.id });
      assert.equal(r2?.scheduled, undefined);
      assert.match(r2?.reason ?? '', /static/);
      assert.equal(a.scheduled.scheduler.list().length, 0);
    });
  });
});
