/**
 * Reads a training run's progress from the text it already prints, with no change to the user's code.
 *
 * Recognised (after ANSI escapes are stripped; `\r` redraws count as lines, so a tqdm bar is read at each redraw):
 * - epochs: Keras "Epoch 3/20", PyTorch tutorials "Epoch [3/20], Step [100/600], Loss: …", plain "epoch 3/20 loss …",
 *   Lightning's rich bar "Epoch 2/19" (0-based: once an epoch 0 is seen, N is the last index)
 * - bars and counters "k/N": tqdm ("45%|████▌     | 45/100 [00:10<00:12, 4.50it/s]", also with a description such
 *   as "Epoch 3/20:" or "Epoch 2:"), Keras 2 ("45/100 [=====>....] - ETA: 12s") and Keras 3 ("45/100 ━━━━ 12s"),
 *   "step 300/1000", "iteration 30 of 100", Hugging Face Trainer's global tqdm bar
 * - percentages where they are progress: "Progress: 45%", "45% complete", a tqdm bar without counts
 *
 * How they combine into one progress from 0 to 1 for the whole run:
 * - with epochs, a bar or step counter inside the epoch refines it: (epochs done + bar fraction) ÷ epochs. A bare
 *   "Epoch k/N" line is a header (Keras prints it as epoch k starts: k − 1 done); "epoch k/N" with other text and
 *   no inner counter is a report at the end of epoch k (k done).
 * - without epochs, the counter with the largest total is the run's (Hugging Face's global bar, not its evaluation
 *   bars); a smaller bar (evaluation) is ignored once a larger one has been seen.
 * - a percentage counts only while nothing better was seen.
 * Progress never goes backwards: a lower reading (a new, smaller bar) is ignored.
 */

export type ProgressUnit = 'epoch' | 'step' | 'percent';

export interface ProgressUpdate {
  /** 0–1, of the whole run */
  fraction: number;
  /** what it was read from */
  unit: ProgressUnit;
  /** "epoch 3/20", "step 300/1000", "45 %" */
  label: string;
}

// CSI sequences, OSC sequences (ended by BEL or ST), and other two-character escapes
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
const NUM = '(\\d{1,9})';
const EPOCH = new RegExp(`\\bepoch\\b\\s*[:#]?\\s*[[(]?\\s*${NUM}\\s*(?:/|of)\\s*${NUM}\\s*[\\])]?`, 'i');
/** Lightning's tqdm description "Epoch 2:" (0-based, no total) */
const EPOCH_NO_TOTAL = /\bepoch\s+(\d{1,9})\s*:/i;
const STEP = new RegExp(
  `\\b(?:step|steps|iter|iteration|iterations|batch|it)\\b\\s*[:#]?\\s*[[(]?\\s*${NUM}\\s*(?:/|of)\\s*${NUM}`,
  'i',
);
/** tqdm: "| 45/100 [" ; Keras 2: "45/100 [==" ; Keras 3: "45/100 ━━" ; rich (Lightning): "━━━━ 45/100 0:00:04" */
const BAR = new RegExp(
  `(?:\\|\\s*${NUM}/${NUM}\\s*\\[)|(?:^\\s*${NUM}/${NUM}\\s+(?:\\[[=>.]|[━─]))|(?:[━─╸╺]\\s+${NUM}/${NUM}\\b)`,
);
const TQDM_PERCENT = /(\d{1,3}(?:\.\d+)?)%\|/;
const WORD_PERCENT =
  /(?:\bprogress\b[^0-9%]{0,12}(\d{1,3}(?:\.\d+)?)\s?%)|(?:(\d{1,3}(?:\.\d+)?)\s?%\s*(?:complete|completed|done)\b)/i;
const MAX_PENDING = 8192;

interface Counter {
  done: number;
  total: number;
}

/** What one line says. Exported for tests. */
export interface LineProgress {
  epoch?: Counter;
  /** the line is only the epoch header ("Epoch 3/20") */
  epochHeader?: boolean;
  /** "Epoch 2:" with no total (Lightning's tqdm description) */
  epochIndex?: number;
  inner?: Counter;
  percent?: number;
}

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

function counter(a: string | undefined, b: string | undefined): Counter | undefined {
  if (a === undefined || b === undefined) return undefined;
  const done = Number(a);
  const total = Number(b);
  return total > 0 && done >= 0 && done <= total ? { done, total } : undefined;
}

