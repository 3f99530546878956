/**
 * A SLURM job typed in the integrated terminal becomes a `slurm` run: `sbatch --wrap …` through shell integration,
 * the job id read from its output, the job followed with sacct and recorded when it ends. Needs the local cluster of
 * scripts/slurm/local-cluster.sh (`npm test` starts it as root); skipped, with the reason printed, without it.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as vscode from 'vscode';
import type { CarbonMeterApi } from '../../src/extension/extension';
import type { Run } from '../../src/core/types';

const EXT_ID = 'carbon-meter.carbon-meter';

async function waitFor<T>(fn: () => T | undefined | false, boundMs: number, what: string): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function slurmUnavailable(): string | undefined {
  const r = spawnSync('sinfo', ['-h', '-o', '%t'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error)
    return `sinfo cannot run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): SLURM is not installed; run scripts/slurm/local-cluster.sh start as root`;
  if (r.status !== 0 || !/^(idle|mix|alloc)/m.test(r.stdout))
    return `the local SLURM cluster is not up (sinfo: ${(r.stderr || r.stdout).trim()}); run scripts/slurm/local-cluster.sh start as root`;
  return undefined;
}

describe('SLURM jobs from the terminal', function () {
  this.timeout(240_000);

  before(function () {
    const why = slurmUnavailable();
    if (why) {
      console.log(`    SKIPPED (SLURM extension-host test): ${why}`);
      this.skip();
    }
  });

  it('sbatch --wrap typed in a terminal becomes a slurm run', async () => {
    const ext = vscode.extensions.getExtension<CarbonMeterApi>(EXT_ID);
    assert.ok(ext);
    const a = ext.isActive ? ext.exports : await ext.activate();
    const before = new Set(a.service.store.load().runs.map((r) => r.id));
    const terminal = vscode.window.createTerminal({ name: 'slurm', cwd: vscode.workspace.workspaceFolders![0].uri });
    terminal.show();
    try {
      await waitFor(() => terminal.shellIntegration, 30_000, 'shell integration');
      const marker = `cm-exthost-${Date.now()}`;
      terminal.shellIntegration!.executeCommand(
        `sbatch -J ${marker} -o /dev/null --wrap 'python3 -c "sum(range(10**6))"'`,
      );
      // the job is followed (at most one sacct call per 30 s) and recorded once it ended
      const run = await waitFor(
        () =>
          a.service.store
            .load()
            .runs.find((r: Run) => !before.has(r.id) && r.source === 'slurm' && r.name.startsWith(marker)),
        200_000,
        `a slurm run for job ${marker} in the history`,
      );
      assert.match(run.id, /^slurm-[A-Za-z0-9._-]+-\d+$/);
      assert.equal(run.status, 'completed');
      assert.match(run.command, /^sbatch -J cm-exthost-\d+ /, 'the command typed in the terminal');
      assert.ok(run.cpuSeconds > 0, 'sacct TotalCPU of the job');
      assert.ok(run.energyKWh.total > 0);
      assert.ok(['measured', 'modelled', 'default'].includes(run.power.cpu.method) && run.power.cpu.detail.length > 0);
      // recorded once
      const same = a.service.store.load().runs.filter((r) => r.id === run.id);
      assert.equal(same.length, 1);
    } finally {
      terminal.dispose();
    }
  });
});
