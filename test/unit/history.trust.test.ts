/**
 * The store's promises in the cases where they used to break (issue 9): long sampling intervals, a broken samples
 * folder, a full disk, a history folder that is a file, a damaged checkpoint, secrets in command lines. Real files,
 * real processes, the compiled CLI (out/src/cli/main.js), a real full file system (a 64 KiB tmpfs when this test may
 * mount one, else /dev/full, which fails every write with ENOSPC).
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REDACTED } from '../../src/core/history/redact';
import { HistoryStore } from '../../src/core/history/store';
import type { Run, Sample } from '../../src/core/types';
import { runCli } from '../helpers/cli';
import { makeRun } from '../helpers/history-runs';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'out', 'src', 'cli', 'main.js');
const BUSY = ['-e', 'for (;;) {}'];

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cm-trust-'));
}

function samples(n: number, t0 = Date.now()): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ t: t0 + i * 1000, cpuW: 30 + i, gpuW: 0, ramW: 2 }));
}

async function waitFor(cond: () => boolean, what: string, boundMs = 60_000): Promise<void> {
  const until = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`gave up waiting (${boundMs / 1000} s) for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function historyJson(home: string): Run[] {
  const r = spawnSync(process.execPath, [CLI, 'history', '--json'], {
    env: { ...process.env, CARBON_METER_HOME: home },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/**
 * A full file system for `dir`: a 64 KiB tmpfs mounted on it (filled up), or, where mounting is not allowed,
 * undefined (the caller then points the file at /dev/full). Returns an unmount function.
 */
