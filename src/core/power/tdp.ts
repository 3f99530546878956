/**
 * The CPU's thermal design power (TDP), for the CPU model when RAPL cannot be read.
 *
 * The table is CodeCarbon's `cpu_power.csv` (mlco2/codecarbon, MIT; see data/cpu_power.SOURCE.md), compiled into
 * `cpuTdpTable.generated.ts`. Matching follows CodeCarbon's `TDP._get_matching_cpu`, made stricter so that a wrong model is
 * never chosen:
 *
 *   1. normalise the name: drop "(R)", "(TM)", "CPU", "Processor", "@ 2.30GHz", "64-Core Processor",
 *      "with Radeon Graphics", repeated spaces; lower case;
 *   2. an exact match of the normalised names wins (the first row of a name, as in CodeCarbon);
 *   3. otherwise a token match: the model-number tokens (those with a digit, e.g. "7763", "8375c", "i7-10700k",
 *      "v4") must be the same set on both sides, and the other words may differ only by filler ("gen", "intel",
 *      "amd"...). "AMD EPYC" has no model number and matches nothing; two candidates with different TDPs match
 *      nothing either (CodeCarbon's non-greedy mode);
 *   4. an unknown model gets CodeCarbon's fallback: 4 W per logical CPU (a 2-CPU VM reporting "AMD EPYC": 8 W).
 */
import { isFiller, modelKey, modelTokens, normaliseCpuName } from './cpuName';
import { CPU_TDP_MATCH, CPU_TDP_ROWS, CPU_TDP_SOURCE } from './cpuTdpTable.generated';

export { modelTokens, normaliseCpuName };

export interface TdpLookup {
  tdpW: number;
  method: 'modelled' | 'default';
  /** where the figure comes from: the table, or the fallback rule */
  source: string;
  /** the table's name of the model that matched */
  matchedModel?: string;
  /** one line a person can read: "TDP 280 W (AMD EPYC 7763, CodeCarbon cpu_power.csv)" */
  detail: string;
  /** how the model was matched */
  matchedBy?: 'exact' | 'tokens';
}

/** CodeCarbon's fallback for a CPU it does not know: W per logical CPU (codecarbon/core/cpu.py DEFAULT_POWER_PER_CORE). */
export const DEFAULT_W_PER_LOGICAL_CPU = 4;

export const DEFAULT_TDP_SOURCE = `CodeCarbon's fallback, ${DEFAULT_W_PER_LOGICAL_CPU} W per logical CPU`;

export interface CpuTdpRow {
  /** the name as the table writes it: "AMD EPYC 7763" */
  name: string;
  tdpW: number;
  normalised: string;
}

/** Appends `row` to the list of `key` in `map`. */
function add(map: Map<string, CpuTdpRow[]>, key: string, row: CpuTdpRow): void {
  const list = map.get(key);
  if (list) list.push(row);
  else map.set(key, [row]);
}

interface TableIndex {
  rows: CpuTdpRow[];
  /** normalised name → the first row of each distinct table name that normalises to it */
  exact: Map<string, CpuTdpRow[]>;
  /** model-number key → the first row of each distinct table name with that key */
  byModel: Map<string, CpuTdpRow[]>;
}

let index: TableIndex | undefined;

/** Parses `rows` ("Name,TDP" lines) into an index; exported for tests, the lookup uses CPU_TDP_MATCH. */
export function buildTdpIndex(rowsText: string): TableIndex {
  const rows: CpuTdpRow[] = [];
  const seen = new Set<string>();
  const exact = new Map<string, CpuTdpRow[]>();
  const byModel = new Map<string, CpuTdpRow[]>();
  for (const line of rowsText.split('\n')) {
    const comma = line.lastIndexOf(',');
    if (comma <= 0) continue;
    const name = line.slice(0, comma).trim();
    const tdpW = Number(line.slice(comma + 1));
    if (!name || !Number.isFinite(tdpW) || tdpW <= 0) continue;
    const row: CpuTdpRow = { name, tdpW, normalised: normaliseCpuName(name) };
    rows.push(row);
    if (seen.has(name)) continue; // the first row of a name wins, as in CodeCarbon
    seen.add(name);
    add(exact, row.normalised, row);
    const key = modelKey(row.normalised);
    if (key) add(byModel, key, row);
  }
  return { rows, exact, byModel };
}

function tableIndex(): TableIndex {
  if (!index) index = buildTdpIndex(CPU_TDP_ROWS);
  return index;
}

/** Every row of the compiled table, in the CSV's order (for tests and `doctor`). */
export function cpuTdpRows(): readonly CpuTdpRow[] {
  return tableIndex().rows;
}

export type CpuMatch =
  | { kind: 'exact' | 'tokens'; row: CpuTdpRow }
  | { kind: 'none'; why: string }
  | { kind: 'ambiguous'; candidates: CpuTdpRow[] };

let matchText: string | undefined;
let rowLines: string[] | undefined;

/**
 * The compiled table's rows that could match the normalised query `q`, indexed: the rows of its normalised name
 * and those of its model-number key, found by searching CPU_TDP_MATCH (the table normalised when it was generated,
 * one "normalised\tkey\trow" line per name), so that nothing is normalised at run time but the query. Normalising
 * the rows that hold a query's words took 25 ms of CPU at every start for a cloud VM's "Intel(R) Xeon(R) CPU @
 * 2.20GHz" (hundreds of Xeons), 5 ms for "AMD EPYC"; this takes under 2.
 */
