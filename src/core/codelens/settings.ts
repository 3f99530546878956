/**
 * The typed, checked view of the `carbonMeter.codeLens.*` settings (the "CodeLens" section). A wrong value gives a
 * problem the user is told about and the default, never an exception; read through a getter, so it is tested in
 * plain Node like src/extension/settings.ts.
 */
import { LENS_HINTS, type LensHint } from './hints';

export interface CodeLensSettings {
  /** `carbonMeter.codeLens.enabled` */
  enabled: boolean;
  /** `carbonMeter.codeLens.show`: the hints shown next to the actions */
  show: ReadonlySet<LensHint>;
}

export interface CodeLensSettingsProblem {
  key: string;
  message: string;
}

export const DEFAULT_CODELENS_SETTINGS: Readonly<CodeLensSettings> = Object.freeze({ enabled: true, show: new Set<LensHint>(LENS_HINTS) });

/** `get(key)` returns the configured value of `carbonMeter.<key>` (or undefined). */
export function readCodeLensSettings(get: (key: string) => unknown): { settings: CodeLensSettings; problems: CodeLensSettingsProblem[] } {
  const problems: CodeLensSettingsProblem[] = [];
  let enabled = DEFAULT_CODELENS_SETTINGS.enabled;
  const e = get('codeLens.enabled');
  if (typeof e === 'boolean') enabled = e;
  else if (e !== undefined && e !== null) {
    problems.push({ key: 'carbonMeter.codeLens.enabled', message: `carbonMeter.codeLens.enabled is ${JSON.stringify(e)}; expected true or false. Using true.` });
  }
  let show = new Set<LensHint>(LENS_HINTS);
  const s = get('codeLens.show');
  if (Array.isArray(s)) {
    const known = s.filter((x): x is LensHint => typeof x === 'string' && (LENS_HINTS as readonly string[]).includes(x));
    const unknown = s.filter((x) => !(typeof x === 'string' && (LENS_HINTS as readonly string[]).includes(x)));
    if (unknown.length) {
      problems.push({
        key: 'carbonMeter.codeLens.show',
        message: `carbonMeter.codeLens.show has ${unknown.map((x) => JSON.stringify(x)).join(', ')}; expected ${LENS_HINTS.map((h) => `"${h}"`).join(', ')}. Ignoring ${unknown.length === 1 ? 'it' : 'them'}.`,
      });
    }
    show = new Set(known);
  } else if (s !== undefined && s !== null) {
    problems.push({ key: 'carbonMeter.codeLens.show', message: `carbonMeter.codeLens.show is ${JSON.stringify(s)}; expected a list of ${LENS_HINTS.map((h) => `"${h}"`).join(', ')}. Showing all.` });
  }
  return { settings: { enabled, show }, problems };
}
