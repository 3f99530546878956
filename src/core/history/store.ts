/**
 * The run history: one store shared by every CLI and every VS Code window on the machine, at once.
 *
 *   <dir>/history.jsonl          append-only; one JSON record per line (see records.ts). Every line goes out whole
 *                                in one write(2) (with other whole lines, up to 64 KiB) on a descriptor opened with
 *                                O_APPEND, so concurrent appenders never interleave; a writer killed mid-line leaves
 *                                a torn line, which readers skip and report, and the next append starts on a fresh
 *                                line.
 *   <dir>/running/<id>.json      the checkpoint of a running run: { v, run, owner }, rewritten atomically
 *                                (write <id>.json.tmp-<pid>-<rand>, then rename) at least every 10 s.
 *   <dir>/samples/<id>.jsonl     the run's power samples; appended at each checkpoint, rewritten atomically and
 *                                decimated to at most `maxSamples` points when the run ends (and along the way
 *                                for long runs, so the file stays small).
 *
 * A run whose meter died leaves its checkpoint behind; `recoverInterrupted()` appends it once (recovery.ts).
 * The parts: append.ts (whole-line appends), historyIndex.ts (reading history.jsonl incrementally), samples.ts,
 * recovery.ts, watch.ts, files.ts (atomic rewrites, the checkpoint file); this class ties them to one folder.
 *
 * No locks anywhere: O_APPEND and rename(2) are the only synchronisation, which also holds on Windows (NTFS appends
 * with FILE_APPEND_DATA, and MoveFileEx replaces atomically; renames that collide with a reader are retried).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run, Sample } from '../types';
import { Emitter, type Disposable } from '../util/events';
import { OwnWrites, watchHistory, type ExternalChange, type HistoryAppend } from './changes';
import { DEFAULT_MAX_SAMPLES } from './decimate';
import { ownerNow, ownerState, type CheckpointOwner, type OwnerState } from './owner';
import {
  HISTORY_FORMAT_VERSION,
  deleteLine,
  isSafeRunId,
  runLine,
  runProblem,
  type CheckpointFile,
  type CorruptEntry,
} from './records';
import { LineBuffer, appendLineBuffer, appendWholeLines, type AppendBatch, type AppendBatchOptions } from './append';
import { interruptedView, isNoEnt, readCheckpointFile, rmQuiet, writeAtomic } from './files';
import {
  emptyIndex,
  insertSorted,
  readHistoryFrom,
  refreshIndex,
  sortedRuns,
  type HistoryChunk,
  type Index,
} from './historyIndex';
import { redactRun } from './redact';
import { inDir, makeDirs } from '../util/fs';
import { recoverInterrupted } from './recovery';
import { SampleFiles } from './samples';

export { INTERRUPTED_NOTE } from './files';
export { newRunId } from './runId';
export type { HistoryChunk } from './historyIndex';
export type { AppendBatch, AppendBatchOptions } from './append';
export { DEFAULT_MAX_SAMPLES } from './decimate';

/** A checkpoint from another host (or pid namespace) is only recovered once its heartbeat is this old. */
export const DEFAULT_STALE_CHECKPOINT_MS = 24 * 3600 * 1000;

export interface HistoryStoreOptions {
  /** Points kept per run in its sample file (default 2000). */
  maxSamples?: number;
  /** See DEFAULT_STALE_CHECKPOINT_MS. */
  staleCheckpointMs?: number;
  /** fsync appends and checkpoints, so a power cut loses at most the write in flight (default true). */
  durable?: boolean;
  /** Replace well-known secrets in command lines with `***`, when writing and when reading (default true). */
  redactSecrets?: boolean;
}

export interface HistoryLoad {
  /** Every run, newest first: the latest record per id, deletes applied, running runs from their checkpoints. */
  runs: Run[];
  /** Lines and files that could not be read; everything else was kept. */
  corrupt: CorruptEntry[];
}

interface LiveCheckpoint {
  file: string;
  cp: CheckpointFile;
  state: OwnerState;
}

