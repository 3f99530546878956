/**
 * Parsing the JSON of AMD's tools, every layout met so far (test/fixtures/amd-smi/make_fixtures.py names the
 * source of each):
 *
 * - `amd-smi metric --power --energy --json`
 *     ROCm 6.0: one device → a bare object, several → a list; values are bare numbers: `{"gpu": 0, "power":
 *     {"current_power": 412, ...}, "energy": {"total_energy_consumption": 1843000.5}}`
 *     ROCm 6.1/6.2: always a list; values `{"value": 600, "unit": "W"}`; power `socket_power`
 *     ROCm 7: `{"gpu_data": [ ...as 6.2... ]}`
 *     Missing values are the string "N/A" (a Radeon without energy counter: `"energy": "N/A"`).
 * - `amd-smi process --json`: per device `process_list: [{"process_info": {name, pid, memory_usage, mem_usage,
 *   usage: {gfx, enc}}}]` (`"No running processes detected"` when none); ROCm 6.0 stores one process as
 *   `process_info` beside `gpu`, several as `values`. `usage.gfx` is the process's gfx engine busy time in ns since
 *   it opened the device (a cumulative counter, from the kernel's fdinfo).
 * - `amd-smi list --json`: `{gpu, bdf, uuid, ...}` per device; `amd-smi static --asic --json`: `asic.market_name`.
 * - `rocm-smi --showpower --showenergycounter --json`: one line, `{"card0": {"Average Graphics Package Power (W)":
 *   "250.0", "Energy counter": "2621440000", "Accumulated Energy (uJ)": "40000552960.0"}}`, every value a string;
 *   newer versions say "Current Socket Graphics Package Power (W)".
 *
 * Everything here is pure: text in, numbers out, `undefined` for what is not this tool's output.
 */

export interface AmdMetricDevice {
  index: number;
  powerW: number | null;
  /** the energy counter, J since the driver loaded; null when the device has none ("N/A") */
  energyJ: number | null;
}

export interface AmdProcessEntry {
  index: number;
  pid: number;
  name: string;
  /** memory the process holds on the device, bytes (VRAM + GTT + CPU-mapped as amd-smi sums it); null: unknown */
  memBytes: number | null;
  /** gfx engine busy time since the process opened the device, ns; null: unknown */
  gfxNs: number | null;
}

