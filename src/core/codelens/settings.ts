/**
 * The typed, checked view of the `carbonMeter.codeLens.*` settings (the "CodeLens" section). A wrong value gives a
 * problem the user is told about and the default, never an exception; read through a getter with the checks every
 * reader shares (core/config/validate.ts), so it is tested in plain Node.
 */
import { SettingsReader, type SettingGetter, type SettingProblem } from '../config/validate';
import { LENS_HINTS, type LensHint } from './hints';

export interface CodeLensSettings {
  /** `carbonMeter.codeLens.enabled` */
  enabled: boolean;
  /** `carbonMeter.codeLens.show`: the hints shown next to the actions */
  show: ReadonlySet<LensHint>;
}

/** A wrong `carbonMeter.codeLens.*` value (the shared SettingProblem). */
export type CodeLensSettingsProblem = SettingProblem;

export const DEFAULT_CODELENS_SETTINGS: Readonly<CodeLensSettings> = Object.freeze({
  enabled: true,
  show: new Set<LensHint>(LENS_HINTS),
});

/** `get(key)` returns the configured value of `carbonMeter.<key>` (or undefined). */
export function readCodeLensSettings(get: SettingGetter): {
  settings: CodeLensSettings;
  problems: CodeLensSettingsProblem[];
} {
  const r = new SettingsReader(get);
  const enabled = r.bool('codeLens.enabled', DEFAULT_CODELENS_SETTINGS.enabled);
  let show = new Set<LensHint>(LENS_HINTS);
  const s = r.raw('codeLens.show');
  const isHint = (x: unknown): x is LensHint => typeof x === 'string' && (LENS_HINTS as readonly string[]).includes(x);
  const expected = LENS_HINTS.map((h) => `"${h}"`).join(', ');
  if (Array.isArray(s)) {
    const unknown = s.filter((x) => !isHint(x));
    if (unknown.length) {
      r.problem(
        'codeLens.show',
        `carbonMeter.codeLens.show has ${unknown.map((x) => JSON.stringify(x)).join(', ')}; expected ${expected}. Ignoring ${unknown.length === 1 ? 'it' : 'them'}.`,
      );
    }
    show = new Set(s.filter(isHint));
  } else if (s !== undefined && s !== null) {
    r.problem(
      'codeLens.show',
      `carbonMeter.codeLens.show is ${JSON.stringify(s)}; expected a list of ${expected}. Showing all.`,
    );
  }
  return { settings: { enabled, show }, problems: r.problems };
}
