/** `carbon-meter run`: runs a command, meters it and its children, records the run. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { kmByCar, EQUIVALENT_FACTORS } from '../core/equivalents';
import { formatCo2, formatDuration, formatEnergy, formatIntensity, formatPower, sig } from '../core/format';
import { createIntensityProvider, intensityCacheDir, intensityConfigFromEnv, IntensityConfigError } from '../core/intensity/live';
import { chooseRegion, createMeterEnvironment } from '../core/meter/environment';
import { MeterHub, type Reading } from '../core/meter/meter';
import type { Run } from '../core/types';
import { numberOption, openStore, UsageError } from './common';

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

export async function runCommand(args: string[]): Promise<number> {
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
  const forward = (sig: NodeJS.Signals) => () => {
    if (sig === 'SIGINT' && process.stdin.isTTY) return;
    if (child?.pid !== undefined) child.kill(sig);
    else early = sig;
  };
  const handlers: [NodeJS.Signals, () => void][] = (['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]).map((s) => [s, forward(s)]);
  for (const [s, h] of handlers) process.on(s, h);

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
    startedAt,
    place: choice,
    notes: choice.warnings,
  });
  for (const w of choice.warnings) process.stderr.write(`carbon-meter: ${w}\n`);

  const readout = values.json || values.quiet ? undefined : new LiveReadout(process.stderr);
  const sub = hub.onReading((r) => r.runId === meter.run.id && readout?.update(r));

  const { code, signal } = await exited;
  const exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
  const run = (await hub.stop(meter.run.id, { exitCode })) ?? meter.run;
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

