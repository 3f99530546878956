/**
 * Notebooks in a real VS Code: a TEST-ONLY notebook controller (registered here, never by the extension) starts a
 * real ipykernel from the extension host the way the Jupyter extension does (a `kernel-v3-<hex>.json` connection file,
 * `python3 -m ipykernel_launcher --f=<file>`, cwd = the notebook's folder) and runs cells through jupyter_client
 * (test/fixtures/notebook/bridge.py). Carbon Meter must find that kernel on its own, meter it as a notebook run and
 * give each cell its share: cells of 1 s and 3 s of CPU work, proportional within 25 %; the run's CPU time within 5 %
 * of the kernel's own (/proc). A restart starts a new run; closing the notebook records the run once.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CarbonMeterApi } from '../../src/extension/extension';
import type { NotebookCellFootprint, Run } from '../../src/core/types';
import { busyCell, processCpuSeconds } from '../helpers/jupyter';
import { notebookJson, TestKernelController } from '../helpers/notebookController';

const EXT_ID = 'carbon-meter.carbon-meter';

async function api(): Promise<CarbonMeterApi> {
  const ext = vscode.extensions.getExtension<CarbonMeterApi>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} is installed`);
  return ext.isActive ? ext.exports : await ext.activate();
}

async function waitFor<T>(fn: () => T | undefined | false, boundMs = 90_000, what = 'condition'): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function nextFinished(a: CarbonMeterApi, id: string): Promise<Run> {
  return new Promise((resolve) => {
    const sub = a.service.onRunFinished((r) => {
      if (r.id !== id) return;
      sub.dispose();
      resolve(r);
    });
  });
}

function nextReading(a: CarbonMeterApi, id: string): Promise<Run> {
  return new Promise((resolve) => {
    const sub = a.service.onReading((r) => {
      if (r.runId !== id) return;
      sub.dispose();
      resolve(r.run);
    });
  });
}

async function runCell(nb: vscode.NotebookDocument, index: number): Promise<void> {
  await vscode.commands.executeCommand('notebook.cell.execute', {
    ranges: [{ start: index, end: index + 1 }],
    document: nb.uri,
  });
}

function cellOf(run: Run, index: number, after = ''): NotebookCellFootprint | undefined {
  return run.cells?.find((c) => c.index === index && c.startedAt > after);
}

describe('Notebooks: a real ipykernel started from the extension host', function () {
  this.timeout(300_000);
  let controller: TestKernelController;
  let runtimeDir: string;
  let nb: vscode.NotebookDocument;

  before(async () => {
    runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-jupyter-runtime-'));
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'a workspace folder is open');
    const dir = path.join(folder.uri.fsPath, 'notebooks');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'train.ipynb');
    fs.writeFileSync(file, notebookJson(['x = 1', busyCell(1), busyCell(3)]));
    controller = new TestKernelController(vscode, runtimeDir);
    // opened as a user opens it (vscode.openWith): a document opened through openNotebookDocument is held by the
    // API for minutes after its editor closes, so it would close late
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(file), 'jupyter-notebook');
    nb = await waitFor(() => vscode.window.activeNotebookEditor?.notebook, 60_000, 'the notebook editor');
    controller.controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
    await vscode.commands.executeCommand('notebook.selectKernel', { id: controller.controller.id, extension: EXT_ID });
  });

  after(() => {
    controller?.dispose();
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  });

  let firstRun: Run;

  it('meters the kernel as a notebook run and gives each cell its share', async function () {
    const a = await api();
    await runCell(nb, 0);
    const run = await waitFor(() => a.notebooks.runOf(nb), 120_000, 'the notebook run');
    const k = controller.kernels.get(nb.uri.toString());
    assert.ok(k, 'the test kernel runs');
    assert.equal(run.pid, k.kernel.process.pid, "the run meters the notebook's kernel");
    assert.equal(run.source, 'notebook');
    assert.equal(run.name, 'train.ipynb');
    await waitFor(() => cellOf(run, 0), 60_000, 'cell 0 footprint');

    await runCell(nb, 1);
    const one = await waitFor(() => cellOf(run, 1), 120_000, 'cell 1 footprint');
    await runCell(nb, 2);
    const three = await waitFor(() => cellOf(run, 2), 120_000, 'cell 2 footprint');

    assert.ok(one.cpuSeconds > 0.75 && one.cpuSeconds < 1.25, `1 s cell: ${one.cpuSeconds} s CPU`);
    assert.ok(three.cpuSeconds > 2.25 && three.cpuSeconds < 3.75, `3 s cell: ${three.cpuSeconds} s CPU`);
    const ratio = three.energyKWh / one.energyKWh;
    // the figures, in the reporter's line for this test (the extension host's console is not the terminal)
    const figures = `1 s cell: ${one.cpuSeconds} s CPU, ${one.energyKWh.toExponential(3)} kWh; 3 s cell: ${three.cpuSeconds} s CPU, ${three.energyKWh.toExponential(3)} kWh; ratio ${ratio.toFixed(3)}`;
    assert.ok(
      ratio > 3 * 0.75 && ratio < 3 * 1.25,
      `energy ratio ${ratio} (${three.energyKWh} / ${one.energyKWh} kWh)`,
    );
    assert.ok(three.emissionsKg / one.emissionsKg > 2.25 && three.emissionsKg / one.emissionsKg < 3.75);
    assert.equal(one.firstLine, 'import time');
    assert.ok(['measured', 'modelled', 'default'].includes(one.method));
    assert.equal(one.success, true);
    assert.ok(a.notebooks.figureOf(nb.cellAt(2)), 'the cell status bar has a figure for the cell');

    // the run's CPU time is the kernel's own, from /proc
    const pid = run.pid!;
    const before = processCpuSeconds(pid);
    const live = await nextReading(a, run.id);
    const after = processCpuSeconds(pid);
    assert.ok(
      live.cpuSeconds >= before * 0.95 && live.cpuSeconds <= after * 1.05,
      `run ${live.cpuSeconds} s vs kernel ${before}–${after} s`,
    );
    if (this.test) this.test.title += ` [${figures}; kernel CPU: run ${live.cpuSeconds} s, /proc ${before}–${after} s]`;
    firstRun = run;
  });

  it('starts a new run when the kernel is restarted', async () => {
    const a = await api();
    const finished = nextFinished(a, firstRun.id);
    await controller.shutdown(nb);
    const old = await finished;
    assert.equal(old.cells?.length, 3, "the first kernel's run keeps its three cells");
    await runCell(nb, 1);
    const run = await waitFor(
      () => {
        const r = a.notebooks.runOf(nb);
        return r && r.id !== firstRun.id ? r : undefined;
      },
      120_000,
      'a new run for the new kernel',
    );
    assert.notEqual(run.pid, firstRun.pid);
    assert.ok(
      run.notes?.some((n) => n.includes(firstRun.id)),
      'the new run names the previous one',
    );
    await waitFor(() => cellOf(run, 1), 120_000, 'cell 1 on the new kernel');
  });

  it('records the run once when the notebook is closed', async () => {
    const a = await api();
    const run = a.notebooks.runOf(nb);
    assert.ok(run);
    const finished = nextFinished(a, run.id);
    const t0 = Date.now();
    const closed = new Promise<number>((resolve) => {
      const sub = vscode.workspace.onDidCloseNotebookDocument((d) => {
        if (d.uri.toString() !== nb.uri.toString()) return;
        sub.dispose();
        resolve(Date.now() - t0);
      });
    });
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    const done = await finished;
    await closed;
    assert.ok(done.notes?.includes('the notebook was closed'), (done.notes ?? []).join(' | '));
    await controller.shutdown(nb);
    const stored = a.service.store.load().runs.filter((r) => r.id === run.id || r.id === firstRun.id);
    assert.deepEqual(stored.map((r) => r.id).sort(), [firstRun.id, run.id].sort(), 'each run is recorded once');
    const rec = stored.find((r) => r.id === run.id)!;
    assert.equal(rec.source, 'notebook');
    assert.ok(
      rec.cells?.some((c) => c.index === 1),
      'the record keeps its cells',
    );
  });
});

describe('Notebooks: two kernels in one folder', function () {
  this.timeout(300_000);
  let controller: TestKernelController;
  let runtimeDir: string;

  before(() => {
    runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-jupyter-runtime-'));
    controller = new TestKernelController(vscode, runtimeDir, 'carbon-meter-test-ipykernel-pair');
  });

  after(() => {
    controller?.dispose();
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  });

  async function open(file: string): Promise<vscode.NotebookDocument> {
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(file), 'jupyter-notebook');
    const nb = await waitFor(
      () =>
        vscode.window.activeNotebookEditor?.notebook.uri.fsPath === file
          ? vscode.window.activeNotebookEditor.notebook
          : undefined,
      60_000,
      `${file} open`,
    );
    controller.controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
    await vscode.commands.executeCommand('notebook.selectKernel', { id: controller.controller.id, extension: EXT_ID });
    return nb;
  }

  it('links the notebook to the kernel that is busy while its cell runs, not to the idle one beside it', async () => {
    const a = await api();
    const dir = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'pair');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'a.ipynb'), notebookJson([busyCell(1)]));
    fs.writeFileSync(path.join(dir, 'b.ipynb'), notebookJson(['y = 2']));
    const nbB = await open(path.join(dir, 'b.ipynb'));
    const idle = await controller.kernelOf(nbB); // b's kernel runs in the folder, no cell of b has run
    const nbA = await open(path.join(dir, 'a.ipynb'));
    await runCell(nbA, 0);
    const run = await waitFor(() => a.notebooks.runOf(nbA), 120_000, "a's run");
    const mine = controller.kernels.get(nbA.uri.toString());
    assert.ok(mine);
    assert.equal(run.pid, mine.kernel.process.pid, 'the busy kernel');
    assert.notEqual(run.pid, idle.kernel.process.pid);
    assert.ok(
      run.notes?.some((n) => /2 kernels .*the only one busy while a cell executed/.test(n)),
      `linked by which one was busy: ${(run.notes ?? []).join(' | ')}`,
    );
    assert.equal(a.notebooks.runOf(nbB), undefined, 'b has run no cell: no run');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await waitFor(
      () => (a.service.active().some((m) => m.run.id === run.id) ? undefined : true),
      60_000,
      'the run closed with its notebook',
    );
  });
});