function candidateIndex(q: string): TableIndex {
  matchText ??= `\n${CPU_TDP_MATCH}\n`;
  const text = matchText;
  const found = new Map<number, [normalised: string, key: string]>();
  const collect = (needle: string): void => {
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      const start = text.lastIndexOf('\n', at) + 1;
      const [normalised, key, row] = text.slice(start, text.indexOf('\n', start)).split('\t') as [
        string,
        string,
        string,
      ];
      found.set(Number(row), [normalised, key]);
    }
  };
  collect(`\n${q}\t`);
  const key = modelKey(q);
  if (key) collect(`\t${key}\t`);
  rowLines ??= CPU_TDP_ROWS.split('\n');
  const exact = new Map<string, CpuTdpRow[]>();
  const byModel = new Map<string, CpuTdpRow[]>();
  const rows: CpuTdpRow[] = [];
  // in the table's order, as buildTdpIndex lists them
  for (const [i, [normalised, rowKey]] of [...found].sort((a, b) => a[0] - b[0])) {
    const line = rowLines[i]!;
    const comma = line.lastIndexOf(',');
    const row: CpuTdpRow = { name: line.slice(0, comma).trim(), tdpW: Number(line.slice(comma + 1)), normalised };
    rows.push(row);
    add(exact, normalised, row);
    if (rowKey) add(byModel, rowKey, row);
  }
  return { rows, exact, byModel };
}

/** Finds a CPU model in a table index (default: the compiled table); see the module comment for the rules. */
export function matchCpuModel(cpuModel: string, table?: TableIndex): CpuMatch {
  const q = normaliseCpuName(cpuModel);
  if (!q) return { kind: 'none', why: 'the CPU model is empty' };
  const idx = table ?? candidateIndex(q);
  const hits = idx.exact.get(q);
  if (hits) {
    // names that differ only in what normalisation drops, e.g. "Q6600 (105W)" and "Q6600 (95W)"
    return hits.every((h) => h.tdpW === hits[0]!.tdpW)
      ? { kind: 'exact', row: hits[0]! }
      : { kind: 'ambiguous', candidates: hits };
  }
  const key = modelKey(q);
  if (!key) return { kind: 'none', why: 'the name has no model number' };
  const qWords = new Set(q.split(' ').filter((t) => !modelTokens(t).length));
  const candidates = (idx.byModel.get(key) ?? []).filter((row) => {
    const rWords = new Set(row.normalised.split(' ').filter((t) => !modelTokens(t).length));
    for (const w of qWords) if (!rWords.has(w) && !isFiller(w)) return false;
    for (const w of rWords) if (!qWords.has(w) && !isFiller(w)) return false;
    return true;
  });
  if (!candidates.length) return { kind: 'none', why: 'no model with this model number' };
  if (candidates.every((c) => c.tdpW === candidates[0]!.tdpW)) return { kind: 'tokens', row: candidates[0]! };
  return { kind: 'ambiguous', candidates };
}

const cache = new Map<string, TdpLookup>();

/**
 * The TDP to model this machine's CPU with. `sockets` multiplies a table TDP (the table gives one package); the
 * per-logical-CPU fallback already covers every socket. Results are cached per (model, CPUs, sockets).
 */
export function lookupCpuTdp(cpuModel: string, logicalCpus: number, opts: { sockets?: number } = {}): TdpLookup {
  const cpus = Number.isFinite(logicalCpus) && logicalCpus >= 1 ? Math.floor(logicalCpus) : 1;
  const sockets =
    opts.sockets !== undefined && Number.isFinite(opts.sockets) && opts.sockets >= 1 ? Math.floor(opts.sockets) : 1;
  const key = `${cpuModel}\u0000${cpus}\u0000${sockets}`;
  const cached = cache.get(key);
  if (cached) return { ...cached };
  const result = lookup(cpuModel, cpus, sockets);
  cache.set(key, result);
  return { ...result };
}

function lookup(cpuModel: string, cpus: number, sockets: number): TdpLookup {
  const m = matchCpuModel(cpuModel);
  if (m.kind === 'exact' || m.kind === 'tokens') {
    const tdpW = m.row.tdpW * sockets;
    const per = sockets > 1 ? `${m.row.tdpW} W × ${sockets} sockets = ${tdpW} W` : `${tdpW} W`;
    const how = m.kind === 'tokens' ? `, matched "${cpuModel.trim()}" by model number` : '';
    return {
      tdpW,
      method: 'modelled',
      source: CPU_TDP_SOURCE,
      matchedModel: m.row.name,
      matchedBy: m.kind,
      detail: `TDP ${per} (${m.row.name}, CodeCarbon cpu_power.csv${how})`,
    };
  }
  const tdpW = DEFAULT_W_PER_LOGICAL_CPU * cpus;
  const name = cpuModel.trim() || 'unknown CPU';
  const why =
    m.kind === 'ambiguous'
      ? `"${name}" matches several models with different TDPs (${m.candidates
          .slice(0, 3)
          .map((c) => `${c.name} ${c.tdpW} W`)
          .join(', ')})`
      : `"${name}" is not in CodeCarbon's CPU table (${m.kind === 'none' ? m.why : 'no match'})`;
  return {
    tdpW,
    method: 'default',
    source: DEFAULT_TDP_SOURCE,
    detail: `${why}: ${DEFAULT_W_PER_LOGICAL_CPU} W × ${cpus} logical CPU${cpus === 1 ? '' : 's'} = ${tdpW} W (CodeCarbon's fallback)`,
  };
}