export interface AmdListDevice {
  index: number;
  uuid: string;
  bdf?: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON document in a tool's stdout. amd-smi may print a warning line before it; that is skipped. undefined when
 * no JSON document is found.
 */
export function parseToolJson(text: string): Json | undefined {
  const s = text.trim();
  if (!s) return undefined;
  try {
    return JSON.parse(s) as Json;
  } catch {
    // a line of text before the document
  }
  const m = /^[[{]/m.exec(s);
  if (!m || m.index === 0) return undefined;
  try {
    return JSON.parse(s.slice(m.index)) as Json;
  } catch {
    return undefined;
  }
}

/** The per-device objects of an amd-smi document, whatever its layout; undefined when it is not one. */
export function amdEntries(doc: Json | undefined): Obj[] | undefined {
  let list: Json[];
  if (Array.isArray(doc)) list = doc;
  else if (isObj(doc) && Array.isArray(doc.gpu_data)) list = doc.gpu_data;
  else if (isObj(doc) && 'gpu' in doc) list = [doc];
  else return undefined;
  const out = list.filter((e): e is Obj => isObj(e) && typeof e.gpu === 'number' && Number.isInteger(e.gpu));
  return out.length === list.length ? out : undefined;
}

const SCALE: Record<string, number> = {
  w: 1,
  mw: 1e-3,
  uw: 1e-6,
  kw: 1e3,
  j: 1,
  mj: 1e-3,
  uj: 1e-6,
  µj: 1e-6,
  kj: 1e3,
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 2 ** 20,
  mib: 2 ** 20,
  gb: 2 ** 30,
  gib: 2 ** 30,
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
};

/**
 * A value in the unit the caller wants (`base`: W, J, B or ns): a bare number (in `base`), `{"value": v, "unit": u}`,
 * or a string "600 W"; null for "N/A" and anything not a number; unit words are matched without case.
 */
export function amdValue(v: Json | undefined, base: 'W' | 'J' | 'B' | 'ns'): number | null {
  let value: Json | undefined = v;
  let unit: string = base;
  if (isObj(v)) {
    value = v.value;
    if (typeof v.unit === 'string' && v.unit) unit = v.unit;
  }
  if (typeof value === 'string') {
    const m = /^\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([a-zµ]*)\s*$/i.exec(value);
    if (!m) return null;
    value = Number(m[1]);
    if (m[2]) unit = m[2];
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  const scale = SCALE[unit.toLowerCase()];
  const baseScale = SCALE[base.toLowerCase()]!;
  if (scale === undefined) return null;
  return (value * scale) / baseScale;
}

/** `amd-smi metric --power --energy --json` → one reading per device; undefined when it is not that output. */
export function parseAmdMetric(text: string): AmdMetricDevice[] | undefined {
  const entries = amdEntries(parseToolJson(text));
  if (!entries) return undefined;
  return entries.map((e) => {
    const power = isObj(e.power) ? e.power : {};
    const raw = power.socket_power ?? power.current_power ?? power.current_socket_power ?? power.average_socket_power;
    const energy = isObj(e.energy) ? e.energy.total_energy_consumption : undefined;
    return { index: e.gpu as number, powerW: amdValue(raw, 'W'), energyJ: amdValue(energy, 'J') };
  });
}

function processInfos(e: Obj): Json[] {
  if (Array.isArray(e.process_list)) return e.process_list; // 6.1+
  if (Array.isArray(e.values)) return e.values; // 6.0, several processes
  if ('process_info' in e) return [{ process_info: e.process_info }]; // 6.0, one process
  return [];
}

/** `amd-smi process --json` → the processes of every device; undefined when it is not that output. */
export function parseAmdProcesses(text: string): AmdProcessEntry[] | undefined {
  const entries = amdEntries(parseToolJson(text));
  if (!entries) return undefined;
  const out: AmdProcessEntry[] = [];
  for (const e of entries) {
    for (const item of processInfos(e)) {
      const info = isObj(item) ? item.process_info : undefined;
      if (!isObj(info)) continue; // "No running processes detected", "N/A", "Not Found"
      const pid = info.pid;
      if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) continue;
      const usage = isObj(info.usage) ? info.usage : {};
      out.push({
        index: e.gpu as number,
        pid,
        name: typeof info.name === 'string' ? info.name : '',
        memBytes: amdValue(info.mem_usage ?? info.mem, 'B'),
        gfxNs: amdValue(usage.gfx, 'ns'),
      });
    }
  }
  return out;
}

/** `amd-smi list --json` → index and UUID of every device; undefined when it is not that output. */
export function parseAmdList(text: string): AmdListDevice[] | undefined {
  const entries = amdEntries(parseToolJson(text));
  if (!entries) return undefined;
  return entries.map((e) => {
    const uuid = typeof e.uuid === 'string' ? e.uuid : typeof e.gpu_uuid === 'string' ? e.gpu_uuid : '';
    const bdf = typeof e.bdf === 'string' ? e.bdf : typeof e.gpu_bdf === 'string' ? e.gpu_bdf : undefined;
    return { index: e.gpu as number, uuid: uuid || `amd-gpu-${e.gpu as number}`, ...(bdf ? { bdf } : {}) };
  });
}

/** `amd-smi static --asic --json` → the market name of every device it names. */
export function parseAmdStaticNames(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const e of amdEntries(parseToolJson(text)) ?? []) {
    const asic = isObj(e.asic) ? e.asic : undefined;
    if (asic && typeof asic.market_name === 'string' && asic.market_name && asic.market_name !== 'N/A') {
      names.set(e.gpu as number, asic.market_name);
    }
  }
  return names;
}

export interface RocmSmiDevice {
  /** N of "cardN" */
  index: number;
  powerW: number | null;
  energyJ: number | null;
  name?: string;
}

/** `rocm-smi --showpower --showenergycounter [--showproductname] --json` → the cards; undefined when not that. */
export function parseRocmSmi(text: string): RocmSmiDevice[] | undefined {
  const doc = parseToolJson(text);
  if (!isObj(doc)) return undefined;
  const out: RocmSmiDevice[] = [];
  for (const [key, card] of Object.entries(doc)) {
    const m = /^card(\d+)$/.exec(key);
    if (!m || !isObj(card)) continue;
    let powerW: number | null = null;
    let energyJ: number | null = null;
    for (const [field, value] of Object.entries(card)) {
      if (/Graphics Package Power \(W\)$/.test(field) || /^Current Socket Power \(W\)$/.test(field))
        powerW ??= amdValue(value, 'W');
      else if (field === 'Accumulated Energy (uJ)') {
        const uJ = amdValue(value, 'J'); // a bare string number: read in the base unit, then µJ → J
        energyJ = uJ === null ? null : uJ / 1e6;
      }
    }
    const name = typeof card['Card Series'] === 'string' ? card['Card Series'] : undefined;
    out.push({ index: Number(m[1]), powerW, energyJ, ...(name ? { name } : {}) });
  }
  if (!out.length && !('system' in doc)) return undefined;
  return out.sort((a, b) => a.index - b.index);
}

/**
 * Energy between two readings of a cumulative counter, J. A counter that goes back has either wrapped or restarted
 * (driver reload). AMD's firmware accumulator counts in units of 2⁻¹⁶ J (15.259 µJ, the library's
 * counter_resolution); where it is 32 bits wide it wraps at 2³² units = 65 536 J (65 700 J as amd-smi ≤ 6.2 prints
 * it, having rounded the resolution to 15.3 µJ). A decrease is read as a wrap when the previous value was in the
 * upper half of one of those ranges and the wrapped difference is plausible (≤ `maxW` over `dtS`), else as a restart
 * (the energy since the restart is the new value itself, when plausible; else 0).
 */
export function counterDeltaJ(
  prevJ: number,
  curJ: number,
  dtS: number,
  maxW = 3000,
): { joules: number; event?: 'wrap' | 'restart' } {
  if (curJ >= prevJ) return { joules: curJ - prevJ };
  const limit = maxW * Math.max(dtS, 1);
  for (const range of [65536, 65536 * (15.3 / (1e6 / 65536))]) {
    if (prevJ <= range && prevJ >= range / 2) {
      const d = range - prevJ + curJ;
      if (d >= 0 && d <= limit) return { joules: d, event: 'wrap' };
    }
  }
  return { joules: curJ <= limit ? curJ : 0, event: 'restart' };
}
