/**
 * Notebooks as a user sees them: the packaged .vsix in code-server, a notebook whose cells run on a real ipykernel
 * (the TEST-ONLY fixture extension test/vscode-fixture-notebook starts it as the Jupyter extension does), each
 * finished cell's status bar showing its CO₂eq and energy, and the run's cells in the history panel.
 * Needs `npm run package` and `npm run compile-tests` (the fixture loads out/test/helpers/notebookController.js).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { HistoryStore } from '../../src/core/history/store';
import {
  findInWebviews,
  openWorkbench,
  repoRoot,
  runCommand,
  screenshot,
  screenshotDir,
  startCodeServer,
  statusBarItemById,
  waitFor,
  type CodeServer,
  type Workbench,
} from '../harness/codeServer';
import { makeTestWorkspace, type TestWorkspace } from '../harness/workspace';
import { busyCell } from '../helpers/jupyter';
import { notebookJson } from '../helpers/notebookController';

const ROOT = repoRoot(__dirname);
const VSIX = path.join(ROOT, 'carbon-meter-0.1.0.vsix');
const FIXTURE = path.join(ROOT, 'test', 'vscode-fixture-notebook');
const ITEM = 'carbon-meter.carbon-meter.carbonMeter.status';
const CELL_ITEM = '.cell-statusbar-container .cell-status-item';

describe('Carbon Meter UI: notebook cells (code-server + Chromium)', function () {
  this.timeout(600_000);
  let ws: TestWorkspace;
  let server: CodeServer;
  let wb: Workbench;
  let page: Page;
  let store: HistoryStore;

  before(async () => {
    assert.ok(fs.existsSync(VSIX), `${VSIX} is missing: run 'npm run package' first`);
    assert.ok(
      fs.existsSync(path.join(ROOT, 'out', 'test', 'helpers', 'notebookController.js')),
      "run 'npm run compile-tests' first",
    );
    ws = makeTestWorkspace(ROOT);
    fs.mkdirSync(path.join(ws.workspace, 'notebooks'), { recursive: true });
    fs.writeFileSync(
      path.join(ws.workspace, 'notebooks', 'train.ipynb'),
      notebookJson(['x = 1', busyCell(1), busyCell(3)]),
    );
    store = new HistoryStore(ws.env.CARBON_METER_HOME);
    server = await startCodeServer({
      workspace: ws.workspace,
      vsix: VSIX,
      extensionDevelopmentPath: FIXTURE,
      env: { ...ws.env, CARBON_METER_REGION: 'FR' },
    });
    wb = await openWorkbench(server, { width: 1400, height: 900 });
    page = wb.page;
  });

  after(async () => {
    await wb?.close().catch(() => undefined);
    await server?.stop();
    ws?.cleanup();
  });

  it("shows each finished cell's CO₂eq and energy in the cell's status bar", async () => {
    await statusBarItemById(page, ITEM).waitFor({ timeout: 120_000 });
    await runCommand(page, 'Notebook Fixture: Open the Test Notebook and Run All');
    const items = page.locator(CELL_ITEM).filter({ hasText: /CO₂eq/ });
    await waitFor(async () => ((await items.count()) >= 3 ? true : undefined), {
      timeoutMs: 240_000,
      intervalMs: 500,
      message: 'three cell status bar items with CO₂eq',
    });
    const texts = await items.allTextContents();
    for (const t of texts) assert.match(t, /CO₂eq · [\d.]+ (m|µ|k)?Wh/, t);
    // the run in the history: source notebook, named after the notebook, with its cells
    const run = await waitFor(
      () => store.load().runs.find((r) => r.source === 'notebook' && (r.cells?.length ?? 0) >= 3),
      { timeoutMs: 60_000, message: 'the notebook run with its cells' },
    );
    assert.equal(run.name, 'train.ipynb');
    await screenshot(page, path.join(screenshotDir(), 'notebook-cells.png'));
  });

  it("a click on a cell's figure opens the run, whose detail lists the cells", async () => {
    await page.locator(CELL_ITEM).filter({ hasText: /CO₂eq/ }).last().click();
    const frame = await findInWebviews(page, '#detail-cells table.cells', { timeoutMs: 90_000 });
    const rows = await waitFor(
      async () => {
        const n = await frame.$$eval('#detail-cells table.cells tbody tr', (els) => els.length);
        return n >= 3 ? n : undefined;
      },
      { timeoutMs: 60_000, message: 'the cells table' },
    );
    assert.ok(rows >= 3);
    const bars = await frame.$$eval('#detail-cells svg.cells-chart rect', (els) => els.length);
    assert.equal(bars, rows, 'one bar per cell');
    const firstLines = await frame.$$eval('#detail-cells td.first-line', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(firstLines.includes('x = 1'), firstLines.join(' | '));
    await frame.$eval('#detail-cells', (el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(page, path.join(screenshotDir(), 'notebook-panel.png'));
  });
});
