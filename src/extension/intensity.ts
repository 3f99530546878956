/**
 * Live carbon intensity in the extension: the provider built from `carbonMeter.intensity.*` settings and the
 * credentials in SecretStorage (never in settings, the history, logs or exports), the "Set API Key" command, the
 * failure shown once, and an optional notification when a run starts during a high-intensity period.
 *
 * The meter gets one `SwitchingIntensityProvider` for its whole life; a change of settings or keys swaps the
 * provider inside it.
 */
import * as vscode from 'vscode';
import { bestStartTime, formatStartTimeTip, intensityLevel, profileFromRun } from '../core/advice/greenerTime';
import { formatIntensity } from '../core/format';
import {
  createIntensityProvider,
  intensityCacheDir,
  intensityConfigFromSettings,
  isLiveProvider,
  PROVIDER_LABELS,
  SwitchingIntensityProvider,
  type IntensityProblem,
  type IntensitySecrets,
  type IntensitySettings,
  type LiveProviderId,
} from '../core/intensity/live';
import { resolveRegion, type RegionInfo } from '../core/intensity/regions';
import type { Run } from '../core/types';
import type { CommandId } from './commandIds';
import { executeCommand, registerCommand } from './commands';
import type { MeterService } from './meterService';
import { errorMessage } from '../core/errors';

/** SecretStorage keys. */
export const SECRET_KEYS = {
  electricityMapsToken: 'carbonMeter.electricitymaps.token',
  wattTimeUsername: 'carbonMeter.watttime.username',
  wattTimePassword: 'carbonMeter.watttime.password',
} as const;

const SET_API_KEY: CommandId = 'carbonMeter.setApiKey';

