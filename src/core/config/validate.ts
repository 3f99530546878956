/**
 * The checks every `carbonMeter.*` reader shares. A value of the wrong type or out of range gives one line that
 * names the setting, what was expected and what is used instead, and the safe default; never an exception. Plain
 * Node: values come through a getter, so every reader is tested without VS Code.
 */

/** A wrong setting: the key to open in the Settings editor and a one-line message. */
export interface SettingProblem {
  key: string;
  message: string;
}

/** `get(key)` returns the configured value of `carbonMeter.<key>` (or undefined). */
export type SettingGetter = (key: string) => unknown;

export const SETTINGS_PREFIX = 'carbonMeter.';

/** Reads settings through a getter, checks each value, and collects the problems. */
export class SettingsReader {
  readonly problems: SettingProblem[] = [];

  constructor(private readonly get: SettingGetter) {}

  /** The value as configured, unchecked (for readers with their own checks). */
  raw(key: string): unknown {
    return this.get(key);
  }

  /** Records a problem with the standard message. */
  bad(key: string, value: unknown, expected: string, fallback: unknown): void {
    this.problem(
      key,
      `${SETTINGS_PREFIX}${key} is ${JSON.stringify(value)}; expected ${expected}. Using ${JSON.stringify(fallback)}.`,
    );
  }

  /** Records a problem with its own message. */
  problem(key: string, message: string): void {
    this.problems.push({ key: `${SETTINGS_PREFIX}${key}`, message });
  }

  /** A string, trimmed. */
  str(key: string, fallback = ''): string {
    const v = this.get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') {
      this.bad(key, v, 'a string', fallback);
      return fallback;
    }
    return v.trim();
  }

  /** A finite number within [min, max]; empty means the fallback. */
  num(key: string, fallback: number, min: number, max: number): number;
  /** `defaultText` names what is used when the fallback is undefined (the setting's default, in words) */
  num(key: string, fallback: number | undefined, min: number, max: number, defaultText?: string): number | undefined;
  num(key: string, fallback: number | undefined, min: number, max: number, defaultText?: string): number | undefined {
    const v = this.get(key);
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      if (fallback === undefined && defaultText) {
        this.problem(
          key,
          `${SETTINGS_PREFIX}${key} is ${JSON.stringify(v)}; expected a number from ${min} to ${max}. Using ${defaultText}.`,
        );
      } else this.bad(key, v, `a number from ${min} to ${max}`, fallback ?? null);
      return fallback;
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      this.bad(key, v, 'true or false', fallback);
      return fallback;
    }
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.bad(key, v, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, fallback);
      return fallback;
    }
    return v as T;
  }

  /** An http(s) URL; empty means the fallback. */
  url(key: string, fallback: string): string {
    const v = this.str(key);
    if (!v) return fallback;
    try {
      const u = new URL(v);
      if (u.protocol === 'http:' || u.protocol === 'https:') return v;
    } catch {
      // reported below
    }
    this.bad(key, v, 'an http(s) URL', fallback);
    return fallback;
  }

  /** A list of strings; undefined when not set (or wrong: a problem naming `what` and the `fallback` used). */
  stringList(key: string, what: string, fallback: unknown): string[] | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      this.bad(key, v, what, fallback);
      return undefined;
    }
    return v as string[];
  }
}
