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
 * A run whose meter died (kill -9, crash, reboot) leaves its checkpoint behind. `recoverInterrupted()` claims each
 * checkpoint whose owner is dead with an atomic rename to <id>.json.recovering-<pid>-<host tag> (one recoverer
 * wins), appends it as `interrupted` with the energy of its last checkpoint, and removes the claim. A recoverer
 * that dies holding a claim is taken over by the next one; an append that already happened is not repeated.
 *
 * No locks anywhere: O_APPEND and rename(2) are the only synchronisation, which also holds on Windows (NTFS appends
 * with FILE_APPEND_DATA, and MoveFileEx replaces atomically; renames that collide with a reader are retried).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run, Sample } from '../types';
import type { Disposable } from '../util/events';
import { DEFAULT_MAX_SAMPLES, decimateSamples } from './decimate';
import { hostTag, ownerNow, ownerState, pidExists, type CheckpointOwner, type OwnerState } from './owner';
import {
  HISTORY_FORMAT_VERSION,
  checkpointProblem,
  deleteLine,
  isSafeRunId,
  parseHistoryLine,
  parseSamples,
  runLine,
  runProblem,
  sampleLines,
  type CheckpointFile,
  type CorruptEntry,
  type HistoryRecord,
} from './records';
import { renameWithRetry } from '../util/fs';
import { LineBuffer, appendLineBuffer, appendWholeLines, writeAll } from './append';
import { redactRun } from './redact';

export { DEFAULT_MAX_SAMPLES } from './decimate';

/** The note added to a run recovered after its meter died. */
export const INTERRUPTED_NOTE = 'recovered after the meter stopped unexpectedly; energy up to the last checkpoint';

/** A checkpoint from another host (or pid namespace) is only recovered once its heartbeat is this old. */
export const DEFAULT_STALE_CHECKPOINT_MS = 24 * 3600 * 1000;

/** A running run's sample file is decimated again once it holds this many times `maxSamples` points. */
const COMPACT_FACTOR = 4;
/** Leftover temporary files of killed writers are removed once this old. */
const TMP_MAX_AGE_MS = 3600 * 1000;
const READ_CHUNK = 8 * 1024 * 1024;

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

export interface AppendBatchOptions {
  /** every run added already passed `runProblem` (records.ts) */
  checked?: boolean;
  /** the line of one record, exactly as `runLine` would write it */
  encode?: (run: Run, at: string) => string;
}

/** Records to append together (see `HistoryStore.batch`). */
export interface AppendBatch {
  /** Checks, redacts and encodes a record; throws for a record that cannot be stored. */
  add(run: Run): void;
  /** records added since the last commit */
  readonly size: number;
  /** bytes of their lines */
  readonly bytes: number;
  /** Appends the records added so far (one fsync) and starts over; throws when the write fails. */
  commit(): void;
}

export interface HistoryLoad {
  /** Every run, newest first: the latest record per id, deletes applied, running runs from their checkpoints. */
  runs: Run[];
  /** Lines and files that could not be read; everything else was kept. */
  corrupt: CorruptEntry[];
}

/** Records read from history.jsonl after a byte offset (`loadSince`). */
export interface HistoryChunk {
  records: { line: number; record: HistoryRecord }[];
  corrupt: CorruptEntry[];
  /** A trailing line without its newline: a writer was killed mid-line, or is still writing. Not consumed. */
  partial?: CorruptEntry;
  /** Where the next read should start (the end of the last complete line). */
  nextOffset: number;
  /** The line number of the line at nextOffset. */
  nextLine: number;
}

const ID_SPACE = 36 ** 6;
let idSeq = crypto.randomInt(0, ID_SPACE);

/**
 * Sortable by start time, unique across processes: 20261123T215412Z-<pid base 36>-<6 base-36 chars>. The last
 * part is a per-process sequence from a random start, so ids of one process never collide, and the pid (plus the
 * random start, for other hosts) separates processes.
 */
export function newRunId(startedAt: Date = new Date()): string {
  const stamp = startedAt.toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';
  idSeq = (idSeq + 1) % ID_SPACE;
  return `${stamp}-${process.pid.toString(36)}-${idSeq.toString(36).padStart(6, '0')}`;
}

