/** The panel's message protocol: what passes, what is refused (and why), on both sides. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PanelModel } from '../../src/core/view/snapshot';
import type { Sample } from '../../src/core/types';
import { parseHostMessage, parseWebviewMessage, type HostMessage } from '../../src/shared/protocol';
import { makeRun } from '../helpers/history-runs';

const ROOT = path.join(__dirname, '..', '..', '..');

function snapshotMessage(): HostMessage {
  const t0 = Date.UTC(2026, 10, 24, 8);
  const open = makeRun({ name: '<img src=x onerror=alert(1)>' }, { startedAt: new Date(t0), durationS: 600 });
  const runs = [
    open,
    makeRun({ source: 'debug', status: 'failed', exitCode: 2 }),
    makeRun({ source: 'codecarbon-import', command: '' }),
  ];
  const samples: Sample[] = Array.from({ length: 600 }, (_, i) => ({
    t: t0 + (i + 1) * 1000,
    cpuW: 40,
    gpuW: 200 + (i % 7),
    ramW: 4,
    gPerKWh: 56,
  }));
  const snapshot = new PanelModel().build({
    runs,
    openRunId: open.id,
    samples: () => samples,
    adviceRegions: ['gcp:*'],
    historyDir: '/tmp/h',
    monthlyBudgetKg: 10,
  });
  return JSON.parse(JSON.stringify({ type: 'snapshot', seq: 3, snapshot })) as HostMessage;
}

/** A JSON copy whose arbitrary paths the cases below break on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any path of a JSON copy, set or deleted
type Json = any;

/** A deep copy of the message with one change. */
function mutate(m: HostMessage, change: (x: Json) => void): unknown {
  const copy = JSON.parse(JSON.stringify(m));
  change(copy);
  return copy;
}

describe('protocol: host → webview', () => {
  const good = snapshotMessage();

  it('accepts a snapshot as the model builds it (after a JSON round trip, as postMessage delivers it)', () => {
    const parsed = parseHostMessage(good);
    assert.notEqual(typeof parsed, 'string', String(parsed));
  });

  const bad: [string, (x: Json) => void, RegExp][] = [
    ['unknown type', (x) => (x.type = 'eval'), /unknown message type "eval"/],
    ['no seq', (x) => delete x.seq, /seq is not an integer/],
    ['no snapshot', (x) => delete x.snapshot, /snapshot is not an object/],
    ['a row with a bad id', (x) => (x.snapshot.table.rows[0].id = '../../etc/passwd'), /rows\[0\]\.id is not a run id/],
    ['a row with a number as name', (x) => (x.snapshot.table.rows[0].name = 42), /rows\[0\]\.name is not a string/],
    ['an unknown status', (x) => (x.snapshot.table.rows[1].status = 'exploded'), /status is not one of/],
    [
      'NaN in the totals (JSON gives null)',
      (x) => (x.snapshot.totals[0].emissionsKg = null),
      /totals\[0\]\.emissionsKg is not a finite number/,
    ],
    [
      'a chart series of 2,001 points',
      (x) => (x.snapshot.chart.series[0].t = new Array(2001).fill(1)),
      /has more than 2000 items/,
    ],
    ['chart series of different lengths', (x) => x.snapshot.chart.series[0].kg.push(1), /different lengths/],
    [
      'a power series of 2,001 points',
      (x) => (x.snapshot.detail.power.cpuW = new Array(2001).fill(1)),
      /cpuW has more than 2000 items/,
    ],
    ['power series of different lengths', (x) => x.snapshot.detail.power.gpuW.pop(), /gpuW has \d+ points where t has/],
    ['a detail run without hardware', (x) => delete x.snapshot.detail.run.hardware, /missing field 'hardware'/],
    [
      'a GPU without a name',
      (x) => (x.snapshot.detail.run.hardware.gpus = [{ index: 0 }]),
      /gpus\[0\]\.name is not a string/,
    ],
    ['a run pid that is not an integer', (x) => (x.snapshot.detail.run.pid = 1.5), /run\.pid is not an integer/],
    [
      'CPU sockets that are not a number',
      (x) => (x.snapshot.detail.run.hardware.sockets = '2'),
      /hardware\.sockets is not a finite number/,
    ],
    [
      'an intensity factor type we do not know',
      (x) => (x.snapshot.detail.run.intensity.factorType = 'guessed'),
      /intensity\.factorType is not one of/,
    ],
    ['notes that are not strings', (x) => (x.snapshot.detail.run.notes = [{}]), /invalid 'notes'/],
    ['an unknown facet key', (x) => (x.snapshot.table.facets.source.__proto__x = 1), /unknown key/],
    ['a tip without a code', (x) => delete x.snapshot.totalsAdvice.groups[0].tips[0].code, /code is not a string/],
    ['an unknown time advice', (x) => (x.snapshot.detail.time.kind = 'now'), /not a known kind/],
    [
      'a forecast tip without its start',
      (x) =>
        (x.snapshot.detail.time = {
          kind: 'forecast',
          settingKey: 'k',
          startsNow: false,
          savingFraction: 0.2,
          savingKg: 1,
          horizonH: 24,
          factorType: 'average',
          source: 's',
        }),
      /time\.startMs is not a finite number/,
    ],
    [
      'a forecast tip of an unknown factor',
      (x) =>
        (x.snapshot.detail.time = {
          kind: 'forecast',
          settingKey: 'k',
          startMs: 1,
          startsNow: false,
          savingFraction: 0.2,
          savingKg: 1,
          horizonH: 24,
          factorType: 'guessed',
          source: 's',
        }),
      /factorType is not one of/,
    ],
    ['a page size we do not send', (x) => (x.snapshot.table.query.pageSize = 1e6), /pageSize is not one of/],
    [
      'a monthly budget without its limit',
      (x) => delete x.snapshot.monthBudget.limitKg,
      /monthBudget\.limitKg is not a finite number/,
    ],
  ];
  for (const [what, change, why] of bad) {
    it(`refuses ${what}`, () => {
      const parsed = parseHostMessage(mutate(good, change));
      assert.equal(typeof parsed, 'string');
      assert.match(parsed as string, why);
    });
  }

  it('accepts every kind of greener-time line', () => {
    const kinds = [
      { kind: 'needs-live-source', settingKey: 'carbonMeter.intensity.provider' },
      { kind: 'pending', settingKey: 'carbonMeter.intensity.provider' },
      { kind: 'unavailable', settingKey: 'carbonMeter.intensity.provider', reason: 'no forecast for this zone' },
      { kind: 'no-forecast', settingKey: 'carbonMeter.intensity.provider', minGPerKWh: 40, maxGPerKWh: 90 },
      {
        kind: 'forecast',
        settingKey: 'carbonMeter.intensity.provider',
        startMs: 1,
        startsNow: false,
        savingFraction: 0.3,
        savingKg: 0.01,
        horizonH: 48,
        pause: { thresholdGPerKWh: 200, savingFraction: 0.4, finishMs: 2 },
        factorType: 'marginal',
        source: 'WattTime',
      },
    ];
    for (const time of kinds)
      assert.notEqual(
        typeof parseHostMessage(mutate(good, (x) => (x.snapshot.detail.time = time))),
        'string',
        time.kind,
      );
  });

  it('refuses what is not an object at all', () => {
    for (const x of [null, undefined, 'snapshot', 42, []]) assert.equal(typeof parseHostMessage(x), 'string');
  });
});

