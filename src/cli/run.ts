/** `carbon-meter run`: runs a command, meters it and its children, records the run. */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kmByCar, EQUIVALENT_FACTORS } from '../core/equivalents';
import {
  escapeControl,
  formatCo2,
  formatDistance,
  formatDuration,
  formatEnergy,
  formatIntensity,
  formatPower,
  sig,
  terminalSafeJson,
} from '../core/format';
import type { HistoryStore } from '../core/history/store';
import { redactSecrets } from '../core/history/redact';
import {
  createIntensityProvider,
  intensityCacheDir,
  intensityConfigFromEnv,
  IntensityConfigError,
} from '../core/intensity/live';
import { chooseRegion, createMeterEnvironment, type RegionChoice } from '../core/meter/environment';
import { MeterHub } from '../core/meter/hub';
import type { Reading } from '../core/meter/meter';
import type { Run } from '../core/types';
import { fastTimeZone, numberOption, openStore, UsageError, warn } from './common';
import { guessRegionFromTimeZone } from '../core/intensity/regions';
import { DEFAULT_INTERVAL_S, parseRunArgs, RUN_HELP, type RunArgs } from './runArgs';
import { SignalRelay } from './signals';
import { becomeSubreaper, notAdoptedNote, recordOwnChildren } from '../core/sampling/subreaper';
import { shQuote, spawnWithOutput, type ChildIo, type LineEnd } from './childIo';
import { monthBudget, RunWatch, spentBudgetRefusal } from './runWatch';
import { startPausing, waitForGreenerStart } from './schedule';
import type { RunSchedule } from '../core/schedule/types';
import type { IntensityProvider } from '../core/intensity/provider';
import { errorMessage } from '../core/errors';
import { writeUserFile } from '../core/util/fs';
import { runOutcome } from '../core/view/labels';

