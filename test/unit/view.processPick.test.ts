/** The "Meter Process…" quick pick's order (core/view/processPick.ts) and the listing it orders (one /proc read). */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { listProcesses } from '../../src/core/sampling/processes';
import { cpuShare, looksLikeTraining, orderProcesses } from '../../src/core/view/processPick';

describe('Meter Process… order (core/view/processPick)', () => {
  it('recognises Python and training launchers, wherever the interpreter lives and after env/nohup', () => {
    for (const c of [
      'python train.py --epochs 3',
      '/home/ada/.venv/bin/python3.11 -m vit.train',
      'torchrun --nproc_per_node 2 finetune.py',
      '/usr/local/bin/accelerate launch train_lora.py',
      'deepspeed --num_gpus 8 pretrain.py',
      'env CUDA_VISIBLE_DEVICES=0 python train.py',
      'nohup python3 -u train.py',
      '/opt/conda/bin/python -m ipykernel_launcher -f /run/user/1000/jupyter/kernel-1.json',
      '/usr/bin/jupyter-lab --no-browser',
      '/usr/bin/python3 -m torch.distributed.run --nproc_per_node=4 train.py',
    ])
      assert.ok(looksLikeTraining(c), c);
    for (const c of [
      '/usr/lib/systemd/systemd --user',
      'bash',
      '/usr/share/code/code --type=renderer',
      'node /home/ada/.vscode-server/bin/x/out/server-main.js',
      'sshd: ada@pts/0',
      'composer install',
      'vim notes/python.md',
    ])
      assert.ok(!looksLikeTraining(c), c);
  });

  const now = Date.UTC(2026, 10, 26, 12);
  const min = 60_000;

  it('puts training first, then the busiest, then the newest, then the highest pid', () => {
    const procs = [
      { pid: 10, command: 'bash', startedAt: now - 60 * min, cpuS: 1 },
      { pid: 20, command: 'node server-main.js', startedAt: now - 600 * min, cpuS: 36_000 }, // 1 CPU over 10 h
      { pid: 30, command: 'python eval.py', startedAt: now - 5 * min, cpuS: 30 }, // 10 %
      { pid: 40, command: 'torchrun train.py', startedAt: now - 30 * min, cpuS: 3600 }, // 2 CPUs
      { pid: 50, command: 'sleep 100', startedAt: now - 1 * min, cpuS: 0 },
      { pid: 60, command: 'cat', startedAt: now - 2 * min, cpuS: 0 },
      { pid: 70, command: 'python -m ipykernel_launcher', startedAt: now - 2 * min, cpuS: 0 },
    ];
    const order = orderProcesses(procs, now).map((p) => p.pid);
    assert.deepEqual(order, [40, 30, 70, 20, 50, 60, 10]);
    assert.equal(procs[0].pid, 10, 'the input is left as it was');
  });

  it('without CPU figures: the newest first, then the highest pid', () => {
    const procs = [
      { pid: 5, command: 'a' },
      { pid: 9, command: 'b' },
      { pid: 7, command: 'c', startedAt: now - min },
      { pid: 3, command: 'python x.py' },
    ];
    assert.deepEqual(
      orderProcesses(procs, now).map((p) => p.pid),
      [3, 7, 9, 5],
    );
  });

  it('a just-started process is not "busy": its CPU share is taken over at least 10 s', () => {
    assert.equal(cpuShare({ pid: 1, command: 'ps', startedAt: now - 50, cpuS: 0.05 }, now), 0.005);
    assert.equal(cpuShare({ pid: 1, command: 'x' }, now), undefined);
  });

  it('the listing reads start time and CPU time from /proc for a real process (Linux)', async function () {
    if (process.platform !== 'linux') this.skip();
    const before = Date.now();
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      const after = Date.now();
      const me = (await listProcesses()).find((p) => p.pid === child.pid);
      assert.ok(me, 'the child is listed');
      assert.match(me.command, /setInterval/);
      assert.ok(me.cpuS !== undefined && me.cpuS >= 0 && Number.isFinite(me.cpuS), `cpuS ${me.cpuS}`);
      // /proc/stat's boot time is in whole seconds: the start time is right to about a second
      assert.ok(
        me.startedAt !== undefined && me.startedAt >= before - 2000 && me.startedAt <= after + 2000,
        `started ${me.startedAt} between ${before} and ${after}`,
      );
    } finally {
      child.kill('SIGKILL');
    }
  });
});
