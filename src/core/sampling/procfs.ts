/**
 * Linux process-tree sampling straight from /proc: only the tracked root and its descendants are read.
 *
 * CPU time is cumulative (utime + stime + cutime + cstime, in clock ticks), so nothing that happens between
 * two ticks is lost:
 *  - a live process contributes what it used since it was first seen (or since it started, for processes born
 *    into the run);
 *  - a child that exits and is reaped by a tracked parent moves into that parent's cutime/cstime, so its own
 *    entry is dropped (counting both would count it twice);
 *  - the root, reaped by its untracked parent (the CLI itself, the terminal's shell), is closed with the increase
 *    of that parent's cutime/cstime ("the reaper"), clamped to what is physically possible;
 *  - an orphan reaped by init keeps its last seen value; with a child subreaper (`adopter`, the CLI: see
 *    subreaper.ts) orphans stay in the tree instead, and their zombies are read (final times) and then reaped here,
 *    with what they add to the reaper's cutime taken out of the reaper accounting, so nothing counts twice.
 *
 * Cost: a tick reads only the tracked pids, through fds kept open (procReader.ts), and looks for new children only
 * when a pid was allocated on the machine since the last scans.
 *
 * Parsing /proc files: procStat.ts (re-exported here).
 */
import { bootTimeS, parseProcStat, uptimeS, type ProcStat } from './procStat';
import { MAIN_THREAD, ProcReader } from './procReader';
import type { Adopter } from './subreaper';

export {
  bootTimeS,
  parseMachineCpu,
  parseProcStat,
  readChildPids,
  readCmdline,
  reapedChildTicks,
  readMachineCpu,
  type MachineCpuTicks,
  type ProcStat,
} from './procStat';

export interface TreeSample {
  /** ms since epoch */
  t: number;
  /** CPU seconds used by the tree since metering began (monotonic) */
  cpuSeconds: number;
  /** resident memory of the live tree, bytes */
  rssBytes: number;
  /** live tracked pids */
  pids: number[];
  /** false once the root and every descendant are gone */
  alive: boolean;
  /** false once the root process is gone (its descendants may live on); undefined where unknown */
  rootAlive?: boolean;
  /**
   * processes of the run adopted by the child subreaper so far (orphans: their parent, the root or another, exited),
   * each once, before or after the root ended (subreaper.ts)
   */
  adopted?: number;
  /**
   * Once the root is gone: the processes that were still running when it was found gone (the first sample after its
   * exit) and that have been metered since, each counted once, whether seen then or found later (a process forked
   * just before the root exited). Processes they start afterwards are not counted; neither are zombies (already
   * exited) nor processes that ended before that sample.
   */
  outlived?: number;
  /** of `outlived`, those adopted by the child subreaper (as `adopted`) at any time while metered */
  outlivedAdopted?: number;
}

export interface ProcessTreeSampler {
  sample(now?: number): TreeSample | Promise<TreeSample>;
  /** releases what the sampler holds (open files); it may be called more than once */
  dispose?(): void;
}

export interface ProcfsSamplerOptions {
  procRoot?: string;
  /** `getconf CLK_TCK`: 100 on every mainstream Linux */
  clkTck?: number;
  /** `getconf PAGESIZE` */
  pageSize?: number;
  /**
   * The untracked parent that will reap the root (the CLI itself, the terminal's shell). Default: the root's parent
   * when the sampler is created, so that what the root used in its last moments is not lost.
   */
  reaperPid?: number;
  /**
   * The child subreaper the run's orphans are handed to (the CLI, see subreaper.ts): its children that it did not
   * spawn itself join the run, and their zombies are read and then reaped here.
   */
  adopter?: Adopter;
  /**
   * true: the root was started for this run, so everything it used since it started counts (a terminal command
   * noticed a second after it started). false: attaching to a process that was already running; only what it uses
   * from now on counts.
   */
  countFromProcessStart?: boolean;
  logicalCpus?: number;
  /**
   * What the reaper had accounted for its waited-for children (cutime + cstime, ticks) when the root was seen alive
   * (procStat.ts reapedChildTicks): a root that ends and is reaped before this sampler exists then still counts.
   * Default: read when the sampler is made.
   */
  reaperBaselineTicks?: number;
}

