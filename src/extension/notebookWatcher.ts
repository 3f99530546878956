/**
 * Notebooks: each notebook's kernel is metered as a run (source `notebook`, named after the notebook), found in
 * /proc when its first cell executes (core/notebook/link.ts: parent, folder, session, which kernel is busy), and
 * each finished cell gets its share of the run (core/notebook/cells.ts), shown in the cell's status bar and kept in
 * the run's record.
 *
 * Cell timing comes from `onDidChangeNotebookDocument`: an execution summary with an execution order and no timing
 * is a cell that started; one with timing is a cell that ended (VS Code reports the times only then). At both, a
 * reading is taken at once, so the run's intervals split at the cell's boundaries.
 * A kernel that exits (restart, shutdown) ends its run; the next cell starts a new run for the new kernel. A closed
 * notebook ends its run. Nothing of a process is counted twice: a kernel metered before is metered again from now.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CellLedger,
  firstLineOf,
  MAX_CELLS,
  type CellWindow,
  type LedgerPoint,
  type SettledCell,
} from '../core/notebook/cells';
import { listKernelProcesses, readCpuTicks, type KernelProcess } from '../core/notebook/kernels';
import { kernelDirs, matchKernel, pickBusyKernel, type NotebookPlace } from '../core/notebook/link';
import { formatCo2, formatDuration, formatEnergy } from '../core/format';
import type { Meter } from '../core/meter/meter';
import type { NotebookCellFootprint, Run } from '../core/types';
import { errorMessage } from '../core/errors';
import type { CommandId } from './commandIds';
import type { MeterService } from './meterService';

/** Notebooks whose kernels are Jupyter kernels: .ipynb files and the Jupyter extension's interactive window. */
const JUPYTER_TYPES = new Set(['jupyter-notebook', 'interactive']);

interface NotebookState {
  readonly notebook: vscode.NotebookDocument;
  meter?: Meter;
  ledger?: CellLedger;
  linking?: Promise<void>;
  /** CPU ticks of the candidate kernels when a cell started, while the link is ambiguous */
  busyBefore?: Map<number, number>;
  previousRunId?: string;
  /** cells already seen ended: `<cell uri>@<start>` */
  readonly ended: Set<string>;
  readonly told: Set<string>;
}

/** A cell's latest footprint and the run it belongs to. */
interface CellFigure {
  /** the notebook's uri */
  notebook: string;
  footprint: NotebookCellFootprint;
  runId: string;
  run: Run;
}

