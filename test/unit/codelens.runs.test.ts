/**
 * CodeLens and the history: runs matched to files through their command lines, the lens texts (last run, estimate,
 * greener region), and the settings of the "CodeLens" section.
 */
import * as assert from 'node:assert/strict';
import {
  bestGreenerRegion,
  estimateNextRun,
  fileLensText,
  readCodeLensSettings,
  resolveRunTarget,
  RunFileIndex,
  shellSegments,
  type LensHint,
} from '../../src/core/codelens';
import { resolveRegion } from '../../src/core/intensity/regions';
import type { Run } from '../../src/core/types';
import { makeRun } from '../helpers/history-runs';

const CWD = '/home/ada/proj';

describe('CodeLens: runs matched to files', () => {
  const cases: [string, string | undefined, string?][] = [
    ['python train.py', '/home/ada/proj/train.py'],
    ['python3 train.py --epochs 3 --lr 3e-4', '/home/ada/proj/train.py'],
    ['python3.11 -u ./train.py', '/home/ada/proj/train.py'],
    ['/home/ada/.venv/bin/python -X dev -W ignore src/train.py', '/home/ada/proj/src/train.py'],
    ['python /srv/jobs/train.py', '/srv/jobs/train.py'],
    ['./train.py --fast', '/home/ada/proj/train.py'],
    ['../scripts/train.py', '/home/ada/scripts/train.py'],
    ["python 'my runs/train v2.py'", '/home/ada/proj/my runs/train v2.py'],
    ['python my\\ runs/train.py', '/home/ada/proj/my runs/train.py'],
    ['python -m pkg.train --cfg a.yaml', '/home/ada/proj/pkg/train.py'],
    ['python -mpkg.train', '/home/ada/proj/pkg/train.py'],
    ['python -um pkg.train', '/home/ada/proj/pkg/train.py'],
    ['torchrun --standalone --nproc_per_node 4 train.py --bs 64', '/home/ada/proj/train.py'],
    ['torchrun --nnodes=2 --rdzv_endpoint host:29500 -m pkg.train', '/home/ada/proj/pkg/train.py'],
    ['python -m torch.distributed.run --nproc_per_node=2 tools/train.py', '/home/ada/proj/tools/train.py'],
    ['python -m torch.distributed.launch --use_env train.py', '/home/ada/proj/train.py'],
    ['accelerate launch --config_file cfg.yaml --num_processes 8 train.py', '/home/ada/proj/train.py'],
    ['accelerate launch -m pkg.train', '/home/ada/proj/pkg/train.py'],
    ['accelerate config', undefined],
    ['deepspeed --num_gpus 8 train.py --deepspeed ds.json', '/home/ada/proj/train.py'],
    ['composer -n 8 train.py', '/home/ada/proj/train.py'],
    ['lightning run model --accelerator=cuda train.py', '/home/ada/proj/train.py'],
    ['CUDA_VISIBLE_DEVICES=0,1 nohup python train.py > log.txt 2>&1 &', '/home/ada/proj/train.py'],
    ['time uv run python train.py', '/home/ada/proj/train.py'],
    ['uv run train.py', '/home/ada/proj/train.py'],
    ['conda run -n torch python train.py', '/home/ada/proj/train.py'],
    ['mpirun -np 4 python train.py', '/home/ada/proj/train.py'],
    ['srun --gres=gpu:1 -N 1 python train.py', '/home/ada/proj/train.py'],
    ['carbon-meter run -- python train.py', '/home/ada/proj/train.py'],
    ['cd src && python train.py', '/home/ada/proj/src/train.py'],
    ['source .venv/bin/activate && python train.py | tee out.log', '/home/ada/proj/train.py'],
    ['py -3.11 train.py', '/home/ada/proj/train.py'],
    ['python -m jupyter nbconvert --to notebook --execute nb.ipynb', '/home/ada/proj/nb.ipynb'],
    ['papermill in.ipynb out.ipynb', '/home/ada/proj/in.ipynb'],
    ['python -c "import torch; print(1)"', undefined],
    ['python', undefined],
    ['python --version', undefined],
    ['ls -la', undefined],
    ['make train', undefined],
  ];
  for (const [command, want] of cases) {
    it(`${command} → ${want ?? 'nothing'}`, () => {
      assert.equal(resolveRunTarget(command, CWD)?.path, want);
    });
  }

  it('resolves ~ with a home folder, and Windows paths', () => {
    assert.equal(resolveRunTarget('python ~/train.py', CWD, { home: '/home/ada' })?.path, '/home/ada/train.py');
    assert.equal(resolveRunTarget('python ~/train.py', CWD), undefined);
    assert.equal(
      resolveRunTarget('python src\\train.py', 'C:\\Users\\ada\\proj')?.path,
      'C:\\Users\\ada\\proj\\src\\train.py',
    );
    assert.equal(
      resolveRunTarget('& "C:\\Python311\\python.exe" D:\\jobs\\train.py', 'C:\\Users\\ada')?.path,
      'D:\\jobs\\train.py',
    );
  });

  it('reads debug runs: the program, or the module', () => {
    assert.equal(
      resolveRunTarget('/home/ada/proj/train.py --epochs 1', '/home/ada/proj', { debug: true })?.path,
      '/home/ada/proj/train.py',
    );
    assert.equal(resolveRunTarget('pkg.train', '/home/ada/proj', { debug: true })?.path, '/home/ada/proj/pkg/train.py');
    assert.equal(resolveRunTarget('pkg.train', '/home/ada/proj'), undefined);
  });

  it('splits shell words and segments', () => {
    assert.deepEqual(shellSegments('A=1 python "a b.py" x && echo "done;" ; ls | wc'), [
      ['A=1', 'python', 'a b.py', 'x'],
      ['echo', 'done;'],
      ['ls'],
      ['wc'],
    ]);
    assert.deepEqual(shellSegments('python t.py 2>&1'), [['python', 't.py', '2>&1']]);
  });

  it('indexes runs by file: CLI, terminal, task and debug runs, module runs in src layouts, newest first', () => {
    const at = (iso: string, over: Partial<Run>) => makeRun(over, { startedAt: new Date(iso) });
    const runs = [
      at('2025-01-01T10:00:00Z', { command: 'python train.py', cwd: CWD, source: 'cli' }),
      at('2025-01-03T10:00:00Z', { command: 'torchrun --nproc_per_node 2 train.py', cwd: CWD, source: 'terminal' }),
      at('2025-01-02T10:00:00Z', { command: `${CWD}/train.py`, cwd: CWD, source: 'debug' }),
      at('2025-01-04T10:00:00Z', { command: 'python -m pkg.train', cwd: CWD, source: 'task' }),
      at('2025-01-05T10:00:00Z', { command: 'python other.py', cwd: CWD, source: 'cli' }),
      at('2025-01-06T10:00:00Z', { command: 'ls', cwd: CWD, source: 'terminal' }),
    ];
    const index = new RunFileIndex(runs);
    assert.deepEqual(
      index.runsFor(`${CWD}/train.py`).map((r) => r.startedAt.slice(0, 10)),
      ['2025-01-03', '2025-01-02', '2025-01-01'],
    );
    assert.equal(index.runsFor(`${CWD}/pkg/train.py`).length, 1);
    assert.equal(index.runsFor(`${CWD}/src/pkg/train.py`).length, 1, 'src layout');
    assert.equal(index.runsFor('/elsewhere/pkg/train.py').length, 0);
    assert.equal(index.runsFor(`${CWD}/./train.py`).length, 3, 'normalised');
    assert.equal(index.unmatched, 1);
  });
});