export class HistoryStore {
  readonly dir: string;
  readonly historyPath: string;
  readonly runningDir: string;
  readonly samplesDir: string;
  readonly maxSamples: number;
  private readonly staleMs: number;
  private readonly durable: boolean;
  private redact: boolean;
  private idx: Index = emptyIndex();
  /** samples/<id>.jsonl of every run */
  private readonly sampleFiles: SampleFiles;
  /** this store's own writes, which its watcher skips (changes.ts) */
  private readonly own = new OwnWrites();
  private readonly _onAppended = new Emitter<HistoryAppend>();
  /** Records this store appended (at once, with the records as stored); its watcher reports only other writers. */
  readonly onAppended = this._onAppended.event;

  constructor(dir: string, opts: HistoryStoreOptions = {}) {
    this.dir = path.resolve(dir);
    this.historyPath = path.join(this.dir, 'history.jsonl');
    this.runningDir = path.join(this.dir, 'running');
    this.samplesDir = path.join(this.dir, 'samples');
    this.maxSamples = Math.max(2, Math.floor(opts.maxSamples ?? DEFAULT_MAX_SAMPLES));
    this.sampleFiles = new SampleFiles(this.samplesDir, this.maxSamples, opts.durable ?? true);
    this.staleMs = opts.staleCheckpointMs ?? DEFAULT_STALE_CHECKPOINT_MS;
    this.durable = opts.durable ?? true;
    this.redact = opts.redactSecrets ?? true;
  }

  /** Whether command lines are redacted (see redact.ts). Changing it re-reads the history on the next load. */
  get redactSecrets(): boolean {
    return this.redact;
  }

  set redactSecrets(on: boolean) {
    if (on === this.redact) return;
    this.redact = on;
    this.idx = emptyIndex();
  }

  /** A run as stored and shown: its secrets redacted when redaction is on. */
  private view<T extends Run>(run: T): T {
    return this.redact ? redactRun(run) : run;
  }

  /**
   * `$CARBON_METER_HOME`, else the platform's per-user data folder: `$XDG_DATA_HOME/carbon-meter` or
   * `~/.local/share/carbon-meter` (Linux and other Unixes), `~/Library/Application Support/carbon-meter` (macOS),
   * `%LOCALAPPDATA%\carbon-meter` (Windows).
   */
  static defaultDir(
    env: NodeJS.ProcessEnv = process.env,
    platform: NodeJS.Platform = process.platform,
    home: string = os.homedir(),
  ): string {
    const p = platform === 'win32' ? path.win32 : path.posix;
    const explicit = env.CARBON_METER_HOME?.trim();
    if (explicit) return p.isAbsolute(explicit) ? p.normalize(explicit) : path.resolve(explicit);
    if (platform === 'win32') {
      const local = env.LOCALAPPDATA?.trim();
      return p.join(local && p.isAbsolute(local) ? local : p.join(home, 'AppData', 'Local'), 'carbon-meter');
    }
    if (platform === 'darwin') return p.join(home, 'Library', 'Application Support', 'carbon-meter');
    const xdg = env.XDG_DATA_HOME?.trim();
    // the XDG spec says relative values are invalid and must be ignored
    return p.join(xdg && p.isAbsolute(xdg) ? xdg : p.join(home, '.local', 'share'), 'carbon-meter');
  }

  // ---------------------------------------------------------------------------------------------------------------
  // writing

  /** Appends a final or imported run record. The latest record of an id wins. */
  append(run: Run): void {
    this.appendMany([run]);
  }

  /** Appends several records: every record is checked first, then whole lines in writes of up to 64 KiB, one fsync. */
  appendMany(runs: Run[]): void {
    const batch = this.batch();
    for (const run of runs) batch.add(run);
    batch.commit();
    if (runs.length) this._onAppended.fire({ runs: runs.map((r) => this.view(r)), deletedIds: [] });
  }

