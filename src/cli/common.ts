/**
 * What every subcommand shares: usage errors and option parsing (one line per mistake), number options, messages on
 * stderr with terminal controls escaped, the history store and its corrupt-line reports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { escapeControl } from '../core/format';
import type { CorruptEntry } from '../core/history/records';
import { HistoryStore, type HistoryLoad } from '../core/history/store';
import { errorMessage } from '../core/errors';
import { isDirectory } from '../core/util/fs';

/** A mistake in the command line: printed as one line with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

/** A failure that is not the user's typing (a file that cannot be written): one line, exit code 1. */
export class CliError extends Error {}

/** One line on stderr, prefixed and with every terminal control character escaped. */
export function warn(message: string): void {
  process.stderr.write(`carbon-meter: ${escapeControl(message)}\n`);
}

/** Lines for a human on stdout, each escaped (a newline inside a name cannot split a row). */
export function printLines(lines: string[]): void {
  process.stdout.write(lines.map(escapeControl).join('\n') + '\n');
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs with its errors turned into one-line usage errors that name the option ("unknown option --foo",
 * "--limit needs a value"), never Node's multi-sentence advice.
 */
export function parseOptions<O extends Options>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: joinNegativeValues(args, options), options, allowPositionals, strict: true });
  } catch (err) {
    throw usageFromParseArgs(err as NodeJS.ErrnoException);
  }
}

/** "-5", "-0.5", "-.5", "-1e3": a value, not an option. */
const NEGATIVE_NUMBER = /^-(?:\d|\.\d)/;

/**
 * `--budget-g -5` as `--budget-g=-5`: parseArgs takes a value that starts with a dash for a forgotten value, and the
 * user would read "needs a value" for a value they gave. Joined, the option's own check says what is wrong with it.
 */
