/**
 * CodeLens in a real VS Code (code-server, or @vscode/test-electron): lenses on a fixture training script through
 * `vscode.executeCodeLensProvider`, their texts from the history, the settings, notebooks, and the "Run with Carbon
 * Meter" action metering a real run.
 *
 *   npm run build && npx tsc -p tsconfig.test.json && node out/test/harness/runExthost.js --glob out/test/vscode/codelens.test.js
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CarbonMeterApi } from '../../src/extension/extension';
import type { Run } from '../../src/core/types';
import { makeRun } from '../helpers/history-runs';

const EXT_ID = 'carbon-meter.carbon-meter';
const ROOT = process.env.CARBON_METER_TEST_ROOT ?? path.join(__dirname, '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'codelens');

async function api(): Promise<CarbonMeterApi> {
  const ext = vscode.extensions.getExtension<CarbonMeterApi>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} is installed`);
  return ext.isActive ? ext.exports : await ext.activate();
}

function folder(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  assert.ok(f, 'a workspace folder is open');
  return f.uri.fsPath;
}

/** Copies a fixture into the (throwaway) workspace under a new name and returns its URI. */
function copyFixture(from: string, name: string): vscode.Uri {
  const to = path.join(folder(), 'codelens', name);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, from), to);
  return vscode.Uri.file(to);
}