  /**
   * A batch of appends for an import: `add` checks (unless the caller already did, `checked`), redacts and encodes
   * each record at once, so only its line is held until `commit` appends them all (whole lines in writes of up to
   * 64 KiB, one fsync). `encode` is a faster equivalent of `runLine` for records of a known shape.
   */
  batch(opts: AppendBatchOptions = {}): AppendBatch {
    const at = new Date().toISOString();
    const encode = opts.encode ?? runLine;
    const encodeBytes = opts.encodeBytes;
    const lines = new LineBuffer();
    return {
      add: (run) => {
        const problem = opts.checked ? undefined : runProblem(run);
        if (problem) throw new Error(`cannot store run ${JSON.stringify((run as Partial<Run>)?.id)}: ${problem}`);
        if (encodeBytes) lines.addBytes(encodeBytes(this.view(run), at));
        else lines.add(encode(this.view(run), at));
      },
      get size() {
        return lines.lines;
      },
      get bytes() {
        return lines.bytes;
      },
      commit: () => {
        try {
          if (lines.lines) {
            makeDirs(this.dir, 0o700);
            appendLineBuffer(this.historyPath, lines, this.durable, this.ownAppend);
          }
        } finally {
          lines.clear();
        }
      },
    };
  }

  /**
   * Records a running run: rewrites its checkpoint atomically (with this process as owner and a heartbeat) and
   * appends the new samples to its sample file. The meter calls it at least every 10 s. The checkpoint is written
   * even when the samples cannot be (a broken samples folder loses the chart, never the run); such a problem is
   * returned, once per run and reason. Throws when the checkpoint itself cannot be written.
   */
  checkpoint(run: Run, newSamples: Sample[] = []): string[] {
    const problem = runProblem(run);
    if (problem) throw new Error(`cannot checkpoint run ${JSON.stringify(run?.id)}: ${problem}`);
    const warnings: string[] = [];
    if (newSamples.length)
      this.sampleFiles.tryWrite(run.id, warnings, () => this.sampleFiles.append(run.id, newSamples));
    const body: CheckpointFile = { v: HISTORY_FORMAT_VERSION, run: this.view(run), owner: ownerNow() };
    const text = JSON.stringify(body) + '\n';
    inDir(this.runningDir, 0o700, () => writeAtomic(this.checkpointPath(run.id), text, this.durable));
    this.ownCheckpoint(run.id);
    return warnings;
  }

  /**
   * Records the end of a run: decimates its sample file to `maxSamples` points (setting `run.sampleCount`),
   * appends the final record, then removes the checkpoint. A crash between the two steps is harmless: recovery
   * sees the final record and only removes the checkpoint. The record is written even when the samples cannot be
   * (the run then says so in its notes); such a problem is returned. Throws when the record cannot be written.
   */
  finish(run: Run): string[] {
    const problem = runProblem(run);
    if (problem) throw new Error(`cannot store run ${JSON.stringify(run?.id)}: ${problem}`);
    const warnings: string[] = [];
    const failed = this.sampleFiles.problem(run.id);
    this.sampleFiles.tryWrite(run.id, warnings, () => {
      run.sampleCount = this.sampleFiles.compact(run.id, true);
    });
    const lost = warnings[0] ?? failed;
    if (lost) (run.notes ??= []).push(`power samples not saved (${lost}); the totals are complete`);
    this.appendLines([runLine(this.view(run))]);
    this.sampleFiles.forget(run.id);
    rmQuiet(this.checkpointPath(run.id));
    this.ownCheckpoint(run.id);
    this._onAppended.fire({ runs: [this.view(run)], deletedIds: [] });
    return warnings;
  }

