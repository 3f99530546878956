/**
 * Process-tree sampling on macOS and Windows, where there is no /proc: systeminformation's process list
 * (CPU % since its previous call, resident memory). CPU time is integrated from the CPU share over each tick,
 * so it is an estimate; the /proc sampler is exact and is used on Linux.
 */
import type { ProcessTreeSampler, TreeSample } from './procfs';

interface SiProcess {
  pid: number;
  parentPid: number;
  cpu: number;
  memRss: number;
}

type ListProcesses = () => Promise<{ list: SiProcess[] }>;

export class SysinfoTreeSampler implements ProcessTreeSampler {
  private cpuSeconds = 0;
  private lastT = Date.now();
  private done = false;

  constructor(
    readonly rootPid: number,
    private readonly listProcesses: ListProcesses = async () => (await import('systeminformation')).processes(),
  ) {}

  async sample(now = Date.now()): Promise<TreeSample> {
    if (this.done) return { t: now, cpuSeconds: this.cpuSeconds, rssBytes: 0, pids: [], alive: false };
    const { list } = await this.listProcesses();
    const byParent = new Map<number, SiProcess[]>();
    const byPid = new Map<number, SiProcess>();
    for (const p of list) {
      byPid.set(p.pid, p);
      const arr = byParent.get(p.parentPid) ?? [];
      arr.push(p);
      byParent.set(p.parentPid, arr);
    }
    const tree: SiProcess[] = [];
    const root = byPid.get(this.rootPid);
    if (root) {
      const queue = [root];
      while (queue.length) {
        const p = queue.shift()!;
        tree.push(p);
        for (const c of byParent.get(p.pid) ?? []) if (c.pid !== p.pid) queue.push(c);
      }
    }
    const dtS = Math.max(0, (now - this.lastT) / 1000);
    this.lastT = now;
    // systeminformation's cpu is a percentage of one CPU
    this.cpuSeconds += (tree.reduce((a, p) => a + (p.cpu || 0), 0) / 100) * dtS;
    if (!tree.length) this.done = true;
    return {
      t: now,
      cpuSeconds: this.cpuSeconds,
      rssBytes: tree.reduce((a, p) => a + (p.memRss || 0) * 1024, 0),
      pids: tree.map((p) => p.pid),
      alive: tree.length > 0,
    };
  }
}
