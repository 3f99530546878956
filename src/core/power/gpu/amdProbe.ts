/** One look at the AMD GPUs for `doctor` and the hardware inventory (the meter itself uses ./amdMonitor.ts). */
import { parseAmdList, parseAmdMetric, parseAmdStaticNames, parseRocmSmi } from './amdSmi';
import { METRIC_ARGS, ROCM_SMI_ARGS } from './amdMonitor';
import { describeExit, describeSpawnError, firstLine, formatSeconds, runOnce, truncate, type RunResult } from './tools';

export interface AmdProbe {
  /** what will meter AMD GPUs */
  source: 'amd-smi' | 'rocm-smi' | 'none';
  amdSmi: { command: string; available: boolean; reason?: string };
  rocmSmi?: { command: string; available: boolean; reason?: string };
  devices: {
    index: number;
    name: string;
    uuid: string;
    bdf?: string;
    energyCounter?: boolean;
    powerW?: number | null;
  }[];
}

function problem(r: RunResult, command: string, tool: string, what: string, timeoutMs: number): string | undefined {
  if (r.error) return describeSpawnError(r.error, command, tool);
  if (r.timedOut) return `${tool} ${what} did not answer within ${formatSeconds(timeoutMs)}; it was stopped`;
  if (r.code !== 0) return describeExit(`${tool} ${what}`, r, firstLine(r.stderr) || firstLine(r.stdout));
  return undefined;
}

/**
 * Asks amd-smi (else rocm-smi) once for the AMD devices: `list` and `static --asic`, and with `energy` one `metric`
 * reading to say whether the energy counter works (doctor). Never rejects.
 */
export async function probeAmd(
  opts: { amdSmi?: string; rocmSmi?: string; timeoutMs?: number; energy?: boolean } = {},
): Promise<AmdProbe> {
  const amdSmi = opts.amdSmi || 'amd-smi';
  const rocmSmi = opts.rocmSmi || 'rocm-smi';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const env = { ...process.env, PYTHONUNBUFFERED: '1' };
  const list = await runOnce(amdSmi, ['list', '--json'], timeoutMs, undefined, env);
  const listBad = problem(list, amdSmi, 'amd-smi', 'list', timeoutMs);
  if (!listBad) {
    const devices = parseAmdList(list.stdout);
    if (!list.stdout.trim() || !devices?.length) {
      const reason = list.stdout.trim()
        ? `amd-smi list printed output Carbon Meter cannot read: "${truncate(firstLine(list.stdout))}"`
        : 'amd-smi lists no AMD GPU';
      return { source: 'none', amdSmi: { command: amdSmi, available: false, reason }, devices: [] };
    }
    const st = await runOnce(amdSmi, ['static', '--asic', '--json'], timeoutMs, undefined, env);
    const names = problem(st, amdSmi, 'amd-smi', 'static', timeoutMs)
      ? new Map<number, string>()
      : parseAmdStaticNames(st.stdout);
    const out: AmdProbe['devices'] = devices.map((d) => ({
      index: d.index,
      name: names.get(d.index) ?? 'AMD GPU',
      uuid: d.uuid,
      ...(d.bdf ? { bdf: d.bdf } : {}),
    }));
    if (opts.energy) {
      const m = await runOnce(amdSmi, METRIC_ARGS, timeoutMs, undefined, env);
      for (const r of (problem(m, amdSmi, 'amd-smi', 'metric', timeoutMs) ? undefined : parseAmdMetric(m.stdout)) ??
        []) {
        const d = out.find((x) => x.index === r.index);
        if (d) Object.assign(d, { energyCounter: r.energyJ !== null, powerW: r.powerW });
      }
    }
    return { source: 'amd-smi', amdSmi: { command: amdSmi, available: true }, devices: out };
  }
  const amd = { command: amdSmi, available: false, reason: listBad };
  if (list.error?.code !== 'ENOENT') return { source: 'none', amdSmi: amd, devices: [] };
  const q = await runOnce(rocmSmi, ['--showproductname', '--json'], timeoutMs, undefined, env);
  const bad = problem(q, rocmSmi, 'rocm-smi', '--showproductname', timeoutMs);
  const cards = bad ? undefined : parseRocmSmi(q.stdout);
  if (!cards?.length) {
    const reason =
      bad ??
      (cards
        ? 'rocm-smi lists no AMD GPU'
        : `rocm-smi printed output Carbon Meter cannot read: "${truncate(firstLine(q.stdout))}"`);
    return { source: 'none', amdSmi: amd, rocmSmi: { command: rocmSmi, available: false, reason }, devices: [] };
  }
  if (opts.energy) {
    const m = await runOnce(rocmSmi, ROCM_SMI_ARGS, timeoutMs, undefined, env);
    for (const r of (problem(m, rocmSmi, 'rocm-smi', 'metric', timeoutMs) ? undefined : parseRocmSmi(m.stdout)) ?? []) {
      const c = cards.find((x) => x.index === r.index);
      if (c) Object.assign(c, { energyJ: r.energyJ, powerW: r.powerW });
    }
  }
  return {
    source: 'rocm-smi',
    amdSmi: amd,
    rocmSmi: { command: rocmSmi, available: true },
    devices: cards.map((c) => ({
      index: c.index,
      name: c.name ?? 'AMD GPU',
      uuid: `rocm-smi:card${c.index}`,
      ...(opts.energy ? { energyCounter: c.energyJ !== null, powerW: c.powerW } : {}),
    })),
  };
}