export class IntensityService implements vscode.Disposable {
  readonly provider = new SwitchingIntensityProvider();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly shown = new Set<string>();
  private credentialsSetAtMs?: number;
  private generation = 0;
  private lastHighNoticeMs = 0;
  /** resolves once the provider of the current settings and keys is in place */
  ready: Promise<void>;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly service: MeterService,
  ) {
    this.ready = this.rebuild('activation');
    this.disposables.push(
      service.config.onDidChange((c) => {
        if (!c.affects('intensity', 'history')) return;
        this.shown.clear();
        this.ready = this.rebuild('settings changed');
      }),
      secrets.onDidChange((e) => {
        if (!Object.values(SECRET_KEYS).includes(e.key as (typeof SECRET_KEYS)[keyof typeof SECRET_KEYS])) return;
        this.credentialsSetAtMs = Date.now();
        this.shown.clear();
        this.ready = this.rebuild('API key changed');
      }),
      service.onRunStarted((run) => void this.noticeHighIntensity(run)),
    );
  }

  /** `carbonMeter.intensity.*`, checked and current (configuration.ts). */
  get settings(): IntensitySettings {
    return this.service.config.intensity;
  }

  private async readSecrets(): Promise<IntensitySecrets> {
    const s = this.settings.provider;
    const out: IntensitySecrets = {};
    if (s === 'electricitymaps')
      out.electricityMapsToken = (await this.secrets.get(SECRET_KEYS.electricityMapsToken)) || undefined;
    if (s === 'watttime') {
      out.wattTimeUsername = (await this.secrets.get(SECRET_KEYS.wattTimeUsername)) || undefined;
      out.wattTimePassword = (await this.secrets.get(SECRET_KEYS.wattTimePassword)) || undefined;
    }
    return out;
  }

  private async rebuild(why: string): Promise<void> {
    const gen = ++this.generation;
    let secrets: IntensitySecrets;
    try {
      secrets = await this.readSecrets();
    } catch (err) {
      this.service.log.error(`cannot read the API key from the secret storage: ${errorMessage(err)}`);
      secrets = {};
    }
    if (gen !== this.generation) return; // a newer rebuild is under way
    const config = intensityConfigFromSettings(this.settings, secrets);
    const next = createIntensityProvider(config, {
      cacheDir: intensityCacheDir(this.service.store.dir),
      log: (level, msg) => this.service.log[level](msg),
      onProblem: (p) => this.showProblem(p),
      credentialsSetAtMs: this.credentialsSetAtMs,
    });
    this.provider.set(next);
    const where = config.baseUrl ? ` at ${config.baseUrl}` : '';
    this.service.log.info(`carbon intensity: ${PROVIDER_LABELS[this.settings.provider]}${where} (${why})`);
  }

  /** Once per provider and kind of failure (again after the settings or keys change). */
  private showProblem(p: IntensityProblem): void {
    const key = `${p.providerId}:${p.kind}`;
    this.service.log.warn(`${PROVIDER_LABELS[p.providerId]}: ${p.message}`);
    if (this.shown.has(key)) return;
    this.shown.add(key);
    const t = vscode.l10n.t;
    const needsKey = p.kind === 'no-credentials' || p.kind === 'unauthorized';
    const action = needsKey ? t('Set API Key') : t('Open Settings');
    void vscode.window.showWarningMessage(t('Carbon Meter: {0}', p.message), action).then((choice) => {
      if (choice !== action) return;
      if (needsKey) void executeCommand(SET_API_KEY, p.providerId);
      else void vscode.commands.executeCommand('workbench.action.openSettings', 'carbonMeter.intensity');
    });
  }

  /** Carbon Meter: Set API Key — quick pick of the provider, then a password box; stored in SecretStorage only. */
  async setApiKey(preselect?: unknown): Promise<void> {
    const t = vscode.l10n.t;
    type Item = vscode.QuickPickItem & { id: LiveProviderId };
    const items: Item[] = [
      { label: 'Electricity Maps', description: t('API token (auth-token)'), id: 'electricitymaps' },
      { label: 'WattTime', description: t('username and password'), id: 'watttime' },
    ];
    let id: LiveProviderId | undefined =
      preselect === 'electricitymaps' || preselect === 'watttime' ? preselect : undefined;
    if (!id) {
      const pick = await vscode.window.showQuickPick(items, {
        title: t('Carbon Meter: set the API key of which intensity provider?'),
      });
      id = pick?.id;
    }
    if (!id) return;
    const note = t('Kept in VS Code’s secret storage only. Leave empty to remove it.');
    if (id === 'electricitymaps') {
      const token = await vscode.window.showInputBox({
        title: t('Electricity Maps API token'),
        prompt: note,
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (/\s/.test(v.trim()) ? t('A token has no spaces.') : undefined),
      });
      if (token === undefined) return;
      if (token.trim()) await this.secrets.store(SECRET_KEYS.electricityMapsToken, token.trim());
      else await this.secrets.delete(SECRET_KEYS.electricityMapsToken);
      this.service.log.info(`Electricity Maps token ${token.trim() ? 'saved to' : 'removed from'} the secret storage`);
    } else {
      const username = await vscode.window.showInputBox({
        title: t('WattTime username'),
        prompt: note,
        ignoreFocusOut: true,
      });
      if (username === undefined) return;
      if (!username.trim()) {
        await this.secrets.delete(SECRET_KEYS.wattTimeUsername);
        await this.secrets.delete(SECRET_KEYS.wattTimePassword);
        this.service.log.info('WattTime credentials removed from the secret storage');
        void vscode.window.showInformationMessage(t('Carbon Meter: WattTime credentials removed.'));
        return;
      }
      const password = await vscode.window.showInputBox({
        title: t('WattTime password'),
        prompt: note,
        password: true,
        ignoreFocusOut: true,
      });
      if (password === undefined) return;
      await this.secrets.store(SECRET_KEYS.wattTimeUsername, username.trim());
      if (password) await this.secrets.store(SECRET_KEYS.wattTimePassword, password);
      else await this.secrets.delete(SECRET_KEYS.wattTimePassword);
      this.service.log.info('WattTime credentials saved to the secret storage');
    }
    this.credentialsSetAtMs = Date.now();
    if (this.settings.provider !== id) {
      const use = t('Use {0}', PROVIDER_LABELS[id]);
      const choice = await vscode.window.showInformationMessage(
        t('Carbon Meter: key saved. The intensity provider is {0}.', PROVIDER_LABELS[this.settings.provider]),
        use,
      );
      if (choice === use)
        await vscode.workspace
          .getConfiguration('carbonMeter')
          .update('intensity.provider', id, vscode.ConfigurationTarget.Global);
    } else {
      void vscode.window.showInformationMessage(t('Carbon Meter: key saved for {0}.', PROVIDER_LABELS[id]));
    }
  }

  /** When a run starts during a high-intensity period, say so (once per half hour at most) with a greener time. */
  private async noticeHighIntensity(run: Run): Promise<void> {
    if (!this.settings.notifyHighIntensity) return;
    await this.ready;
    const inner = this.provider.current;
    if (!isLiveProvider(inner)) return;
    const now = Date.now();
    if (now - this.lastHighNoticeMs < 30 * 60_000) return;
    let region: RegionInfo;
    try {
      region = resolveRegion(run.intensity.region);
    } catch {
      return;
    }
    try {
      await inner.refresh(region, now);
      const reading = inner.at(region, now);
      if (reading.method !== 'time-resolved') return;
      const forecast = await inner.forecast(region, now);
      const points = forecast.ok ? forecast.points : [];
      const nowPoint = points.find((p) => p.fromMs <= now && now < p.toMs);
      const level = intensityLevel({
        currentGPerKWh: reading.gPerKWh,
        forecast: points,
        nowMs: now,
        index: nowPoint?.index,
        signalIndex: forecast.signalIndex,
      });
      if (level?.level !== 'high') return;
      this.lastHighNoticeMs = now;
      const t = vscode.l10n.t;
      const previous = this.previousRun(run);
      const profile = previous ? profileFromRun(previous) : [{ durationS: 3600, powerW: 100 }];
      const tip = forecast.ok
        ? bestStartTime(points, profile, { nowMs: now, horizonH: inner.forecastHorizonH })
        : undefined;
      let advice = '';
      if (tip && !tip.startsNow && tip.savingFraction >= 0.05) {
        advice = previous
          ? t('For a run like the last one: {0}.', formatStartTimeTip(tip, now))
          : t('For a one-hour run: {0}.', formatStartTimeTip(tip, now));
      } else if (tip) {
        advice = t('No cleaner start in the next {0} h.', String(inner.forecastHorizonH));
      }
      const marginal = reading.factorType === 'marginal' ? t(' (marginal)') : '';
      const stop = t('Don’t Show Again');
      const choice = await vscode.window.showInformationMessage(
        t(
          'Carbon Meter: {0} started during a high-intensity period: {1}{2} in {3} ({4}). {5}',
          run.name,
          formatIntensity(reading.gPerKWh),
          marginal,
          region.name,
          level.reason,
          advice,
        ),
        stop,
      );
      if (choice === stop)
        await vscode.workspace
          .getConfiguration('carbonMeter')
          .update('intensity.notifyHighIntensity', false, vscode.ConfigurationTarget.Global);
    } catch (err) {
      this.service.log.warn(`high-intensity check failed: ${errorMessage(err)}`);
    }
  }

  /** The last finished run of the same command (or script), for its duration and power. */
  private previousRun(run: Run): Run | undefined {
    try {
      const { runs } = this.service.history();
      return runs.find(
        (r) =>
          r.id !== run.id &&
          r.status !== 'running' &&
          r.durationS > 0 &&
          (r.command === run.command || r.name === run.name),
      );
    } catch {
      return undefined;
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** Builds the intensity service, hands its provider to the meter, and registers `carbonMeter.setApiKey`. */
export function registerIntensity(context: vscode.ExtensionContext, service: MeterService): vscode.Disposable[] {
  const intensity = new IntensityService(context.secrets, service);
  service.intensity = intensity.provider;
  return [intensity, registerCommand(SET_API_KEY, (id?: unknown) => intensity.setApiKey(id))];
}