export function joinNegativeValues(args: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return [...out, ...args.slice(i)];
    const next = args[i + 1];
    if (
      /^--[^=]+$/.test(a) &&
      options[a.slice(2)]?.type === 'string' &&
      next !== undefined &&
      NEGATIVE_NUMBER.test(next)
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export function usageFromParseArgs(err: NodeJS.ErrnoException): Error {
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  const option = quoted.split(/\s/)[0];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${option}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(err.message)) return new UsageError(`${option} takes no value`);
      if (/ambiguous/.test(err.message))
        return new UsageError(`${option} needs a value; one that starts with "-" is written ${option}=-…`);
      return new UsageError(`${option} needs a value`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument "${quoted}"`);
    default:
      return err;
  }
}

/**
 * A number option within [min, max]; `integer` rejects fractions, `positive` (with min 0) rejects 0 too. Empty text
 * is not zero. The message says what the value must be: "--interval must be a number from 0.5 to 3600, not "-1"".
 */
export function numberOption(
  value: string | undefined,
  name: string,
  min: number,
  max = Infinity,
  { integer = false, positive = false }: { integer?: boolean; positive?: boolean } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = decimalNumber(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)) || (positive && n <= 0)) {
    const what = integer ? 'a whole number' : 'a number';
    const range = positive && min <= 0 ? 'above 0' : `from ${min}${max < Infinity ? ` to ${max}` : ' up'}`;
    const tooLarge = Number.isNaN(n) || Number.isFinite(n) ? '' : ' (too large)';
    // an environment variable (CARBON_METER_PUE) is named as it is, an option with its dashes
    throw new UsageError(
      `${/^[A-Z_]+$/.test(name) ? name : `--${name}`} must be ${what} ${range}, not "${value}"${tooLarge}`,
    );
  }
  return n;
}

/** Decimal notation as a person writes it: no hexadecimal (Number("0x10") is 16), no spaces, no "Infinity". */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** The number a value written in decimal notation stands for (±Infinity when too large), else NaN. */
export function decimalNumber(text: string): number {
  return DECIMAL.test(text) ? Number(text) : NaN;
}

const DURATION_UNIT_S: Record<string, number> = { w: 604_800, d: 86_400, h: 3600, min: 60, m: 60, s: 1 };

/**
 * Seconds of a duration written as a person would: "90m", "1h30m", "2d", "1.5h", "45s" (w, d, h, m or min, s); a
 * bare number is in `bareUnit`, or not a duration when there is none. Undefined when the text is not a duration.
 */
export function durationSeconds(text: string, bareUnit?: 'h' | 'm' | 's'): number | undefined {
  const t = text.trim().toLowerCase();
  if (bareUnit && /^\d+(?:\.\d+)?$/.test(t)) return Number(t) * DURATION_UNIT_S[bareUnit];
  const part = /(\d+(?:\.\d+)?)\s*(min|w|d|h|m|s)\s*/y;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    part.lastIndex = pos;
    const m = part.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNIT_S[m[2]];
    pos = part.lastIndex;
  }
  return pos > 0 ? total : undefined;
}

/** The shared history; `redactSecrets` false keeps command lines as typed (`--keep-secrets`). */
export function openStore(redactSecrets = true): HistoryStore {
  const store = new HistoryStore(process.env.CARBON_METER_HOME || HistoryStore.defaultDir(), { redactSecrets });
  try {
    const recovered = store.recoverInterrupted();
    for (const r of recovered) warn(`recovered interrupted run ${r.name} (${r.id}) up to its last checkpoint`);
  } catch (err) {
    // a home that is not a folder is said once, by the read or write that needs it
    if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR')
      warn(`could not check for interrupted runs: ${errorMessage(err)}`);
  }
  return store;
}

/** The history's runs for a command that shows them; a folder that cannot be read is one clear line (exit 1). */
export function loadHistory(store: HistoryStore): HistoryLoad {
  try {
    return store.load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOTDIR'
        ? 'it is not a folder'
        : e.code === 'EACCES' || e.code === 'EPERM'
          ? 'permission denied'
          : errorMessage(err);
    throw new CliError(
      `cannot read the history in ${store.dir}: ${why}${process.env.CARBON_METER_HOME ? ' (CARBON_METER_HOME)' : ''}`,
    );
  }
}

export function reportCorrupt(all: CorruptEntry[], store: HistoryStore): void {
  // a damaged checkpoint file: named, and where it was set aside (reported once: it is no longer in running/)
  for (const c of all.filter((x) => x.file)) {
    const where = path.join(store.dir, c.file!);
    warn(
      `unreadable ${where} (${c.reason})${c.setAsideAs ? `: set aside as ${path.join(store.dir, c.setAsideAs)}` : ''}`,
    );
  }
  const corrupt = all.filter((x) => !x.file);
  if (!corrupt.length) return;
  const first = corrupt
    .slice(0, 3)
    .map((c) => `line ${c.line} (${c.reason})`)
    .join(', ');
  warn(
    `skipped ${corrupt.length} unreadable line(s) in ${store.historyPath}: ${first}${corrupt.length > 3 ? ', …' : ''}`,
  );
}

/** Zones that name no country. */
const NO_COUNTRY_ZONE = /^(?:Etc\/.+|UTC|UCT|GMT|Universal|Zulu)$/;

/**
 * This machine's IANA time zone read without ICU, for the region guess: $TZ, else the /etc/localtime link, when it
 * names a zone with a country (or none at all). Intl's first use loads ICU's zone data, about 30 ms of CPU at every
 * start; undefined (a POSIX TZ string, no link, an alias the table lacks) leaves the question to Intl as before.
 */
export function fastTimeZone(knowsZone: (zone: string) => boolean, env = process.env): string | undefined {
  let zone = env.TZ?.replace(/^:/, '').trim();
  if (zone === undefined && process.platform !== 'win32') {
    try {
      const link = fs.readlinkSync('/etc/localtime');
      const at = link.indexOf('zoneinfo/');
      if (at >= 0) zone = link.slice(at + 'zoneinfo/'.length);
    } catch {
      /* not a link */
    }
  }
  return zone && (NO_COUNTRY_ZONE.test(zone) || knowsZone(zone)) ? zone : undefined;
}

/**
 * An output file named by an option (`--json-out`, `export --out`), checked before any work: a missing folder or a
 * folder in its place is a mistake in the command line (one line, exit 2), not a failure found at the end.
 */
export function checkOutFile(option: string, file: string): void {
  if (file === '') throw new UsageError(`--${option} needs a file name`);
  const dir = path.dirname(path.resolve(file));
  if (!isDirectory(dir)) throw new UsageError(`--${option}: no folder ${dir}`);
  if (isDirectory(file)) throw new UsageError(`--${option}: ${file} is a folder`);
}