interface Tracked {
  ppid: number;
  startTicks: number;
  base: number;
  last: number;
  rssPages: number;
  numThreads: number;
  /** consecutive reads in which its CPU time did not move */
  quietReads: number;
  state: string;
  /** the sampler tick at which it is read next */
  nextRead: number;
  /** counted in `adopted` (its parent has been the adopter: it was orphaned) */
  adopted?: boolean;
  /** counted in `outlived` (it was running when the root was found gone) */
  outlived?: boolean;
  /** counted in `outlivedAdopted` */
  outlivedAdopted?: boolean;
}

/**
 * A process whose CPU time has not moved for QUIET_AFTER reads (a waiting shell, an idle helper) is read every
 * QUIET_EVERY ticks instead of every tick. Nothing is lost: CPU time is cumulative, and a child that exits is in
 * its parent's cutime. Whenever a process is found gone or exited (an adopted orphan's zombie), every tracked
 * process is read in the same tick, so the end of a run is never late; the root, the reaper's and the adopter's
 * children and zombies are read every tick.
 */
const QUIET_AFTER = 2;
const QUIET_EVERY = 4;

export class ProcfsTreeSampler implements ProcessTreeSampler {
  private readonly procRoot: string;
  private readonly clkTck: number;
  private readonly pageSize: number;
  private readonly reaperPid?: number;
  private readonly adopter?: Adopter;
  private readonly logicalCpus: number;
  private readonly reader: ProcReader;
  private readonly tracked = new Map<number, Tracked>();
  /** ticks of processes that are gone and were not reaped into a tracked parent */
  private frozenTicks = 0;
  private reaperLast?: number;
  /** ticks of zombies reaped here since the reaper was last read: they are in its cutime, and already counted */
  private reapedSinceReaperRead = 0;
  private lastT = Date.now();
  private lastCpuTicks = 0;
  private attachTicks: number;
  private rootStartTicks = 0;
  private rootSeen = false;
  private rootAlive = true;
  /** the last allocated pid moved at the previous discovery: list everything once more */
  private settling = false;
  private adoptedCount = 0;
  /** ticks since boot when the root was found gone: processes started later did not outlive it */
  private rootGoneTicks?: number;
  private outlivedCount = 0;
  private outlivedAdoptedCount = 0;
  private lastPidRead?: number;
  /** tracked pids whose children must be listed (again) since a pid was allocated */
  private readonly toScan = new Set<number>();
  private tickNo = 0;
  private done = false;

