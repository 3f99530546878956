/**
 * CPU package energy from Linux RAPL (Running Average Power Limit) through the powercap sysfs interface.
 *
 *   /sys/class/powercap/intel-rapl:N/name                 "package-N\n"
 *   /sys/class/powercap/intel-rapl:N/energy_uj            cumulative µJ, wraps at max_energy_range_uj
 *   /sys/class/powercap/intel-rapl:N/max_energy_range_uj  the counter's range, µJ
 *
 * Only package domains (`intel-rapl:N` named `package-N`) are read: the sub-domains `intel-rapl:N:M` (core,
 * uncore, dram) are parts of a package and would be counted twice; `psys` (laptops) covers the whole platform;
 * `intel-rapl-mmio:N` repeats the package counter through another interface. AMD processors expose the same
 * `intel-rapl` tree on Linux ≥ 5.8. The entries under /sys/class/powercap are symlinks into
 * /sys/devices/virtual/powercap, so every check here follows links.
 *
 * Since the fix for CVE-2020-8694 (Linux 5.10 and the stable kernels it was backported to), `energy_uj` is
 * readable by root only; the probe says so and gives the command that makes it readable.
 *
 * Reads are synchronous (`readFileSync` of files of a few bytes, served by the kernel from a register): cheaper
 * than any asynchronous machinery, and the meter reads them once per tick. This module imports only Node built-ins
 * (the permission test runs it as another user from a copy).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../errors';

export interface RaplDomain {
  /** the domain's `name` file: "package-0" */
  name: string;
  /** the domain's folder: "/sys/class/powercap/intel-rapl:0" */
  dir: string;
  /** counter range, µJ; a reading below the previous one means the counter wrapped by this much */
  maxEnergyRangeUj: number;
}

export interface RaplProbe {
  /** true when every package domain's energy counter could be read */
  readable: boolean;
  /** package domains found (also when they cannot be read, so `doctor` can name them) */
  domains: RaplDomain[];
  /** why RAPL cannot be used, in words a user can act on */
  reason?: string;
  /** a command or setting that makes RAPL readable */
  fix?: string;
}

/** Reads a sysfs file as text; injectable so callers can route reads elsewhere (the real fs by default). */
export type ReadText = (file: string) => string;

const readText: ReadText = (file) => fs.readFileSync(file, 'utf8');

export const DEFAULT_POWERCAP_ROOT = '/sys/class/powercap';

export const NO_RAPL_REASON = 'no RAPL powercap interface (not Linux, a VM, or the driver is not loaded)';

/** The command that makes the counters readable until the next boot, for every package domain found. */
export function raplFixCommand(root = DEFAULT_POWERCAP_ROOT): string {
  const glob = `${root.replace(/\/+$/, '')}/intel-rapl:*/energy_uj`;
  return (
    `run \`sudo chmod a+r ${glob}\` (until the next reboot); to make it permanent, add a udev rule, e.g. ` +
    `/etc/udev/rules.d/99-carbon-meter-rapl.rules containing ` +
    `\`SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod a+r /sys%p/energy_uj"\`, ` +
    `or with sysfsutils a line \`mode class/powercap/intel-rapl:0/energy_uj = 0444\` (one per package) in /etc/sysfs.conf`
  );
}

export interface RaplErrorClass {
  kind: 'permission' | 'missing' | 'other';
  reason: string;
  fix?: string;
}

/**
 * Turns a Node fs error on a RAPL file into words. Permission errors (EACCES, EPERM) are the common case since
 * CVE-2020-8694; anything else is reported with its code.
 */
export function classifyRaplError(err: unknown, file: string, root = DEFAULT_POWERCAP_ROOT): RaplErrorClass {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') {
    return {
      kind: 'permission',
      reason:
        `permission denied reading ${file}: since the fix for CVE-2020-8694 (Linux ≥ 5.10) the RAPL energy counters ` +
        `are readable by root only, so CPU power is modelled from the TDP instead`,
      fix: raplFixCommand(root),
    };
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return { kind: 'missing', reason: `${file} does not exist (${code}): ${NO_RAPL_REASON}` };
  }
  const message = errorMessage(err);
  return { kind: 'other', reason: `cannot read ${file}${code ? ` (${code})` : ''}: ${message}` };
}