export class NotebookWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly notebooks = new Map<string, NotebookState>();
  private readonly byRun = new Map<string, NotebookState>();
  private readonly figures = new Map<string, CellFigure>();
  /** kernels metered before in this window (pid → start ms): metered again from now, never from their start */
  private readonly meteredBefore = new Map<number, number>();
  private readonly changed = new vscode.EventEmitter<void>();
  private toldRemote = false;

  constructor(private readonly service: MeterService) {
    this.disposables.push(
      this.changed,
      vscode.workspace.onDidChangeNotebookDocument((e) => this.onChange(e)),
      vscode.workspace.onDidCloseNotebookDocument((nb) => void this.onClose(nb)),
      service.onReading((r) => this.onReading(r.runId, r.t, r.run)),
      service.onRunFinished((run) => this.onFinished(run)),
      vscode.notebooks.registerNotebookCellStatusBarItemProvider('*', {
        onDidChangeCellStatusBarItems: this.changed.event,
        provideCellStatusBarItems: (cell) => this.statusItem(cell),
      }),
    );
  }

  /** The run metering a notebook now (for tests and commands). */
  runOf(notebook: vscode.NotebookDocument): Run | undefined {
    return this.notebooks.get(notebook.uri.toString())?.meter?.run;
  }

  /** A cell's latest footprint. */
  figureOf(cell: vscode.NotebookCell): NotebookCellFootprint | undefined {
    return this.figures.get(cell.document.uri.toString())?.footprint;
  }

  private state(nb: vscode.NotebookDocument): NotebookState {
    const key = nb.uri.toString();
    let s = this.notebooks.get(key);
    if (!s) this.notebooks.set(key, (s = { notebook: nb, ended: new Set(), told: new Set() }));
    return s;
  }

  private onChange(e: vscode.NotebookDocumentChangeEvent): void {
    if (!JUPYTER_TYPES.has(e.notebook.notebookType)) return;
    for (const change of e.cellChanges) {
      const summary = change.executionSummary;
      if (!summary) continue;
      if (summary.timing) void this.cellEnded(e.notebook, change.cell, summary);
      else if (summary.executionOrder !== undefined) void this.cellStarted(e.notebook);
    }
  }

  private async cellStarted(nb: vscode.NotebookDocument): Promise<void> {
    const s = this.state(nb);
    const now = Date.now();
    if (!s.meter) await this.link(s, 'start');
    if (s.ledger) {
      s.ledger.cellStarted(now);
      if (s.meter) await this.service.sampleNow(s.meter.run.id);
    }
  }

  private async cellEnded(
    nb: vscode.NotebookDocument,
    cell: vscode.NotebookCell,
    summary: vscode.NotebookCellExecutionSummary,
  ): Promise<void> {
    const s = this.state(nb);
    const timing = summary.timing!;
    const key = `${cell.document.uri.toString()}@${timing.startTime}`;
    if (s.ended.has(key)) return;
    s.ended.add(key);
    if (s.ended.size > 2 * MAX_CELLS) s.ended.delete(s.ended.values().next().value!);
    const window: CellWindow = {
      ref: cell.document.uri.toString(),
      index: cell.index,
      firstLine: firstLineOf(cell.document.getText()),
      startMs: timing.startTime,
      endMs: timing.endTime,
      success: summary.success,
    };
    if (!s.meter) await this.link(s, 'end');
    if (!s.ledger) return;
    s.ledger.cellEnded(window);
    if (s.meter) await this.service.sampleNow(s.meter.run.id);
  }

  private place(nb: vscode.NotebookDocument): NotebookPlace {
    const folder =
      vscode.workspace.getWorkspaceFolder(nb.uri)?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    // an untitled notebook or an interactive window has no folder of its own: its kernel runs in the workspace's
    const notebookPath =
      nb.uri.scheme === 'file' ? nb.uri.fsPath : path.join(folder ?? os.homedir(), path.basename(nb.uri.path));
    const setting = vscode.workspace.getConfiguration('jupyter', nb.uri).get<unknown>('notebookFileRoot');
    return { notebookPath, kernelDirs: kernelDirs(setting, notebookPath, folder, os.homedir()) };
  }

  /** Finds the notebook's kernel and starts its run; `phase` says whether a cell is starting or has ended. */
  private link(s: NotebookState, phase: 'start' | 'end'): Promise<void> {
    s.linking ??= this.tryLink(s, phase)
      .catch((err) =>
        this.service.log.error(`notebook: linking ${s.notebook.uri.fsPath} to its kernel failed: ${errorMessage(err)}`),
      )
      .finally(() => (s.linking = undefined));
    return s.linking;
  }

  private async tryLink(s: NotebookState, phase: 'start' | 'end'): Promise<void> {
    const log = this.service.log;
    const name = path.basename(s.notebook.uri.path);
    if (process.platform !== 'linux') {
      this.tellOnce(
        s,
        'platform',
        'info',
        vscode.l10n.t(
          'Carbon Meter: notebook kernels are found through /proc, on Linux only; meter this kernel with "Meter Process…".',
        ),
      );
      return;
    }
    const taken = new Set(
      [...this.byRun.values()].map((o) => o.meter?.run.pid).filter((p): p is number => p !== undefined),
    );
    const kernels = listKernelProcesses();
    const m = matchKernel(kernels, this.place(s.notebook), process.pid, taken);
    if (m.kind === 'found') return this.startRun(s, m.kernel, m.how);
    if (m.kind === 'none') {
      log.info(`notebook: ${name}: no kernel to meter: ${m.reason}`);
      if (m.remote && !this.toldRemote) {
        this.toldRemote = true;
        void vscode.window.showInformationMessage(
          vscode.l10n.t(
            'Carbon Meter: no local Jupyter kernel process runs {0}, so its cells are not metered. If the kernel runs on another machine (a remote Jupyter server), start the server there under the CLI: carbon-meter run -- jupyter server',
            name,
          ),
        );
      }
      return;
    }
    // several kernels fit: the one that is busy while the cell executes
    const pids = m.kernels.map((k) => k.pid);
    if (phase === 'end' && s.busyBefore) {
      const busy = pickBusyKernel(s.busyBefore, readCpuTicks(pids));
      s.busyBefore = undefined;
      const kernel = m.kernels.find((k) => k.pid === busy);
      if (kernel) return this.startRun(s, kernel, `${m.reason}; the only one busy while a cell executed`);
    }
    if (phase === 'start') {
      s.busyBefore = readCpuTicks(pids);
      return;
    }
    log.warn(
      `notebook: ${name}: which kernel runs it is ambiguous: ${m.reason}; not metered until only one of them is busy during a cell`,
    );
    this.tellOnce(
      s,
      'ambiguous',
      'warn',
      vscode.l10n.t(
        'Carbon Meter: cannot tell which kernel runs {0} ({1}). It is metered once a cell runs while the others are idle; or pick its kernel with "Meter Process…".',
        name,
        m.reason,
      ),
    );
  }

  private async startRun(s: NotebookState, kernel: KernelProcess, how: string): Promise<void> {
    const name = path.basename(s.notebook.uri.path);
    const again = this.meteredBefore.get(kernel.pid) === kernel.startedAtMs;
    // a kernel this window started dies with it: all it used is this notebook's; a server's kernel or one metered
    // before counts from now (an earlier window or run may have recorded its past)
    const fromStart = !again && kernel.ppid === process.pid;
    const meter = await this.service.start({
      pid: kernel.pid,
      command: kernel.command,
      name,
      cwd: kernel.cwd ?? path.dirname(s.notebook.uri.fsPath),
      source: 'notebook',
      startedAt: fromStart ? kernel.startedAtMs : Date.now(),
      countFromProcessStart: fromStart,
    });
    if (!meter) {
      this.service.log.info(`notebook: ${name}: kernel pid ${kernel.pid} is already metered by another run`);
      return;
    }
    const run = meter.run;
    run.cells = [];
    (run.notes ??= []).push(
      `notebook ${s.notebook.uri.fsPath}; kernel pid ${kernel.pid} (${how}); ${fromStart ? "metered from the kernel's start" : 'metered from when it was found'}; per-cell figures are the run's samples inside each cell's execution window`,
    );
    if (s.previousRunId)
      run.notes!.push(`the notebook's kernel was restarted or replaced: its previous kernel is run ${s.previousRunId}`);
    s.meter = meter;
    s.ledger = new CellLedger(Date.now(), () => ({
      cpu: run.power.cpu.method,
      gpu: run.power.gpu.method,
      ram: run.power.ram.method,
    }));
    this.byRun.set(run.id, s);
    this.meteredBefore.set(kernel.pid, kernel.startedAtMs);
    this.service.log.info(`notebook: ${name}: kernel pid ${kernel.pid} (${how}) metered as ${run.id}`);
    // a reading now: what the kernel did before it was found stays out of the cells' intervals
    await this.service.sampleNow(run.id);
  }

  private onReading(runId: string, t: number, run: Run): void {
    const s = this.byRun.get(runId);
    if (!s?.ledger) return;
    const e = run.energyKWh;
    const point: LedgerPoint = {
      t,
      cpuKWh: e.cpu,
      gpuKWh: e.gpu,
      ramKWh: e.ram,
      totalKWh: e.total,
      emissionsKg: run.emissionsKg,
      cpuSeconds: run.cpuSeconds,
    };
    s.ledger.addPoint(point);
    const settled = s.ledger.settle();
    if (settled.length) this.record(s, run, settled);
  }

  private record(s: NotebookState, run: Run, settled: SettledCell[]): void {
    const cells = (run.cells ??= []);
    for (const { window, footprint } of settled) {
      cells.push(footprint);
      if (window.ref)
        this.figures.set(window.ref, { notebook: s.notebook.uri.toString(), footprint, runId: run.id, run });
    }
    if (cells.length > MAX_CELLS) cells.splice(0, cells.length - MAX_CELLS);
    this.changed.fire();
  }

  private onFinished(run: Run): void {
    const s = this.byRun.get(run.id);
    if (!s) return;
    this.byRun.delete(run.id);
    s.meter = undefined;
    s.ledger = undefined;
    s.previousRunId = run.id;
    this.service.log.info(
      `notebook: ${path.basename(s.notebook.uri.path)}: run ${run.id} ended (${run.cells?.length ?? 0} cells); the next cell looks for its kernel again`,
    );
  }

  private async onClose(nb: vscode.NotebookDocument): Promise<void> {
    const key = nb.uri.toString();
    const s = this.notebooks.get(key);
    this.notebooks.delete(key);
    for (const [ref, f] of this.figures) if (f.notebook === key) this.figures.delete(ref);
    if (!s?.meter) return;
    const id = s.meter.run.id;
    // the cells that ended get their last reading before the run is closed
    await this.service.sampleNow(id);
    await this.service.stop(id, 'the notebook was closed');
  }

  private statusItem(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem | undefined {
    const f = this.figures.get(cell.document.uri.toString());
    const timing = cell.executionSummary?.timing;
    if (!f || !timing || Date.parse(f.footprint.startedAt) !== timing.startTime) return undefined;
    const fp = f.footprint;
    const item = new vscode.NotebookCellStatusBarItem(
      `$(pulse) ${formatCo2(fp.emissionsKg)} CO₂eq · ${formatEnergy(fp.energyKWh)}`,
      vscode.NotebookCellStatusBarAlignment.Right,
    );
    const method =
      fp.method === 'measured'
        ? vscode.l10n.t('measured')
        : fp.method === 'modelled'
          ? vscode.l10n.t('modelled')
          : vscode.l10n.t('default');
    item.tooltip = vscode.l10n.t(
      "Carbon Meter: this cell used {0} ({1} CO₂eq) in {2}, with {3} of the kernel's CPU time. Method: {4} (CPU: {5}). From the samples of run {6} inside the cell's execution window.",
      formatEnergy(fp.energyKWh),
      formatCo2(fp.emissionsKg),
      formatDuration(fp.durationS),
      formatDuration(fp.cpuSeconds),
      method,
      f.run.power.cpu.detail,
      f.run.name,
    );
    item.command = {
      title: vscode.l10n.t('Show the run'),
      command: 'carbonMeter.showHistory' satisfies CommandId,
      arguments: [f.runId],
    };
    item.accessibilityInformation = {
      label: vscode.l10n.t(
        'Cell footprint: {0} CO₂eq, {1}, {2}',
        formatCo2(fp.emissionsKg),
        formatEnergy(fp.energyKWh),
        method,
      ),
    };
    return item;
  }

  private tellOnce(s: NotebookState, what: string, level: 'info' | 'warn', message: string): void {
    if (s.told.has(what)) return;
    s.told.add(what);
    if (level === 'warn') void vscode.window.showWarningMessage(message);
    else void vscode.window.showInformationMessage(message);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