export async function runCommand(args: string[]): Promise<number> {
  const opts = parseRunArgs(args);
  if (opts.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const choice = placeOf(opts);
  // before any GPU tool is spawned (createHub probes them): what each adds to our cutime is not the run's
  recordOwnChildren();
  const store = openStore(!opts.keepSecrets);
  // a run that its budget would stop at once is not started (nor waited for)
  let month = monthBudget(opts, store, Date.now());
  if (refusedOnBudget(opts, month)) return 1;
  // what the intensity provider found wrong is said once, also when the greener-start plan has said it already
  const said = new Set<string>();
  const { hub, intensity, intervalS } = await createHub(opts, store, said);
  let relay: SignalRelay | undefined;
  try {
    let schedule: RunSchedule | undefined;
    if (opts.startWithinH !== undefined) {
      // before the signal relay: Ctrl-C while waiting starts nothing (the wait handles its own signals)
      const command = opts.command.map(shQuote).join(' ');
      const w = await waitForGreenerStart({
        withinH: opts.startWithinH,
        provider: intensity,
        region: choice.region,
        command,
        history: store.load().runs,
        out: process.stderr,
      });
      if (!w.go) return 130;
      schedule = w.schedule;
      if (schedule.startedNowReason) said.add(schedule.startedNowReason);
      // the month's runs may have used the budget up during the wait
      if (w.schedule.wait) {
        month = monthBudget(opts, store, Date.now());
        if (refusedOnBudget(opts, month)) return 1;
      }
    }
    relay = new SignalRelay({ killAfterS: opts.killAfterS, say: warn });
    return await meterCommand(opts, { choice, hub, relay, store, intensity, schedule, month, intervalS });
  } finally {
    relay?.dispose();
    hub.dispose();
  }
}

/** The run's region and PUE: the flags, else the environment (named in a mistake), else the time zone's guess. */
function placeOf(opts: RunArgs): RegionChoice {
  const pueArg = opts.pue ?? process.env.CARBON_METER_PUE;
  const fromEnv = opts.region === undefined;
  try {
    return chooseRegion({
      region: opts.region ?? process.env.CARBON_METER_REGION,
      regionFrom: fromEnv ? 'CARBON_METER_REGION' : '--region',
      pue: pueArg !== undefined ? numberOption(pueArg, opts.pue ? 'pue' : 'CARBON_METER_PUE', 1, 3) : undefined,
      pueFrom: opts.pue ? '--pue' : 'CARBON_METER_PUE',
      timeZone: fastTimeZone((zone) => guessRegionFromTimeZone(zone) !== undefined),
    });
  } catch (err) {
    // "Unknown region "nowhere"" must say where "nowhere" came from when it was not typed on this command line
    if (fromEnv && err instanceof Error && err.name === 'UnknownRegionError')
      err.message = `CARBON_METER_REGION: ${err.message.replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase())}`;
    throw err;
  }
}

async function createHub(
  opts: RunArgs,
  store: HistoryStore,
  said: Set<string>,
): Promise<{ hub: MeterHub; intensity: IntensityProvider; intervalS: number }> {
  let intensityConfig;
  try {
    intensityConfig = intensityConfigFromEnv(process.env, opts.provider);
  } catch (err) {
    throw err instanceof IntensityConfigError ? new UsageError(err.message) : err;
  }
  const intensity = createIntensityProvider(intensityConfig, {
    cacheDir: intensityCacheDir(store.dir),
    // each problem is printed once; the run record keeps the reason in intensity.fallback
    onProblem: (p) => {
      if (said.has(p.message)) return;
      said.add(p.message);
      warn(p.message);
    },
    log: (level, msg) => level === 'error' && warn(msg),
  });
  // --interval, else 2 s with a GPU and 10 s without (runArgs.ts, DEFAULT_INTERVAL_S)
  const env = await createMeterEnvironment({
    cpuTdpW: opts.tdpW,
    gpu: opts.gpu,
    intervalMs: (opts.intervalS ?? DEFAULT_INTERVAL_S.gpu) * 1000,
    intervalMsWithoutGpu: (opts.intervalS ?? DEFAULT_INTERVAL_S.withoutGpu) * 1000,
    intensity,
  });
  const hub = new MeterHub(env, store, {
    intervalMs: env.intervalMs,
    checkpointMs: opts.checkpointS * 1000,
    log: (_level, msg) => warn(msg),
  });
  return { hub, intensity, intervalS: env.intervalMs / 1000 };
}

interface MeterContext {
  choice: RegionChoice;
  hub: MeterHub;
  relay: SignalRelay;
  store: HistoryStore;
  intensity: IntensityProvider;
  schedule?: RunSchedule;
  /** the monthly budget and what the month's runs used, read before the start */
  month: ReturnType<typeof monthBudget>;
  /** the sampling interval in force, s (--interval, else the default for this machine) */
  intervalS: number;
}

async function meterCommand(opts: RunArgs, ctx: MeterContext): Promise<number> {
  const { hub, relay } = ctx;
  const { command } = opts;
  const startedAt = Date.now();
  // the command's output passes through (read for its progress) without changing whether it sees a terminal;
  // `watch` exists once the child does, but the output callback given to the spawn reads it: not a const
  // eslint-disable-next-line prefer-const
  let watch: RunWatch | undefined;
  const adoption = becomeSubreaper(); // before spawning: orphans of the run stay ours (sampling/subreaper.ts)
  // the live readout exists once the run does; the command's output clears its line before it is written through
  const readout = opts.json || opts.quiet ? undefined : new LiveReadout(process.stderr);
  const io = spawnWithOutput(command, {
    onOutput: (stream, text) => {
      watch?.output(stream, text);
      readout?.afterOutput();
    },
    beforeOutput: () => readout?.hide(),
  });
  // the command's stdout shares the readout's terminal only when ours is one (through util-linux script)
  readout?.follow(process.stdout.isTTY ? io.stdoutAtLineStart : undefined, io.stderrFile);
  const child = io.child;
  if (adoption.ok && child.pid !== undefined) adoption.adopter.markCommand?.(child.pid);
  watch = new RunWatch({
    budgetG: opts.budgetG,
    ...ctx.month,
    onBudget: opts.onBudget,
    stopGraceS: opts.stopGraceS,
    out: ownLines(io),
    progressUnavailable: io.progressUnavailable,
    intervalS: ctx.intervalS,
    // an early reading that fails is one reading less: the scheduled ones go on (and log their failures)
    sampleNow: () => void hub.sampleNow().catch(() => undefined),
  });
  const failure = await started(child, command[0]);
  if (failure !== undefined || child.pid === undefined) return failure ?? 127;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  relay.attach(child, escapeControl(path.basename(command[0])), io.wrapperPid);
  const meter = startMeter(opts, ctx, { pid: child.pid, startedAt, adoption });
  const live = followRun(opts, ctx, { run: meter.run, pid: child.pid, wrapperPid: io.wrapperPid, watch, readout });

  const { code, signal } = await exited;
  watch.exit();
  // what outlives the command is seen now, not after the output has drained (short orphans could be gone by then)
  await hub.sampleNow(meter.run.id);
  // the output a grandchild keeps open must not hold the run: its streams get a moment to end, then are let go
  await Promise.race([io.drained, new Promise((r) => setTimeout(r, 2000).unref())]);
  watch.finish(meter.run);
  const schedule = live.pausing
    ? { ...ctx.schedule, pause: live.pausing.finish(meter.run.energyKWh.total) }
    : ctx.schedule;
  if (schedule) meter.run.schedule = schedule;
  const exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
  // a reader that went away (`| head`) ended the command as it would have without the meter (SIGPIPE, or EPIPE and
  // an error exit): stopped from outside, not failed on its own
  const gone = io.readerGone();
  if (gone && exitCode !== 0)
    (meter.run.notes ??= []).push(
      `the reader of its ${gone} went away (a pipe into head, …), and the command ended on the closed pipe (exit ${exitCode})`,
    );
  // stopped on purpose: on its budget, or with SIGKILL after the user's signals (the relay's note says why)
  const stopped = watch.stoppedOnBudget || relay.note !== undefined || (gone !== undefined && exitCode !== 0);
  const run = await closeRun(opts, ctx, meter.run, exitCode, stopped ? 'stopped' : undefined);
  live.dispose();
  return report(opts, ctx, run, exitCode, io);
}

/**
 * Our stderr for lines said while the command runs (budget and forecast warnings): a line that the command left
 * unfinished in the same file is ended first, so that the warning is a line of its own, never glued to a progress
 * bar.
 */
function ownLines(io: ChildIo): { write(text: string): unknown } {
  return {
    write: (text: string) => {
      const file = io.stderrFile;
      process.stderr.write(`${file?.atLineStart() === false ? '\n' : ''}${text}`);
      if (text.endsWith('\n')) file?.lineWritten();
    },
  };
}

/** Whether the run's monthly budget is used up with --on-budget stop: then says so in one line, and nothing starts. */
function refusedOnBudget(opts: RunArgs, month: ReturnType<typeof monthBudget>): boolean {
  const why = spentBudgetRefusal(opts, month);
  if (why) warn(why);
  return why !== undefined;
}

/** The run in the hub, its exit code awaited from the child's exit event (the hub waits for it before closing). */
function startMeter(
  opts: RunArgs,
  ctx: MeterContext,
  c: { pid: number; startedAt: number; adoption: ReturnType<typeof becomeSubreaper> },
) {
  const { choice, hub, store } = ctx;
  const commandLine = opts.command.map(shQuote).join(' ');
  const meter = hub.start({
    pid: c.pid,
    command: store.redactSecrets ? redactSecrets(commandLine) : commandLine,
    name: opts.name,
    cwd: process.cwd(),
    source: 'cli',
    reaperPid: process.pid,
    adopter: c.adoption.ok ? c.adoption.adopter : undefined,
    startedAt: c.startedAt,
    place: choice,
    notes: c.adoption.ok ? choice.warnings : [...choice.warnings, notAdoptedNote(c.adoption.reason)],
  });
  hub.awaitExit(meter.run.id);
  for (const w of choice.warnings) warn(w);
  return meter;
}

/** While the command runs: the live readout, the forecast and budget, pausing on a dirty grid. */
function followRun(
  opts: RunArgs,
  ctx: MeterContext,
  r: { run: Run; pid: number; wrapperPid?: number; watch: RunWatch; readout?: LiveReadout },
) {
  const { readout } = r;
  r.watch.attach(r.pid, r.wrapperPid);
  const pausing =
    opts.pauseAbove !== undefined
      ? startPausing({
          thresholdGPerKWh: opts.pauseAbove,
          maxDelayS: opts.maxDelayS,
          provider: ctx.intensity,
          region: ctx.choice.region,
          rootPid: r.pid,
          wrapperPid: r.wrapperPid,
          out: process.stderr,
        })
      : undefined;
  const sub = ctx.hub.onReading((reading) => {
    if (reading.runId !== r.run.id) return;
    r.watch.reading(reading);
    readout?.update(reading, r.watch.readoutSuffix());
  });
  return {
    pausing,
    dispose: () => {
      sub.dispose();
      readout?.close();
    },
  };
}

/**
 * The run's end: processes that outlived the command (setsid, nohup, daemonised workers) are metered until the last
 * one exits; a signal now stops waiting for them.
 */
async function closeRun(
  opts: RunArgs,
  ctx: MeterContext,
  run: Run,
  exitCode: number,
  status: Run['status'] | undefined,
): Promise<Run> {
  const outlived = new AbortController();
  ctx.relay.onAfterExit = () => outlived.abort();
  const onOutlived = (n: number) =>
    opts.json || n === 0 || warn(`${n} process(es) outlived the command; metering until they exit`);
  const note = ctx.relay.note;
  return (await ctx.hub.endWhenGone(run.id, exitCode, { signal: outlived.signal, onOutlived, note, status })) ?? run;
}

/** The record (--json, --json-out) or the summary; the exit code, 1 when a record a script waits for is missing. */
function report(opts: RunArgs, ctx: MeterContext, run: Run, exitCode: number, io: ChildIo): number {
  const saveError = ctx.hub.saveError(run.id);
  const recorded = opts.jsonOut === undefined || writeRecord(opts.jsonOut, run, !saveError);
  // the command may have left its last line unfinished (a progress bar, a print without newline): the record and
  // the summary start a line of their own, so the record is always the whole last line (a newline first unless the
  // command's output is known to end one: its stdout left to it is not read) and no summary line is split
  const newLine = (atLineStart = false) => (atLineStart ? '' : '\n');
  if (opts.json) process.stdout.write(`${newLine(io.stdoutAtLineStart?.())}${terminalSafeJson(JSON.stringify(run))}\n`);
  else process.stderr.write(newLine(io.stderrFile?.atLineStart() ?? true) + summary(run, ctx.store.dir, saveError));
  if (opts.json && saveError) warn(`the run was NOT saved: ${saveError}`);
  // a record that a script waits for and did not get is a failure, even when the command succeeded
  return recorded ? exitCode : exitCode || 1;
}

/** Waits for the command to start; on failure says why in one line and gives the shell's exit code. */
async function started(child: ChildProcess, program: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (err: NodeJS.ErrnoException) => {
      // the shell's convention: 127 not found, 126 found but not runnable (a folder, no execute permission)
      if (err.code === 'ENOENT') {
        warn(`command not found: ${program}`);
        resolve(127);
        return;
      }
      let why = err.code === 'EACCES' ? 'permission denied' : err.message;
      try {
        if (fs.statSync(program).isDirectory()) why = 'it is a folder';
      } catch {
        // not a path: keep the system's reason
      }
      warn(`cannot run ${program}: ${why}`);
      resolve(126);
    });
  });
}