async function lensesOf(uri: vscode.Uri): Promise<vscode.CodeLens[]> {
  // the command reads the editor model, which exists once the document is open
  await vscode.workspace.openTextDocument(uri);
  return (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
}

/** "line: title" of each lens, by line then in the order the provider gave them. */
const titles = (lenses: vscode.CodeLens[]) =>
  lenses
    .map((l, k) => ({ l, k }))
    .sort((x, y) => x.l.range.start.line - y.l.range.start.line || x.k - y.k)
    .map(({ l }) => `${l.range.start.line + 1}: ${l.command?.title ?? ''}`);

/** The main lens (the footprint, or "Run with Carbon Meter") on the first lensed line. */
const primary = (lenses: vscode.CodeLens[]) => lenses.find((l) => l.command?.title.startsWith('$(pulse)'))!;

async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  boundMs = 60_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + boundMs;
  let last: unknown;
  for (;;) {
    const v = await fn();
    if (v) return v;
    last = v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function setCodeLens(key: string, value: unknown): Promise<void> {
  await vscode.workspace
    .getConfiguration('carbonMeter')
    .update(`codeLens.${key}`, value, vscode.ConfigurationTarget.Global);
}

describe('CodeLens in VS Code', function () {
  this.timeout(180_000);
  let train: vscode.Uri;

  before(async () => {
    await api();
    train = copyFixture('workspace/train_tiny.py', 'train_tiny.py');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(train));
  });

  afterEach(async () => {
    await setCodeLens('enabled', undefined);
    await setCodeLens('show', undefined);
  });

  it('puts "Run with Carbon Meter" and "Debug" on the main block and on def train() of a training script', async () => {
    const lenses = await waitFor(
      async () => {
        const l = await lensesOf(train);
        return l.length > 0 && l;
      },
      60_000,
      'lenses on train_tiny.py',
    );
    const text = fs.readFileSync(train.fsPath, 'utf8').split('\n');
    const guard = text.findIndex((l) => l.startsWith('if __name__ == "__main__":')) + 1;
    const def = text.findIndex((l) => l.startsWith('def train(')) + 1;
    assert.deepEqual(titles(lenses), [
      `${def}: $(pulse) Run with Carbon Meter`,
      `${guard}: $(pulse) Run with Carbon Meter`,
      `${guard}: $(debug-alt) Debug`,
    ]);
    const run = lenses.find((l) => l.range.start.line === guard - 1 && l.command?.title.startsWith('$(pulse)'))!;
    assert.equal(run.command?.command, 'carbonMeter.runFileMetered');
    assert.equal((run.command?.arguments?.[0] as vscode.Uri).fsPath, train.fsPath);
    assert.match(run.command?.tooltip ?? '', /Training entry point: main block/);
  });

  it('puts no lens on a script that does not train, nor on a file over 1 MB', async () => {
    assert.deepEqual(titles(await lensesOf(copyFixture('corpus/inference_torch.py', 'inference.py'))), []);
    const big = path.join(folder(), 'codelens', 'big_train.py');
    const body = fs.readFileSync(train.fsPath, 'utf8');
    fs.writeFileSync(big, `${body}\n${'# padding\n'.repeat(Math.ceil((1024 * 1024) / 10))}`);
    const bigUri = vscode.Uri.file(big);
    await vscode.workspace.openTextDocument(bigUri);
    assert.deepEqual(titles(await lensesOf(bigUri)), []);
    // the same text under 1 MB has lenses
    const small = copyFixture('workspace/train_tiny.py', 'small_train.py');
    assert.ok((await lensesOf(small)).length > 0);
  });

  it('shows the last run of the file from the history, then an estimate and a greener region', async () => {
    const a = await api();
    const file = copyFixture('workspace/train_tiny.py', 'history_train.py');
    const cwd = path.dirname(file.fsPath);
    const run = (hoursAgo: number): Run =>
      makeRun(
        { command: 'python3 history_train.py', cwd, source: 'cli', name: 'history_train.py' },
        {
          startedAt: new Date(Date.now() - hoursAgo * 3600_000),
          durationS: 840,
          gpuW: 100,
          cpuW: 30,
          ramW: 5,
          gPerKWh: 350,
          region: 'DE',
          regionName: 'Germany',
        },
      );
    a.service.store.append(run(3));
    const one = await waitFor(
      async () => {
        const l = await lensesOf(file);
        return l.some((x) => /last run/.test(x.command?.title ?? '')) && l;
      },
      30_000,
      'the last-run lens',
    );
    assert.match(primary(one).command!.title, /^\$\(pulse\) last run [\d.]+ g CO₂eq · [\d.]+ Wh · 14 min \(3 h ago\)$/);
    assert.equal(primary(one).command!.command, 'carbonMeter.showFileRuns');
    assert.ok(
      titles(one).some((t) => t.endsWith('$(play) Run')),
      titles(one).join('\n'),
    );
    assert.ok(!titles(one).some((t) => /next run/.test(t)), 'one run: no estimate');

    a.service.store.append(run(1));
    const two = await waitFor(
      async () => {
        const l = await lensesOf(file);
        return l.some((x) => /next run/.test(x.command?.title ?? '')) && l;
      },
      30_000,
      'the estimate lens',
    );
    const estimate = two.find((x) => /next run/.test(x.command?.title ?? ''))!;
    assert.match(estimate.command!.title, /^\$\(graph-line\) next run ≈ [\d.]+ g CO₂eq · 14 min · −\d+ % in [A-Z]{2}$/);
    assert.match(primary(two).command!.title, /\(46 min ago\)$/, 'the newest run, ended 46 min ago');

    await setCodeLens('show', ['greenerRegion']);
    const only = await waitFor(
      async () => {
        const l = await lensesOf(file);
        return l.some((x) => /^\$\(globe\)/.test(x.command?.title ?? '')) && l;
      },
      30_000,
      'the greener-region-only lens',
    );
    assert.match(primary(only).command!.title, /^\$\(pulse\) Run with Carbon Meter$/);
  });

  it('can be turned off', async () => {
    assert.ok((await lensesOf(train)).length > 0);
    await setCodeLens('enabled', false);
    await waitFor(async () => (await lensesOf(train)).length === 0, 10_000, 'no lenses');
    await setCodeLens('enabled', undefined);
    await waitFor(async () => (await lensesOf(train)).length > 0, 10_000, 'lenses again');
  });

  it('puts a lens on the notebook cell that trains', async () => {
    const nbUri = copyFixture('corpus/nb_sklearn.ipynb', 'credit.ipynb');
    const nb = await vscode.workspace.openNotebookDocument(nbUri);
    await vscode.window.showNotebookDocument(nb);
    const fitCell = nb.cellAt(3);
    // the cells' editor models appear as the notebook editor renders them
    const lenses = await waitFor(
      async () => {
        const l = await lensesOf(fitCell.document.uri).catch(() => []);
        return l.length > 0 && l;
      },
      30_000,
      'a lens on the training cell',
    );
    assert.deepEqual(titles(lenses), ['2: $(pulse) Run with Carbon Meter']);
    for (const c of nb.getCells()) {
      if (c.index === 3 || c.kind !== vscode.NotebookCellKind.Code) continue;
      const other = await waitFor(
        async () => lensesOf(c.document.uri).catch(() => undefined),
        30_000,
        `cell ${c.index} rendered`,
      );
      assert.deepEqual(titles(other), [], `cell ${c.index}`);
    }
  });

  it('"Run with Carbon Meter" runs the file metered in a "Carbon Meter" terminal, and the lens then shows that run', async () => {
    const a = await api();
    const file = copyFixture('workspace/train_tiny.py', 'run_train.py');
    const runLens = primary(
      await waitFor(
        async () => {
          const l = await lensesOf(file);
          return l.length > 0 && l;
        },
        30_000,
        'lenses',
      ),
    );
    assert.equal(runLens.command!.title, '$(pulse) Run with Carbon Meter');
    const finished = new Promise<Run>((resolve) => {
      const sub = a.service.onRunFinished((r) => {
        if (!r.command.includes('run_train.py')) return;
        sub.dispose();
        resolve(r);
      });
    });
    await vscode.commands.executeCommand(runLens.command!.command, ...(runLens.command!.arguments ?? []));
    const terminal = vscode.window.terminals.find((t) => t.name === 'Carbon Meter');
    assert.ok(terminal, 'a terminal named "Carbon Meter"');
    const run = await finished;
    assert.equal(run.source, 'terminal');
    assert.equal(run.status, 'completed');
    assert.ok(run.cpuSeconds > 0.3, `cpuSeconds ${run.cpuSeconds}`);
    assert.match(run.command, /^python3? .*run_train\.py$/);
    const after = await waitFor(
      async () => {
        const l = await lensesOf(file);
        return l.some((x) => /last run/.test(x.command?.title ?? '')) && l;
      },
      30_000,
      'the lens to show the run',
    );
    assert.match(primary(after).command!.title, /^\$\(pulse\) last run .+ CO₂eq · .+ · .+ \(just now\)$/);
    terminal.dispose();
  });
});