describe('CodeLens: lens texts', () => {
  const NOW = Date.parse('2025-03-01T12:00:00Z');
  // 30 min at 250 W in France: 0.125 kWh, 56 g/kWh → 7 g
  const fr = (startIso: string, over: Partial<Run> = {}) =>
    makeRun(
      { command: 'python train.py', cwd: CWD, ...over },
      { startedAt: new Date(startIso), durationS: 1800, cpuW: 40, gpuW: 200, ramW: 10, gPerKWh: 56, region: 'FR' },
    );

  it('says "Run with Carbon Meter" for a file without runs', () => {
    const t = fileLensText([], { now: NOW });
    assert.equal(t.primary, '$(pulse) Run with Carbon Meter');
    assert.equal(t.estimate, undefined);
    assert.equal(t.run, undefined);
  });

  it('gives the last run footprint and how long ago it ended', () => {
    const run = fr('2025-03-01T09:30:00Z');
    const t = fileLensText([run], { now: NOW });
    assert.equal(t.primary, '$(pulse) last run 7 g CO₂eq · 125 Wh · 30 min (2 h ago)');
    assert.equal(t.run, run);
    assert.equal(t.estimate, undefined, 'one run: no estimate');
    assert.ok(t.tooltip.some((l) => l.includes('python train.py')));
  });

  it('says when the last run failed, and when a run is going on', () => {
    const failed = fr('2025-03-01T09:30:00Z', { status: 'failed', exitCode: 1 });
    assert.match(fileLensText([failed], { now: NOW }).primary, /\(failed, 2 h ago\)$/);
    const running = fr('2025-03-01T11:50:00Z', { status: 'running', durationS: 600 });
    assert.match(
      fileLensText([running, failed], { now: NOW }).primary,
      /^\$\(pulse\) running now: 7 g CO₂eq so far · 10 min$/,
    );
  });

  it('estimates the next run from two runs or more, with the best greener region', () => {
    const runs = [
      fr('2025-03-01T09:30:00Z'),
      fr('2025-02-28T09:30:00Z', { durationS: 3600 }),
      fr('2025-02-27T09:30:00Z'),
    ];
    const est = estimateNextRun(runs);
    assert.ok(est);
    assert.equal(est.basedOn, 3);
    assert.equal(est.durationS, 1800);
    assert.ok(Math.abs(est.emissionsKg - 0.007) < 1e-9, `${est.emissionsKg}`);
    assert.ok(est.greener, 'a greener place than France exists');
    assert.ok(est.greener.change < -0.05);
    const t = fileLensText(runs, { now: NOW });
    assert.match(t.estimate!, /^\$\(graph-line\) next run ≈ 7 g CO₂eq · 30 min · −\d+ % in [A-Z]{2}$/);
  });

  it('compares within the provider for a cloud run, and with the user regions when given', () => {
    const g = bestGreenerRegion(1, 0.5, 1.2, 'aws:us-east-1');
    assert.ok(g && g.code.startsWith('aws:'), JSON.stringify(g));
    const mine = bestGreenerRegion(1, 0.5, 1.2, 'DE', ['FR', 'PL']);
    assert.equal(mine?.code, 'FR');
    assert.equal(mine?.pue, 1.2, 'countries keep the run PUE');
    assert.equal(bestGreenerRegion(1, 0.001, 1, 'DE', ['PL']), undefined, 'nothing greener');
  });

  it('uses the next run region and PUE when given', () => {
    const runs = [fr('2025-03-01T09:30:00Z'), fr('2025-02-28T09:30:00Z')];
    const pl = resolveRegion('PL');
    const est = estimateNextRun(runs, { intensityGPerKWh: pl.intensityGPerKWh, pue: 1.5, region: 'PL' })!;
    assert.ok(Math.abs(est.emissionsKg - (0.125 * 1.5 * pl.intensityGPerKWh) / 1000) < 1e-9);
    assert.equal(est.region, 'PL');
  });

  it('shows only the hints asked for', () => {
    const runs = [fr('2025-03-01T09:30:00Z'), fr('2025-02-28T09:30:00Z')];
    const show = (...h: LensHint[]) => fileLensText(runs, { now: NOW, show: new Set(h) });
    assert.equal(show().primary, '$(pulse) Run with Carbon Meter');
    assert.equal(show().estimate, undefined);
    assert.match(show('lastRun').primary, /^\$\(pulse\) last run/);
    assert.equal(show('lastRun').estimate, undefined);
    assert.match(show('estimate').estimate!, /^\$\(graph-line\) next run ≈ [^·]+ · 30 min$/);
    assert.match(show('greenerRegion').estimate!, /^\$\(globe\) −\d+ % in [A-Z]{2}$/);
  });

  it('translates through the function given', () => {
    const t = fileLensText([], { t: (m) => m.toUpperCase() });
    assert.equal(t.primary, '$(pulse) RUN WITH CARBON METER');
  });
});

describe('CodeLens: settings', () => {
  const read = (values: Record<string, unknown>) => readCodeLensSettings((k) => values[k]);

  it('defaults to on with every hint', () => {
    const { settings, problems } = read({});
    assert.equal(settings.enabled, true);
    assert.deepEqual([...settings.show], ['lastRun', 'estimate', 'greenerRegion']);
    assert.deepEqual(problems, []);
  });

  it('reads the values and reports wrong ones', () => {
    assert.equal(read({ 'codeLens.enabled': false }).settings.enabled, false);
    assert.deepEqual([...read({ 'codeLens.show': ['lastRun'] }).settings.show], ['lastRun']);
    const bad = read({ 'codeLens.enabled': 'yes', 'codeLens.show': ['lastRun', 'co2'] });
    assert.equal(bad.settings.enabled, true);
    assert.deepEqual([...bad.settings.show], ['lastRun']);
    assert.deepEqual(
      bad.problems.map((p) => p.key),
      ['carbonMeter.codeLens.enabled', 'carbonMeter.codeLens.show'],
    );
    assert.match(read({ 'codeLens.show': 'all' }).problems[0].message, /expected a list/);
  });
});
