/**
 * The History panel's host in a real VS Code (code-server or test-electron): the command, the webview's options and
 * HTML, the ready handshake and snapshots, message checks, live updates (at most once a second, none while hidden),
 * and every action (copy, delete, export, import, re-run metered by the terminal watcher).
 *
 * The panels here are made by this file's copy of HistoryPanel (the extension's own copy lives in its bundle), with
 * the extension's MeterService, so the tests can see what the host posts and answer its dialogs.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CODECARBON_COLUMNS, parseCodeCarbonCsv } from '../../src/core/history/codecarbon';
import type { Run } from '../../src/core/types';
import type { CarbonMeterApi } from '../../src/extension/extension';
import { codeCarbonRow, type PanelUi } from '../../src/extension/panel/actions';
import { HistoryPanel, LIVE_UPDATE_MS } from '../../src/extension/panel/historyPanel';
import { HISTORY_VIEW_TYPE } from '../../src/shared/protocol';
import { makeRun } from '../helpers/history-runs';

const EXT_ID = 'carbon-meter.carbon-meter';

async function api(): Promise<CarbonMeterApi> {
  const ext = vscode.extensions.getExtension<CarbonMeterApi>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} is installed`);
  return ext.isActive ? ext.exports : await ext.activate();
}

async function waitFor<T>(fn: () => T | undefined | false | null, what: string, boundMs = 30_000): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers the panel's dialogs and keeps its messages. */
class TestUi implements PanelUi {
  confirmAnswer = true;
  confirms: string[] = [];
  saveTo: vscode.Uri | undefined;
  openFrom: vscode.Uri | undefined;
  infos: string[] = [];
  warns: string[] = [];
  errors: string[] = [];
  async confirm(message: string, detail: string): Promise<boolean> {
    this.confirms.push(`${message} ${detail}`);
    return this.confirmAnswer;
  }
  async saveUri(): Promise<vscode.Uri | undefined> {
    return this.saveTo;
  }
  async openUri(): Promise<vscode.Uri | undefined> {
    return this.openFrom;
  }
  info(m: string): void {
    this.infos.push(m);
  }
  warn(m: string): void {
    this.warns.push(m);
  }
  error(m: string): void {
    this.errors.push(m);
  }
}

function webviewTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(HISTORY_VIEW_TYPE));
}

async function closeHistoryTabs(): Promise<void> {
  const tabs = webviewTabs();
  if (tabs.length) await vscode.window.tabGroups.close(tabs);
}