  /** Hides a run (an append-only delete record) and removes its samples. */
  delete(id: string): void {
    if (!isSafeRunId(id)) throw new Error(`invalid run id ${JSON.stringify(id)}`);
    this.appendLines([deleteLine(id)]);
    rmQuiet(this.sampleFiles.path(id));
    this._onAppended.fire({ runs: [], deletedIds: [id] });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // reading

  /**
   * Every run, newest first. Reads only what was appended since the previous call (the file is parsed once per
   * store instance), so calling it on every change is cheap. The returned runs are shared with the store's cache:
   * treat them as read-only.
   */
  load(): HistoryLoad {
    this.refresh();
    const corrupt = [...this.idx.corrupt];
    if (this.idx.partial) corrupt.push(this.idx.partial);
    const live = this.readCheckpoints(corrupt);
    const base = sortedRuns(this.idx);
    const overrides: Run[] = [];
    for (const c of live) {
      const shown = this.checkpointWins(c);
      if (shown) overrides.push(shown);
    }
    if (!overrides.length) return { runs: base.slice(), corrupt };
    const ids = new Set(overrides.map((r) => r.id));
    const runs = base.filter((r) => !ids.has(r.id));
    for (const r of overrides) insertSorted(runs, r);
    return { runs, corrupt };
  }

  /** One run by id (a running run from its checkpoint), or undefined. */
  get(id: string): Run | undefined {
    if (!isSafeRunId(id)) return undefined;
    this.refresh();
    const corrupt: CorruptEntry[] = [];
    for (const c of this.readCheckpoints(corrupt, id)) {
      const shown = this.checkpointWins(c);
      if (shown) return shown;
    }
    return this.idx.entries.get(id)?.run;
  }

  /** The run's power samples (decimated to `max` points when given and exceeded). */
  samples(id: string, max?: number): Sample[] {
    return this.sampleFiles.read(id, max);
  }

  /**
   * Reads history.jsonl from a byte offset (0: the whole file). For watchers that keep their own index: pass back
   * `nextOffset` and `nextLine` next time. A torn last line is reported in `partial` and not consumed.
   */
  loadSince(offset = 0, firstLine = 1): HistoryChunk {
    let fd: number;
    try {
      fd = fs.openSync(this.historyPath, 'r');
    } catch (err) {
      if (isNoEnt(err)) return { records: [], corrupt: [], nextOffset: 0, nextLine: 1 };
      throw err;
    }
    try {
      return readHistoryFrom(fd, fs.fstatSync(fd).size, offset, firstLine);
    } finally {
      fs.closeSync(fd);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // recovery

  /**
   * Appends every run whose meter died as `interrupted` (energy up to its last checkpoint, `endedAt` = its last
   * heartbeat) and returns them. Safe to call from several processes at once: each run is recovered exactly once.
   * Also takes over claims of recoverers that died, and removes stale temporary files.
   */
  recoverInterrupted(): Run[] {
    return recoverInterrupted({
      runningDir: this.runningDir,
      samplesDir: this.samplesDir,
      staleMs: this.staleMs,
      recordInterrupted: (id, cp) => this.recordInterrupted(id, cp),
    });
  }

  /** Appends a dead meter's checkpoint as `interrupted`, unless the history already closed (or deleted) the run. */
  private recordInterrupted(id: string, cp: CheckpointFile): Run | undefined {
    this.refresh();
    if (this.idx.deleted.has(id) || this.hasFinalRecord(id, cp.owner)) return undefined;
    const run = this.view(interruptedView(cp.run, cp.owner));
    const warnings: string[] = [];
    this.sampleFiles.tryWrite(id, warnings, () => {
      run.sampleCount = this.sampleFiles.compact(id, true);
    });
    this.sampleFiles.forget(id);
    this.appendLines([runLine(run)]);
    this._onAppended.fire({ runs: [run], deletedIds: [] });
    return run;
  }

  /** Whether history.jsonl already holds a record that supersedes a checkpoint with this heartbeat. */
  private hasFinalRecord(id: string, owner: CheckpointOwner): boolean {
    const rec = this.idx.entries.get(id)?.run;
    if (!rec || rec.status === 'running') return false;
    if (rec.status !== 'interrupted') return true;
    // an earlier recovery of the same run (a meter that came back after a long sleep) yields to newer checkpoints
    return !(Date.parse(owner.heartbeatAt) > Date.parse(rec.endedAt ?? ''));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // watching

  /**
   * Calls `onChange` (debounced, ~200 ms) when another process appends to the history or changes a checkpoint; this
   * store's own writes are not reported (its `onAppended` tells them at once). See changes.ts.
   */
  watch(onChange: (change: ExternalChange) => void, debounceMs = 200): Disposable {
    return watchHistory(this, this.own, onChange, debounceMs);
  }

  /** What identifies the current content of a run's sample file (size and mtime), or undefined when it has none. */
  samplesStamp(id: string): string | undefined {
    if (!isSafeRunId(id)) return undefined;
    try {
      const st = fs.statSync(this.sampleFiles.path(id));
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // internals: history index

  private refresh(): void {
    this.idx = refreshIndex(this.idx, this.historyPath, (run) => this.view(run));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // internals: checkpoints

  private readCheckpoints(corrupt: CorruptEntry[], onlyId?: string): LiveCheckpoint[] {
    let names: string[];
    try {
      names = onlyId
        ? fs.readdirSync(this.runningDir).filter((n) => n.startsWith(onlyId + '.json'))
        : fs.readdirSync(this.runningDir);
    } catch (err) {
      if (isNoEnt(err)) return [];
      throw err;
    }
    const out: LiveCheckpoint[] = [];
    for (const name of names) {
      let id: string;
      let claimed = false;
      if (name.endsWith('.json')) {
        id = name.slice(0, -'.json'.length);
      } else {
        const m = /^(.+)\.json\.recovering-\d+-[0-9a-f]{8}$/.exec(name);
        if (!m) continue;
        id = m[1];
        claimed = true; // being recovered right now: show it as interrupted, not as missing
      }
      if (!isSafeRunId(id) || (onlyId && id !== onlyId)) continue;
      const file = path.join(this.runningDir, name);
      const cp = readCheckpointFile(file);
      if (!cp) continue;
      if (typeof cp === 'string' || cp.run.id !== id) {
        const reason = typeof cp === 'string' ? cp : `holds run ${cp.run.id}, not ${id}`;
        if (!claimed) corrupt.push(this.setAside(file, name, reason));
        continue;
      }
      out.push({
        file,
        cp: { ...cp, run: this.view(cp.run) },
        state: claimed ? 'dead' : ownerState(cp.owner, this.staleMs),
      });
    }
    return out;
  }

  /**
   * Moves a damaged checkpoint out of the way (running/<name>.corrupt-<ms>), so that it is reported once, by the
   * load that found it, and kept for whoever wants to look at it. A file that could not be read at all (permissions)
   * stays where it is and is reported again.
   */
  private setAside(file: string, name: string, reason: string): CorruptEntry {
    const entry: CorruptEntry = { line: 0, file: `running/${name}`, reason };
    if (reason.startsWith('unreadable:')) return entry;
    const aside = `${name}.corrupt-${Date.now()}`;
    try {
      fs.renameSync(file, path.join(this.runningDir, aside));
      entry.setAsideAs = `running/${aside}`;
    } catch (err) {
      if (isNoEnt(err)) entry.reason += ' (since replaced)';
    }
    return entry;
  }

  /** What a checkpoint shows in place of the history's record for its id, or undefined to keep the history's. */
  private checkpointWins(c: LiveCheckpoint): Run | undefined {
    const id = c.cp.run.id;
    if (this.idx.deleted.has(id)) return undefined;
    const rec = this.idx.entries.get(id)?.run;
    const view =
      c.state === 'alive' ? { ...c.cp.run, status: 'running' as const } : interruptedView(c.cp.run, c.cp.owner);
    if (!rec || rec.status === 'running') return view;
    // an interrupted record older than this checkpoint: the meter came back (after a long sleep) and wrote more
    if (rec.status === 'interrupted' && !this.hasFinalRecord(id, c.cp.owner)) return view;
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // internals: files

  private checkpointPath(id: string): string {
    if (!isSafeRunId(id)) throw new Error(`invalid run id ${JSON.stringify(id)}`);
    return path.join(this.runningDir, `${id}.json`);
  }

  /** Appends whole lines to history.jsonl on an O_APPEND descriptor (see appendWholeLines), noted as its own. */
  private appendLines(lines: string[]): void {
    makeDirs(this.dir, 0o700);
    appendWholeLines(this.historyPath, lines, this.durable, this.ownAppend);
  }

  /** Notes an own append (the watcher skips it). */
  private readonly ownAppend = (dev: number, ino: number, before: number, bytes: number, after: number): void =>
    this.own.appended(dev, ino, before, bytes, after);

  /** Notes an own checkpoint write or removal (the watcher skips it). */
  private ownCheckpoint(id: string): void {
    let mtimeMs: number | undefined;
    try {
      mtimeMs = fs.statSync(this.runningDir).mtimeMs;
    } catch {
      /* no folder: nothing to compare */
    }
    this.own.checkpointed(id, mtimeMs);
  }
}
