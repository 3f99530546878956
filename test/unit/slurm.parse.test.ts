/**
 * SLURM's outputs → records → runs, from recorded outputs (test/fixtures/slurm/README.md names each source):
 * SLURM's own documentation, the ARCHER2 user guide (a cluster that measures energy), and this project's cluster.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { groupJobs, jobToRun, measuredEnergy, slurmRunId, type SlurmJob } from '../../src/core/slurm/account';
import { firstNode } from '../../src/core/slurm/accountant';
import { parseClustersConfig, resolveCluster } from '../../src/core/slurm/config';
import {
  clusterOption,
  JobIdReader,
  jobIdInOutput,
  slurmSubmitter,
  submittedJobFromRecords,
} from '../../src/core/slurm/detect';
import { lookupGpuPower } from '../../src/core/slurm/gpuPower';
import { parseSacctJson } from '../../src/core/slurm/json';
import { gpusInTres, parseSacct, parseSacctTable, parseSlurmDuration, parseTres } from '../../src/core/slurm/parse';
import { parseNodes, parseSqueue, parseSstat } from '../../src/core/slurm/scontrol';
import { runProblem } from '../../src/core/history/records';

const FIX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'slurm');
const read = (f: string) => fs.readFileSync(path.join(FIX, f), 'utf8');
const cluster = (cfg: Record<string, unknown> = {}) => resolveCluster('c', { c: { region: 'FR', ...cfg } });

describe('SLURM parsing', () => {
  it('reads SLURM durations (sacct TotalCPU, Elapsed, squeue TIME)', () => {
    assert.equal(parseSlurmDuration('00:04.433'), 4.433);
    assert.equal(parseSlurmDuration('02:19:48'), 2 * 3600 + 19 * 60 + 48);
    assert.equal(parseSlurmDuration('1-02:03:04'), 86400 + 7384);
    assert.equal(parseSlurmDuration('0:05'), 5);
    assert.equal(parseSlurmDuration('INVALID'), undefined);
    assert.equal(parseSlurmDuration(''), undefined);
  });

  it("reads the -p output of SLURM's GRES documentation (trailing delimiter, TRES usage with energy=0)", () => {
    const rows = parseSacctTable(read('schedmd-gres-sacct-tresusageintot.p.txt'));
    assert.equal(rows.length, 1);
    const tres = parseTres(rows[0].TRESUsageInTot);
    assert.equal(tres.cpu, 22);
    assert.equal(tres.energy, 0);
    assert.equal(tres['gres/gpuutil'], 200);
    assert.equal(tres.mem, 1257496 * 1024);
    assert.equal(tres['gres/gpumem'], 72532 * 1024 ** 2);
    const ave = parseTres(parseSacctTable(read('schedmd-gres-sacct-tresusageinave.p.txt'))[0].TRESUsageInAve);
    assert.equal(ave.cpu, 11);
    // the usage keys are not GPUs
    assert.equal(gpusInTres(tres).count, 0);
  });

  it('counts typed and untyped GPUs in AllocTRES', () => {
    assert.deepEqual(gpusInTres(parseTres('billing=8,cpu=8,gres/gpu=4,gres/gpu:a100=4,mem=64G,node=1')), {
      count: 4,
      types: [{ type: 'a100', count: 4 }],
    });
    assert.equal(gpusInTres(parseTres('cpu=8,gres/gpu:v100=2,gres/gpu:t4=1')).count, 3);
  });

  it('measures energy from the ARCHER2 documentation table: the job allocation, never the sum of overlapping steps', () => {
    const records = parseSacct(read('archer2-docs-sacct-energy.txt'));
    assert.deepEqual(
      records.map((r) => [r.jobId, r.stepId, r.energyJ, r.elapsedS]),
      [
        ['2658300', undefined, 4.58e6, 8388],
        ['2658300', 'batch', 4.58e6, 8388],
        ['2658300', 'extern', 4.58e6, 8388],
        ['2658300', '0', 4.57e6, 8349],
      ],
    );
    const [job] = groupJobs(records);
    assert.deepEqual(measuredEnergy(job), { energyJ: 4.58e6, from: 'the job allocation' });
    const run = jobToRun(job, {
      cluster: resolveCluster('archer2', { archer2: { region: 'GB', pue: 1.1 } }),
      energyPlugin: 'acct_gather_energy/pm_counters',
    });
    assert.equal(run.power.cpu.method, 'measured');
    assert.match(run.power.cpu.detail, /ConsumedEnergyRaw 4580 kJ from the job allocation.*whole nodes/);
    // the page says: "4.58 MJ … resulting in 1.27 kWh"
    assert.equal(run.energyKWh.cpu.toFixed(2), '1.27');
    assert.ok(Math.abs(run.energyKWh.total - (4.58e6 / 3.6e6) * 1.1) < 1e-9);
    assert.equal(run.energyKWh.ram, 0);
    assert.equal(
      run.power.ram.unavailableReason,
      'included in the energy SLURM measured (acct_gather_energy/pm_counters)',
    );
    assert.equal(run.pue, 1.1);
    assert.equal(run.intensity.region, 'GB');
    assert.equal(run.durationS, 8388);
    assert.equal(runProblem(run), undefined);
  });

  it('falls back to the extern step, then the largest step, when the job line has no energy', () => {
    const base = { name: 'x', state: 'COMPLETED', stateText: 'COMPLETED', allocTres: {} };
    const j: SlurmJob = {
      job: { jobId: '1', ...base },
      steps: [
        { jobId: '1', stepId: 'batch', ...base, energyJ: 10 },
        { jobId: '1', stepId: '0', ...base, energyJ: 30 },
      ],
    };
    assert.deepEqual(measuredEnergy(j), { energyJ: 30, from: 'step 0 (the largest step; steps overlap)' });
    j.steps.push({ jobId: '1', stepId: 'extern', ...base, energyJ: 50 });
    assert.equal(measuredEnergy(j)?.energyJ, 50);
    j.steps = j.steps.map((s) => ({ ...s, energyJ: 0 }));
    assert.equal(measuredEnergy(j), undefined);
  });

  it('reads a recorded --parsable2 output: steps summed for TotalCPU, array tasks as jobs of their own', () => {
    const jobs = groupJobs(parseSacct(read('local-22.05-steps-array.parsable2.txt')));
    assert.deepEqual(
      jobs.map((j) => [j.job.jobId, j.job.jobIdRaw, j.steps.map((s) => s.stepId).join(',')]),
      [
        ['3', '3', 'batch,0,1'],
        ['4_1', '5', 'batch'],
        ['4_2', '4', 'batch'],
      ],
    );
    const steps = jobs[0];
    assert.equal(steps.job.totalCpuS, 3.788);
    const run = jobToRun(steps, {
      cluster: cluster({ cpuTdpW: 100 }),
      node: { name: 'vm', cpus: 2, sockets: 1, features: [] },
    });
    assert.equal(run.cpuSeconds, 0.044 + 2.511 + 1.232);
    assert.equal(run.power.cpu.method, 'modelled');
    // 100 W ÷ 2 logical CPUs × 3.787 CPU s
    assert.ok(Math.abs(run.energyKWh.cpu - (3.787 * 50) / 3.6e6) < 1e-12);
    assert.equal(run.id, 'slurm-testcluster-3');
    assert.equal(run.source, 'slurm');
    assert.equal(run.status, 'completed');
    assert.equal(run.startedAt, new Date(1795655793 * 1000).toISOString());
    assert.ok(
      run.notes?.some((n) => /SLURM recorded no energy/.test(n)),
      'says why the energy is modelled',
    );
  });

  it('reads the same jobs from the recorded sacct --json (data parser v0.0.38) alike', () => {
    const fromJson = groupJobs(parseSacctJson(read('local-22.05-steps-array.json')));
    const fromTable = groupJobs(parseSacct(read('local-22.05-steps-array.parsable2.txt')));
    const key = (js: SlurmJob[]) =>
      js
        .map((j) => [
          j.job.jobId,
          j.job.state,
          j.steps
            .map((s) => s.stepId)
            .sort()
            .join(','),
          Number(j.steps.reduce((a, s) => a + (s.totalCpuS ?? 0), 0).toFixed(2)),
        ])
        .sort();
    assert.deepEqual(key(fromJson), key(fromTable));
  });

  it("reads the jobs document of SLURM's REST API documentation (data parser v0.0.45: wrapped numbers, state lists)", () => {
    const records = parseSacctJson(read('schedmd-rest-api-v0.0.45-slurmdbd-job.json'));
    const jobs = groupJobs(records);
    assert.ok(jobs.length >= 1);
    const j = jobs[0];
    assert.equal(j.job.state, 'PENDING'); // ["PENDING", "PENDING"]
    assert.equal(j.job.totalCpuS, 6.000007); // {seconds: 6, microseconds: 7}
    assert.equal(j.job.elapsedS, 7);
    assert.ok(j.steps.length >= 1 && j.steps.every((s) => s.totalCpuS !== undefined));
    // placeholder TRES ("type": "type") are no energy
    assert.equal(measuredEnergy(j), undefined);
  });

  it('reads scontrol show node, squeue and sstat', () => {
    const [n] = parseNodes(`NodeName=gpu01 Arch=x86_64 CoresPerSocket=32
   CPUAlloc=0 CPUEfctv=128 CPUTot=128 CPULoad=0.01
   AvailableFeatures=amd,epyc_7763,a100
   ActiveFeatures=amd,epyc_7763,a100
   Gres=gpu:a100:4(S:0-1)
   OS=Linux 5.14.0 #1 SMP PREEMPT_DYNAMIC
   RealMemory=512000 AllocMem=0 FreeMem=500000 Sockets=2 Boards=1
   CurrentWatts=0 AveWatts=0`);
    assert.equal(n.name, 'gpu01');
    assert.equal(n.cpus, 128);
    assert.equal(n.sockets, 2);
    assert.equal(n.cpuModel, 'epyc 7763');
    assert.equal(n.gpuType, 'a100');
    assert.deepEqual(parseSqueue('12|RUNNING|1:02|1|vm\n13_[2-5]|PENDING|0:00|1|(Resources)\n'), [
      { jobId: '12', state: 'RUNNING', elapsedS: 62, nodes: 1, reason: 'vm' },
      { jobId: '13_[2-5]', state: 'PENDING', elapsedS: 0, nodes: 1, reason: '(Resources)' },
    ]);
    // as sstat -a -P printed it on the test cluster for a running batch job
    assert.deepEqual(
      parseSstat(
        'JobID|TRESUsageInTot|ConsumedEnergyRaw\n2.batch|cpu=00:00:03,energy=0,fs/disk=1690105,mem=14852K,pages=0,vmem=19156K|0\n',
      ),
      [{ stepId: 'batch', cpuS: 3, energyJ: 0 }],
    );
    assert.equal(firstNode('nid[001002,001004]'), 'nid001002');
    assert.equal(firstNode('node[01-04],gpu07'), 'node01');
    assert.equal(firstNode('None assigned'), undefined);
  });

  it('models CPU from the node, GPUs from the GRES type, and says which figures are defaults', () => {
    const records = parseSacct(
      'JobID|JobName|State|ExitCode|Cluster|ElapsedRaw|TotalCPU|AllocCPUS|NNodes|NodeList|AllocTRES|ConsumedEnergyRaw\n' +
        '77|train|FAILED|1:0|gpu|3600|10:00:00|16|2|gpu[01-02]|billing=16,cpu=16,gres/gpu=8,gres/gpu:a100=8,mem=128G,node=2|\n' +
        '77.batch|batch|FAILED|1:0|gpu|3600|10:00:00|8|1|gpu01|cpu=8,mem=64G,node=1|\n',
    );
    const node = parseNodes('NodeName=gpu01 CPUTot=128 Sockets=2 AvailableFeatures=epyc_7763\n')[0];
    const run = jobToRun(groupJobs(records)[0], { cluster: cluster(), node });
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 1);
    assert.equal(run.cpuSeconds, 36000);
    assert.equal(run.power.gpu.method, 'modelled');
    assert.match(run.power.gpu.detail, /8 allocated GPU\(s\) × NVIDIA A100 SXM 400 W/);
    assert.ok(Math.abs(run.energyKWh.gpu - (8 * 400 * 3600) / 3.6e6) < 1e-9);
    assert.ok(Math.abs(run.energyKWh.ram - (128 * 0.375 * 3600) / 3.6e6) < 1e-9);
    assert.match(run.power.cpu.detail, /EPYC 7763/);
    assert.ok(run.notes?.some((n) => /2 nodes \(gpu\[01-02\]\)/.test(n)));
    const unknown = lookupGpuPower('mystery9000');
    assert.equal(unknown.method, 'default');
    assert.match(unknown.detail, /not in the table.*gpuPowerW/);
    // no node information at all: CodeCarbon's fallback, said to be a default
    const bare = jobToRun(groupJobs(records)[0], { cluster: cluster() });
    assert.equal(bare.power.cpu.method, 'default');
    assert.match(bare.power.cpu.detail, /4 W per logical CPU.*cpuModel/);
    // a per-cluster GPU power and measured-energy switch
    const set = jobToRun(groupJobs(records)[0], {
      cluster: cluster({ gpuPowerW: 250, useMeasuredEnergy: false }),
      node,
    });
    assert.match(set.power.gpu.detail, /250 W per GPU \(carbonMeter.clusters.c.gpuPowerW\)/);
  });

  it('a cancelled job is a failed run with the signal as its exit code', () => {
    const [j] = groupJobs(
      parseSacct(
        'JobID|JobName|State|ExitCode|ElapsedRaw|TotalCPU|AllocTRES\n9|sleep|CANCELLED by 0|0:15|4|00:00.010|cpu=1,mem=1G,node=1\n',
      ),
    );
    const run = jobToRun(j, { cluster: cluster() });
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 143);
    assert.ok(run.notes?.includes('SLURM state CANCELLED by 0, exit code 0:15'));
  });

  it('validates carbonMeter.clusters with one line per problem and keeps the good entries', () => {
    const { clusters, problems } = parseClustersConfig({
      a: { region: 'FR', pue: 5, colour: 'x' },
      b: 3,
      '*': { region: 'DE' },
    });
    assert.deepEqual(clusters, { a: { region: 'FR' }, '*': { region: 'DE' } });
    assert.equal(problems.length, 3);
    assert.ok(problems.every((p) => !p.includes('\n')));
    assert.equal(resolveCluster('other', clusters).place.region.code, 'DE');
    assert.match(resolveCluster('other', clusters).place.reason, /carbonMeter.clusters\["\*"\].region/);
    const bad = resolveCluster('x', { x: { region: 'Atlantis' } });
    assert.equal(bad.place.region.code, 'WORLD');
    assert.ok(bad.notes.some((n) => /world average/.test(n)));
    assert.equal(
      resolveCluster('a', clusters, { overrides: { pue: 1.4 }, overridesFrom: { pue: '--pue' } }).place.pueSource,
      'set by --pue',
    );
    assert.equal(parseClustersConfig([1]).problems.length, 1);
  });

  it('recognises submissions and reads their job ids from terminal output, split anywhere', () => {
    assert.equal(slurmSubmitter('sbatch --wrap "sleep 1"'), 'sbatch');
    assert.equal(slurmSubmitter('FOO=1 /usr/bin/srun -n2 hostname'), 'srun');
    assert.equal(slurmSubmitter('salloc -N1'), 'salloc');
    assert.equal(slurmSubmitter('python sbatch.py'), undefined);
    assert.equal(clusterOption('sbatch -M gpu job.sh'), 'gpu');
    assert.equal(clusterOption('sbatch --clusters=cpu job.sh'), 'cpu');
    const text = '\x1b]633;C\x07Submitted batch job 4242\r\n';
    const reader = new JobIdReader('sbatch');
    let got;
    for (const ch of text) got = reader.push(ch) ?? got;
    assert.deepEqual(got, { jobId: '4242' });
    assert.deepEqual(jobIdInOutput('Submitted batch job 7 on cluster gpu\n', 'sbatch'), { jobId: '7', cluster: 'gpu' });
    assert.deepEqual(jobIdInOutput('srun: job 2 queued and waiting for resources\n', 'srun'), { jobId: '2' });
    assert.deepEqual(jobIdInOutput('salloc: Granted job allocation 31\n', 'salloc'), { jobId: '31' });
    assert.deepEqual(jobIdInOutput('12;gpu\n', 'sbatch'), { jobId: '12', cluster: 'gpu' });
    assert.equal(jobIdInOutput('12', 'sbatch'), undefined, 'an unfinished line may still grow');
    assert.deepEqual(jobIdInOutput('12', 'sbatch', true), { jobId: '12' });
    assert.equal(jobIdInOutput('42\n', 'srun'), undefined, "a program's output is not a job id");
  });

  it('the manifest describes carbonMeter.clusters with exactly the keys the code accepts, each with a text', () => {
    const root = path.join(__dirname, '..', '..', '..');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8'));
    const prop = pkg.contributes.configuration
      .map((c: { properties: Record<string, unknown> }) => c.properties['carbonMeter.clusters'])
      .find(Boolean);
    const keys = Object.keys(prop.additionalProperties.properties);
    const sample = Object.fromEntries(
      keys.map((k) => [
        k,
        ({ string: 'FR', number: 1.5, boolean: true } as Record<string, unknown>)[
          prop.additionalProperties.properties[k].type
        ],
      ]),
    );
    assert.deepEqual(parseClustersConfig({ c: sample }).problems, []);
    assert.equal(parseClustersConfig({ c: { ...sample, extra: 1 } }).problems.length, 1);
    for (const k of keys) assert.ok(nls[prop.additionalProperties.properties[k].markdownDescription.slice(1, -1)], k);
    assert.ok(nls[prop.markdownDescription.slice(1, -1)]);
  });

  it('gives stable run ids that are safe file names', () => {
    assert.equal(slurmRunId('test cluster', '12_3'), 'slurm-test-cluster-12_3');
    assert.equal(slurmRunId('c', '5+1'), 'slurm-c-5-1');
  });
});

describe('slurm: the job an sbatch submitted, from the records, when its output was not seen', () => {
  const t0 = Date.parse('2026-11-26T03:26:25Z');
  const rec = (jobId: string, workDir: string, submitMs: number) => ({ jobId, workDir, submitMs });
  it('one job from this folder since the command began: its id (array tasks and steps folded)', () => {
    const records = [
      rec('70', '/w', t0 - 60_000),
      rec('73', '/w/', t0),
      rec('73.batch', '/w', t0),
      rec('74', '/other', t0 + 1000),
    ];
    assert.deepEqual(submittedJobFromRecords(records, { sinceMs: t0 - 1000, cwd: '/w' }), { jobId: '73' });
    assert.deepEqual(
      submittedJobFromRecords([rec('80_1', '/w', t0), rec('80_2', '/w', t0)], { sinceMs: t0, cwd: '/w' }),
      { jobId: '80' },
    );
  });
  it('none, or two candidates: no guess', () => {
    assert.equal(submittedJobFromRecords([rec('70', '/w', t0 - 60_000)], { sinceMs: t0, cwd: '/w' }), undefined);
    assert.deepEqual(submittedJobFromRecords([rec('81', '/w', t0), rec('82', '/w', t0)], { sinceMs: t0, cwd: '/w' }), {
      ambiguous: ['81', '82'],
    });
  });
});