/** The record as JSON in `file` (whole, or written through a FIFO or device); false (and a message) when it fails. */
function writeRecord(file: string, run: Run, saved: boolean): boolean {
  try {
    // the record holds the command line and its folder: readable by the user only, like the history and exports
    writeUserFile(file, JSON.stringify(run) + '\n', { mode: 0o600 });
    return true;
  } catch (err) {
    const where = saved ? 'the run is in the history' : 'nor was it saved in the history';
    warn(`cannot write the run record to ${file} (${where}): ${errorMessage(err)}`);
    return false;
  }
}

/**
 * The live line on stderr. On a terminal it is redrawn in place, and it stays off the command's lines: it is
 * cleared before the command's output is written through, and not drawn while the command has left a line
 * unfinished (its own progress bar) where that output is read. Elsewhere (a log file, a pipe) a plain line is
 * written every 10 s, only where the command's output into the same file is at a line break: a reading that finds
 * the command in the middle of a line is not written, and the next one tries again.
 */
class LiveReadout {
  private lastPlain?: number;
  private shown = false;
  private closed = false;
  private commandAtLineStart?: () => boolean;
  private file?: LineEnd;
  /** the latest reading and its forecast text, drawn again after the command's output has cleared the line */
  private last?: { r: Reading; suffix: string };
  private redraw?: NodeJS.Timeout;
  constructor(private readonly out: NodeJS.WriteStream) {}
  /** Whether the readout is one line redrawn in place on a terminal (else plain lines, at most every 10 s). */
  get onTerminal(): boolean {
    return this.out.isTTY === true;
  }
  /**
   * Follows where the command left the terminal's cursor (its stdout, when that shares our terminal), and the
   * command's output into our stderr's file otherwise (undefined: not read).
   */
  follow(terminal: (() => boolean) | undefined, file: LineEnd | undefined): void {
    this.commandAtLineStart = terminal;
    this.file = file;
  }
  update(r: Reading, suffix = ''): void {
    if (this.closed) return;
    this.last = { r, suffix };
    if (this.onTerminal) this.draw(r.elapsedS);
    else if (this.lastPlain === undefined || r.t - this.lastPlain >= 10_000) {
      if (this.file && !this.file.atLineBreak()) return;
      this.lastPlain = r.t;
      this.out.write(`[carbon-meter] ${this.line(r.elapsedS)}\n`);
      this.file?.lineWritten();
    }
  }
  /**
   * After a chunk of the command's output (which cleared the line): on a terminal, the readout is drawn again a
   * moment later, once the command has ended its line, with the elapsed time brought up to date. Readings come
   * every 10 s without a GPU: without this, a command that prints lines would leave the readout on screen for
   * moments. One timer at a time, and only while output comes.
   */
  afterOutput(): void {
    if (!this.onTerminal || this.closed || !this.last || this.redraw) return;
    this.redraw = setTimeout(() => {
      this.redraw = undefined;
      const last = this.last;
      if (this.closed || this.shown || !last) return;
      this.draw(last.r.elapsedS + Math.max(0, Date.now() - last.r.t) / 1000);
    }, REDRAW_AFTER_OUTPUT_MS);
    this.redraw.unref();
  }
  private line(elapsedS: number): string {
    const { r, suffix } = this.last!;
    return `⏱ ${formatDuration(elapsedS)} · ${formatPower(r.powerW.total)} · ${formatEnergy(r.run.energyKWh.total)} · ${formatCo2(r.run.emissionsKg)} CO₂eq${suffix}`;
  }
  private draw(elapsedS: number): void {
    if (this.commandAtLineStart && !this.commandAtLineStart()) return;
    this.out.write(`\r\x1b[K[carbon-meter] ${this.line(elapsedS)}`);
    this.shown = true;
  }
  /** Clears the line (on a terminal, when drawn): the command's output or the summary starts at its start. */
  hide(): void {
    if (!this.shown) return;
    this.shown = false;
    this.out.write('\r\x1b[K');
  }
  /** The run is over: the line is cleared for the summary, and nothing is drawn again. */
  close(): void {
    this.closed = true;
    if (this.redraw) clearTimeout(this.redraw);
    this.redraw = undefined;
    this.hide();
  }
}

