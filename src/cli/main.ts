/**
 * `carbon-meter`: the command line over the same core as the extension, for SSH sessions and CI.
 * It writes to the same history as the extension.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { kmByCar, EQUIVALENT_FACTORS } from '../core/equivalents';
import { formatCo2, formatDuration, formatEnergy, formatIntensity, formatPower, sig } from '../core/format';
import { getHardware } from '../core/hardware';
import { parseCodeCarbonCsv, runsToCodeCarbonCsv, runsToJson } from '../core/history/codecarbon';
import { HistoryStore } from '../core/history/store';
import { createIntensityProvider, intensityCacheDir, intensityConfigFromEnv, IntensityConfigError } from '../core/intensity/live';
import { greenerRegions, guessRegionFromTimeZone, resolveRegion, UnknownRegionError } from '../core/intensity/regions';
import { chooseRegion, createMeterEnvironment, nvidiaSmiCommand, chooseCpuSource } from '../core/meter/environment';
import { MeterHub, type Reading } from '../core/meter/meter';
import { probeNvidiaSmi } from '../core/power/gpu';
import { probeRapl } from '../core/power/rapl';
import { becomeSubreaper, notAdoptedNote } from '../core/sampling/subreaper';
import type { Run } from '../core/types';
import { VERSION } from '../core/version';

const HELP = `carbon-meter ${VERSION}: energy and CO₂eq of a training run

Usage:
  carbon-meter run [options] -- <command> [args...]   run a command and meter it and its children
  carbon-meter history [--json] [--limit N]           list metered runs, newest first
  carbon-meter export --format codecarbon-csv|json [--out FILE]
  carbon-meter import FILE                             add a CodeCarbon emissions.csv to the history
  carbon-meter regions [--energy-kwh X] [--json]       emissions of that energy in each known region, greenest first
  carbon-meter doctor [--json]                         what this machine allows (RAPL, nvidia-smi, CPU TDP, region)

Run 'carbon-meter <command> --help' for a command's options.

Environment:
  CARBON_METER_HOME        history folder (default: ${HistoryStore.defaultDir()})
  CARBON_METER_REGION      default region (ISO 3166 code such as FR or DEU, or provider:region such as aws:eu-west-3)
  CARBON_METER_PUE         default PUE
  CARBON_METER_NVIDIA_SMI  nvidia-smi executable
  CARBON_METER_PROVIDER    carbon intensity source: static (default), electricitymaps, uk-carbon-intensity, watttime
                           (see 'carbon-meter run --help')
`;

const RUN_HELP = `Usage: carbon-meter run [options] -- <command> [args...]

Runs <command> with its input and output passed through, meters it and every process it starts, prints a live
readout on stderr and a summary at the end, and adds the run to the history. Exits with the command's exit code
(127 when the command is not found).

Options:
  --region CODE      ISO 3166 country (FR, DEU) or provider:region (aws:eu-west-3, gcp:europe-west9, azure:francecentral)
  --pue N            power usage effectiveness of the data centre (default 1.0 locally, the provider's for cloud regions)
  --interval S       sampling interval in seconds (default 1, minimum 0.5)
  --name NAME        name of the run in the history (default: the script's name)
  --tdp W            CPU TDP in watts, instead of RAPL or the CPU table
  --checkpoint S     save the running run every S seconds (default 10, from 1 to 10)
  --no-gpu           do not query nvidia-smi
  --json             print exactly one JSON object (the run record) on stdout at the end; no summary
  --quiet            no live readout
  --provider NAME    carbon intensity source: static (annual averages, default), electricitymaps, uk-carbon-intensity,
                     watttime (default: $CARBON_METER_PROVIDER). Live sources are asked at most once per period
                     (Electricity Maps 1 h, GB 30 min, WattTime 5 min) by all windows and CLIs together; on failure the
                     static average is used and the run record says why.

Live intensity environment:
  CARBON_METER_<PROVIDER>_URL          API root: CARBON_METER_ELECTRICITYMAPS_URL, CARBON_METER_UK_CARBON_INTENSITY_URL,
                                       CARBON_METER_WATTTIME_URL
  CARBON_METER_ELECTRICITYMAPS_TOKEN   Electricity Maps API token (CARBON_METER_ELECTRICITYMAPS_ZONE: zone such as US-CAL-CISO)
  CARBON_METER_UK_POSTCODE             GB outward postcode (RG10) for regional figures; default: national
  CARBON_METER_WATTTIME_USERNAME, CARBON_METER_WATTTIME_PASSWORD, CARBON_METER_WATTTIME_REGION (CAISO_NORTH)
                                       WattTime account and grid region (marginal MOER, not an average)
  CARBON_METER_INTENSITY_TIMEOUT       seconds per request (default 10)
`;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        return await runCommand(rest);
      case 'history':
        return historyCommand(rest);
      case 'export':
        return exportCommand(rest);
      case 'import':
        return importCommand(rest);
      case 'regions':
        return regionsCommand(rest);
      case 'doctor':
        return await doctorCommand(rest);
      case '--version':
      case '-v':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(HELP);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof UnknownRegionError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`carbon-meter: ${(err as Error).message}\nRun 'carbon-meter --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`carbon-meter: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}

function openStore(): HistoryStore {
  const store = new HistoryStore(process.env.CARBON_METER_HOME || HistoryStore.defaultDir());
  try {
    const recovered = store.recoverInterrupted();
    for (const r of recovered) {
      process.stderr.write(`carbon-meter: recovered interrupted run ${r.name} (${r.id}) up to its last checkpoint\n`);
    }
  } catch (err) {
    process.stderr.write(`carbon-meter: could not check for interrupted runs: ${(err as Error).message}\n`);
  }
  return store;
}

function numberOption(value: string | undefined, name: string, min: number, max = Infinity): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min}${max < Infinity ? ` to ${max}` : ''}, not "${value}"`);
  return n;
}

async function runCommand(args: string[]): Promise<number> {
  const dd = args.indexOf('--');
  const own = dd >= 0 ? args.slice(0, dd) : args;
  const command = dd >= 0 ? args.slice(dd + 1) : [];
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: {
      region: { type: 'string' },
      pue: { type: 'string' },
      interval: { type: 'string' },
      name: { type: 'string' },
      tdp: { type: 'string' },
      checkpoint: { type: 'string' },
      'no-gpu': { type: 'boolean' },
      provider: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  if (!command.length) command.push(...positionals);
  else if (positionals.length) throw new UsageError(`unexpected "${positionals[0]}" before --`);
  if (!command.length) throw new UsageError('run needs a command: carbon-meter run -- python train.py');

  const intervalS = numberOption(values.interval, 'interval', 0.5, 3600) ?? 1;
  const pueArg = values.pue ?? process.env.CARBON_METER_PUE;
  const choice = chooseRegion({
    region: values.region ?? process.env.CARBON_METER_REGION,
    regionFrom: values.region ? '--region' : 'CARBON_METER_REGION',
    pue: pueArg !== undefined ? numberOption(pueArg, 'pue', 1, 3) : undefined,
    pueFrom: values.pue ? '--pue' : 'CARBON_METER_PUE',
  });
  const tdp = numberOption(values.tdp, 'tdp', 1, 2000);
  let intensityConfig;
  try {
    intensityConfig = intensityConfigFromEnv(process.env, values.provider);
  } catch (err) {
    throw err instanceof IntensityConfigError ? new UsageError(err.message) : err;
  }
  const store = openStore();
  const intensity = createIntensityProvider(intensityConfig, {
    cacheDir: intensityCacheDir(store.dir),
    // each problem is printed once; the run record keeps the reason in intensity.fallback
    onProblem: (p) => process.stderr.write(`carbon-meter: ${p.message}\n`),
    log: (level, msg) => level === 'error' && process.stderr.write(`carbon-meter: ${msg}\n`),
  });
  const env = await createMeterEnvironment({ cpuTdpW: tdp, gpu: !values['no-gpu'], intervalMs: intervalS * 1000, intensity });
  const checkpointS = numberOption(values.checkpoint, 'checkpoint', 1, 10) ?? 10;
  const hub = new MeterHub(env, store, {
    intervalMs: intervalS * 1000,
    checkpointMs: checkpointS * 1000,
    log: (level, msg) => process.stderr.write(`carbon-meter: ${level}: ${msg}\n`),
  });

  // Signals: SIGTERM/SIGHUP are forwarded. SIGINT too, except from a terminal's Ctrl-C, which already reached the
  // child (it shares our foreground process group) and must not arrive twice. The handlers are in place before the
  // child exists, so a signal at any moment reaches it (one that comes before it starts is passed on at its start).
  let child: ChildProcess | undefined;
  let early: NodeJS.Signals | undefined;
  const outlived = new AbortController(); // a signal while waiting for processes that outlived the command
  const forward = (sig: NodeJS.Signals) => () => {
    if (child && (child.exitCode !== null || child.signalCode !== null)) outlived.abort();
    if (sig === 'SIGINT' && process.stdin.isTTY) return;
    if (child?.pid !== undefined) child.kill(sig);
    else early = sig;
  };
  const handlers: [NodeJS.Signals, () => void][] = (['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]).map((s) => [s, forward(s)]);
  for (const [s, h] of handlers) process.on(s, h);

  const adoption = becomeSubreaper(); // before spawning: orphans of the run stay ours (sampling/subreaper.ts)
  const startedAt = Date.now();
  child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(
        err.code === 'ENOENT'
          ? `carbon-meter: command not found: ${command[0]}\n`
          : `carbon-meter: could not start ${command[0]}: ${err.message}\n`,
      );
      resolve(false);
    });
  });
  if (!spawned || child.pid === undefined) {
    for (const [s, h] of handlers) process.off(s, h);
    hub.dispose();
    return 127;
  }
  if (early) child.kill(early);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const meter = hub.start({
    pid: child.pid,
    command: command.map(shellQuote).join(' '),
    name: values.name,
    cwd: process.cwd(),
    source: 'cli',
    reaperPid: process.pid,
    adopter: adoption.ok ? adoption.adopter : undefined,
    startedAt,
    place: choice,
    notes: adoption.ok ? choice.warnings : [...choice.warnings, notAdoptedNote(adoption.reason)],
  });
  for (const w of choice.warnings) process.stderr.write(`carbon-meter: ${w}\n`);

  const readout = values.json || values.quiet ? undefined : new LiveReadout(process.stderr);
  const sub = hub.onReading((r) => r.runId === meter.run.id && readout?.update(r));

  const { code, signal } = await exited;
  const exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
  const onOutlived = (n: number) => values.json || process.stderr.write(`carbon-meter: ${n} process(es) outlived the command; metering until they exit\n`);
  const run = (await hub.endWhenGone(meter.run.id, exitCode, { signal: outlived.signal, onOutlived })) ?? meter.run;
  sub.dispose();
  readout?.clear();
  for (const [s, h] of handlers) process.off(s, h);
  hub.dispose();

  if (values.json) process.stdout.write(JSON.stringify(run) + '\n');
  else process.stderr.write(summary(run, store.dir));
  return exitCode;
}

function shellQuote(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

class LiveReadout {
  private lastPlain = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}
  update(r: Reading): void {
    const line = `⏱ ${formatDuration(r.elapsedS)} · ${formatPower(r.powerW.total)} · ${formatEnergy(r.run.energyKWh.total)} · ${formatCo2(r.run.emissionsKg)} CO₂eq`;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[K[carbon-meter] ${line}`);
    } else if (r.t - this.lastPlain >= 10_000) {
      this.lastPlain = r.t;
      this.out.write(`[carbon-meter] ${line}\n`);
    }
  }
  clear(): void {
    if (this.out.isTTY) this.out.write('\r\x1b[K');
  }
}

export function summary(run: Run, dir: string): string {
  const e = run.energyKWh;
  const p = run.power;
  const i = run.intensity;
  const status = run.status === 'completed' ? 'completed' : `${run.status}`;
  const km = kmByCar(run.emissionsKg);
  const lines = [
    `Carbon Meter · ${run.name} · ${status} (exit ${run.exitCode ?? '?'}) in ${formatDuration(run.durationS)} · ${sig(run.cpuSeconds)} CPU s`,
    `  Energy     ${formatEnergy(e.total).padEnd(12)} incl. PUE ${run.pue} (${run.pueSource ?? ''})`,
    `    CPU      ${formatEnergy(e.cpu).padEnd(12)} ${p.cpu.method}: ${p.cpu.detail}`,
    `    GPU      ${formatEnergy(e.gpu).padEnd(12)} ${p.gpu.method}: ${p.gpu.unavailableReason ?? p.gpu.detail}`,
    `    RAM      ${formatEnergy(e.ram).padEnd(12)} ${p.ram.method}: ${p.ram.detail}`,
    `  Intensity  ${formatIntensity(i.gPerKWh)} · ${i.region}${i.regionName ? ` (${i.regionName})` : ''} · ${i.source}${i.year ? `, ${i.year}` : ''} · ${i.method}${i.guessed ? ' · region GUESSED' : ''}`,
    `             region ${i.regionReason ?? ''}${i.fallback ? `; fallback: ${i.fallback}` : ''}`,
    `  Emissions  ${formatCo2(run.emissionsKg)} CO₂eq ≈ ${sig(km)} km by car (US EPA GHG equivalencies ${EQUIVALENT_FACTORS.carKm.year}: ${sig(EQUIVALENT_FACTORS.carKm.gPerUnit)} g/km)`,
    ...(run.notes ?? []).map((n) => `  Note       ${n}`),
    `  Saved to   ${dir} (run ${run.id})`,
  ];
  return lines.join('\n') + '\n';
}

function historyCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: carbon-meter history [--json] [--limit N]\n');
    return 0;
  }
  const limit = numberOption(values.limit, 'limit', 1) ?? (values.json ? Infinity : 20);
  const store = openStore();
  const { runs, corrupt } = store.load();
  reportCorrupt(corrupt, store);
  const shown = runs.slice(0, limit);
  if (values.json) {
    process.stdout.write(JSON.stringify(shown) + '\n');
    return 0;
  }
  if (!runs.length) {
    process.stdout.write(`No runs yet in ${store.dir}. Try: carbon-meter run -- python train.py\n`);
    return 0;
  }
  const rows = shown.map((r) => [
    r.startedAt.replace('T', ' ').slice(0, 19),
    r.name.slice(0, 28),
    r.source,
    r.status,
    formatDuration(r.durationS),
    formatEnergy(r.energyKWh.total),
    formatCo2(r.emissionsKg),
    r.intensity.region,
  ]);
  const head = ['started (UTC)', 'name', 'source', 'status', 'duration', 'energy', 'CO₂eq', 'region'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (r: string[]) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd();
  process.stdout.write([fmt(head), ...rows.map(fmt)].join('\n') + '\n');
  if (runs.length > shown.length) process.stdout.write(`(${runs.length - shown.length} older runs; --limit N to show more)\n`);
  return 0;
}

function reportCorrupt(corrupt: { line: number; reason: string }[], store: HistoryStore): void {
  if (!corrupt.length) return;
  process.stderr.write(
    `carbon-meter: skipped ${corrupt.length} unreadable line(s) in ${store.historyPath}: ${corrupt
      .slice(0, 3)
      .map((c) => `line ${c.line} (${c.reason})`)
      .join(', ')}${corrupt.length > 3 ? ', …' : ''}\n`,
  );
}

function exportCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: carbon-meter export --format codecarbon-csv|json [--out FILE]\n');
    return 0;
  }
  const format = values.format ?? 'codecarbon-csv';
  if (format !== 'codecarbon-csv' && format !== 'json') throw new UsageError(`--format must be codecarbon-csv or json, not "${format}"`);
  const store = openStore();
  const { runs, corrupt } = store.load();
  reportCorrupt(corrupt, store);
  const done = runs.filter((r) => r.status !== 'running');
  const text = format === 'json' ? runsToJson(done) : runsToCodeCarbonCsv(done, toAlpha3);
  if (values.out) {
    fs.writeFileSync(values.out, text);
    process.stderr.write(`carbon-meter: wrote ${done.length} run(s) to ${values.out}\n`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}

function toAlpha3(code: string): string | undefined {
  try {
    return resolveRegion(code).countryAlpha3;
  } catch {
    return undefined;
  }
}

function importCommand(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length !== 1) {
    process.stdout.write('Usage: carbon-meter import FILE   (a CodeCarbon emissions.csv, 2.x or 3.x)\n');
    return values.help ? 0 : 2;
  }
  const file = positionals[0];
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    process.stderr.write(`carbon-meter: cannot read ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  const { runs, errors } = parseCodeCarbonCsv(text, { fileName: path.basename(file) });
  for (const e of errors) process.stderr.write(`carbon-meter: ${file}:${e.line}: skipped: ${e.reason}\n`);
  const store = openStore();
  const known = new Set(store.load().runs.map((r) => r.id));
  let added = 0;
  for (const run of runs) {
    if (known.has(run.id)) continue;
    store.append(run);
    added++;
  }
  process.stdout.write(`Imported ${added} run(s) from ${file}${runs.length > added ? ` (${runs.length - added} already in the history)` : ''}.\n`);
  return errors.length && !runs.length ? 1 : 0;
}

function regionsCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { 'energy-kwh': { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: carbon-meter regions [--energy-kwh X] [--json] [--limit N]\n  Emissions of X kWh (default 1) in each known region, greenest first (annual averages).\n');
    return 0;
  }
  const kwh = numberOption(values['energy-kwh'], 'energy-kwh', 0) ?? 1;
  const limit = numberOption(values.limit, 'limit', 1);
  const list = greenerRegions(kwh, { limit });
  if (values.json) {
    process.stdout.write(JSON.stringify(list.map((x) => ({ ...x.region, emissionsKg: x.emissionsKg }))) + '\n');
    return 0;
  }
  process.stdout.write(`${formatEnergy(kwh)} in each region (annual averages, PUE of cloud providers included), greenest first:\n`);
  for (const { region, emissionsKg } of list) {
    process.stdout.write(
      `  ${region.code.padEnd(32)} ${formatCo2(emissionsKg).padStart(10)}  ${sig(region.intensityGPerKWh).padStart(6)} g/kWh${region.pue ? ` × PUE ${region.pue}` : ''}  ${region.name} · ${region.source}${region.year ? ` ${region.year}` : ''}\n`,
    );
  }
  return 0;
}

async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: carbon-meter doctor [--json]\n  What this machine allows: RAPL, nvidia-smi, the CPU model and its TDP, the region guess.\n');
    return 0;
  }
  const nvidia = nvidiaSmiCommand();
  const [hardware, gpu] = await Promise.all([getHardware(), probeNvidiaSmi(nvidia, 3000)]);
  const rapl = probeRapl();
  const cpu = chooseCpuSource(hardware, rapl);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const guess = guessRegionFromTimeZone(tz);
  let region: { code: string; reason: string; error?: string };
  try {
    const c = chooseRegion({ region: process.env.CARBON_METER_REGION, regionFrom: 'CARBON_METER_REGION' });
    region = { code: c.region.code, reason: c.reason };
  } catch (err) {
    region = { code: '?', reason: 'CARBON_METER_REGION is not a known region', error: (err as Error).message };
  }
  const store = new HistoryStore(process.env.CARBON_METER_HOME || HistoryStore.defaultDir());
  const report = {
    version: VERSION,
    platform: `${process.platform} ${os.release()}`,
    hardware,
    cpuPower:
      cpu.kind === 'rapl'
        ? { method: 'measured', detail: `RAPL ${cpu.domains.join(', ')}` }
        : { method: cpu.tdp.method, tdpW: cpu.tdp.tdpW, detail: cpu.tdp.detail, source: cpu.tdp.source },
    rapl: { readable: rapl.readable, domains: rapl.domains.map((d) => d.name), reason: rapl.reason, fix: rapl.fix },
    gpu: { command: nvidia, available: gpu.available, devices: gpu.devices, reason: gpu.reason, driverVersion: gpu.driverVersion },
    region: { ...region, timeZone: tz, timeZoneGuess: guess?.code ?? null },
    history: store.dir,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const ok = (b: boolean) => (b ? '✓' : '✗');
  const out = [
    `Carbon Meter ${VERSION} on ${report.platform}`,
    `  CPU       ${hardware.cpuModel}, ${hardware.logicalCpus} logical CPUs, ${sig(hardware.ramGB)} GB RAM`,
    `  ${ok(rapl.readable)} RAPL    ${rapl.readable ? `readable: ${rapl.domains.map((d) => d.name).join(', ')}` : rapl.reason ?? 'not readable'}`,
    ...(rapl.fix ? [`            fix: ${rapl.fix}`] : []),
    `  CPU power ${report.cpuPower.method}: ${report.cpuPower.detail}`,
    `  ${ok(gpu.available)} GPU     ${gpu.available ? gpu.devices.map((d) => `#${d.index} ${d.name}`).join(', ') : gpu.reason ?? 'no NVIDIA GPU'}`,
    `  Region    ${region.code}: ${region.reason}${region.error ? `\n            ${region.error}` : ''}`,
    `  Time zone ${tz}${guess ? ` → ${guess.code}` : ' (no country)'}`,
    `  History   ${store.dir}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // exit explicitly: nothing we started (timers, nvidia-smi) may keep a finished run waiting
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`carbon-meter: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
