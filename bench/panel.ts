/**
 * The History panel at 100, 1,000 and 10,000 runs: loading the history (HistoryStore.load, cold, from history.jsonl),
 * building the panel's snapshot (cold: a new model indexes and sorts; warm: another query on the same history) and
 * serialising it as postMessage does, and the size of that payload. Growth is shown as ratios between sizes measured
 * in the same run, and as an exponent k (cost ∝ runs^k; 1 is linear). No wall-clock limits.
 *
 *   npm run build && npx tsc -p tsconfig.test.json && node out/bench/panel.js
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PanelModel } from '../src/core/view/snapshot';
import { HistoryStore } from '../src/core/history/store';
import type { Run, RunSource, RunStatus, Sample } from '../src/core/types';
import { makeRun } from '../test/helpers/history-runs';
import { rng } from '../test/helpers/random';

const SIZES = [100, 1_000, 10_000];
const PAYLOAD_LIMIT = 300 * 1024;
/** Allowed exponent: a sort is n log n, and timings of a few ms are noisy. */
const MAX_EXPONENT = 1.2;

const results: { name: string; value: string; goal: string; ok: boolean }[] = [];
function report(name: string, value: string, goal: string, ok: boolean): void {
  results.push({ name, value, goal, ok });
  console.log(`${ok ? 'PASS' : 'MISS'}  ${name}: ${value}   (goal: ${goal})`);
}

const SOURCES: RunSource[] = ['terminal', 'terminal', 'cli', 'debug', 'task', 'codecarbon-import'];
const STATUSES: RunStatus[] = ['completed', 'completed', 'completed', 'failed', 'interrupted'];
const REGIONS = ['FR', 'DE', 'US', 'gcp:europe-west4', 'aws:us-east-1', 'SE'];
const NAMES = ['resnet50-imagenet', 'bert-base-finetune', 'llama-7b-lora', 'vit-small-cifar10', 'whisper-tiny-asr'];

function runs(n: number, end: number): Run[] {
  const r = rng(n);
  const out: Run[] = [];
  for (let i = 0; i < n; i++) {
    const startedAt = new Date(end - r() * 3 * 365 * 86400_000);
    out.push(
      makeRun(
        {
          id: `20261101T000000Z-bench-${i.toString(36).padStart(6, '0')}`,
          name: `${NAMES[i % NAMES.length]}-${i}`,
          command: `python train.py --config configs/${NAMES[i % NAMES.length]}.yaml --seed ${i} --lr ${(r() / 100).toFixed(5)}`,
          source: SOURCES[i % SOURCES.length],
          status: STATUSES[i % STATUSES.length],
        },
        {
          startedAt,
          durationS: 5 + r() ** 3 * 36000,
          cpuW: 20 + 60 * r(),
          gpuW: r() < 0.3 ? 0 : 100 + 250 * r(),
          gPerKWh: 30 + 500 * r(),
          region: REGIONS[i % REGIONS.length],
        },
      ),
    );
  }
  return out;
}

/** A 10 h run at 1 Hz, as its sample file holds it once finished (decimated by the store to 2,000 points). */
function longRun(store: HistoryStore, end: number): Run {
  const t0 = end - 10 * 3600_000;
  const run = makeRun(
    {
      id: '20261124T010000Z-bench-long01',
      name: 'llama-7b-full-finetune',
      intensity: { ...makeRun().intensity, method: 'time-resolved' },
    },
    { startedAt: new Date(t0), durationS: 36000 },
  );
  const samples: Sample[] = [];
  const r = rng(1);
  for (let i = 1; i <= 36000; i++)
    samples.push({
      t: t0 + i * 1000,
      cpuW: 40 + 10 * r(),
      gpuW: 280 + 20 * r(),
      ramW: 4,
      gPerKWh: 50 + 20 * Math.sin(i / 3000),
    });
  for (let k = 0; k < samples.length; k += 4000)
    store.checkpoint({ ...run, status: 'running' }, samples.slice(k, k + 4000));
  store.finish(run);
  return run;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of fn over `reps` runs (after one warm-up). */
function time<T>(reps: number, fn: () => T): { ms: number; last: T } {
  let last = fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    last = fn();
    ts.push(performance.now() - t0);
  }
  return { ms: median(ts), last };
}

interface Row {
  n: number;
  loadMs: number;
  /** the least any loader does: read history.jsonl and JSON.parse each line (same run, same file) */
  parseMs: number;
  coldMs: number;
  warmMs: number;
  bytes: number;
  bytesMax: number;
}