/** Reads one line (ANSI already stripped). */
export function parseProgressLine(raw: string): LineProgress | undefined {
  const line = raw.trim();
  if (!line || line.length > 2000) return undefined;
  const out: LineProgress = {};
  const e = EPOCH.exec(line);
  let rest = line;
  if (e) {
    out.epoch = counter(e[1], e[2]);
    // Keras: the header line is only "Epoch 3/20"
    out.epochHeader =
      line.slice(e.index + e[0].length).replace(/[\s:,.-]/g, '') === '' && line.slice(0, e.index).trim() === '';
    rest = line.slice(0, e.index) + ' ' + line.slice(e.index + e[0].length);
  } else {
    const n = EPOCH_NO_TOTAL.exec(line);
    if (n) out.epochIndex = Number(n[1]);
  }
  const b = BAR.exec(rest);
  const s = b ? undefined : STEP.exec(rest);
  out.inner = b ? counter(b[1] ?? b[3] ?? b[5], b[2] ?? b[4] ?? b[6]) : s ? counter(s[1], s[2]) : undefined;
  if (!out.inner) {
    const p = TQDM_PERCENT.exec(rest) ?? WORD_PERCENT.exec(rest);
    if (p) {
      const v = Number(p[1] ?? p[2]);
      if (v >= 0 && v <= 100) out.percent = v / 100;
    }
  }
  return out.epoch || out.inner || out.percent !== undefined ? out : undefined;
}

/**
 * Feeds on a stream of output (stdout and stderr may share one parser) and reports the run's progress. Chunks may
 * cut lines anywhere; a line is read once it is ended by `\n` or `\r`.
 */
export class ProgressParser {
  /**
   * The unfinished line of each stream. One run's streams share one reading of its progress: `Epoch k/N` on stdout
   * and a tqdm bar per epoch on stderr nest as they do when both go to one file, whether they are read apart or not.
   */
  private readonly pending = new Map<string, string>();
  private epochs?: { done: number; total: number; zeroBased: boolean };
  private innerInEpoch?: Counter;
  private lightningEpoch?: number;
  private largest?: Counter;
  private best = -1;
  private lastLabel = '';

  /** Reads a chunk of one of the run's streams; returns the newest progress when it advanced, else undefined. */
  push(chunk: string, stream = ''): ProgressUpdate | undefined {
    let pending = (this.pending.get(stream) ?? '') + chunk;
    let update: ProgressUpdate | undefined;
    for (;;) {
      const i = pending.search(/[\r\n]/);
      if (i < 0) break;
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      update = this.line(line) ?? update;
    }
    // a runaway line with no end (binary output) is dropped rather than kept
    this.pending.set(stream, pending.length > MAX_PENDING ? '' : pending);
    return update;
  }

  /** The output ended: reads the last, unterminated line of each stream. */
  end(): ProgressUpdate | undefined {
    let update: ProgressUpdate | undefined;
    for (const rest of this.pending.values()) if (rest) update = this.line(rest) ?? update;
    this.pending.clear();
    return update;
  }

  /** The best progress so far (0–1), or undefined when none was seen. */
  get fraction(): number | undefined {
    return this.best >= 0 ? this.best : undefined;
  }

  get label(): string {
    return this.lastLabel;
  }

  private line(text: string): ProgressUpdate | undefined {
    const p = parseProgressLine(stripAnsi(text));
    if (!p) return undefined;
    const r = this.combine(p);
    if (!r || !(r.fraction > this.best)) return undefined;
    this.best = Math.min(1, r.fraction);
    this.lastLabel = r.label;
    return { ...r, fraction: this.best };
  }

  private combine(p: LineProgress): ProgressUpdate | undefined {
    if (p.epoch) {
      const zeroBased = (this.epochs?.zeroBased ?? false) || p.epoch.done === 0;
      const total = zeroBased ? p.epoch.total + 1 : p.epoch.total;
      const index = zeroBased ? p.epoch.done : p.epoch.done - 1; // 0-based index of this epoch
      if (this.epochs && this.epochs.done !== index) this.innerInEpoch = undefined;
      this.epochs = { done: index, total, zeroBased };
      if (p.inner && p.inner.total !== p.epoch.total) this.innerInEpoch = p.inner;
      const ended = !p.inner && !p.epochHeader; // "epoch 3/20 loss 0.41": reported at the end of the epoch
      const within = p.inner
        ? p.inner.done / p.inner.total
        : ended
          ? 1
          : this.innerInEpoch
            ? this.innerInEpoch.done / this.innerInEpoch.total
            : 0;
      return { fraction: (index + within) / total, unit: 'epoch', label: `epoch ${index + 1}/${total}` };
    }
    if (p.epochIndex !== undefined) this.lightningEpoch = p.epochIndex;
    if (this.epochs && p.inner) {
      // a bar or step counter inside the current epoch (Keras' step bar after "Epoch 3/20")
      this.innerInEpoch = p.inner;
      const { done, total } = this.epochs;
      return {
        fraction: (done + p.inner.done / p.inner.total) / total,
        unit: 'epoch',
        label: `epoch ${done + 1}/${total}`,
      };
    }
    if (p.inner) {
      // Lightning's per-epoch bar ("Epoch 2: 45/100") has no epoch total: no run progress from it
      if (p.epochIndex !== undefined) return undefined;
      if (this.largest && p.inner.total < this.largest.total) return undefined;
      this.largest = p.inner;
      return { fraction: p.inner.done / p.inner.total, unit: 'step', label: `step ${p.inner.done}/${p.inner.total}` };
    }
    if (p.percent !== undefined && !this.epochs && !this.largest && this.lightningEpoch === undefined) {
      return { fraction: p.percent, unit: 'percent', label: `${Math.round(p.percent * 100)} %` };
    }
    return undefined;
  }
}
