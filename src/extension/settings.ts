/**
 * The one typed wrapper over `carbonMeter.*` settings. Every value is checked; a wrong value gives a problem the
 * user is told about and a safe default, never an exception. No `vscode` import: it reads through a getter, so it is
 * tested in plain Node.
 */
import { compilePatterns, DEFAULT_TRAINING_PATTERNS, type CompiledPatterns } from '../core/classify';

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
}

export interface SettingsProblem {
  key: string;
  message: string;
}

/** `get(key)` returns the configured value of `carbonMeter.<key>` (or undefined). */
export type SettingGetter = (key: string) => unknown;

export const MIN_INTERVAL_S = 0.5;

export function readSettings(get: SettingGetter): { settings: Settings; problems: SettingsProblem[] } {
  const problems: SettingsProblem[] = [];
  const bad = (key: string, value: unknown, expected: string, fallback: unknown) =>
    problems.push({ key: `carbonMeter.${key}`, message: `carbonMeter.${key} is ${JSON.stringify(value)}; expected ${expected}. Using ${JSON.stringify(fallback)}.` });

  const str = (key: string, fallback: string): string => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') {
      bad(key, v, 'a string', fallback);
      return fallback;
    }
    return v.trim();
  };
  const num = (key: string, fallback: number | undefined, min: number, max: number): number | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      bad(key, v, `a number from ${min} to ${max}`, fallback ?? null);
      return fallback;
    }
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      bad(key, v, 'true or false', fallback);
      return fallback;
    }
    return v;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      bad(key, v, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, fallback);
      return fallback;
    }
    return v as T;
  };

  let patterns = get('terminal.patterns');
  if (patterns !== undefined && (!Array.isArray(patterns) || patterns.some((p) => typeof p !== 'string'))) {
    bad('terminal.patterns', patterns, 'a list of regular expressions', 'the defaults');
    patterns = undefined;
  }
  const compiled = compilePatterns((patterns as string[] | undefined) ?? DEFAULT_TRAINING_PATTERNS);
  for (const p of compiled.invalid) {
    problems.push({ key: 'carbonMeter.terminal.patterns', message: `carbonMeter.terminal.patterns: "${p.pattern}" is not a valid regular expression (${p.error}); it is ignored.` });
  }

  const settings: Settings = {
    region: str('region', ''),
    pue: num('pue', undefined, 1, 3),
    intervalS: num('sampling.intervalSeconds', 1, MIN_INTERVAL_S, 60)!,
    terminalMode: oneOf('terminal.meter', ['training', 'all', 'off'] as const, 'training'),
    terminalPatterns: compiled,
    debugMode: oneOf('debug.meter', ['all', 'off'] as const, 'all'),
    tasksMode: oneOf('tasks.meter', ['training', 'all', 'off'] as const, 'training'),
    notifyOnFinish: bool('notifications.runFinished', true),
    notifyMinDurationS: num('notifications.minDurationSeconds', 10, 0, 86400)!,
    statusBarAlignment: oneOf('statusBar.alignment', ['left', 'right'] as const, 'right'),
    statusBarPriority: num('statusBar.priority', 100, -100000, 100000)!,
    cpuTdpW: num('cpu.tdpWatts', undefined, 1, 2000),
    gpuEnabled: bool('gpu.enabled', true),
    nvidiaSmiPath: str('gpu.nvidiaSmiPath', ''),
    historyPath: str('history.path', ''),
    redactSecrets: bool('history.redactSecrets', true),
    budgetPerRunG: num('budget.perRunGrams', 0, 0, 1e12) || undefined,
    budgetMonthlyKg: num('budget.monthlyKg', 0, 0, 1e12) || undefined,
    onBudget: oneOf('budget.onBudget', ['warn', 'stop'] as const, 'warn'),
  };
  return { settings, problems };
}