describe('protocol: webview → host', () => {
  const id = '20261123T215412Z-1a2b-00000a';
  const query = {
    text: 'bert',
    source: 'all',
    status: 'failed',
    sort: 'emissionsKg',
    dir: 'desc',
    page: 2,
    pageSize: 100,
  };

  it('accepts every kind of message', () => {
    const good: unknown[] = [
      { type: 'ready' },
      { type: 'ready', state: { query } },
      { type: 'ready', state: { query, openRunId: id } },
      { type: 'query', query },
      { type: 'openRun', id },
      { type: 'closeRun' },
      { type: 'rerun', id },
      { type: 'runAt', id },
      { type: 'copyCsv', id },
      { type: 'deleteRun', id },
      { type: 'openReport', id },
      { type: 'export', format: 'csv' },
      { type: 'export', format: 'json' },
      { type: 'import' },
      { type: 'openSettings', key: 'carbonMeter.intensity.provider' },
      { type: 'openSettings', key: 'carbonMeter.advice.regions' },
      { type: 'log', level: 'warn', message: 'something' },
    ];
    for (const m of good) assert.deepEqual(parseWebviewMessage(m), m);
  });

  const bad: [unknown, RegExp][] = [
    [{ type: 'runShell', command: 'rm -rf ~' }, /unknown message type "runShell"/],
    [{ type: 'deleteRun' }, /id is not a run id/],
    [{ type: 'deleteRun', id: '../history.jsonl' }, /id is not a run id/],
    [{ type: 'rerun', id: { toString: 'x' } }, /id is not a run id/],
    [{ type: 'runAt', id: '../history.jsonl' }, /id is not a run id/],
    [{ type: 'runAt' }, /id is not a run id/],
    [{ type: 'query', query: { ...query, page: -1 } }, /query\.page is negative/],
    [{ type: 'query', query: { ...query, page: 1.5 } }, /query\.page is not an integer/],
    [{ type: 'query', query: { ...query, pageSize: 7 } }, /query\.pageSize is not one of/],
    [{ type: 'query', query: { ...query, sort: 'constructor' } }, /query\.sort is not one of/],
    [{ type: 'query', query: { ...query, text: 'x'.repeat(201) } }, /longer than 200/],
    [{ type: 'query', query: { ...query, source: 'ssh' } }, /query\.source is not one of/],
    [{ type: 'query' }, /query is not an object/],
    [{ type: 'ready', state: { query: 'all' } }, /state\.query is not an object/],
    [{ type: 'ready', state: { query, openRunId: 'a/b' } }, /state\.openRunId is not a run id/],
    [{ type: 'export', format: 'xlsx' }, /format is not one of/],
    [{ type: 'openSettings', key: 'terminal.integrated.shell.linux' }, /key is not one of/],
    [{ type: 'log', level: 'warn', message: 'x'.repeat(2001) }, /longer than 2000/],
    [{ type: 'log', level: 'debug', message: 'x' }, /level is not one of/],
    [{ id }, /unknown message type undefined/],
    ['ready', /not an object/],
  ];
  for (const [m, why] of bad) {
    it(`refuses ${JSON.stringify(m).slice(0, 70)}`, () => {
      const parsed = parseWebviewMessage(m);
      assert.equal(typeof parsed, 'string');
      assert.match(parsed as string, why);
    });
  }
});

describe('protocol: the webview renders run data as text', () => {
  // The panel test (test/ui/panel.test.ts) checks the injection case in the real panel; this keeps the way
  // there closed: no API of the webview's code parses HTML.
  it('src/webview never parses HTML (no innerHTML, outerHTML, insertAdjacentHTML, document.write, DOMParser)', () => {
    const dir = path.join(ROOT, 'src', 'webview');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.includes('main.ts'));
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      assert.doesNotMatch(
        text,
        /\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment|srcdoc/,
        f,
      );
    }
  });
});
