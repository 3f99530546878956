import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  compilePatterns,
  DEFAULT_TRAINING_PATTERNS,
  isTrainingCommand,
  stripCommandPrefixes,
} from '../../src/core/classify';
import { readSettings } from '../../src/extension/settings';

const defaults = compilePatterns(DEFAULT_TRAINING_PATTERNS);

describe('training command detection', () => {
  const training = [
    'python train.py',
    'python3 train.py --epochs 10',
    '/usr/bin/python3.11 -u scripts/finetune.py',
    'python -m torch.distributed.run --nproc_per_node 2 train.py',
    'torchrun --nproc_per_node=8 train.py',
    'accelerate launch train.py',
    'deepspeed --num_gpus 2 train.py --deepspeed ds.json',
    'CUDA_VISIBLE_DEVICES=0,1 python train.py',
    'WANDB_MODE=offline HF_HOME="/data/hf" python train.py',
    'time python train.py',
    'nohup python train.py > log.txt',
    'uv run python train.py',
    'poetry run python -m mypkg.train',
    './train.py --lr 3e-4',
    '.venv/bin/python train.py',
  ];
  const notTraining = [
    'ls -la',
    'git status',
    'pip install torch',
    'python -m pip install -r requirements.txt',
    'python --version',
    'python',
    'python3 -m venv .venv',
    'cd src',
    'nvidia-smi',
    'npm test',
    'echo python train.py',
    'cat train.py',
    'vim train.py',
    'python -m pytest tests',
  ];
  for (const c of training) it(`meters: ${c}`, () => assert.equal(isTrainingCommand(c, defaults), true));
  for (const c of notTraining) it(`does not meter: ${c}`, () => assert.equal(isTrainingCommand(c, defaults), false));

  it('strips environment assignments and wrappers', () => {
    assert.equal(stripCommandPrefixes('A=1 B="x y" time nohup python t.py'), 'python t.py');
  });

  it('reports invalid patterns and keeps the valid ones', () => {
    const c = compilePatterns(['^python', '(unclosed']);
    assert.equal(c.regexes.length, 1);
    assert.equal(c.invalid[0].pattern, '(unclosed');
  });

  it('package.json shows the same default patterns as the code uses', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
    const section = pkg.contributes.configuration.find(
      (s: { properties: Record<string, unknown> }) => 'carbonMeter.terminal.patterns' in s.properties,
    );
    assert.deepEqual(section.properties['carbonMeter.terminal.patterns'].default, DEFAULT_TRAINING_PATTERNS);
  });
});

describe('settings', () => {
  const read = (values: Record<string, unknown>) => readSettings((k) => values[k]);

  it('gives the defaults when nothing is set', () => {
    const { settings, problems } = read({});
    assert.deepEqual(problems, []);
    assert.equal(settings.intervalS, 1);
    assert.equal(settings.terminalMode, 'training');
    assert.equal(settings.debugMode, 'all');
    assert.equal(settings.pue, undefined);
    assert.equal(settings.statusBarAlignment, 'right');
  });

  it('turns wrong values into a clear problem and a safe default', () => {
    const { settings, problems } = read({
      'sampling.intervalSeconds': 0.1,
      'terminal.meter': 'sometimes',
      pue: 0.5,
      'gpu.enabled': 'yes',
      'terminal.patterns': ['^python', '(bad'],
    });
    assert.equal(settings.intervalS, 1);
    assert.equal(settings.terminalMode, 'training');
    assert.equal(settings.pue, undefined);
    assert.equal(settings.gpuEnabled, true);
    assert.equal(settings.terminalPatterns.regexes.length, 1);
    const keys = problems.map((p) => p.key).sort();
    assert.deepEqual(keys, [
      'carbonMeter.gpu.enabled',
      'carbonMeter.pue',
      'carbonMeter.sampling.intervalSeconds',
      'carbonMeter.terminal.meter',
      'carbonMeter.terminal.patterns',
    ]);
    assert.match(
      problems.find((p) => p.key === 'carbonMeter.sampling.intervalSeconds')!.message,
      /from 0\.5 to 60\. Using 1/,
    );
  });

  it('accepts every valid value', () => {
    const { settings, problems } = read({
      region: ' FR ',
      pue: 1.2,
      'sampling.intervalSeconds': 0.5,
      'terminal.meter': 'all',
      'cpu.tdpWatts': 65,
      'statusBar.alignment': 'left',
    });
    assert.deepEqual(problems, []);
    assert.equal(settings.region, 'FR');
    assert.equal(settings.pue, 1.2);
    assert.equal(settings.intervalS, 0.5);
    assert.equal(settings.cpuTdpW, 65);
    assert.equal(settings.statusBarAlignment, 'left');
  });
});