function measure(n: number, end: number): Row {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-panel-'));
  try {
    const writer = new HistoryStore(dir, { durable: false });
    const open = longRun(writer, end);
    writer.appendMany(runs(n - 1, end));
    const reps = n >= 10_000 ? 7 : 15;
    const load = time(reps, () => new HistoryStore(dir, { durable: false }).load());
    const parse = time(reps, () => {
      const text = fs.readFileSync(path.join(dir, 'history.jsonl'), 'utf8');
      let count = 0;
      for (const line of text.split('\n')) if (line) count += JSON.parse(line) ? 1 : 0;
      return count;
    });
    const store = new HistoryStore(dir, { durable: false });
    const { runs: all } = store.load();
    if (all.length !== n) throw new Error(`expected ${n} runs, loaded ${all.length}`);
    const samples = (id: string) => store.samples(id);
    const base = {
      runs: all,
      samples,
      adviceRegions: ['gcp:*', 'aws:eu-north-1'],
      historyDir: dir,
      now: end,
      openRunId: open.id,
    };
    // cold: a new panel (index, sort, chart, totals, tips, detail) and the JSON postMessage sends
    const cold = time(reps, () => JSON.stringify(new PanelModel().build(base)));
    // warm: the user filters, sorts and pages the same history
    const model = new PanelModel();
    model.build(base);
    let k = 0;
    const warm = time(reps, () =>
      JSON.stringify(
        model.build({
          ...base,
          query: {
            text: k++ % 2 ? 'bert' : 'lora',
            sort: 'emissionsKg',
            dir: 'desc',
            page: 3,
            source: 'all',
            status: 'all',
          },
        }),
      ),
    );
    const bytes = Buffer.byteLength(cold.last);
    const bytesMax = Buffer.byteLength(JSON.stringify(new PanelModel().build({ ...base, query: { pageSize: 100 } })));
    return { n, loadMs: load.ms, parseMs: parse.ms, coldMs: cold.ms, warmMs: warm.ms, bytes, bytesMax };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const end = Date.UTC(2026, 10, 25, 12);
  const rows = SIZES.map((n) => measure(n, end));
  console.log(
    '      runs   load history (JSON.parse baseline)   snapshot (cold)   snapshot (warm query)   payload (50 rows)   payload (100 rows)',
  );
  for (const r of rows) {
    console.log(
      `      ${String(r.n).padStart(6)}   ${r.loadMs.toFixed(2).padStart(9)} ms (${r.parseMs.toFixed(2).padStart(7)} ms)   ${r.coldMs.toFixed(2).padStart(12)} ms   ${r.warmMs.toFixed(2).padStart(18)} ms   ${(r.bytes / 1024).toFixed(1).padStart(13)} KB   ${(r.bytesMax / 1024).toFixed(1).padStart(14)} KB`,
    );
  }
  console.log('      (every snapshot has the detail of a 10 h run open: its 2,000-point power series)');
  const grow = (key: 'loadMs' | 'coldMs' | 'warmMs', label: string, baseline?: 'parseMs') => {
    const parts: string[] = [];
    let worst = 0;
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1];
      const b = rows[i];
      // against a baseline, the growth left once the baseline's own growth (GC, caches) is taken out
      const ratio = baseline ? (b[key] / b[baseline] / (a[key] / a[baseline])) * (b.n / a.n) : b[key] / a[key];
      const k = Math.log(ratio) / Math.log(b.n / a.n);
      worst = Math.max(worst, k);
      parts.push(`${a.n}→${b.n}: ×${ratio.toFixed(1)} for ×${b.n / a.n} runs (k = ${k.toFixed(2)})`);
    }
    report(
      `${label} grows no worse than linearly`,
      parts.join('; '),
      `k ≤ ${MAX_EXPONENT} (1 = linear)`,
      worst <= MAX_EXPONENT,
    );
  };
  grow('loadMs', 'history load, relative to reading and parsing the same lines', 'parseMs');
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1];
    const b = rows[i];
    const raw = Math.log(b.loadMs / a.loadMs) / Math.log(b.n / a.n);
    const base = Math.log(b.parseMs / a.parseMs) / Math.log(b.n / a.n);
    console.log(
      `      history load ${a.n}→${b.n}: raw ×${(b.loadMs / a.loadMs).toFixed(1)} (k = ${raw.toFixed(2)}); JSON.parse baseline ×${(b.parseMs / a.parseMs).toFixed(1)} (k = ${base.toFixed(2)})`,
    );
  }
  grow('coldMs', 'panel snapshot, cold');
  grow('warmMs', 'panel snapshot, warm query');
  const big = rows[rows.length - 1];
  report(
    `panel payload at ${big.n.toLocaleString('en')} runs`,
    `${(big.bytes / 1024).toFixed(1)} KB (50 rows), ${(big.bytesMax / 1024).toFixed(1)} KB (100 rows)`,
    '< 300 KB',
    Math.max(big.bytes, big.bytesMax) < PAYLOAD_LIMIT,
  );
  console.log(`\n${results.filter((r) => r.ok).length} of ${results.length} goals met`);
}

main();