interface Entry {
  run: Run;
  at?: string;
}

interface Index {
  dev: number;
  ino: number;
  offset: number;
  /** number of lines consumed */
  line: number;
  entries: Map<string, Entry>;
  /** ids whose latest record is a delete */
  deleted: Map<string, string>;
  corrupt: CorruptEntry[];
  partial?: CorruptEntry;
  sorted?: Run[];
}

interface LiveCheckpoint {
  file: string;
  cp: CheckpointFile;
  state: OwnerState;
}

function emptyIndex(dev = 0, ino = 0): Index {
  return { dev, ino, offset: 0, line: 0, entries: new Map(), deleted: new Map(), corrupt: [] };
}

function isNoEnt(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
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
  /** the last sample-file failure reported per run, so that a broken samples folder is reported once */
  private readonly samplesProblems = new Map<string, string>();
  /** lines in the sample files of runs checkpointed by this process */
  private readonly sampleCounts = new Map<string, number>();

  constructor(dir: string, opts: HistoryStoreOptions = {}) {
    this.dir = path.resolve(dir);
    this.historyPath = path.join(this.dir, 'history.jsonl');
    this.runningDir = path.join(this.dir, 'running');
    this.samplesDir = path.join(this.dir, 'samples');
    this.maxSamples = Math.max(2, Math.floor(opts.maxSamples ?? DEFAULT_MAX_SAMPLES));
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
  static defaultDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): string {
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
  }

  /**
   * A batch of appends for an import: `add` checks (unless the caller already did, `checked`), redacts and encodes
   * each record at once, so only its line is held until `commit` appends them all (whole lines in writes of up to
   * 64 KiB, one fsync). `encode` is a faster equivalent of `runLine` for records of a known shape.
   */
  batch(opts: AppendBatchOptions = {}): AppendBatch {
    const at = new Date().toISOString();
    const encode = opts.encode ?? runLine;
    const lines = new LineBuffer();
    return {
      add: (run) => {
        const problem = opts.checked ? undefined : runProblem(run);
        if (problem) throw new Error(`cannot store run ${JSON.stringify((run as Partial<Run>)?.id)}: ${problem}`);
        lines.add(encode(this.view(run), at));
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
            fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
            appendLineBuffer(this.historyPath, lines, this.durable);
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
    if (newSamples.length) this.trySamples(run.id, warnings, () => this.appendSamples(run.id, newSamples));
    fs.mkdirSync(this.runningDir, { recursive: true, mode: 0o700 });
    const body: CheckpointFile = { v: HISTORY_FORMAT_VERSION, run: this.view(run), owner: ownerNow() };
    this.writeAtomic(this.checkpointPath(run.id), JSON.stringify(body) + '\n');
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
    const failed = this.samplesProblems.get(run.id);
    this.trySamples(run.id, warnings, () => {
      run.sampleCount = this.compactSamples(run.id, this.maxSamples, true);
    });
    const lost = warnings[0] ?? failed;
    if (lost) (run.notes ??= []).push(`power samples not saved (${lost}); the totals are complete`);
    this.appendLines([runLine(this.view(run))]);
    this.sampleCounts.delete(run.id);
    this.samplesProblems.delete(run.id);
    rmQuiet(this.checkpointPath(run.id));
    return warnings;
  }

  /** Runs a sample-file write; a failure becomes a warning (reported once per run and reason), never an exception. */
  private trySamples(id: string, warnings: string[], write: () => void): void {
    try {
      write();
    } catch (err) {
      const msg = `could not write the samples of run ${id} in ${this.samplesDir}: ${(err as Error).message}`;
      if (this.samplesProblems.get(id) !== msg) warnings.push(msg);
      this.samplesProblems.set(id, msg);
    }
  }

  /** Hides a run (an append-only delete record) and removes its samples. */
  delete(id: string): void {
    if (!isSafeRunId(id)) throw new Error(`invalid run id ${JSON.stringify(id)}`);
    this.appendLines([deleteLine(id)]);
    rmQuiet(this.samplesPath(id));
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
    const base = this.sortedRuns();
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
    if (!isSafeRunId(id)) return [];
    let text: string;
    try {
      text = fs.readFileSync(this.samplesPath(id), 'utf8');
    } catch (err) {
      if (isNoEnt(err)) return [];
      throw err;
    }
    const s = parseSamples(text);
    return max !== undefined && s.length > max ? decimateSamples(s, max) : s;
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
      return this.readFrom(fd, fs.fstatSync(fd).size, offset, firstLine);
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
    let names: string[];
    try {
      names = fs.readdirSync(this.runningDir);
    } catch (err) {
      if (isNoEnt(err)) return [];
      throw err;
    }
    const recovered: Run[] = [];
    const myClaimSuffix = `.recovering-${process.pid}-${hostTag()}`;
    for (const name of names) {
      const file = path.join(this.runningDir, name);
      let claimFrom: string | undefined;
      let id: string | undefined;
      if (name.endsWith('.json')) {
        id = name.slice(0, -'.json'.length);
        if (!isSafeRunId(id)) continue;
        const cp = readCheckpointFile(file);
        if (!cp || typeof cp === 'string') continue; // gone, or corrupt (load() reports it)
        if (ownerState(cp.owner, this.staleMs) !== 'dead') continue;
        claimFrom = file;
      } else {
        const m = /^(.+)\.json\.recovering-(\d+)-([0-9a-f]{8})$/.exec(name);
        if (m) {
          id = m[1];
          if (!isSafeRunId(id) || name.endsWith(myClaimSuffix)) continue;
          const sameHost = m[3] === hostTag();
          const claimantDead = sameHost ? !pidExists(Number(m[2])) : olderThan(file, this.staleMs);
          if (claimantDead || olderThan(file, this.staleMs)) claimFrom = file;
        } else if (name.includes('.tmp-') && olderThan(file, TMP_MAX_AGE_MS)) {
          rmQuiet(file);
        }
      }
      if (!claimFrom || !id) continue;
      const claim = path.join(this.runningDir, `${id}.json${myClaimSuffix}`);
      try {
        fs.renameSync(claimFrom, claim); // only one recoverer gets past this
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue; // another recoverer won
        if (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') continue; // held open (Windows): next time
        throw err;
      }
      const run = this.completeRecovery(claim, id);
      if (run) recovered.push(run);
    }
    this.removeStaleTmp(this.samplesDir);
    return recovered;
  }

  private completeRecovery(claim: string, id: string): Run | undefined {
    const cp = readCheckpointFile(claim);
    if (!cp) return undefined;
    if (typeof cp === 'string') {
      // damaged after it was claimed: set it aside rather than retrying forever
      try {
        fs.renameSync(claim, path.join(this.runningDir, `${id}.json.corrupt-${Date.now()}`));
      } catch {
        /* another recoverer moved it */
      }
      return undefined;
    }
    this.refresh();
    if (this.idx.deleted.has(id) || this.hasFinalRecord(id, cp.owner)) {
      rmQuiet(claim);
      return undefined;
    }
    const run = this.view(interruptedView(cp.run, cp.owner));
    const warnings: string[] = [];
    this.trySamples(id, warnings, () => {
      run.sampleCount = this.compactSamples(id, this.maxSamples, true);
    });
    this.samplesProblems.delete(id);
    this.appendLines([runLine(run)]);
    rmQuiet(claim);
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

  private removeStaleTmp(dir: string): void {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.includes('.tmp-')) {
        const file = path.join(dir, name);
        if (olderThan(file, TMP_MAX_AGE_MS)) rmQuiet(file);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // watching

  /**
   * Calls `onChange` (debounced, ~200 ms) when another process appends to the history or writes a checkpoint.
   * Falls back to polling (1 s) where fs.watch is unavailable (some network and container file systems).
   */
  watch(onChange: () => void, debounceMs = 200): Disposable {
    let disposed = false;
    let timer: NodeJS.Timeout | undefined;
    const closers: (() => void)[] = [];
    const fire = () => {
      if (disposed) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        if (!disposed) onChange();
      }, debounceMs);
    };
    const poll = (target: string) => {
      if (disposed) return;
      const listener = (cur: fs.Stats, prev: fs.Stats) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) fire();
      };
      fs.watchFile(target, { interval: 1000, persistent: false }, listener);
      closers.push(() => fs.unwatchFile(target, listener));
    };
    const watchDir = (dir: string, relevant: (name: string | null) => boolean, pollTarget: string) => {
      try {
        const w = fs.watch(dir, { persistent: false }, (_event, name) => {
          if (relevant(name === null || name === undefined ? null : String(name))) fire();
        });
        w.on('error', () => {
          w.close();
          poll(pollTarget);
        });
        closers.push(() => w.close());
      } catch {
        poll(pollTarget);
      }
    };
    try {
      fs.mkdirSync(this.runningDir, { recursive: true, mode: 0o700 });
    } catch {
      /* read-only location: watch what exists, poll the rest */
    }
    watchDir(this.dir, (n) => n === null || n === 'history.jsonl', this.historyPath);
    watchDir(this.runningDir, (n) => n === null || !n.includes('.tmp-'), this.runningDir);
    return {
      dispose: () => {
        disposed = true;
        if (timer) clearTimeout(timer);
        for (const close of closers.splice(0)) {
          try {
            close();
          } catch {
            /* already closed */
          }
        }
      },
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // internals: history index

  private refresh(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.historyPath, 'r');
    } catch (err) {
      if (isNoEnt(err)) {
        if (this.idx.offset > 0 || this.idx.entries.size || this.idx.partial) this.idx = emptyIndex();
        return;
      }
      throw err;
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.ino !== this.idx.ino || st.dev !== this.idx.dev || st.size < this.idx.offset) {
        this.idx = emptyIndex(st.dev, st.ino); // replaced or truncated by hand: read it again
      }
      if (st.size === this.idx.offset) {
        this.idx.partial = undefined;
        return;
      }
      const chunk = this.readFrom(fd, st.size, this.idx.offset, this.idx.line + 1);
      const idx = this.idx;
      for (const { record } of chunk.records) {
        if (record.kind === 'run') {
          idx.entries.set(record.run.id, { run: this.view(record.run), at: record.at });
          idx.deleted.delete(record.run.id);
        } else {
          idx.entries.delete(record.id);
          idx.deleted.set(record.id, record.at);
        }
      }
      if (chunk.records.length) idx.sorted = undefined;
      idx.corrupt.push(...chunk.corrupt);
      idx.partial = chunk.partial;
      idx.offset = chunk.nextOffset;
      idx.line = chunk.nextLine - 1;
    } finally {
      fs.closeSync(fd);
    }
  }

  private readFrom(fd: number, size: number, offset: number, firstLine: number): HistoryChunk {
    const records: HistoryChunk['records'] = [];
    const corrupt: CorruptEntry[] = [];
    let line = firstLine;
    let consumed = offset;
    let pos = offset;
    let carry: Buffer = Buffer.alloc(0);
    while (pos < size) {
      const want = Math.min(READ_CHUNK, size - pos);
      const b = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, b, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      if (got === 0) break;
      pos += got;
      const buf = carry.length ? Buffer.concat([carry, b.subarray(0, got)]) : b.subarray(0, got);
      const lastNl = buf.lastIndexOf(0x0a);
      if (lastNl < 0) {
        carry = buf;
        continue;
      }
      const text = buf.toString('utf8', 0, lastNl + 1);
      let start = 0;
      while (start < text.length) {
        const end = text.indexOf('\n', start);
        let l = text.slice(start, end);
        start = end + 1;
        if (l.endsWith('\r')) l = l.slice(0, -1);
        const parsed = parseHistoryLine(l);
        if (typeof parsed === 'string') corrupt.push({ line, reason: parsed });
        else if (parsed) records.push({ line, record: parsed });
        line++;
      }
      consumed += lastNl + 1;
      carry = buf.subarray(lastNl + 1);
    }
    let partial: CorruptEntry | undefined;
    if (carry.length && carry.toString('utf8').trim().length) {
      partial = {
        line,
        reason: `incomplete last line (${carry.length} bytes without a newline): a writer was stopped mid-line, or is still writing`,
      };
    }
    return { records, corrupt, partial, nextOffset: consumed, nextLine: line };
  }

  private sortedRuns(): Run[] {
    if (!this.idx.sorted) {
      const dec = [...this.idx.entries.values()].map((e) => ({ run: e.run, k: startKey(e.run) }));
      dec.sort((a, b) => b.k - a.k || cmpIdDesc(a.run, b.run));
      this.idx.sorted = dec.map((d) => d.run);
    }
    return this.idx.sorted;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // internals: checkpoints

  private readCheckpoints(corrupt: CorruptEntry[], onlyId?: string): LiveCheckpoint[] {
    let names: string[];
    try {
      names = onlyId ? fs.readdirSync(this.runningDir).filter((n) => n.startsWith(onlyId + '.json')) : fs.readdirSync(this.runningDir);
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
      out.push({ file, cp: { ...cp, run: this.view(cp.run) }, state: claimed ? 'dead' : ownerState(cp.owner, this.staleMs) });
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
    const view = c.state === 'alive' ? { ...c.cp.run, status: 'running' as const } : interruptedView(c.cp.run, c.cp.owner);
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

  private samplesPath(id: string): string {
    if (!isSafeRunId(id)) throw new Error(`invalid run id ${JSON.stringify(id)}`);
    return path.join(this.samplesDir, `${id}.jsonl`);
  }

  /** Appends whole lines to history.jsonl on an O_APPEND descriptor (see appendWholeLines). */
  private appendLines(lines: string[]): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    appendWholeLines(this.historyPath, lines, this.durable);
  }

  private appendSamples(id: string, samples: Sample[]): void {
    const text = sampleLines(samples);
    if (!text) return;
    fs.mkdirSync(this.samplesDir, { recursive: true, mode: 0o700 });
    const file = this.samplesPath(id);
    appendWholeLines(file, [text], false);
    let count = this.sampleCounts.get(id);
    count = count === undefined ? countLines(file) : count + samples.length;
    if (count > this.maxSamples * COMPACT_FACTOR) count = this.compactSamples(id, this.maxSamples, false);
    this.sampleCounts.set(id, count);
  }

  /** Rewrites a sample file decimated to `max` points (and without torn lines); returns its sample count. */
  private compactSamples(id: string, max: number, final: boolean): number {
    const file = this.samplesPath(id);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if (isNoEnt(err)) return 0;
      throw err;
    }
    const all = parseSamples(text);
    const lines = countNewlines(text) + (text.length && !text.endsWith('\n') ? 1 : 0);
    if (all.length <= max && all.length === lines) return all.length;
    const kept = decimateSamples(all, max);
    this.writeAtomic(file, sampleLines(kept), final && this.durable);
    return kept.length;
  }

  private writeAtomic(file: string, data: string, durable = this.durable): void {
    const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, Buffer.from(data, 'utf8'));
      if (durable) fs.fsyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      rmQuiet(tmp);
      throw err;
    }
    fs.closeSync(fd);
    try {
      renameWithRetry(tmp, file);
    } catch (err) {
      rmQuiet(tmp);
      throw err;
    }
  }
}

