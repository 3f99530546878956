/**
 * SLURM jobs from the integrated terminal: `sbatch`, `srun` and `salloc` are recognised through shell integration,
 * the job id is read from their output (TerminalShellExecution.read()), the job is shown in the status bar while it
 * is pending or running, and becomes a run with source `slurm` when it ends (core/slurm/tracker.ts does the
 * following, the accounting and the recording; tracked jobs survive a closed window). Thin: no SLURM logic here.
 */
import * as vscode from 'vscode';
import { formatCo2, formatDuration, formatEnergy } from '../core/format';
import { getHardware } from '../core/hardware';
import { localHostOf, SlurmAccountant } from '../core/slurm/accountant';
import { SlurmCommands } from '../core/slurm/commands';
import type { ClustersConfig } from '../core/slurm/config';
import { clusterOption, JobIdReader, slurmSubmitter, submittedJobFromRecords } from '../core/slurm/detect';
import { SlurmJobStore } from '../core/slurm/jobStore';
import { SlurmTracker, type JobView } from '../core/slurm/tracker';
import type { MeterService } from './meterService';
import { errorMessage } from '../core/errors';

export class SlurmService implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly item: vscode.StatusBarItem;
  readonly tracker: SlurmTracker;
  private readonly commands: SlurmCommands;

  constructor(private readonly service: MeterService) {
    const s = service.settings;
    this.item = vscode.window.createStatusBarItem(
      'carbonMeter.slurm',
      s.statusBarAlignment === 'left' ? vscode.StatusBarAlignment.Left : vscode.StatusBarAlignment.Right,
      s.statusBarPriority - 1,
    );
    this.item.name = vscode.l10n.t('Carbon Meter: SLURM jobs');
    this.item.command = 'carbonMeter.showHistory';
    this.commands = new SlurmCommands({
      binDir: process.env.CARBON_METER_SLURM_BIN || undefined,
      onCall: (c, a) => service.log.debug(`slurm: ${c} ${a.join(' ')}`),
    });
    this.tracker = this.build();
    this.disposables.push(
      this.item,
      vscode.window.onDidStartTerminalShellExecution((e) => this.onExecution(e.execution)),
    );
  }

  /**
   * The tracker, at once: it reads only the folder of jobs tracked earlier (and follows them, if any). The machine's
   * hardware, which the model uses for jobs that ran on it, is read when the first job is accounted, not here.
   */
  private build(): SlurmTracker {
    const log = this.service.log;
    const commands = this.commands;
    const localHost = async () => {
      try {
        return localHostOf(await getHardware());
      } catch (err) {
        log.warn(`slurm: this machine's CPU is unknown (${errorMessage(err)})`);
        return undefined;
      }
    };
    const accountant = new SlurmAccountant(commands, {
      clusters: () => this.clusters(),
      fallbackRegion: () => {
        const s = this.service.settings;
        return {
          region: s.region || undefined,
          from: 'setting carbonMeter.region',
          pue: s.pue,
          pueFrom: 'setting carbonMeter.pue',
        };
      },
      localHost,
      log: (level, msg) => log[level](`slurm: ${msg}`),
    });
    const tracker = new SlurmTracker({
      commands,
      accountant,
      jobs: new SlurmJobStore(this.service.store.dir),
      history: this.service.store,
      log: (level, msg) => log[level](msg),
    });
    this.disposables.push(
      tracker,
      tracker.onChange((jobs) => this.render(jobs)),
      tracker.onProblem((msg) => void vscode.window.showWarningMessage(vscode.l10n.t('Carbon Meter: {0}', msg))),
      tracker.onRecorded((run) => {
        const s = this.service.settings;
        if (!s.notifyOnFinish) return;
        const details = vscode.l10n.t('Show details');
        void vscode.window
          .showInformationMessage(
            vscode.l10n.t(
              'Carbon Meter: {0} {1}: {2} CO₂eq ({3}, {4}).',
              run.name,
              run.status,
              formatCo2(run.emissionsKg),
              formatEnergy(run.energyKWh.total),
              run.intensity.region,
            ),
            details,
          )
          .then((c) => c === details && vscode.commands.executeCommand('carbonMeter.showRun', run.id));
      }),
    );
    tracker.start();
    return tracker;
  }

  /** The `carbonMeter.clusters` setting, checked (configuration.ts reports its problems once). */
  private clusters(): ClustersConfig {
    return this.service.config.clusters;
  }

  private onExecution(execution: vscode.TerminalShellExecution): void {
    const commandLine = execution.commandLine.value.trim();
    const submitter = slurmSubmitter(commandLine);
    if (!submitter) return;
    // read() only gives what is written after its first call: call it now, before any await
    const stream = execution.read();
    const cwd = execution.cwd?.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    const submittedAt = Date.now();
    void (async () => {
      const reader = new JobIdReader(submitter);
      let found = undefined as ReturnType<JobIdReader['push']>;
      try {
        for await (const data of stream) {
          found ??= reader.push(data);
          if (found) break; // the rest of the output (an interactive salloc shell, srun's program) is not ours
        }
      } catch (err) {
        this.service.log.warn(`slurm: could not read the output of "${commandLine}": ${errorMessage(err)}`);
      }
      found ??= reader.end();
      if (!found && submitter === 'sbatch') found = await this.lookUpSubmitted(submittedAt, cwd);
      if (!found) {
        this.service.log.info(
          `slurm: "${commandLine}" printed no job id; 'carbon-meter slurm --since 1h' brings its job in`,
        );
        return;
      }
      const cluster = found.cluster ?? clusterOption(commandLine);
      this.service.log.info(
        `slurm: ${submitter} submitted job ${found.jobId}${cluster ? ` on ${cluster}` : ''}: following it`,
      );
      this.tracker.add({
        jobId: found.jobId,
        ...(cluster ? { cluster } : {}),
        command: commandLine,
        cwd,
        submittedAt,
        via: 'terminal',
      });
    })();
  }

  /**
   * VS Code's read() gives only what is written after its first call; a loaded extension host can make that call
   * after sbatch has already printed its id. Then SLURM's own records say which job it was: the user's job submitted
   * from this folder since the command began (detect.ts). sacct lists a job a moment after its submission, so it is
   * asked at most three times (after 2, 5 and 15 s); two candidates are reported, not guessed between.
   */
  private async lookUpSubmitted(submittedAt: number, cwd: string): Promise<{ jobId: string } | undefined> {
    const commands = this.commands;
    if (!cwd) return undefined;
    // SLURM keeps submit times to the second
    const sinceMs = Math.floor(submittedAt / 1000) * 1000 - 1000;
    for (const waitMs of [2000, 5000, 15000]) {
      await new Promise((r) => setTimeout(r, waitMs));
      try {
        const found = submittedJobFromRecords(await commands.sacctSince(sinceMs), { sinceMs, cwd });
        if (found && 'ambiguous' in found) {
          this.service.log.info(
            `slurm: the job of an sbatch in ${cwd} is one of ${found.ambiguous.join(', ')}; not guessing ('carbon-meter slurm JOBID' records one)`,
          );
          return undefined;
        }
        if (found) {
          this.service.log.info(
            `slurm: sbatch's output was not seen; job ${found.jobId} found in SLURM's records (submitted from ${cwd})`,
          );
          return found;
        }
      } catch (err) {
        this.service.log.warn(`slurm: could not look the job up in sacct: ${errorMessage(err)}`);
        return undefined;
      }
    }
    return undefined;
  }

  private render(jobs: JobView[]): void {
    if (!jobs.length) {
      this.item.hide();
      return;
    }
    const one = jobs.length === 1 ? jobs[0] : undefined;
    this.item.text = one
      ? `$(server-process) SLURM ${one.jobId} ${one.state}`
      : `$(server-process) ${vscode.l10n.t('SLURM: {0} jobs', jobs.length)}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${vscode.l10n.t('Carbon Meter: SLURM jobs')}**\n\n`);
    for (const j of jobs) {
      const elapsed = j.elapsedS !== undefined ? ` · ${formatDuration(j.elapsedS)}` : '';
      md.appendMarkdown(
        `- \`${j.jobId}\` ${j.state}${elapsed}${j.command ? ` · ${j.command.replace(/[`\\]/g, '').slice(0, 80)}` : ''}\n`,
      );
    }
    md.appendMarkdown(`\n${vscode.l10n.t('Recorded in the history when they end (checked at most every 30 s).')}`);
    this.item.tooltip = md;
    this.item.show();
  }

  /** What the SLURM status bar item shows (tests). */
  get text(): string {
    return this.item.text;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
