/**
 * The one owner of `carbonMeter.*` in the extension. It reads every section at once through the pure readers
 * (src/core/config/settings.ts, core/codelens/settings.ts, core/intensity/live/config.ts, core/slurm/config.ts),
 * tells the user once about each wrong value (one line, "Open Settings"; the safe default is used meanwhile), and
 * holds the only `onDidChangeConfiguration` listener: it reads everything again first, then announces which sections
 * changed, so that every consumer sees fresh values whatever the order in which it subscribed.
 */
import * as vscode from 'vscode';
import { readCodeLensSettings, type CodeLensSettings } from '../core/codelens/settings';
import { readSettings, type Settings } from '../core/config/settings';
import { SETTINGS_PREFIX, type SettingGetter } from '../core/config/validate';
import { readIntensitySettings, type IntensitySettings } from '../core/intensity/live/config';
import { parseClustersConfig, type ClustersConfig } from '../core/slurm/config';
import { Emitter } from '../core/util/events';

/** The sections of `carbonMeter.*` (the first part of a setting's key after the prefix). */
export type ConfigSection =
  | 'region'
  | 'pue'
  | 'sampling'
  | 'cpu'
  | 'gpu'
  | 'terminal'
  | 'debug'
  | 'tasks'
  | 'notifications'
  | 'statusBar'
  | 'history'
  | 'budget'
  | 'advice'
  | 'codeLens'
  | 'intensity'
  | 'clusters';

/** Announced after the values were read again. */
export interface ConfigChange {
  affects(...sections: ConfigSection[]): boolean;
}

const CLUSTERS_SETTING = `${SETTINGS_PREFIX}clusters`;

export class Configuration implements vscode.Disposable {
  settings!: Settings;
  codeLens!: CodeLensSettings;
  intensity!: IntensitySettings;
  clusters!: ClustersConfig;
  private readonly _onDidChange = new Emitter<ConfigChange>();
  /** after a change of `carbonMeter.*`: the values are already fresh */
  readonly onDidChange = this._onDidChange.event;
  private readonly shownProblems = new Set<string>();
  private readonly listener: vscode.Disposable;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.read();
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('carbonMeter')) return;
      this.read();
      this.log.info('settings changed');
      this._onDidChange.fire({
        affects: (...sections) => sections.some((s) => e.affectsConfiguration(`${SETTINGS_PREFIX}${s}`)),
      });
    });
  }

  /** Reads and checks every section (once per change); each wrong value is reported once. */
  private read(): void {
    const cfg = vscode.workspace.getConfiguration('carbonMeter');
    const get: SettingGetter = (k) => cfg.get(k);
    const core = readSettings(get);
    const codeLens = readCodeLensSettings(get);
    const intensity = readIntensitySettings(get);
    const clusters = parseClustersConfig(get('clusters'), CLUSTERS_SETTING);
    this.settings = core.settings;
    this.codeLens = codeLens.settings;
    this.intensity = intensity.settings;
    this.clusters = clusters.clusters;
    for (const p of [...core.problems, ...codeLens.problems, ...intensity.problems]) this.problem(p.message, p.key);
    for (const p of clusters.problems) this.problem(p, CLUSTERS_SETTING);
  }

  /** Tells the user once about a wrong setting, with a button to fix it. */
  problem(message: string, settingKey?: string): void {
    this.log.warn(message);
    if (this.shownProblems.has(message)) return;
    this.shownProblems.add(message);
    const open = vscode.l10n.t('Open Settings');
    void vscode.window.showWarningMessage(`Carbon Meter: ${message}`, open).then((choice) => {
      if (choice === open)
        void vscode.commands.executeCommand('workbench.action.openSettings', settingKey ?? 'carbonMeter');
    });
  }

  dispose(): void {
    this.listener.dispose();
    this._onDidChange.dispose();
  }
}
