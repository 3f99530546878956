/** Human formatting of figures, shared by the CLI, the status bar, CodeLens and the panel. */

/** Mass of CO₂eq, from kg, in the unit that reads best: "0.42 mg", "12.4 g", "3.1 kg", "1.2 t". */
export function formatCo2(kg: number): string {
  return kg === 0 ? '0 g' : inUnit(kg, CO2_UNITS);
}

/** Energy, from kWh: "3.2 Wh", "0.42 kWh", "1.3 MWh". */
export function formatEnergy(kWh: number): string {
  return kWh === 0 ? '0 Wh' : inUnit(kWh, ENERGY_UNITS);
}

const CO2_UNITS: readonly [number, string][] = [
  [1e-9, 'µg'],
  [1e-6, 'mg'],
  [1e-3, 'g'],
  [1, 'kg'],
  [1000, 't'],
  [1e6, 'kt'],
];
const ENERGY_UNITS: readonly [number, string][] = [
  [1e-9, 'µWh'],
  [1e-6, 'mWh'],
  [1e-3, 'Wh'],
  [1, 'kWh'],
  [1000, 'MWh'],
  [1e6, 'GWh'],
  [1e9, 'TWh'],
];

/**
 * `x` with 3 significant digits in the largest of `units` (factors in x's unit, smallest first) that it reaches, or
 * the next one up when the rounding reaches 1000 of it: 0.999999 g reads "1 g", not "1000 mg". The smallest unit is
 * for tiny figures only (below a thousandth of the next).
 */
function inUnit(x: number, units: readonly [number, string][]): string {
  const abs = Math.abs(x);
  let k = 0;
  // the smallest unit only for what would read below 0.001 of the next (0.4 mg stays 0.4 mg; 0.000285 mg is 0.285 µg)
  while (k < units.length - 1 && abs >= units[k + 1][0] * (k === 0 ? 1e-3 : 1)) k++;
  let s = sig(x / units[k][0]);
  if (k < units.length - 1 && Math.abs(Number(s)) >= 1000) s = sig(x / units[++k][0]);
  return `${s} ${units[k][1]}`;
}

export function formatPower(w: number): string {
  if (w >= 1000) return `${sig(w / 1000)} kW`;
  if (w >= 10) return `${Math.round(w)} W`;
  if (w > 0 && w < 0.01) return `${sig(w * 1000, 2)} mW`;
  return `${sig(w, 2)} W`;
}

/**
 * "45 s", "9 min 05 s", "14 min", "2 h 05 min", "3 d 4 h": rounded to the last unit shown, so 59.99 s is "1 min",
 * 599.6 s "10 min" and 7199 s "2 h 00 min" (never one unit cut off and the next rounded).
 */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  if (s < 9.95) return `${sig(s, 2)} s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const secs = Math.round(s);
  if (secs < 60) return `${secs} s`;
  if (secs < 600) return `${Math.floor(secs / 60)} min${secs % 60 ? ` ${pad(secs % 60)} s` : ''}`;
  const mins = Math.round(s / 60);
  if (mins < 60) return `${mins} min`;
  if (mins < 48 * 60) return `${Math.floor(mins / 60)} h ${pad(mins % 60)} min`;
  const hours = Math.round(s / 3600);
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** "just now", "5 min ago", "2 h ago", "3 days ago". */
export function formatAgo(then: number, now = Date.now()): string {
  const s = Math.max(0, (now - then) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  const d = Math.round(s / 86400);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

export function formatIntensity(gPerKWh: number): string {
  return `${sig(gPerKWh)} gCO₂eq/kWh`;
}

export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  return `${p > 0 ? '+' : p < 0 ? '−' : ''}${Math.abs(p) >= 10 ? Math.round(Math.abs(p)) : sig(Math.abs(p), 2)} %`;
}

/** A number with `digits` significant digits, without exponent or trailing zeros. */
export function sig(x: number, digits = 3): string {
  if (x === 0 || !Number.isFinite(x)) return String(x === 0 ? 0 : x);
  const d = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  // toFixed, not Number(…).toString(): that reads 4.21e-8 below a millionth
  const s = x.toFixed(Math.min(d, 20));
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

const DISTANCE_UNITS: readonly [number, string][] = [
  [1e-12, 'nm'],
  [1e-9, 'µm'],
  [1e-6, 'mm'],
  [1e-3, 'm'],
  [1, 'km'],
];

/** A distance, from km, in the unit that reads best: "12.4 km", "310 m", "4.2 mm", "42.1 µm". */
export function formatDistance(km: number): string {
  return km === 0 ? '0 km' : inUnit(km, DISTANCE_UNITS);
}

/**
 * Characters that a terminal may act on rather than show: C0 controls (ESC starts CSI/OSC sequences such as
 * OSC 52 clipboard writes; newline and carriage return split or overwrite lines), DEL, C1 controls (U+009B is an
 * 8-bit CSI), the Unicode line and paragraph separators, and the bidirectional overrides and isolates that reorder
 * what is shown ("Trojan Source").
 */
// eslint-disable-next-line no-control-regex -- control characters are what this escapes
const TERMINAL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

/**
 * Text from a run (its name, command, an imported project_name, a tool's message) made safe to print for a human:
 * every terminal control character is shown as a visible escape (`\e`, `\n`, `\x07`, `\u202e`), so nothing in it
 * moves the cursor, retitles the window, writes the clipboard, or splits a table row. Backslashes are kept as they
 * are (paths); the escape is for reading, not for parsing back.
 */
export function escapeControl(s: string): string {
  return s.replace(TERMINAL_CONTROL, (c) => {
    const named = NAMED_ESCAPES[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * JSON text that is also safe on a terminal: JSON.stringify already writes C0 controls as \u00XX, but not DEL, the
 * C1 controls or the bidirectional characters; those can only occur inside strings, where \uXXXX is the same value.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