/** Parses a counter file ("123456789\n"); throws on anything that is not a non-negative integer. */
export function parseMicrojoules(text: string, file: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`${file} does not hold a counter: ${JSON.stringify(t.slice(0, 40))}`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new Error(`${file} holds a counter too large to read exactly: ${t}`);
  return n;
}

const PACKAGE_ENTRY = /^intel-rapl:(\d+)$/;

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory(); // follows the sysfs symlinks
  } catch {
    return false;
  }
}

/**
 * Finds the RAPL package domains under `root` and checks that their energy counters can be read.
 * Never throws: every failure is a `readable: false` with a reason.
 */
export function probeRapl(root = DEFAULT_POWERCAP_ROOT, read: ReadText = readText): RaplProbe {
  let entries: string[];
  try {
    entries = fs.readdirSync(root);
  } catch (err) {
    const c = classifyRaplError(err, root, root);
    if (c.kind === 'missing') return { readable: false, domains: [], reason: NO_RAPL_REASON };
    return { readable: false, domains: [], reason: c.reason, fix: c.fix };
  }
  const packages = entries
    .map((e) => ({ e, m: PACKAGE_ENTRY.exec(e) }))
    .filter((x): x is { e: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
    .map((x) => path.join(root, x.e))
    .filter(isDirectory);

  const domains: RaplDomain[] = [];
  const problems: RaplErrorClass[] = [];
  for (const dir of packages) {
    let name: string;
    try {
      name = read(path.join(dir, 'name')).trim();
    } catch (err) {
      problems.push(classifyRaplError(err, path.join(dir, 'name'), root));
      continue;
    }
    if (!name.startsWith('package-')) continue; // psys and other top-level zones are not the CPU package
    let maxEnergyRangeUj: number;
    try {
      maxEnergyRangeUj = parseMicrojoules(
        read(path.join(dir, 'max_energy_range_uj')),
        path.join(dir, 'max_energy_range_uj'),
      );
    } catch (err) {
      problems.push(
        (err as NodeJS.ErrnoException).code
          ? classifyRaplError(err, path.join(dir, 'max_energy_range_uj'), root)
          : { kind: 'other', reason: errorMessage(err) },
      );
      continue;
    }
    const domain: RaplDomain = { name, dir, maxEnergyRangeUj };
    domains.push(domain);
    const energyFile = path.join(dir, 'energy_uj');
    try {
      parseMicrojoules(read(energyFile), energyFile);
    } catch (err) {
      problems.push(
        (err as NodeJS.ErrnoException).code
          ? classifyRaplError(err, energyFile, root)
          : { kind: 'other', reason: errorMessage(err) },
      );
    }
  }

  if (problems.length) {
    const first = problems.find((p) => p.kind === 'permission') ?? problems[0]!;
    return { readable: false, domains, reason: first.reason, ...(first.fix ? { fix: first.fix } : {}) };
  }
  if (!domains.length) {
    return {
      readable: false,
      domains,
      reason: entries.length
        ? `no RAPL package domain under ${root} (found: ${entries.slice(0, 6).join(', ')})`
        : NO_RAPL_REASON,
    };
  }
  return { readable: true, domains };
}

/** Energy used since the previous reading, per counter, accounting for one wrap-around. */
export function counterDeltaUj(prev: number, now: number, maxEnergyRangeUj: number): number {
  if (now >= prev) return now - prev;
  // the counter wrapped: it went up to max_energy_range_uj, restarted at 0 and reached `now`
  return maxEnergyRangeUj - prev + now;
}

/**
 * Sums the energy of the package domains between calls. The first call primes the counters and returns 0.
 * A failed read throws and leaves the previous readings in place, so the next successful call still counts the
 * energy in between (unless a counter wrapped more than once meanwhile).
 */
export class RaplReader {
  private prev: number[] | undefined;
  private readonly read: ReadText;

  constructor(
    private readonly domains: RaplDomain[],
    read: ReadText = readText,
  ) {
    this.read = read;
  }

  readDeltaUj(): number {
    const now = this.domains.map((d) => {
      const file = path.join(d.dir, 'energy_uj');
      return parseMicrojoules(this.read(file), file);
    });
    const prev = this.prev;
    this.prev = now;
    if (!prev) return 0;
    let sum = 0;
    for (let i = 0; i < now.length; i++) sum += counterDeltaUj(prev[i]!, now[i]!, this.domains[i]!.maxEnergyRangeUj);
    return sum;
  }
}