function fullTmpfs(dir: string): (() => void) | undefined {
  fs.mkdirSync(dir, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) return undefined;
  try {
    fs.writeFileSync(path.join(dir, 'filler'), Buffer.alloc(1024 * 1024));
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  return () => spawnSync('umount', [dir]);
}

describe('history: the store keeps its promises (issue 9)', function () {
  describe('checkpoints with a long sampling interval', () => {
    it('run --interval 60 killed with -9 is recovered with the energy and CPU time up to its last checkpoint', async () => {
      const home = tmpDir();
      const child = spawn(
        process.execPath,
        [
          CLI,
          'run',
          '--region',
          'FR',
          '--interval',
          '60',
          '--checkpoint',
          '1',
          '--quiet',
          '--',
          process.execPath,
          ...BUSY,
        ],
        {
          env: { ...process.env, CARBON_METER_HOME: home },
          stdio: 'ignore',
        },
      );
      const runningDir = path.join(home, 'running');
      let victim: Run | undefined;
      try {
        // before this change, nothing but the start checkpoint (0 s, 0 Wh) was written until the interval ended
        await waitFor(() => {
          const files = fs.existsSync(runningDir) ? fs.readdirSync(runningDir).filter((f) => f.endsWith('.json')) : [];
          if (!files.length) return false;
          victim = JSON.parse(fs.readFileSync(path.join(runningDir, files[0]), 'utf8')).run;
          return victim!.cpuSeconds > 0 && victim!.energyKWh.total > 0;
        }, 'a checkpoint with CPU time and energy');
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) => child.on('close', r));
        if (victim?.pid) {
          try {
            process.kill(victim.pid, 'SIGKILL'); // the orphaned workload
          } catch {
            /* already gone */
          }
        }
      }
      const runs = historyJson(home);
      assert.equal(runs.length, 1);
      assert.equal(runs[0].status, 'interrupted');
      assert.ok(runs[0].durationS > 0, `durationS ${runs[0].durationS}`);
      assert.ok(runs[0].cpuSeconds > 0, `cpuSeconds ${runs[0].cpuSeconds}`);
      assert.ok(runs[0].energyKWh.total > 0);
    });
  });

  describe('a samples folder that cannot be written', () => {
    it('replaced by a file mid-run: checkpoints go on, the final record is written and says so, the problem is reported once', () => {
      const home = tmpDir();
      const store = new HistoryStore(home, { durable: false });
      const run = makeRun({ status: 'running' });
      delete run.endedAt;
      assert.deepEqual(store.checkpoint(run, samples(3)), []);
      fs.rmSync(store.samplesDir, { recursive: true });
      fs.writeFileSync(store.samplesDir, 'not a folder');
      run.durationS = 20;
      const first = store.checkpoint(run, samples(3, Date.now() + 10_000));
      assert.equal(first.length, 1);
      assert.match(first[0], /could not write the samples of run .* ENOTDIR|EEXIST/);
      run.durationS = 30;
      assert.deepEqual(store.checkpoint(run, samples(3, Date.now() + 20_000)), [], 'reported once');
      const cp = JSON.parse(fs.readFileSync(path.join(store.runningDir, `${run.id}.json`), 'utf8'));
      assert.equal(cp.run.durationS, 30, 'the checkpoint still moves');

      run.status = 'completed';
      run.endedAt = new Date().toISOString();
      store.finish(run);
      const back = new HistoryStore(home).get(run.id)!;
      assert.equal(back.status, 'completed');
      assert.equal(back.durationS, 30);
      assert.ok(
        back.notes?.some((n) => n.startsWith('power samples not saved')),
        JSON.stringify(back.notes),
      );
      assert.equal(fs.existsSync(path.join(store.runningDir, `${run.id}.json`)), false);
    });

    it('on a full disk (ENOSPC): the run is still recorded where the history lives', function () {
      const home = tmpDir();
      const store = new HistoryStore(home, { durable: false });
      const run = makeRun();
      const unmount = fullTmpfs(store.samplesDir);
      try {
        if (!unmount) {
          // no permission to mount: a real ENOSPC from /dev/full for this run's sample file
          fs.mkdirSync(store.samplesDir, { recursive: true });
          fs.symlinkSync('/dev/full', path.join(store.samplesDir, `${run.id}.jsonl`));
        }
        const warnings = store.checkpoint({ ...run, status: 'running' }, samples(50));
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /ENOSPC/);
        // (/dev/full reads as endless zeros: take it away before the end of the run reads the sample file)
        if (!unmount) fs.unlinkSync(path.join(store.samplesDir, `${run.id}.jsonl`));
        store.finish(run);
      } finally {
        unmount?.();
      }
      const back = new HistoryStore(home).get(run.id)!;
      assert.equal(back.status, 'completed');
      assert.ok(
        back.notes?.some((n) => /power samples not saved.*ENOSPC/.test(n)),
        JSON.stringify(back.notes),
      );
    });

    it('a full history disk fails the write loudly (an exception), never silently', function () {
      const home = tmpDir();
      const unmount = fullTmpfs(home);
      if (!unmount) this.skip(); // needs a mount: /dev/full cannot stand for a folder
      try {
        const store = new HistoryStore(home, { durable: false });
        assert.throws(() => store.finish(makeRun({ notes: ['x'.repeat(100_000)] })), /ENOSPC/);
      } finally {
        unmount!();
      }
    });
  });

  describe('a history folder that is a regular file', () => {
    it('run says the record was NOT saved, and why, instead of "Saved to"', async () => {
      const home = path.join(tmpDir(), 'home');
      fs.writeFileSync(home, 'a file, not a folder');
      const r = await runCli(CLI, ['run', '--region', 'FR', '--quiet', '--', process.execPath, '-e', ''], {
        CARBON_METER_HOME: home,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Saved to/);
      assert.match(r.stderr, /NOT saved .*could not write the history in .*home: (ENOTDIR|EEXIST)/);
      const errors = r.stderr.split('\n').filter((l) => /^carbon-meter: could not write the history/.test(l));
      assert.equal(errors.length, 1, `one failure, said once (whatever the temporary file's name):\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\.tmp-\d+-/, 'no temporary file name');
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    });
  });

  describe('a damaged checkpoint', () => {
    it('is set aside, named, and reported by one command only', async () => {
      const home = tmpDir();
      const running = path.join(home, 'running');
      fs.mkdirSync(running, { recursive: true });
      const name = '20261123T215412Z-1a2b-00000a.json';
      fs.writeFileSync(path.join(running, name), '{"v":1,"run":{"id":"20261123T215412Z-1a2b-00000a"');
      const first = await runCli(CLI, ['history'], { CARBON_METER_HOME: home });
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stderr,
        new RegExp(`unreadable .*running/${name} \\(not JSON.*\\): set aside as .*running/${name}\\.corrupt-\\d+`),
      );
      assert.doesNotMatch(first.stderr, /line 0/);
      const second = await runCli(CLI, ['history'], { CARBON_METER_HOME: home });
      assert.equal(second.stderr, '', 'reported once');
      const left = fs.readdirSync(running);
      assert.equal(left.length, 1);
      assert.ok(left[0].startsWith(`${name}.corrupt-`), left.join());
    });

    it('the store reports it with the file and where it went', () => {
      const home = tmpDir();
      const store = new HistoryStore(home);
      const run = makeRun({ status: 'running' });
      store.checkpoint(run);
      const file = path.join(store.runningDir, `${run.id}.json`);
      fs.writeFileSync(file, JSON.stringify({ v: 1, run: { id: run.id }, owner: {} }));
      const { corrupt } = store.load();
      assert.equal(corrupt.length, 1);
      assert.equal(corrupt[0].file, `running/${run.id}.json`);
      assert.match(corrupt[0].reason, /run: missing field/);
      assert.match(corrupt[0].setAsideAs!, new RegExp(`^running/${run.id}\\.json\\.corrupt-\\d+$`));
      assert.ok(fs.existsSync(path.join(home, corrupt[0].setAsideAs!)));
      assert.deepEqual(store.load().corrupt, []);
      assert.equal(store.recoverInterrupted().length, 0, 'a set-aside file is not recovered');
    });
  });

  describe('secrets in command lines', () => {
    const secretCommand = `python train.py --api-key=abc123 --lr=0.001 https://bob:hunter2@x.example/data`;

    it('are redacted in checkpoints, records and loads by default; kept with redactSecrets: false', () => {
      const home = tmpDir();
      const store = new HistoryStore(home, { durable: false });
      const run = makeRun({ command: secretCommand, status: 'running' });
      store.checkpoint(run);
      const cpText = fs.readFileSync(path.join(store.runningDir, `${run.id}.json`), 'utf8');
      assert.doesNotMatch(cpText, /abc123|hunter2/);
      store.finish({ ...run, status: 'completed' });
      const text = fs.readFileSync(store.historyPath, 'utf8');
      assert.doesNotMatch(text, /abc123|hunter2/);
      assert.equal(
        store.get(run.id)!.command,
        `python train.py --api-key=${REDACTED} --lr=0.001 https://bob:${REDACTED}@x.example/data`,
      );
      assert.equal(run.command, secretCommand, "the caller's object is not changed");

      const keep = new HistoryStore(tmpDir(), { durable: false, redactSecrets: false });
      keep.append(makeRun({ command: secretCommand }));
      assert.match(fs.readFileSync(keep.historyPath, 'utf8'), /abc123/);
      assert.equal(keep.load().runs[0].command, secretCommand);
    });

    it('records written before redaction are shown redacted; turning redaction off shows them as stored', () => {
      const home = tmpDir();
      const old = makeRun({ command: secretCommand });
      new HistoryStore(home, { redactSecrets: false, durable: false }).append(old);
      const store = new HistoryStore(home);
      assert.doesNotMatch(store.load().runs[0].command, /abc123/);
      store.redactSecrets = false;
      assert.equal(store.load().runs[0].command, secretCommand);
    });

    it('the CLI redacts by default, keeps them with --keep-secrets, and export --out files are private (0600)', async () => {
      const home = tmpDir();
      const args = [
        'run',
        '--region',
        'FR',
        '--quiet',
        '--json',
        '--',
        process.execPath,
        '-e',
        '',
        '--',
        '--token',
        'ghp_secretvalue',
        'password=pw1',
      ];
      const r1 = await runCli(CLI, args, { CARBON_METER_HOME: home });
      assert.equal(r1.code, 0, r1.stderr);
      assert.doesNotMatch(r1.stdout, /secretvalue|pw1/);
      const r2 = await runCli(CLI, [args[0], '--keep-secrets', ...args.slice(1)], { CARBON_METER_HOME: home });
      assert.equal(r2.code, 0, r2.stderr);
      assert.match(JSON.parse(r2.stdout).command, /--token ghp_secretvalue password=pw1/);
      const raw = fs.readFileSync(path.join(home, 'history.jsonl'), 'utf8');
      assert.equal(raw.match(/pw1/g)?.length, 1, 'only the --keep-secrets run holds it');

      const out = path.join(home, 'export.csv');
      fs.writeFileSync(out, 'old', { mode: 0o644 });
      const e = await runCli(CLI, ['export', '--out', out], { CARBON_METER_HOME: home });
      assert.equal(e.code, 0, e.stderr);
      assert.equal(fs.statSync(out).mode & 0o777, 0o600);
      assert.doesNotMatch(fs.readFileSync(out, 'utf8'), /pw1/, 'exports are redacted by default');
      const kept = await runCli(CLI, ['export', '--format', 'json', '--keep-secrets'], { CARBON_METER_HOME: home });
      assert.match(kept.stdout, /pw1/);
    });
  });
});
