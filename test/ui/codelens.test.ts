/**
 * CodeLens as a user sees it: code-server with the extension loaded from this repository, Chromium driven by
 * Playwright. Opens the fixture training script, sees the lenses, clicks "Run with Carbon Meter" (a metered run in
 * the "Carbon Meter" terminal), sees the lens show that run's footprint, runs it again and sees the estimate for the
 * next run; the screenshot goes to out/screenshots/codelens.png (docs/ with `npm run docs:screenshots`).
 *
 *   npm run build && npx tsc -p tsconfig.test.json && npx mocha --no-config --timeout 600000 out/test/ui/codelens.test.js
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { HistoryStore } from '../../src/core/history/store';
import type { Run } from '../../src/core/types';
import {
  openWorkbench,
  repoRoot,
  runCommand,
  screenshot,
  screenshotDir,
  startCodeServer,
  terminalText,
  waitFor,
  type CodeServer,
  type Workbench,
} from '../harness/codeServer';

const ROOT = repoRoot();
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'codelens', 'workspace');
const SHOT = path.join(screenshotDir(), 'codelens.png');

describe('CodeLens (UI, code-server + Chromium)', function () {
  this.timeout(300_000);
  let tmp: string;
  let store: HistoryStore;
  let server: CodeServer;
  let wb: Workbench;
  let page: Page;

  /** A lens link in the editor (CodeLens renders a command as an anchor, a label without command as a span). */
  const lens = (text: string | RegExp): Locator =>
    page.locator('.monaco-editor .codelens-decoration > a', { hasText: text }).first();
  const lensTexts = async () =>
    page.$$eval(
      '.monaco-editor .codelens-decoration > a, .monaco-editor .codelens-decoration > span:not(.codicon)',
      (els) => els.map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim()).filter((t) => t && t !== '|'),
    );
  const runsOfFixture = (): Run[] => store.load().runs.filter((r) => r.command.includes('train_tiny.py'));
  /** 1-based line of the main block in the fixture. */
  const guardLine =
    fs
      .readFileSync(path.join(FIXTURE, 'train_tiny.py'), 'utf8')
      .split('\n')
      .findIndex((l) => l.startsWith('if __name__')) + 1;

  /** Scrolls the editor to a line (Go to Line centres it), then waits for the main block's lenses to be on screen. */
  async function revealMainBlock(line = guardLine): Promise<void> {
    await runCommand(page, 'Go to Line/Column...');
    await page.keyboard.type(String(line));
    await page.keyboard.press('Enter');
    await page
      .locator('.monaco-editor .codelens-decoration', { hasText: 'Debug' })
      .waitFor({ state: 'visible', timeout: 30_000 });
  }

  before(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'extension.js')))
      throw new Error('dist/extension.js is missing: run `npm run build` first');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-codelens-ui-'));
    const workspace = path.join(tmp, 'workspace');
    fs.cpSync(FIXTURE, workspace, { recursive: true });
    const home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    store = new HistoryStore(home);
    server = await startCodeServer({
      workspace,
      extensionDevelopmentPath: ROOT,
      env: { CARBON_METER_HOME: home, CARBON_METER_REGION: 'DE' },
      settings: {
        'workbench.colorTheme': 'Default Dark Modern',
        'carbonMeter.notifications.runFinished': false,
        'editor.minimap.enabled': false,
        'editor.stickyScroll.enabled': false,
        'window.zoomLevel': 0,
      },
    });
    wb = await openWorkbench(server, { width: 1400, height: 1000 });
    page = wb.page;
  });

  after(async () => {
    await server?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the lenses on the training script', async () => {
    await runCommand(page, 'Go to File...');
    await page.locator('.quick-input-widget .quick-input-box input').fill('train_tiny.py');
    await page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'train_tiny.py' })
      .first()
      .waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines', { hasText: 'def train(epochs)' }).waitFor({ timeout: 60_000 });
    await lens('Run with Carbon Meter').waitFor({ timeout: 90_000 });
    const texts = await lensTexts();
    assert.deepEqual(texts, ['Run with Carbon Meter', 'Run with Carbon Meter', 'Debug'], texts.join(' | '));
  });

  it('"Run with Carbon Meter" starts a metered run in a terminal; the lens then shows its footprint', async () => {
    // the lens above the main block (the last one in the file)
    await revealMainBlock();
    await page
      .locator('.monaco-editor .codelens-decoration', { hasText: 'Debug' })
      .locator('a', { hasText: 'Run with Carbon Meter' })
      .click();
    await waitFor(async () => /training done/.test(await terminalText(page)), {
      timeoutMs: 120_000,
      message: 'the run to end in the terminal',
    });
    const run = await waitFor(() => runsOfFixture().find((r) => r.status !== 'running'), {
      timeoutMs: 60_000,
      message: 'the run in the history',
    });
    assert.equal(run.source, 'terminal');
    assert.equal(run.status, 'completed');
    assert.match(run.command, /^python3 train_tiny\.py$/);
    assert.ok(run.cpuSeconds > 0.3, `cpuSeconds ${run.cpuSeconds}`);
    const footprint = await waitFor(async () => (await lensTexts()).find((t) => t.startsWith('last run')), {
      timeoutMs: 60_000,
      message: 'the lens to show the run',
    });
    assert.match(footprint, /^last run [\d.]+ (?:mg|g) CO₂eq · [\d.]+ (?:mWh|Wh) · [\d.]+ s \(just now\)$/);
    const grams = /^last run ([\d.]+) (mg|g)/.exec(footprint)!;
    const shownKg = Number(grams[1]) / (grams[2] === 'mg' ? 1e6 : 1e3);
    assert.ok(
      Math.abs(shownKg - run.emissionsKg) / run.emissionsKg < 0.01,
      `the lens shows this run: ${footprint} vs ${run.emissionsKg} kg`,
    );
  });

  it('after a second run, estimates the next one with the best greener region', async () => {
    await revealMainBlock();
    await lens(/^\s*Run\s*$/).click();
    await waitFor(() => runsOfFixture().filter((r) => r.status !== 'running').length >= 2, {
      timeoutMs: 120_000,
      message: 'the second run in the history',
    });
    let seen: string[] = [];
    const estimate = await waitFor(async () => (seen = await lensTexts()).find((t) => t.startsWith('next run')), {
      timeoutMs: 60_000,
      message: 'the estimate lens',
    }).catch((e: Error) => {
      throw new Error(
        `${e.message}; lenses: ${seen.join(' | ')}; runs: ${JSON.stringify(runsOfFixture().map((r) => [r.command, r.cwd, r.status, r.energyKWh, r.emissionsKg]))}`,
      );
    });
    assert.match(estimate, /^next run ≈ [\d.]+ (?:mg|g) CO₂eq · [\d.]+ s · −\d+ % in [A-Z]{2}$/);
    // both lensed lines on screen: def train() and the main block
    await revealMainBlock(guardLine - 8);
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
    // lenses scrolled into view are brought up to date as they appear: both speak of the newest run
    const newest = runsOfFixture().sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))[0];
    const grams = `${(newest.emissionsKg * 1e6).toPrecision(3).replace(/\.?0+$/, '')} mg`;
    await waitFor(async () => (await lensTexts()).filter((t) => t.startsWith(`last run ${grams} CO₂eq`)).length === 2, {
      timeoutMs: 30_000,
      message: `both lenses to show the newest run (${grams})`,
    });
    await screenshot(page, SHOT);
    assert.ok(fs.statSync(SHOT).size > 10_000);
  });
});
