/**
 * Wording shared by the panel and the status bar that depends on the record: how a run ended, how a component's
 * figure was obtained, and text that must not wrap inside a tool's name.
 */
import type { ComponentPower, RunStatus } from '../types';

/**
 * How a run ended, as shown: the stored status (`stopped`: stopped on purpose, e.g. by its budget), except that a
 * command ended by a signal the user sends (the shell's exit status 128 + signal) is not a failure: 130 (SIGINT,
 * Ctrl-C) reads "interrupted", 143 (SIGTERM) "stopped". The stored record keeps its status and exit code.
 */
export type RunOutcome = RunStatus;

export const SIGINT_EXIT = 130;
export const SIGTERM_EXIT = 143;

export function runOutcome(status: RunStatus, exitCode?: number | null): RunOutcome {
  if (status !== 'failed') return status;
  if (exitCode === SIGINT_EXIT) return 'interrupted';
  if (exitCode === SIGTERM_EXIT) return 'stopped';
  return 'failed';
}

/** The exit code worth showing after an outcome: a failure's; not the 130/143 an outcome already names. */
export function shownExitCode(status: RunStatus, exitCode?: number | null): number | undefined {
  if (exitCode === undefined || exitCode === null) return undefined;
  return runOutcome(status, exitCode) === 'failed' ? exitCode : undefined;
}

/**
 * "How" a component's figure was obtained, in one line: its detail, with why it is not measured when the detail does
 * not say so already (a GPU without nvidia-smi records the reason in both), or its source and share rule.
 */
export function componentHow(c: ComponentPower, shareWord = 'share'): string {
  if (c.unavailableReason) {
    const reason = c.unavailableReason.trim();
    return c.detail.includes(reason) ? c.detail : `${c.detail} (${reason})`;
  }
  return c.shareRule && c.source ? `${c.source}; ${shareWord}: ${c.shareRule}` : c.detail;
}

/**
 * Hyphens inside words ("nvidia-smi", "rocm-smi", "package-0") made non-breaking (U+2011), so a narrow hover does not
 * wrap "nvidia-" / "smi".
 */
export function keepWordsWhole(text: string): string {
  return text.replace(/(?<=[\p{L}\p{N}])-(?=[\p{L}\p{N}])/gu, '\u2011');
}

/** Everyday equivalents worth showing: a distance in km or m, a number of phone charges; tiny ones left out. */
export interface ShownEquivalents {
  car?: { value: number; unit: 'km' | 'm' };
  /** smartphone charges, two significant digits below 1 */
  charges?: number;
}

/**
 * The equivalents of a run or a period as a person would say them: "12 m by car" rather than "0 km", "0.03 phone
 * charges" rather than "0"; undefined when both are too small to mean anything (under a metre and a hundredth).
 */
export function meaningfulEquivalents(carKm: number, smartphoneCharges: number): ShownEquivalents | undefined {
  const out: ShownEquivalents = {};
  if (Number.isFinite(carKm) && carKm >= 1) out.car = { value: Math.round(carKm * 10) / 10, unit: 'km' };
  else if (Number.isFinite(carKm) && carKm >= 0.001) out.car = { value: Math.round(carKm * 1000), unit: 'm' };
  if (Number.isFinite(smartphoneCharges) && smartphoneCharges >= 1)
    out.charges = Math.round(smartphoneCharges * 10) / 10;
  else if (Number.isFinite(smartphoneCharges) && smartphoneCharges >= 0.01)
    out.charges = Number(smartphoneCharges.toPrecision(2));
  return out.car || out.charges !== undefined ? out : undefined;
}