  constructor(
    readonly rootPid: number,
    opts: ProcfsSamplerOptions = {},
  ) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.clkTck = opts.clkTck ?? 100;
    this.pageSize = opts.pageSize ?? 4096;
    // kept fds stand for the process they were opened on; a fixture tree (tests) is read afresh each time
    this.reader = new ProcReader(this.procRoot, this.procRoot === '/proc' ? 256 : 0);
    this.reaperPid = opts.reaperPid ?? this.parentOf(rootPid);
    this.adopter = opts.adopter;
    this.logicalCpus = opts.logicalCpus ?? 1024;
    // Processes that started before this point (in ticks after boot) only count from now on, unless the root
    // itself was started for the run.
    this.attachTicks = opts.countFromProcessStart === false ? this.ticksSinceBoot(Date.now()) : -1;
    // until the root is read: a little before now (btime is whole seconds), for adopting orphans of a root that
    // ended before the first sample
    this.rootStartTicks = this.adopter ? this.ticksSinceBoot(Date.now()) - 2 * this.clkTck : 0;
    this.reaperLast = opts.reaperBaselineTicks ?? this.readReaperTicks();
  }

  private parentOf(pid: number): number | undefined {
    const ppid = this.readStat(pid)?.ppid;
    return ppid !== undefined && ppid > 1 ? ppid : undefined;
  }

  private ticksSinceBoot(nowMs: number): number {
    return Math.floor((nowMs / 1000 - bootTimeS(this.procRoot)) * this.clkTck);
  }

  private readStat(pid: number): ProcStat | undefined {
    const text = this.reader.statText(pid);
    if (text === undefined) return undefined;
    try {
      return parseProcStat(text);
    } catch {
      return undefined;
    }
  }

  private readReaperTicks(): number | undefined {
    if (this.reaperPid === undefined) return undefined;
    const s = this.readStat(this.reaperPid);
    if (!s) return undefined;
    // the adopter's helpers (GPU tools it spawned) are in its cutime too, and are not the run's
    const helpers = this.reaperPid === this.adopter?.pid ? (this.adopter.helperTicks?.() ?? 0) : 0;
    return s.cutimeTicks + s.cstimeTicks - helpers;
  }

  private track(stat: ProcStat): void {
    const total = stat.utimeTicks + stat.stimeTicks + stat.cutimeTicks + stat.cstimeTicks;
    const bornBefore = this.attachTicks >= 0 && stat.startTicks <= this.attachTicks;
    this.tracked.set(stat.pid, {
      ppid: stat.ppid,
      startTicks: stat.startTicks,
      base: bornBefore ? total : 0,
      last: total,
      rssPages: stat.rssPages,
      numThreads: stat.numThreads,
      quietReads: 0,
      state: stat.state,
      nextRead: 0,
    });
    this.toScan.add(stat.pid);
    this.noteAdoption(stat.pid, this.tracked.get(stat.pid)!);
  }

  /** Counts, once, a process of the run that the adopter took in (its parent exited, the root or another). */
  private noteAdoption(pid: number, t: Tracked): void {
    if (t.adopted || !this.adopter || t.ppid !== this.adopter.pid || pid === this.rootPid) return;
    t.adopted = true;
    this.adoptedCount++;
  }

  private untrack(pid: number): void {
    this.tracked.delete(pid);
    this.toScan.delete(pid);
    if (pid !== this.reaperPid) this.reader.forget(pid);
  }

  sample(now = Date.now()): TreeSample {
    if (this.done) return this.result(now, false);
    const dtS = Math.max(0, (now - this.lastT) / 1000);

    if (!this.rootSeen) {
      const root = this.readStat(this.rootPid);
      this.rootSeen = true;
      if (root) {
        this.track(root);
        this.rootStartTicks = root.startTicks;
      } else {
        // gone before the first sample (a command shorter than a tick): what the reaper accounted is all we know
        const reaperNow = this.readReaperTicks();
        if (reaperNow !== undefined && this.reaperLast !== undefined && reaperNow > this.reaperLast) {
          this.frozenTicks += Math.min(
            reaperNow - this.reaperLast,
            Math.ceil((dtS + 1) * this.clkTck * this.logicalCpus),
          );
        }
        this.reaperLast = reaperNow;
        this.rootAlive = false;
        // without an adopter nothing can be found any more; with one, its orphans may live on
        if (!this.adopter) return this.finish(now);
      }
    }

    // 1. refresh what we track (all of it once something is gone); collect what vanished, and the adopted orphans
    //    that exited (zombies of the adopter)
    this.tickNo++;
    const vanished: [number, Tracked][] = [];
    const exitedOrphans: number[] = [];
    const read = new Set<number>();
    // a process found exited (gone, or an adopted orphan's zombie, reaped below) may have reaped quiet children
    // that are read only every few ticks, or left its own to the adopter: everything else is read now too, so the
    // run's end is seen at the first tick after its last process exited, never QUIET_EVERY ticks later
    for (let pass = 0; pass < 2; pass++) {
      for (const [pid, t] of this.tracked) {
        if (read.has(pid) || (pass === 0 && t.nextRead > this.tickNo)) continue;
        read.add(pid);
        if (!this.refresh(pid, t) || this.exitedElsewhere(pid, t)) vanished.push([pid, t]);
        else if (t.state === 'Z' && this.adopter && t.ppid === this.adopter.pid && pid !== this.rootPid)
          exitedOrphans.push(pid);
      }
      if (!vanished.length && !exitedOrphans.length) break;
    }
    for (const [pid] of vanished) this.untrack(pid);
    if (this.rootAlive && !this.tracked.has(this.rootPid)) this.rootAlive = false;
    const firstLook = !this.rootAlive && this.rootGoneTicks === undefined;
    if (firstLook) this.rootGoneTicks = this.nowTicks(now);

    this.closeVanished(vanished, dtS);

    // 2. adopted orphans that exited: their zombie's stat holds their final times; reap them (their time moves into
    //    the adopter's cutime, which the reaper accounting must then skip)
    for (const pid of exitedOrphans) {
      const t = this.tracked.get(pid)!;
      if (!this.adopter!.reap(pid)) continue; // not ours to reap (any more): the next sample sees it vanish
      this.frozenTicks += Math.max(0, t.last - t.base);
      this.reapedSinceReaperRead += t.last;
      if (t.outlived && !t.outlivedAdopted) this.outlivedAdoptedCount++; // orphaned as it ended
      this.untrack(pid);
    }

    // 3. new processes: only when a pid was allocated since the last scans (see procReader.ts)
    this.discover(read);

    const alive = this.tracked.size > 0;
    if (alive) this.countOutliving(firstLook);
    return alive ? this.result(now, true) : this.finish(now);
  }

  /** Ticks since boot now: /proc/uptime (1/100 s), else from the boot time (whole seconds). */
  private nowTicks(now: number): number {
    const up = this.procRoot === '/proc' ? uptimeS(this.procRoot) : undefined;
    return up !== undefined ? Math.floor(up * this.clkTck) : this.ticksSinceBoot(now);
  }

  /**
   * Once the root is gone: counts, once each, the tracked processes that were running when it was found gone (the
   * first look), those found later that had started by then, and those of them adopted by the subreaper. A process
   * seen at the first look counts whatever its start time: start times and /proc/uptime can disagree by a tick or
   * so (seen on a VM), so the threshold for the later ones is the newest start time seen at the first look, if later.
   */
  private countOutliving(firstLook: boolean): void {
    if (this.rootGoneTicks === undefined) return;
    for (const t of this.tracked.values()) {
      if (!t.outlived) {
        if (t.state === 'Z' || (!firstLook && t.startTicks > this.rootGoneTicks)) continue;
        if (firstLook) this.rootGoneTicks = Math.max(this.rootGoneTicks, t.startTicks);
        t.outlived = true;
        this.outlivedCount++;
      }
      if (!t.outlivedAdopted && t.adopted) {
        t.outlivedAdopted = true;
        this.outlivedAdoptedCount++;
      }
    }
  }

  /**
   * Vanished processes. One whose parent is still tracked was reaped by it: its time is in the parent's cutime now.
   * The others are grouped under the topmost vanished ancestor (a parent and the children it reaped as it died); a
   * group whose top was reaped by the watched reaper is closed with the reaper's increase, clamped to what is
   * possible; any other group (orphans reaped by init) keeps its last seen values.
   */
  private closeVanished(vanished: [number, Tracked][], dtS: number): void {
    const reaperNow = this.readReaperTicks();
    let reaperDelta =
      reaperNow !== undefined && this.reaperLast !== undefined
        ? Math.max(0, reaperNow - this.reaperLast - this.reapedSinceReaperRead)
        : 0;
    this.reaperLast = reaperNow;
    this.reapedSinceReaperRead = 0;
    if (!vanished.length) return;
    const gone = new Map(vanished);
    const groups = new Map<number, { top: Tracked; last: number; base: number }>();
    for (const [pid, t] of vanished) {
      if (this.tracked.has(t.ppid)) continue;
      let top = pid;
      const seen = new Set<number>([pid]);
      while (gone.has(gone.get(top)!.ppid) && !seen.has(gone.get(top)!.ppid)) {
        top = gone.get(top)!.ppid;
        seen.add(top);
      }
      if (this.tracked.has(gone.get(top)!.ppid)) continue; // its top was reaped into a live tracked parent
      const g = groups.get(top) ?? { top: gone.get(top)!, last: 0, base: 0 };
      g.last += t.last;
      g.base += t.base;
      groups.set(top, g);
    }
    for (const g of groups.values()) {
      let final = g.last;
      if (this.reaperPid !== undefined && g.top.ppid === this.reaperPid && reaperDelta > 0) {
        const ceiling = g.last + Math.ceil((dtS + 1) * this.clkTck * this.logicalCpus);
        final = Math.min(Math.max(reaperDelta, g.last), ceiling);
        reaperDelta = Math.max(0, reaperDelta - final);
      }
      this.frozenTicks += Math.max(0, final - g.base);
    }
  }

  /**
   * A zombie whose parent is outside the run and is neither the reaper nor the adopter: an orphan of init in a
   * container whose first process reaps nothing (`sleep infinity`, a bare shell). It has exited, and its times, final
   * in its stat, are added to no process this sampler reads: it is closed as if gone, never waited for.
   */
  private exitedElsewhere(pid: number, t: Tracked): boolean {
    return (
      t.state === 'Z' &&
      !this.tracked.has(t.ppid) &&
      t.ppid !== this.reaperPid &&
      t.ppid !== this.adopter?.pid &&
      (pid !== this.rootPid || this.reaperPid === undefined)
    );
  }

  /** Reads a tracked process; false when it is gone. */
  private refresh(pid: number, t: Tracked): boolean {
    const s = this.readStat(pid);
    if (!s || s.startTicks !== t.startTicks) return false;
    const total = s.utimeTicks + s.stimeTicks + s.cutimeTicks + s.cstimeTicks;
    t.quietReads = total > t.last || s.state === 'R' ? 0 : t.quietReads + 1;
    t.last = Math.max(t.last, total);
    t.rssPages = s.state === 'Z' ? 0 : s.rssPages;
    t.ppid = s.ppid;
    t.state = s.state;
    this.noteAdoption(pid, t);
    t.numThreads = s.numThreads;
    const always = pid === this.rootPid || s.state === 'Z' || s.ppid === this.reaperPid || s.ppid === this.adopter?.pid;
    t.nextRead = this.tickNo + (always || t.quietReads < QUIET_AFTER ? 1 : QUIET_EVERY);
    return true;
  }

  /**
   * New processes, breadth first from the tracked processes read in this tick (and from the adopter: orphans handed
   * to it). Nothing is listed while no pid was allocated anywhere: when the last allocated pid moves, every tracked
   * process is listed (again) at its next read, and once more after the value was seen unchanged, because a process
   * appears under its parent shortly after its pid is allocated.
   */
  private discover(read: Set<number>): void {
    const lastPid = this.reader.lastPid();
    const moved = lastPid === undefined || lastPid !== this.lastPidRead;
    const due = moved || this.settling;
    this.settling = moved;
    this.lastPidRead = lastPid;
    if (due) for (const pid of this.tracked.keys()) this.toScan.add(pid);
    const queue: number[] = [];
    for (const pid of this.toScan) if (read.has(pid)) queue.push(pid);
    if (this.adopter && due) {
      const a = this.adopter;
      // orphans are handed to the adopter's main thread: its other threads' children files are not read
      for (const child of this.reader.children(a.pid, MAIN_THREAD)) {
        if (this.tracked.has(child) || child === this.rootPid || a.isOwnChild(child)) continue;
        const s = this.readStat(child);
        // only what the run started: the adopter's own earlier children are not the run's
        if (!s || s.startTicks < this.rootStartTicks) continue;
        this.track(s);
        queue.push(child);
      }
    }
    for (let i = 0; i < queue.length; i++) {
      const pid = queue[i];
      this.toScan.delete(pid);
      for (const child of this.reader.children(pid, this.tracked.get(pid)?.numThreads)) {
        if (this.tracked.has(child)) continue;
        const s = this.readStat(child);
        if (!s) continue;
        this.track(s);
        queue.push(child);
      }
    }
  }

  private finish(now: number): TreeSample {
    this.done = true;
    this.dispose();
    return this.result(now, false);
  }

  /** Closes the files kept open for the tracked processes. Sampling again reopens them. */
  dispose(): void {
    this.reader.dispose();
  }

  private result(now: number, alive: boolean): TreeSample {
    let ticks = this.frozenTicks;
    let rss = 0;
    for (const t of this.tracked.values()) {
      ticks += Math.max(0, t.last - t.base);
      rss += t.rssPages;
    }
    // cumulative CPU time never goes backwards
    this.lastCpuTicks = Math.max(this.lastCpuTicks, ticks);
    this.lastT = now;
    return {
      t: now,
      cpuSeconds: this.lastCpuTicks / this.clkTck,
      rssBytes: rss * this.pageSize,
      pids: [...this.tracked.keys()],
      alive,
      rootAlive: this.rootAlive && alive,
      adopted: this.adoptedCount,
      ...(this.rootGoneTicks !== undefined && {
        outlived: this.outlivedCount,
        outlivedAdopted: this.outlivedAdoptedCount,
      }),
    };
  }
}
