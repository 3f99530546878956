/**
 * The typed, checked view of the `carbonMeter.*` settings the meter, the watchers, the status bar and the panel use.
 * Every value is checked (validate.ts); a wrong value gives a problem the user is told about and a safe default,
 * never an exception. Read through a getter, so it is tested in plain Node. The CodeLens and intensity sections
 * have their own readers next to their code (core/codelens/settings.ts, core/intensity/live/config.ts), over the
 * same checks; src/extension/configuration.ts reads them all at once.
 */
import { ADVICE_REGIONS_SETTING } from '../advice/tips';
import { compilePatterns, DEFAULT_TRAINING_PATTERNS, type CompiledPatterns } from '../classify';
import { SETTINGS_PREFIX, SettingsReader, type SettingGetter, type SettingProblem } from './validate';

export type { SettingGetter, SettingProblem } from './validate';

export type MeterMode = 'training' | 'all' | 'off';

export interface Settings {
  region: string;
  pue: number | undefined;
  intervalS: number;
  terminalMode: MeterMode;
  terminalPatterns: CompiledPatterns;
  debugMode: 'all' | 'off';
  tasksMode: MeterMode;
  notifyOnFinish: boolean;
  notifyMinDurationS: number;
  statusBarAlignment: 'left' | 'right';
  statusBarPriority: number;
  cpuTdpW: number | undefined;
  gpuEnabled: boolean;
  nvidiaSmiPath: string;
  historyPath: string;
  /** replace API keys, tokens and passwords in stored and shown command lines by *** (core/history/redact.ts) */
  redactSecrets: boolean;
  /** g CO₂eq per run; undefined: none */
  budgetPerRunG: number | undefined;
  /** kg CO₂eq per calendar month; undefined: none */
  budgetMonthlyKg: number | undefined;
  onBudget: 'warn' | 'stop';
  /** `carbonMeter.advice.regions`: the regions greener-region advice compares with ("FR", "gcp:*"); [] for all */
  adviceRegions: string[];
}

export const MIN_INTERVAL_S = 0.5;

export function readSettings(get: SettingGetter): { settings: Settings; problems: SettingProblem[] } {
  const r = new SettingsReader(get);
  const patterns = r.stringList('terminal.patterns', 'a list of regular expressions', 'the defaults');
  const compiled = compilePatterns(patterns ?? DEFAULT_TRAINING_PATTERNS);
  for (const p of compiled.invalid) {
    r.problem(
      'terminal.patterns',
      `carbonMeter.terminal.patterns: "${p.pattern}" is not a valid regular expression (${p.error}); it is ignored.`,
    );
  }
  const settings: Settings = {
    region: r.str('region', ''),
    pue: r.num('pue', undefined, 1, 3, "the default (the region's published PUE, else 1.0 for a local machine)"),
    intervalS: r.num('sampling.intervalSeconds', 1, MIN_INTERVAL_S, 60),
    terminalMode: r.oneOf('terminal.meter', ['training', 'all', 'off'] as const, 'training'),
    terminalPatterns: compiled,
    debugMode: r.oneOf('debug.meter', ['all', 'off'] as const, 'all'),
    tasksMode: r.oneOf('tasks.meter', ['training', 'all', 'off'] as const, 'training'),
    notifyOnFinish: r.bool('notifications.runFinished', true),
    notifyMinDurationS: r.num('notifications.minDurationSeconds', 10, 0, 86400),
    statusBarAlignment: r.oneOf('statusBar.alignment', ['left', 'right'] as const, 'right'),
    statusBarPriority: r.num('statusBar.priority', 100, -100000, 100000),
    cpuTdpW: r.num(
      'cpu.tdpWatts',
      undefined,
      1,
      2000,
      "the default (the CPU model's TDP from the table, else 4 W per logical CPU)",
    ),
    gpuEnabled: r.bool('gpu.enabled', true),
    nvidiaSmiPath: r.str('gpu.nvidiaSmiPath', ''),
    historyPath: r.str('history.path', ''),
    redactSecrets: r.bool('history.redactSecrets', true),
    budgetPerRunG: r.num('budget.perRunGrams', 0, 0, 1e12) || undefined,
    budgetMonthlyKg: r.num('budget.monthlyKg', 0, 0, 1e12) || undefined,
    onBudget: r.oneOf('budget.onBudget', ['warn', 'stop'] as const, 'warn'),
    adviceRegions:
      r.stringList(ADVICE_REGIONS_SETTING.slice(SETTINGS_PREFIX.length), 'a list of region codes', []) ?? [],
  };
  return { settings, problems: r.problems };
}