describe('History panel (extension host)', function () {
  this.timeout(120_000);
  let a: CarbonMeterApi;
  let extensionUri: vscode.Uri;
  const seeded: Run[] = [];
  let panel: HistoryPanel | undefined;
  let ui: TestUi;

  before(async () => {
    a = await api();
    extensionUri = vscode.extensions.getExtension(EXT_ID)!.extensionUri;
    const t0 = Date.now() - 3 * 86400_000;
    for (let i = 0; i < 12; i++) {
      seeded.push(
        makeRun(
          {
            name: `panel-seed-${i}`,
            source: i % 3 === 0 ? 'debug' : 'cli',
            status: i % 4 === 3 ? 'failed' : 'completed',
          },
          { startedAt: new Date(t0 + i * 3600_000), durationS: 600 + i * 60 },
        ),
      );
    }
    seeded.push(makeRun({ name: '<img src=x onerror=alert(1)>' }, { startedAt: new Date(t0 - 3600_000) }));
    a.service.store.appendMany(seeded);
  });

  beforeEach(() => {
    ui = new TestUi();
  });

  afterEach(async () => {
    panel?.dispose();
    panel = undefined;
    await closeHistoryTabs();
  });

  async function open(runId?: string): Promise<HistoryPanel> {
    panel = HistoryPanel.createOrShow(extensionUri, a.service, runId, ui);
    await waitFor(() => panel!.stats.snapshots > 0, 'the first snapshot (after the webview said ready)');
    return panel;
  }

  it('"Carbon Meter: Show History" opens the History webview (not a quick pick), once', async () => {
    await vscode.commands.executeCommand('carbonMeter.showHistory');
    await waitFor(() => webviewTabs().length === 1, 'the History tab');
    await vscode.commands.executeCommand('carbonMeter.showHistory');
    await sleep(300);
    assert.equal(webviewTabs().length, 1, 'the panel is reused');
    assert.equal(webviewTabs()[0].label, 'Carbon Meter: History');
  });

  it('restricts the webview: scripts by nonce, local files from dist and media only, no inline handlers', async () => {
    const p = await open();
    const opts = p.panel.webview.options;
    assert.equal(opts.enableScripts, true);
    assert.equal(opts.enableCommandUris, false);
    assert.deepEqual(opts.localResourceRoots?.map((u) => path.relative(extensionUri.fsPath, u.fsPath)).sort(), [
      'dist',
      'media',
    ]);
    const html = p.panel.webview.html;
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/
      .exec(html)?.[1]
      ?.replace(/&#39;|&apos;/g, "'");
    assert.ok(csp, 'a CSP meta tag');
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    assert.ok(nonce && nonce.length >= 16, 'a nonce');
    const src = p.panel.webview.cspSource;
    assert.equal(
      csp,
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${src} 'nonce-${nonce}'; img-src ${src} data:; font-src ${src}`,
    );
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
    const executable = scripts.filter((s) => !/type="application\/json"/.test(s));
    assert.equal(executable.length, 1);
    assert.match(executable[0], new RegExp(`nonce="${nonce.replace(/[+/=]/g, '\\$&')}"`));
    assert.match(executable[0], /src="[^"]*\/dist\/webview\.js"/);
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline handlers');
    assert.doesNotMatch(html, /style="/, 'no inline styles');
  });

  it('answers ready with a full snapshot of the history', async () => {
    const p = await open();
    assert.ok(p.stats.readies >= 1);
    const s = p.stats.last!;
    assert.equal(s.historyDir, a.service.store.dir);
    assert.ok(s.runCount >= seeded.length);
    assert.ok(s.table.rows.length > 0);
    const names = a.service.store
      .load()
      .runs.slice(0, 50)
      .map((r) => r.name);
    assert.deepEqual(
      s.table.rows.map((r) => r.name),
      names,
      'newest first, as the store',
    );
    assert.equal(s.totals.length, 4);
    assert.equal(s.detail, null);
  });

  it('opens a run when asked by showHistory(runId)', async () => {
    const target = seeded[4];
    const p = await open(target.id);
    await waitFor(() => p.stats.last?.detail?.run.id === target.id, 'the detail of the run asked for');
    assert.equal(p.uiState.openRunId, target.id);
    // a second call on the open panel focuses another run
    HistoryPanel.createOrShow(extensionUri, a.service, seeded[5].id, ui);
    await waitFor(() => p.stats.last?.detail?.run.id === seeded[5].id, 'the second run');
  });

  it('checks every message from the webview: malformed ones are logged and ignored', async () => {
    const p = await open();
    const before = p.stats.snapshots;
    await p.handleMessage({ type: 'deleteRun', id: '../../history.jsonl' });
    await p.handleMessage({ type: 'query', query: { text: 'x', page: -1 } });
    await p.handleMessage({ type: 'runShell', command: 'rm -rf ~' });
    await p.handleMessage('ready');
    assert.equal(p.stats.rejected, 4);
    assert.equal(p.stats.snapshots, before, 'nothing was answered');
    assert.equal(ui.confirms.length, 0);
    assert.ok(a.service.store.get(seeded[0].id));
  });

  it('filters, sorts and pages in the host: the webview gets one page', async () => {
    const p = await open();
    await p.handleMessage({
      type: 'query',
      query: {
        text: 'panel-seed',
        source: 'debug',
        status: 'all',
        sort: 'durationS',
        dir: 'asc',
        page: 0,
        pageSize: 25,
      },
    });
    const s = p.stats.last!;
    const expected = seeded.filter((r) => r.source === 'debug');
    assert.equal(s.table.matched, expected.length);
    assert.deepEqual(
      s.table.rows.map((r) => r.id),
      [...expected].sort((x, y) => x.durationS - y.durationS).map((r) => r.id),
    );
    assert.deepEqual(
      s.chart.series.map((x) => x.source),
      ['debug'],
    );
  });

  it('pushes live changes at most once a second while visible', async () => {
    const p = await open();
    await sleep(LIVE_UPDATE_MS + 100);
    const from = p.stats.postedAt.length;
    const added: Run[] = [];
    for (let i = 0; i < 10; i++) {
      const r = makeRun({ name: `live-${i}` });
      added.push(r);
      a.service.store.append(r);
      await sleep(250);
    }
    await waitFor(
      () => p.stats.last?.table.rows.some((r) => r.id === added[9].id),
      'the last appended run in a snapshot',
    );
    const times = p.stats.postedAt.slice(from);
    const reasons = p.stats.reasons.slice(from);
    assert.ok(times.length >= 2, `${times.length} live snapshot(s)`);
    assert.ok(times.length <= 4, `${times.length} snapshots for 10 appends over 2.5 s`);
    assert.ok(
      reasons.every((r) => r.startsWith('live:')),
      reasons.join(', '),
    );
    for (let i = 1; i < times.length; i++)
      assert.ok(times[i] - times[i - 1] >= LIVE_UPDATE_MS - 20, `snapshots ${times[i] - times[i - 1]} ms apart`);
  });

  it('shows a run in progress and updates it from its readings, at most once a second', async () => {
    const p = await open();
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const terminal = vscode.window.createTerminal({ name: 'cm-panel-live', cwd: folder });
    try {
      terminal.show(true);
      const si = await waitFor(() => terminal.shellIntegration, 'shell integration');
      const started = new Promise<Run>((resolve) => {
        const sub = a.service.onRunStarted((r) => {
          sub.dispose();
          resolve(r);
        });
      });
      const finished = new Promise<Run>((resolve) => {
        const sub = a.service.onRunFinished((r) => {
          sub.dispose();
          resolve(r);
        });
      });
      const from = p.stats.postedAt.length;
      si.executeCommand('python3 busy.py 4');
      const run = await started;
      const seen: number[] = [];
      const watch = setInterval(() => {
        const row = p.stats.last?.table.rows.find((r) => r.id === run.id);
        if (row?.status === 'running' && seen[seen.length - 1] !== row.emissionsKg) seen.push(row.emissionsKg);
      }, 50);
      await finished;
      await waitFor(
        () => p.stats.last?.table.rows.find((r) => r.id === run.id && r.status === 'completed'),
        'the finished run in the panel',
      );
      clearInterval(watch);
      assert.ok(seen.length >= 2, `the running row was updated ${seen.length} time(s)`);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], 'its CO₂eq grows');
      const times = p.stats.postedAt.slice(from);
      assert.ok(
        p.stats.reasons.slice(from).some((r) => r === 'live: reading'),
        p.stats.reasons.slice(from).join(', '),
      );
      for (let i = 1; i < times.length; i++)
        assert.ok(times[i] - times[i - 1] >= LIVE_UPDATE_MS - 20, `snapshots ${times[i] - times[i - 1]} ms apart`);
    } finally {
      terminal.dispose();
    }
  });

  it('pushes nothing while hidden, and catches up when shown again', async () => {
    const p = await open();
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(folder, 'busy.py')));
    await vscode.window.showTextDocument(doc, { viewColumn: p.panel.viewColumn, preview: false });
    await waitFor(() => !p.panel.visible, 'the panel to be hidden');
    const before = p.stats.snapshots;
    const hiddenRun = makeRun({ name: 'added-while-hidden' });
    a.service.store.append(hiddenRun);
    await sleep(2 * LIVE_UPDATE_MS + 500);
    assert.equal(p.stats.snapshots, before, 'no snapshot while hidden');
    p.panel.reveal();
    await waitFor(
      () => p.stats.snapshots > before && p.stats.last?.table.rows.some((r) => r.id === hiddenRun.id),
      'a snapshot once shown',
    );
    const tab = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .find((t) => t.input instanceof vscode.TabInputText && t.input.uri.fsPath === doc.uri.fsPath);
    if (tab) await vscode.window.tabGroups.close(tab);
  });

  it('showHistory(runId) on a hidden panel opens that run, not the one the webview kept', async () => {
    const p = await open();
    await p.handleMessage({ type: 'openRun', id: seeded[1].id });
    assert.equal(p.stats.last?.detail?.run.id, seeded[1].id);
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(folder, 'busy.py')));
    await vscode.window.showTextDocument(doc, { viewColumn: p.panel.viewColumn, preview: false });
    await waitFor(() => !p.panel.visible, 'the panel to be hidden');
    const readies = p.stats.readies;
    assert.equal(HistoryPanel.createOrShow(extensionUri, a.service, seeded[6].id, ui), p, 'the same panel');
    await waitFor(() => p.panel.visible && p.stats.last?.detail?.run.id === seeded[6].id, 'the run asked for');
    // the webview may have been rebuilt (and said ready with its older state): the run asked for stays open
    await sleep(1000);
    assert.equal(p.stats.last?.detail?.run.id, seeded[6].id, `readies ${readies} → ${p.stats.readies}`);
    const tab = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .find((t) => t.input instanceof vscode.TabInputText && t.input.uri.fsPath === doc.uri.fsPath);
    if (tab) await vscode.window.tabGroups.close(tab);
  });

  it('with a live intensity source, gives the greener start of a run like this one from its forecast', async () => {
    // a Carbon Intensity API (GB) on localhost: 250 g/kWh, but 50 g/kWh from 5 h to 9 h from now
    const HALF_H = 1800_000;
    const server = http.createServer((req, res) => {
      const m = /^\/intensity\/([^/]+)\/fw48h/.exec(req.url ?? '');
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      const from = Math.floor(Date.parse(decodeURIComponent(m[1])) / HALF_H) * HALF_H;
      const data = Array.from({ length: 96 }, (_, i) => ({
        from: new Date(from + i * HALF_H).toISOString().slice(0, 16) + 'Z',
        to: new Date(from + (i + 1) * HALF_H).toISOString().slice(0, 16) + 'Z',
        intensity: { forecast: i >= 10 && i < 18 ? 50 : 250, actual: null, index: i >= 10 && i < 18 ? 'low' : 'high' },
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const cfg = vscode.workspace.getConfiguration('carbonMeter');
    try {
      await cfg.update(
        'intensity.ukCarbonIntensity.baseUrl',
        `http://127.0.0.1:${port}`,
        vscode.ConfigurationTarget.Global,
      );
      await cfg.update('intensity.provider', 'uk-carbon-intensity', vscode.ConfigurationTarget.Global);
      await waitFor(() => a.service.intensity?.id === 'uk-carbon-intensity', 'the live provider');
      const run = makeRun(
        { name: 'gb-run' },
        { region: 'GB', regionName: 'United Kingdom', durationS: 2 * 3600, gPerKWh: 250 },
      );
      a.service.store.append(run);
      const p = await open(run.id);
      await waitFor(() => p.stats.last?.detail?.run.id === run.id, 'the run');
      const time = await waitFor(() => {
        const t = p.stats.last?.detail?.time;
        return t && t.kind !== 'pending' ? t : undefined;
      }, 'the forecast in a snapshot');
      assert.equal(time.kind, 'forecast', JSON.stringify(time));
      if (time.kind !== 'forecast') return;
      assert.equal(time.startsNow, false);
      assert.ok(time.savingFraction > 0.5, String(time.savingFraction));
      const hoursAhead = (time.startMs - Date.now()) / 3600_000;
      assert.ok(hoursAhead > 4 && hoursAhead < 7.5, `${hoursAhead} h ahead`);
      // (the forecast may ride on a push made for another reason, e.g. the append's "history changed", when the two
      // coincide within the once-a-second limit; what matters is that a snapshot delivered it, checked above)
    } finally {
      await cfg.update('intensity.provider', undefined, vscode.ConfigurationTarget.Global);
      await cfg.update('intensity.ukCarbonIntensity.baseUrl', undefined, vscode.ConfigurationTarget.Global);
      server.close();
    }
  });

  it('copies a run as a CodeCarbon CSV row', async () => {
    const p = await open();
    const run = seeded[2];
    await p.handleMessage({ type: 'copyCsv', id: run.id });
    const row = await vscode.env.clipboard.readText();
    assert.equal(row, codeCarbonRow(run));
    const parsed = parseCodeCarbonCsv(`${CODECARBON_COLUMNS.join(',')}\n${row}\n`);
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.runs[0].name, run.name);
    assert.ok(Math.abs(parsed.runs[0].emissionsKg - run.emissionsKg) < 1e-12);
    assert.match(ui.infos.join('\n'), /copied the CodeCarbon CSV row/);
  });

  it("opens a run's report rendered, read-only: no untitled editor, nothing to save", async () => {
    const p = await open();
    const run = seeded[3];
    const untitledBefore = vscode.workspace.textDocuments.filter((d) => d.isUntitled).length;
    await p.handleMessage({ type: 'openReport', id: run.id });
    const doc = await waitForReport(run.id);
    assert.equal(doc.uri.scheme, 'carbon-meter-report');
    assert.equal(doc.isDirty, false);
    assert.match(doc.getText(), new RegExp(run.id));
    assert.equal(vscode.workspace.textDocuments.filter((d) => d.isUntitled).length, untitledBefore);
    // shown as the Markdown preview (a webview tab), not as a text editor full of escapes
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    if ((await vscode.commands.getCommands(true)).includes('markdown.showPreview')) {
      await waitFor(
        () =>
          tabs().some((t) => t.input instanceof vscode.TabInputWebview && /markdown\.preview/.test(t.input.viewType)),
        'a Markdown preview tab',
      );
    } else {
      // the built-in Markdown extension is off here: the read-only report document itself, never an untitled one
      await waitFor(
        () =>
          tabs().some((t) => t.input instanceof vscode.TabInputText && t.input.uri.scheme === 'carbon-meter-report'),
        'the report document tab',
      );
    }
    assert.ok(!tabs().some((t) => t.input instanceof vscode.TabInputText && t.input.uri.scheme === 'untitled'));
  });

  it('deletes a run only after a modal confirmation', async () => {
    const p = await open();
    const victim = seeded[7];
    await p.handleMessage({ type: 'openRun', id: victim.id });
    ui.confirmAnswer = false;
    await p.handleMessage({ type: 'deleteRun', id: victim.id });
    assert.equal(ui.confirms.length, 1);
    assert.match(ui.confirms[0], /Delete the run "panel-seed-7"/);
    assert.ok(a.service.store.get(victim.id), 'kept when the user says no');
    ui.confirmAnswer = true;
    await p.handleMessage({ type: 'deleteRun', id: victim.id });
    assert.equal(a.service.store.get(victim.id), undefined);
    assert.equal(p.stats.last?.detail, null, 'the detail of a deleted run closes');
    assert.ok(!p.stats.last?.table.rows.some((r) => r.id === victim.id));
  });

  it('exports the filtered runs as CodeCarbon CSV and as JSON', async () => {
    const p = await open();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-export-'));
    await p.handleMessage({
      type: 'query',
      query: {
        text: 'panel-seed',
        source: 'cli',
        status: 'all',
        sort: 'startedAt',
        dir: 'desc',
        page: 0,
        pageSize: 50,
      },
    });
    const expected = a.service.store.load().runs.filter((r) => r.name.includes('panel-seed') && r.source === 'cli');
    ui.saveTo = vscode.Uri.file(path.join(dir, 'emissions.csv'));
    await p.handleMessage({ type: 'export', format: 'csv' });
    const csv = fs.readFileSync(ui.saveTo.fsPath, 'utf8');
    const back = parseCodeCarbonCsv(csv);
    assert.deepEqual(back.errors, []);
    assert.equal(back.runs.length, expected.length);
    assert.deepEqual(new Set(back.runs.map((r) => r.name)), new Set(expected.map((r) => r.name)));
    ui.saveTo = vscode.Uri.file(path.join(dir, 'runs.json'));
    await p.handleMessage({ type: 'export', format: 'json' });
    const json = JSON.parse(fs.readFileSync(ui.saveTo.fsPath, 'utf8')) as Run[];
    assert.deepEqual(json.map((r) => r.id).sort(), expected.map((r) => r.id).sort());
    ui.saveTo = undefined; // the user cancels: nothing happens
    await p.handleMessage({ type: 'export', format: 'json' });
    assert.equal(ui.errors.length, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports a CodeCarbon emissions.csv, skipping runs already in the history', async () => {
    const p = await open();
    const root = process.env.CARBON_METER_TEST_ROOT ?? extensionUri.fsPath;
    const fixture = path.join(root, 'test', 'fixtures', 'codecarbon', 'emissions-v3.csv');
    const expected = parseCodeCarbonCsv(fs.readFileSync(fixture, 'utf8')).runs;
    assert.ok(expected.length > 0);
    ui.openFrom = vscode.Uri.file(fixture);
    const before = a.service.store.load().runs.length;
    await p.handleMessage({ type: 'import' });
    assert.equal(a.service.store.load().runs.length, before + expected.length);
    for (const r of expected) assert.equal(a.service.store.get(r.id)?.source, 'codecarbon-import');
    await waitFor(
      () => p.stats.last && p.stats.last.runCount === before + expected.length,
      'a snapshot with the imported runs',
    );
    await p.handleMessage({ type: 'import' });
    assert.equal(a.service.store.load().runs.length, before + expected.length, 'nothing twice');
    assert.match(
      ui.infos[ui.infos.length - 1],
      new RegExp(`imported 0 runs.*${expected.length} already in the history`),
    );
  });

  it('re-runs a run in a terminal in its folder, where the terminal watcher meters it', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder && fs.existsSync(path.join(folder, 'busy.py')), 'the test workspace has busy.py');
    const original = makeRun({ name: 'busy-rerun', command: 'python3 busy.py 1', cwd: folder, source: 'terminal' });
    a.service.store.append(original);
    const p = await open();
    const finished = new Promise<Run>((resolve) => {
      const sub = a.service.onRunFinished((r) => {
        if (r.source === 'terminal' && r.command === 'python3 busy.py 1') {
          sub.dispose();
          resolve(r);
        }
      });
    });
    await p.handleMessage({ type: 'rerun', id: original.id });
    const terminal = vscode.window.terminals.find((t) => t.name === 'Carbon Meter: busy-rerun');
    assert.ok(terminal, 'a terminal named after the run');
    try {
      const run = await finished;
      assert.notEqual(run.id, original.id);
      assert.equal(run.cwd, folder);
      assert.equal(run.status, 'completed');
      assert.ok(run.cpuSeconds > 0.5, `cpuSeconds ${run.cpuSeconds}`);
      assert.deepEqual(ui.warns, []);
    } finally {
      terminal.dispose();
    }
  });
});

/** The report document of a run, once VS Code has opened it (the preview reads it). */
async function waitForReport(runId: string): Promise<vscode.TextDocument> {
  const until = Date.now() + 60_000;
  for (;;) {
    const doc = vscode.workspace.textDocuments.find(
      (d) => d.uri.scheme === 'carbon-meter-report' && d.uri.path.includes(encodeURIComponent(runId)),
    );
    if (doc) return doc;
    if (Date.now() > until) throw new Error(`the report of ${runId} was not opened within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