/** How long after a chunk of the command's output the terminal readout is drawn again. */
const REDRAW_AFTER_OUTPUT_MS = 300;

/**
 * For a run that ended before the progress it printed did (interrupted, stopped, failed): how far it got, and what
 * the whole run had been forecast to emit at its end.
 */
function progressLine(run: Run): string[] {
  const last = run.forecasts?.at(-1);
  // a run that completed did end (its last progress may read k−1 of N, after a header printed as epoch k began)
  if (!last || last.progress >= 1 || (run.status === 'completed' && run.exitCode === 0)) return [];
  const pct = last.progress * 100;
  return [
    `  Progress   it ended at about ${pct < 1 ? 'under 1' : Math.floor(pct)} % of the progress it printed; the whole run was forecast at ≈ ${formatCo2(last.predictedKg)} CO₂eq (${formatEnergy(last.predictedKWh)})`,
  ];
}

/** The summary printed after a run; every line is escaped (names, reasons and paths come from outside). */
export function summary(run: Run, dir: string, saveError?: string): string {
  const e = run.energyKWh;
  const p = run.power;
  const i = run.intensity;
  const km = kmByCar(run.emissionsKg);
  const lines = [
    `Carbon Meter · ${run.name} · ${runOutcome(run.status, run.exitCode)} (exit ${run.exitCode ?? '?'}) in ${formatDuration(run.durationS)} · ${sig(run.cpuSeconds)} CPU s`,
    `  Energy     ${formatEnergy(e.total).padEnd(12)} incl. PUE ${run.pue} (${run.pueSource ?? ''})${run.pue !== 1 ? '; the parts below are before PUE' : ''}`,
    `    CPU      ${formatEnergy(e.cpu).padEnd(12)} ${p.cpu.method}: ${p.cpu.detail}`,
    `    GPU      ${formatEnergy(e.gpu).padEnd(12)} ${p.gpu.method}: ${p.gpu.unavailableReason ?? p.gpu.detail}`,
    `    RAM      ${formatEnergy(e.ram).padEnd(12)} ${p.ram.method}: ${p.ram.detail}`,
    `  Intensity  ${formatIntensity(i.gPerKWh)} · ${i.region}${i.regionName ? ` (${i.regionName})` : ''} · ${i.source}${i.year ? `, ${i.year}` : ''} · ${i.method}`,
    `             region ${i.regionReason ?? (i.guessed ? 'guessed' : 'of unknown origin')}${i.fallback ? `; fallback: ${i.fallback}` : ''}`,
    `  Emissions  ${formatCo2(run.emissionsKg)} CO₂eq ≈ ${formatDistance(km)} by car (US EPA GHG equivalencies ${EQUIVALENT_FACTORS.carKm.year}: ${sig(EQUIVALENT_FACTORS.carKm.gPerUnit)} g/km)`,
    ...progressLine(run),
    ...(run.notes ?? []).map((n) => `  Note       ${n}`),
    saveError ? `  NOT saved  ${saveError}` : `  Saved to   ${dir} (run ${run.id})`,
  ];
  return lines.map(escapeControl).join('\n') + '\n';
}
