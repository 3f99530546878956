import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SysinfoTreeSampler } from '../../src/core/sampling/sysinfo';
import {
  parseMachineCpu,
  parseProcStat,
  reapedChildTicks,
  ProcfsTreeSampler,
  readChildPids,
  readCmdline,
} from '../../src/core/sampling/procfs';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'proc', 'training-tree');

/** A writable copy of the fixture /proc tree, with helpers that change it the way the kernel would. */
class FakeProc {
  readonly root: string;
  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-proc-'));
    fs.cpSync(FIXTURE, this.root, { recursive: true });
  }
  /** Sets stat fields (1-based field numbers as in proc(5)) of a process. */
  set(pid: number, fields: Record<number, number | string>): void {
    const file = path.join(this.root, String(pid), 'stat');
    const text = fs.readFileSync(file, 'latin1');
    const close = text.lastIndexOf(')');
    const head = text.slice(0, close + 1);
    const rest = text
      .slice(close + 2)
      .replace(/\n$/, '')
      .split(' ');
    for (const [n, v] of Object.entries(fields)) rest[Number(n) - 3] = String(v);
    fs.writeFileSync(file, `${head} ${rest.join(' ')}\n`);
  }
  addCpu(pid: number, dUtime: number, dStime = 0): void {
    const s = parseProcStat(fs.readFileSync(path.join(this.root, String(pid), 'stat'), 'latin1'));
    this.set(pid, { 14: s.utimeTicks + dUtime, 15: s.stimeTicks + dStime });
  }
  /** The kernel reaps `pid` into `parent`: the child's u+s+cu+cs is added to the parent's cutime/cstime. */
  reap(pid: number, parent: number): void {
    const c = parseProcStat(fs.readFileSync(path.join(this.root, String(pid), 'stat'), 'latin1'));
    const p = parseProcStat(fs.readFileSync(path.join(this.root, String(parent), 'stat'), 'latin1'));
    this.set(parent, {
      16: p.cutimeTicks + c.utimeTicks + c.cutimeTicks,
      17: p.cstimeTicks + c.stimeTicks + c.cstimeTicks,
    });
    this.remove(pid);
    for (const tid of fs.readdirSync(path.join(this.root, String(parent), 'task'))) {
      const f = path.join(this.root, String(parent), 'task', tid, 'children');
      const kids = fs
        .readFileSync(f, 'latin1')
        .split(' ')
        .filter((x) => x && Number(x) !== pid);
      fs.writeFileSync(f, kids.map((k) => `${k} `).join(''));
    }
  }
  remove(pid: number): void {
    fs.rmSync(path.join(this.root, String(pid)), { recursive: true, force: true });
  }
  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