// -----------------------------------------------------------------------------------------------------------------
// helpers

/** A checkpoint as shown (and recorded) once its meter is gone. */
function interruptedView(run: Run, owner: CheckpointOwner): Run {
  const notes = run.notes ? [...run.notes] : [];
  if (!notes.includes(INTERRUPTED_NOTE)) notes.push(INTERRUPTED_NOTE);
  return { ...run, status: 'interrupted', endedAt: owner.heartbeatAt, exitCode: null, notes };
}

function readCheckpointFile(file: string): CheckpointFile | string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isNoEnt(err)) return undefined;
    return `unreadable: ${(err as Error).message}`;
  }
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  return checkpointProblem(x) ?? (x as CheckpointFile);
}

function rmQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    /* already gone */
  }
}

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ms;
  } catch {
    return false;
  }
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function countLines(file: string): number {
  try {
    return countNewlines(fs.readFileSync(file, 'utf8'));
  } catch {
    return 0;
  }
}

function startKey(run: Run): number {
  const k = Date.parse(run.startedAt);
  return Number.isFinite(k) ? k : 0;
}

function cmpIdDesc(a: Run, b: Run): number {
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Inserts into a newest-first array. */
function insertSorted(runs: Run[], run: Run): void {
  const k = startKey(run);
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = runs[mid];
    const mk = startKey(m);
    if (mk > k || (mk === k && cmpIdDesc(m, run) < 0)) lo = mid + 1;
    else hi = mid;
  }
  runs.splice(lo, 0, run);
}
