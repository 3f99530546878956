/**
 * Carbon Meter's entry point: builds the services and registers their disposables. Nothing is sampled until a
 * run is metered.
 */
import * as vscode from 'vscode';
import { errorDetail } from '../core/errors';
import { FIND_COMMAND_BOUND_MS } from '../core/sampling/commandProcess';
import { formatCo2, formatEnergy } from '../core/format';
import { setListenerErrorReporter } from '../core/util/events';
import { TrainingCodeLensProvider } from './codeLens';
import { executeCommand, registerCommands } from './commands';
import { DebugWatcher } from './debugWatcher';
import { FileRuns } from './fileRuns';
import { registerIntensity } from './intensity';
import { MeterService } from './meterService';
import { NotebookWatcher } from './notebookWatcher';
import { HistoryPanel, registerHistoryPanelSerializer } from './panel/historyPanel';
import { SlurmService } from './slurm';
import { outcomeLabel, StatusBar } from './statusBar';
import { TaskWatcher } from './taskWatcher';
import { ForecastWatcher } from './forecastWatcher';
import { registerScheduledRuns, ScheduledRuns } from './scheduledRuns';
import { TerminalWatcher } from './terminalWatcher';
import { registerReportDocuments } from './reportDocument';
import { registerMeteringContext } from './contextKeys';

export interface CarbonMeterApi {
  /** for tests and other extensions */
  readonly service: MeterService;
  /** runs scheduled for a greener hour in this window */
  readonly scheduled: ScheduledRuns;
  /** notebook runs and per-cell figures */
  readonly notebooks: NotebookWatcher;
  /** what the status bar shows now */
  readonly statusBar: { readonly text: string; readonly tooltip: string };
}

export function activate(context: vscode.ExtensionContext): CarbonMeterApi {
  // CPU of the whole extension host while activate() runs (bench/idle.ts reads the line below; goal <= 50 ms)
  const cpuAtStart = process.cpuUsage();
  const log = vscode.window.createOutputChannel('Carbon Meter', { log: true });
  setListenerErrorReporter((err) => log.error(`a listener failed: ${errorDetail(err)}`));
  const service = new MeterService(log);
  const statusBar = new StatusBar(service);
  const forecasts = new ForecastWatcher(service);
  const scheduled = new ScheduledRuns(service);
  const notebooks = new NotebookWatcher(service);
  const showHistory = async (runId?: string) => void HistoryPanel.createOrShow(context.extensionUri, service, runId);
  const codeLens = new TrainingCodeLensProvider(service, scheduled);
  const fileRuns = new FileRuns(service, (file) => codeLens.runsFor(file));
  const tasks = new TaskWatcher(service);
  context.subscriptions.push(
    log,
    service,
    statusBar,
    forecasts,
    new TerminalWatcher(
      service,
      (id, stream) => void forecasts.readTerminal(id, stream),
      (pid) => tasks.isTaskProcess(pid),
      (pid) => tasks.isTaskProcessSettled(pid, FIND_COMMAND_BOUND_MS),
    ),
    new DebugWatcher(service),
    tasks,
    notebooks,
    new SlurmService(service),
    ...registerCommands(service, showHistory, fileRuns),
    ...registerIntensity(context, service),
    registerHistoryPanelSerializer(context.extensionUri, service),
    ...registerReportDocuments(service),
    registerMeteringContext(service),
    ...registerScheduledRuns(scheduled),
    codeLens,
    fileRuns,
    service.onRunFinished((run) => {
      const s = service.settings;
      if (!s.notifyOnFinish || run.durationS < s.notifyMinDurationS) return;
      const details = vscode.l10n.t('Show details');
      void vscode.window
        .showInformationMessage(
          vscode.l10n.t(
            'Carbon Meter: {0} {1}: {2} CO₂eq ({3}, {4}).',
            run.name,
            outcomeLabel(run),
            formatCo2(run.emissionsKg),
            formatEnergy(run.energyKWh.total),
            run.intensity.region,
          ),
          details,
        )
        .then((c) => c === details && executeCommand('carbonMeter.showRun', run.id));
    }),
  );
  const cpu = process.cpuUsage(cpuAtStart);
  const activationCpuMs = ((cpu.user + cpu.system) / 1000).toFixed(1);
  log.info(
    `Carbon Meter ${context.extension.packageJSON.version} active (${vscode.env.appName}, remote: ${vscode.env.remoteName ?? 'none'}); activation: ${activationCpuMs} ms CPU`,
  );
  return {
    service,
    scheduled,
    notebooks,
    statusBar: {
      get text() {
        return statusBar.text;
      },
      get tooltip() {
        return statusBar.tooltipText;
      },
    },
  };
}

export function deactivate(): void {
  // disposables do the work: running runs are checkpointed, and recovered as interrupted by the next window
}
