/** A notebook run in the panel: its cells pass the protocol's checks (and bad ones do not); it offers no re-run. */
import * as assert from 'node:assert/strict';
import { PanelModel, runDetail } from '../../src/core/view/snapshot';
import type { NotebookCellFootprint } from '../../src/core/types';
import { parseHostMessage, type HostMessage } from '../../src/shared/protocol';
import { makeRun } from '../helpers/history-runs';

const cell = (index: number, cpuSeconds: number): NotebookCellFootprint => ({
  index,
  firstLine: `train(epochs=${index})`,
  startedAt: new Date(Date.UTC(2026, 10, 26, 9, 0, index)).toISOString(),
  durationS: cpuSeconds * 1.1,
  energyKWh: cpuSeconds * 1e-5,
  emissionsKg: cpuSeconds * 5e-7,
  cpuSeconds,
  method: 'modelled',
  success: index !== 2,
});

function message(): HostMessage {
  const run = makeRun({
    source: 'notebook',
    name: 'train.ipynb',
    command: '/usr/bin/python3 -m ipykernel_launcher --f=/rt/kernel-v3-ab.json',
    cells: [cell(0, 0.01), cell(1, 1), cell(2, 3)],
  });
  const snapshot = new PanelModel().build({
    runs: [run],
    openRunId: run.id,
    samples: () => [],
    adviceRegions: [],
    historyDir: '/tmp/h',
  });
  return JSON.parse(JSON.stringify({ type: 'snapshot', seq: 1, snapshot })) as HostMessage;
}

describe('notebook runs in the panel protocol', () => {
  it('accepts a notebook run with its cells', () => {
    const parsed = parseHostMessage(message());
    assert.notEqual(typeof parsed, 'string', String(parsed));
    assert.equal((parsed as HostMessage).snapshot.detail?.run.cells?.length, 3);
  });

  const bad: [string, (cells: Record<string, unknown>[]) => void, RegExp][] = [
    ['a cell without energy', (c) => delete c[1].energyKWh, /cells\[1\]\.energyKWh is not a finite number/],
    ['a cell index that is not an integer', (c) => (c[0].index = 0.5), /cells\[0\]\.index is not an integer/],
    ['an unknown method', (c) => (c[2].method = 'guessed'), /cells\[2\]\.method is not one of/],
    ['a first line of 10,000 characters', (c) => (c[0].firstLine = 'x'.repeat(10_000)), /firstLine is longer than/],
    [
      'more cells than a run keeps',
      (c) => c.push(...Array.from({ length: 600 }, () => ({ ...c[0] }))),
      /cells has more than 500 items/,
    ],
  ];
  for (const [what, change, why] of bad) {
    it(`refuses ${what}`, () => {
      const m = message() as unknown as { snapshot: { detail: { run: { cells: Record<string, unknown>[] } } } };
      change(m.snapshot.detail.run.cells);
      const parsed = parseHostMessage(m);
      assert.equal(typeof parsed, 'string');
      assert.match(parsed as string, why);
    });
  }

  it('offers no re-run of a kernel command line', () => {
    const run = makeRun({
      source: 'notebook',
      command: '/usr/bin/python3 -m ipykernel_launcher --f=/rt/k.json',
      status: 'completed',
    });
    assert.equal(runDetail(run, []).canRerun, false);
  });
});