describe('procfs sampling', () => {
  let proc: FakeProc;
  beforeEach(() => (proc = new FakeProc()));
  afterEach(() => proc.cleanup());

  it('parses a stat line whose command name has spaces and parentheses', () => {
    const s = parseProcStat(fs.readFileSync(path.join(FIXTURE, '4303', 'stat'), 'latin1'));
    assert.equal(s.pid, 4303);
    assert.equal(s.comm, 'tmux: (odd) name');
    assert.equal(s.state, 'S');
    assert.equal(s.ppid, 4242);
    assert.equal(s.utimeTicks, 10);
    assert.equal(s.stimeTicks, 5);
    assert.equal(s.startTicks, 49200);
    assert.equal(s.rssPages, 2048);
  });

  it('parses the real /proc/self/stat of this process', function () {
    if (process.platform !== 'linux') this.skip(); // /proc exists on Linux only
    const s = parseProcStat(fs.readFileSync('/proc/self/stat', 'latin1'));
    assert.equal(s.pid, process.pid);
    assert.equal(s.ppid, process.ppid);
    assert.ok(s.utimeTicks + s.stimeTicks > 0);
    assert.ok(s.rssPages * 4096 > 10 * 1024 * 1024);
  });

  it('rejects text that is not a stat line', () => {
    assert.throws(() => parseProcStat('garbage'), /not a \/proc stat line/);
  });

  it('reads machine CPU ticks from /proc/stat', () => {
    const m = parseMachineCpu(fs.readFileSync(path.join(FIXTURE, 'stat'), 'latin1'));
    assert.equal(m.busy, 4275 + 0 + 2650 + 0 + 67 + 21);
    assert.equal(m.total, m.busy + 90677 + 365);
  });

  it('lists children from every thread and reads command lines', () => {
    assert.deepEqual(readChildPids(4242, proc.root).sort(), [4301, 4302, 4303]);
    assert.equal(readCmdline(4242, proc.root), 'python train.py --epochs 3');
    assert.equal(readCmdline(999999, proc.root), undefined);
  });

  it('sums CPU time and memory over the root and all its descendants, and nothing else', () => {
    const s = new ProcfsTreeSampler(4242, { procRoot: proc.root }).sample(1000);
    assert.deepEqual([...s.pids].sort(), [4242, 4301, 4302, 4303]);
    // 1200+150 + 300+20 + 280+25 + 10+5 ticks
    assert.equal(s.cpuSeconds, 19.9);
    assert.equal(s.rssBytes, (262144 + 65536 + 65536 + 2048) * 4096);
    assert.equal(s.alive, true);
  });

  it('keeps the CPU time of a child reaped by a tracked parent exactly once', () => {
    const sampler = new ProcfsTreeSampler(4242, { procRoot: proc.root });
    sampler.sample(1000);
    proc.addCpu(4301, 50); // the worker works, then exits before the next tick
    proc.reap(4301, 4242);
    const s = sampler.sample(2000);
    assert.deepEqual([...s.pids].sort(), [4242, 4302, 4303]);
    assert.equal(s.cpuSeconds, 19.9 + 0.5);
  });

  it('keeps the last value of an orphan reaped elsewhere, and picks up new children', () => {
    const sampler = new ProcfsTreeSampler(4242, { procRoot: proc.root });
    sampler.sample(1000);
    proc.addCpu(4303, 7);
    sampler.sample(2000);
    // 4303 is re-parented to init (its parent thread's children list no longer has it) and reaped there
    proc.set(4303, { 4: 1 });
    fs.writeFileSync(path.join(proc.root, '4242', 'task', '4250', 'children'), '');
    sampler.sample(3000);
    proc.remove(4303);
    // a new child appears under a worker
    fs.cpSync(path.join(proc.root, '4302'), path.join(proc.root, '4400'), { recursive: true });
    fs.renameSync(path.join(proc.root, '4400', 'task', '4302'), path.join(proc.root, '4400', 'task', '4400'));
    const f4400 = path.join(proc.root, '4400', 'stat');
    fs.writeFileSync(f4400, fs.readFileSync(f4400, 'latin1').replace(/^4302 /, '4400 '));
    proc.set(4400, { 4: 4302, 14: 40, 15: 0, 22: 49500 });
    fs.writeFileSync(path.join(proc.root, '4302', 'task', '4302', 'children'), '4400 ');
    const s = sampler.sample(4000);
    assert.deepEqual([...s.pids].sort(), [4242, 4301, 4302, 4400]);
    assert.equal(Math.round(s.cpuSeconds * 100), 1990 + 7 + 40);
  });

  it("closes a zombie of init that is never reaped (a container's first process that reaps nothing) with its final times", () => {
    const sampler = new ProcfsTreeSampler(4242, { procRoot: proc.root, reaperPid: 4100 });
    sampler.sample(1000);
    // 4303 is orphaned to init, does 7 more ticks of work and exits; init never waits for it: it stays a zombie
    proc.addCpu(4303, 7);
    proc.set(4303, { 4: 1, 3: 'Z' });
    fs.writeFileSync(path.join(proc.root, '4242', 'task', '4250', 'children'), '');
    const s = sampler.sample(2000);
    assert.equal(s.alive, true);
    assert.deepEqual([...s.pids].sort(), [4242, 4301, 4302]);
    assert.equal(Math.round(s.cpuSeconds * 100), 1990 + 7);
    // a zombie of a process of the run is still waited for: its parent's wait moves its times into the parent's
    proc.set(4302, { 3: 'Z' });
    assert.deepEqual([...sampler.sample(3000).pids].sort(), [4242, 4301, 4302]);
  });

  it('counts a root that ended and was reaped before its sampler was made, from the reaper baseline taken while it was alive', () => {
    // the terminal watcher finds the command alive and reads the shell's cutime; the command (with its workers)
    // then ends and the shell reaps it before the meter exists (a loaded machine)
    const baseline = reapedChildTicks(4100, proc.root);
    assert.equal(typeof baseline, 'number');
    proc.reap(4301, 4242);
    proc.reap(4302, 4242);
    proc.reap(4303, 4242);
    proc.reap(4242, 4100);
    const late = new ProcfsTreeSampler(4242, { procRoot: proc.root, reaperPid: 4100, logicalCpus: 2 });
    assert.equal(late.sample(1000).cpuSeconds, 0, 'without the baseline the run counts nothing');
    const s = new ProcfsTreeSampler(4242, {
      procRoot: proc.root,
      reaperPid: 4100,
      // what the reaper accounted is bounded by a second of every CPU beyond the time since the sampler was made
      // (other children of the shell reaped meanwhile): 32 CPUs hold the 19.9 s of this fixture's tree
      logicalCpus: 32,
      reaperBaselineTicks: baseline,
    }).sample(1000);
    assert.equal(s.alive, false);
    assert.equal(Math.round(s.cpuSeconds * 100), 1990);
  });

  it('closes the root with what its reaper accounted when it exits', () => {
    const sampler = new ProcfsTreeSampler(4242, { procRoot: proc.root, reaperPid: 4100, logicalCpus: 2 });
    sampler.sample(1000);
    // workers are reaped by python, then python does 30 more ticks of work and is reaped by the shell
    proc.reap(4301, 4242);
    proc.reap(4302, 4242);
    proc.reap(4303, 4242);
    proc.addCpu(4242, 30);
    proc.reap(4242, 4100);
    const s = sampler.sample(2000);
    assert.equal(s.alive, false);
    assert.deepEqual(s.pids, []);
    assert.equal(Math.round(s.cpuSeconds * 100), 1990 + 30);
    // once the tree is gone it stays gone and keeps its total
    assert.equal(sampler.sample(3000).cpuSeconds, s.cpuSeconds);
  });

  it('adopts orphans handed to the adopter, reads their zombies and reaps them, counting each exactly once', () => {
    const reaped: number[] = [];
    const adopter = {
      pid: 4100,
      // what waitpid does: the zombie's times move into the adopter's cutime and its /proc entry goes
      reap: (pid: number) => (proc.reap(pid, 4100), reaped.push(pid), true),
      isOwnChild: (pid: number) => pid === 4600,
    };
    const sampler = new ProcfsTreeSampler(4242, { procRoot: proc.root, reaperPid: 4100, adopter, logicalCpus: 2 });
    sampler.sample(1000);
    // python does 30 more ticks and exits, reaped by the shell (as libuv would); its workers are handed to 4100
    proc.addCpu(4242, 30);
    proc.reap(4242, 4100);
    for (const pid of [4301, 4302, 4303]) proc.set(pid, { 4: 4100 });
    const kids = path.join(proc.root, '4100', 'task', '4100', 'children');
    fs.writeFileSync(kids, '4301 4302 4303 ');
    let s = sampler.sample(2000);
    assert.equal(s.rootAlive, false);
    assert.deepEqual([...s.pids].sort(), [4301, 4302, 4303]);
    // an orphan that was never seen under its parent, and a child the adopter spawned itself
    for (const [pid, start] of [
      [4500, 49100],
      [4600, 49100],
    ]) {
      fs.cpSync(path.join(proc.root, '4303'), path.join(proc.root, String(pid)), { recursive: true });
      fs.renameSync(
        path.join(proc.root, String(pid), 'task', '4303'),
        path.join(proc.root, String(pid), 'task', String(pid)),
      );
      const f = path.join(proc.root, String(pid), 'stat');
      fs.writeFileSync(f, fs.readFileSync(f, 'latin1').replace(/^4303 /, `${pid} `));
      proc.set(pid, { 4: 4100, 14: 60, 15: 0, 22: start });
    }
    fs.writeFileSync(kids, '4301 4302 4303 4500 4600 ');
    s = sampler.sample(3000);
    assert.deepEqual([...s.pids].sort(), [4301, 4302, 4303, 4500]);
    // the three workers handed to the adopter when python exited, and the one never seen under its parent
    assert.equal(s.adopted, 4);
    // each orphan works, then exits: a zombie of the adopter until it is reaped
    let t = 4000;
    for (const pid of [4301, 4302, 4303, 4500]) {
      proc.addCpu(pid, 50);
      proc.set(pid, { 3: 'Z' });
    }
    for (let i = 0; i < 10 && s.alive; i++) s = sampler.sample((t += 1000));
    assert.equal(s.alive, false);
    assert.deepEqual(reaped.sort(), [4301, 4302, 4303, 4500]);
    // 19.9 s before, python's 30 ticks, 4 × 50 ticks, and the adopted orphan's own 60 ticks; not 4600's
    assert.equal(Math.round(s.cpuSeconds * 100), 1990 + 30 + 200 + 60);
  });

  it('counts only what happens after attaching to a process that was already running', () => {
    // the fixture's btime + start ticks put these processes far in the past
    const sampler = new ProcfsTreeSampler(4242, { procRoot: proc.root, countFromProcessStart: false });
    assert.equal(sampler.sample(1000).cpuSeconds, 0);
    proc.addCpu(4242, 100, 20);
    assert.equal(sampler.sample(2000).cpuSeconds, 1.2);
  });

  it('treats a reused pid (another start time) as a process that ended', () => {
    const sampler = new ProcfsTreeSampler(4242, { procRoot: proc.root });
    sampler.sample(1000);
    proc.set(4301, { 22: 99999, 14: 0, 15: 0, 4: 1 });
    fs.writeFileSync(path.join(proc.root, '4242', 'task', '4242', 'children'), '4302 ');
    const s = sampler.sample(2000);
    assert.ok(!s.pids.includes(4301));
    assert.equal(s.cpuSeconds, 19.9);
  });

  it('meters a real process tree through the real /proc', async function () {
    if (process.platform !== 'linux') this.skip(); // the /proc sampler is Linux-only; systeminformation covers the rest
    // a shell that starts two busy children and waits for them
    const child = spawn(
      'sh',
      ['-c', 'for i in 1 2; do (i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done) & done; wait'],
      { stdio: 'ignore' },
    );
    const sampler = new ProcfsTreeSampler(child.pid!, { reaperPid: process.pid, logicalCpus: os.cpus().length });
    let maxPids = 0;
    const exited = new Promise((r) => child.once('exit', r));
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      maxPids = Math.max(maxPids, sampler.sample().pids.length);
      await new Promise((r) => setTimeout(r, 50));
    }
    const s = sampler.sample();
    const self = parseProcStat(fs.readFileSync('/proc/self/stat', 'latin1'));
    assert.ok(maxPids >= 3, `saw ${maxPids} processes`);
    assert.equal(s.alive, false);
    assert.ok(s.cpuSeconds > 0.2, `cpu ${s.cpuSeconds}`);
    // everything the tree used was reaped into this process's cutime+cstime
    assert.ok(s.cpuSeconds <= (self.cutimeTicks + self.cstimeTicks) / 100 + 0.011);
  });

  it('meters a real tree through systeminformation (the macOS and Windows path)', async () => {
    // The child spins until it is killed (never for a wall-clock time: under load it could finish before we look).
    const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    /** The kernel's own count of the child's CPU time (utime + stime), in seconds. */
    const kernelCpuS = () => {
      const st = parseProcStat(fs.readFileSync(`/proc/${child.pid}/stat`, 'latin1'));
      return (st.utimeTicks + st.stimeTicks) / 100;
    };
    try {
      const sampler = new SysinfoTreeSampler(child.pid!);
      await sampler.sample();
      const start = kernelCpuS();
      // Wait for CPU work, not for a time: however loaded the machine, the child has then used 0.3 CPU s. (And for
      // systeminformation's own minimum of one second between two lists, below which it answers from its last one.)
      const since = Date.now();
      while (kernelCpuS() - start < 0.3 || Date.now() - since < 1100) await new Promise((r) => setTimeout(r, 50));
      const s = await sampler.sample();
      const used = kernelCpuS() - start;
      assert.deepEqual(s.pids, [child.pid]);
      assert.ok(s.alive);
      // An estimate (CPU share × wall time) of what the kernel counted over the same window. On Linux, where this
      // test runs, systeminformation computes the share from /proc against all CPUs' ticks (a share of the whole
      // machine); on macOS (`ps` %cpu) and Windows it is a share of one CPU, which is what the sampler assumes.
      const expected = used / os.cpus().length;
      assert.ok(
        s.cpuSeconds > expected * 0.6 && s.cpuSeconds < expected * 1.4 + 0.05,
        `cpu ${s.cpuSeconds}, kernel ${used}`,
      );
      assert.ok(s.rssBytes > 10 * 1024 * 1024);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // systeminformation answers calls less than a second apart from its previous list
    await new Promise((r) => setTimeout(r, 1200));
    const gone = await new SysinfoTreeSampler(child.pid!).sample();
    assert.equal(gone.alive, false);
  });
});
