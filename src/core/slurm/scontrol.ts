/**
 * `scontrol show node`, `scontrol show config`, `squeue` and `sstat` output → plain objects.
 */
import { parseSlurmDuration, parseTres, splitJobId } from './parse';

export interface NodeInfo {
  name: string;
  /** logical CPUs (CPUTot) */
  cpus?: number;
  sockets?: number;
  coresPerSocket?: number;
  threadsPerCore?: number;
  realMemoryMB?: number;
  /** a CPU model found in the node's features ("AvailableFeatures=intel,xeon_gold_6148"), when any */
  cpuModel?: string;
  /** the first GPU type in Gres ("gpu:a100:4" → "a100") */
  gpuType?: string;
  features: string[];
  /** CurrentWatts when an energy plugin reports it */
  currentW?: number;
}

/** `key=value` pairs of scontrol's multi-line records; a record starts at `NodeName=`. */
function kvRecords(text: string, first: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> | undefined;
  // values may contain spaces only in OS= and Reason=; take everything up to the next " Key=" for those
  const re = /([A-Za-z][A-Za-z/_]*)=(.*?)(?=\s+[A-Za-z][A-Za-z/_]*=|\s*$)/gm;
  for (const line of text.split(/\r?\n/)) {
    for (let m = re.exec(line); m; m = re.exec(line)) {
      if (m[1] === first) {
        cur = {};
        out.push(cur);
      }
      if (cur) cur[m[1]] = m[2].trim();
    }
    re.lastIndex = 0;
  }
  return out;
}

const CPU_FEATURE =
  /(xeon|epyc|ryzen|core|platinum|gold|silver|threadripper|cascade|skylake|icelake|sapphire|milan|rome|genoa|grace|neoverse)/i;

export function parseNodes(text: string): NodeInfo[] {
  return kvRecords(text, 'NodeName').map((r) => {
    const num = (k: string) => (r[k] !== undefined && /^\d+(\.\d+)?$/.test(r[k]) ? Number(r[k]) : undefined);
    const features = (r.AvailableFeatures ?? r.Features ?? '')
      .split(/[,&|]/)
      .map((f) => f.trim())
      .filter((f) => f && f !== '(null)');
    const node: NodeInfo = { name: r.NodeName, features };
    const set = <K extends keyof NodeInfo>(k: K, v: NodeInfo[K] | undefined) => {
      if (v !== undefined) node[k] = v;
    };
    set('cpus', num('CPUTot'));
    set('sockets', num('Sockets'));
    set('coresPerSocket', num('CoresPerSocket'));
    set('threadsPerCore', num('ThreadsPerCore'));
    set('realMemoryMB', num('RealMemory'));
    set('currentW', num('CurrentWatts'));
    // a feature that names a CPU model with a model number ("xeon_gold_6148", "EPYC-7763")
    const cpu = features.find((f) => CPU_FEATURE.test(f) && /\d{3,}/.test(f));
    if (cpu) node.cpuModel = cpu.replace(/[_-]+/g, ' ');
    const gres = /gpu:([^:(,]+):\d/.exec(r.Gres ?? '');
    if (gres) node.gpuType = gres[1];
    return node;
  });
}

/** `scontrol show config` → key → value ("AcctGatherEnergyType" → "acct_gather_energy/rapl"). */
export function parseConfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z][\w/]*)\s*=\s*(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

/** What the controller still knows of a job (`scontrol show job ID`): its name and working folder. */
export interface ControllerJob {
  jobId: string;
  name?: string;
  workDir?: string;
}

/** `scontrol show job` → one entry per job record; "(null)" and empty values are left out. */
export function parseJobs(text: string): ControllerJob[] {
  const val = (v: string | undefined) => (v && v !== '(null)' ? v : undefined);
  return kvRecords(text, 'JobId').map((r) => {
    const job: ControllerJob = { jobId: r.JobId };
    const name = val(r.JobName);
    const workDir = val(r.WorkDir);
    if (name) job.name = name;
    if (workDir) job.workDir = workDir;
    return job;
  });
}

/** One job in `squeue -h -o '%i|%T|%M|%D|%R'` */
export interface QueueEntry {
  jobId: string;
  state: string;
  elapsedS?: number;
  nodes?: number;
  reason: string;
}

export const SQUEUE_FORMAT = '%i|%T|%M|%D|%R';

export function parseSqueue(text: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const [id, state, time, nodes, reason] = line.split('|');
    if (!id || !/^\d/.test(id.trim()) || !state) continue;
    const e: QueueEntry = { jobId: id.trim(), state: state.trim().toUpperCase(), reason: (reason ?? '').trim() };
    const el = parseSlurmDuration(time);
    if (el !== undefined) e.elapsedS = el;
    if (nodes && /^\d+$/.test(nodes.trim())) e.nodes = Number(nodes.trim());
    out.push(e);
  }
  return out;
}

/** `sstat -a -P -o JobID,TRESUsageInTot,ConsumedEnergyRaw`: CPU seconds and energy of the running steps. */
export function parseSstat(text: string): { stepId: string; cpuS?: number; energyJ?: number }[] {
  const lines = text.split(/\r?\n/).filter((l) => l.includes('|'));
  if (lines.length < 2) return [];
  const head = lines[0].split('|').map((h) => h.toLowerCase());
  const iId = head.indexOf('jobid');
  const iTres = head.indexOf('tresusageintot');
  const iE = head.indexOf('consumedenergyraw');
  return lines.slice(1).flatMap((l) => {
    const c = l.split('|');
    const id = c[iId];
    if (!id || !/^\d/.test(id)) return [];
    const tres = parseTres(c[iTres]);
    const e = iE >= 0 && /^\d+$/.test(c[iE] ?? '') ? Number(c[iE]) : undefined;
    return [
      {
        stepId: splitJobId(id).stepId ?? '',
        ...(tres.cpu !== undefined ? { cpuS: tres.cpu } : {}),
        ...(e !== undefined ? { energyJ: e } : {}),
      },
    ];
  });
}
