/**
 * The History panel as a user sees it: code-server with the extension loaded from this repository, a seeded history
 * (panelSeed.ts), Chromium driven by Playwright. Opens the panel from the palette, reads the seeded runs, filters,
 * sorts, pages, works the table and the runs chart from the keyboard, opens details, checks the injection case and
 * the decimation of a 10 h run, switches themes (README screenshots: see screenshotDir), narrows the panel to 400 px,
 * and reloads the window. Exact widths down to 180 px: panelLayout.test.ts.
 *
 *   npm run build && npx tsc -p tsconfig.test.json && npx mocha --no-config --timeout 600000 out/test/ui/panel.test.js
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
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
  waitForWorkbench,
  type CodeServer,
  type Workbench,
} from '../harness/codeServer';
import { CHART_NAME_CHARS } from '../../src/core/view/series';
import { INJECTION_NAME, seedHistory, type Seeded } from './panelSeed';

const ROOT = repoRoot();
const DOCS = screenshotDir();
/** Where the screenshots that are not for the README go (high contrast, 400 px): $CARBON_METER_UI_SHOTS, else a temp folder. */
const SHOTS = process.env.CARBON_METER_UI_SHOTS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('History panel (UI, code-server + Chromium)', function () {
  this.timeout(180_000);
  let tmp: string;
  let seeded: Seeded;
  let server: CodeServer;
  let wb: Workbench;
  let page: Page;
  let frame: Frame;
  const dialogs: string[] = [];

  /** The panel's frame (it changes when the webview is rebuilt: theme switches keep it, reloads do not). */
  async function panelFrame(selector = '#runs-table tbody tr'): Promise<Frame> {
    frame = await findInWebviews(page, selector, { timeoutMs: 60_000 });
    return frame;
  }

  async function rowNames(): Promise<string[]> {
    return frame.$$eval('#runs-table tbody tr .run-name', (els) => els.map((e) => e.textContent ?? ''));
  }

  async function countText(): Promise<string> {
    return (await frame.textContent('.runs-section .count')) ?? '';
  }

  /** Types a filter and waits for the table to show its result. */
  async function filterText(text: string): Promise<void> {
    await frame.fill('input.search', text);
    await waitFor(async () => (await frame.getAttribute('.runs-section', 'data-text')) === text, {
      message: `the table filtered by "${text}"`,
    });
  }

  async function detailTitle(): Promise<string> {
    return (await frame.textContent('#detail-title')) ?? '';
  }

  async function setTheme(label: string): Promise<void> {
    await runCommand(page, 'Preferences: Color Theme');
    const row = page.locator(`.quick-input-widget .quick-input-list .monaco-list-row[aria-label^="${label}"]`).first();
    await page.locator('.quick-input-widget .quick-input-box input').fill(label);
    await row.click({ timeout: 20_000 });
    await waitFor(() => page.locator('.quick-input-widget').isHidden(), { message: 'the theme picker to close' });
  }

  before(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'webview.js')))
      throw new Error('dist/webview.js is missing: run `npm run build` first');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-panel-ui-'));
    const workspace = path.join(tmp, 'workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'train.py'), 'print("training")\n');
    seeded = seedHistory(path.join(tmp, 'home'));
    server = await startCodeServer({
      workspace,
      extensionDevelopmentPath: ROOT,
      env: { CARBON_METER_HOME: seeded.dir },
      settings: {
        'workbench.colorTheme': 'Default Dark Modern',
        'carbonMeter.advice.regions': ['gcp:europe-north1', 'aws:eu-north-1', 'azure:*'],
        'carbonMeter.notifications.runFinished': false,
      },
    });
    wb = await openWorkbench(server, { width: 1600, height: 1000 });
    page = wb.page;
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });

  after(async () => {
    await server?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('opens from the command palette and lists the seeded runs, newest first', async () => {
    // the extension is active once its status bar item is there
    await statusBarItemById(page, 'carbon-meter.carbon-meter.carbonMeter.status').waitFor({ timeout: 90_000 });
    await runCommand(page, 'Carbon Meter: Show History', { timeoutMs: 60_000 });
    await panelFrame();
    await runCommand(page, 'View: Close Primary Side Bar');
    assert.equal((await rowNames()).length, 50);
    assert.match(await countText(), /^1–50 of 81 runs$/);
    assert.match((await frame.textContent('.status')) ?? '', /81 runs · 1 running · history in /);
    const newest = [...seeded.runs].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))[0];
    assert.equal((await rowNames())[0], newest.name);
    const totals = await frame.$$eval('.total h2', (els) => els.map((e) => e.textContent));
    assert.deepEqual(totals, ['Today', 'This week', 'This month', 'All time']);
    assert.match((await frame.textContent('.total.period-all .total-sub')) ?? '', /81 runs/);
    assert.match(
      (await frame.getAttribute('.total.period-all .total-eq', 'title')) ?? '',
      /US EPA Greenhouse Gas Equivalencies Calculator/,
    );
    const tips = await frame.$$eval('.advice-card .tip-text', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(tips.length >= 6);
    assert.ok(
      tips.some((t) => /^in gcp:europe-north1 these runs would have emitted .+ instead of .+ \(−\d+\s%\)$/.test(t)),
      tips.join('\n'),
    );
    assert.match((await frame.textContent('.advice-card .note')) ?? '', /Annual averages/);
  });

  it('renders a run named <img src=x onerror=alert(1)> as text, in the table and in its detail', async () => {
    await filterText('onerror');
    assert.deepEqual(await rowNames(), [INJECTION_NAME]);
    await frame.click(`tr[data-id="${seeded.injectionRunId}"]`);
    await waitFor(async () => (await detailTitle()) === INJECTION_NAME, { message: 'the detail of the injection run' });
    const shown = await frame.evaluate(() => ({
      command: document.querySelector('#detail .command')?.textContent,
      notes: Array.from(document.querySelectorAll('#detail .notes li'), (li) => li.textContent),
      gpus: Array.from(document.querySelectorAll('#detail dd'), (dd) => dd.textContent).find((t) =>
        t?.includes('iframe'),
      ),
      dangerous: Array.from(document.querySelectorAll('img, iframe, svg, a, object, embed'), (e) =>
        e.outerHTML.slice(0, 200),
      ),
      csp: document.body.dataset.cspViolations ?? '0',
    }));
    assert.equal(shown.command, seeded.runs.find((r) => r.id === seeded.injectionRunId)!.command);
    assert.deepEqual(shown.notes, ['<a href="javascript:alert(4)">click me</a>']);
    assert.equal(shown.gpus, '<iframe src="javascript:alert(5)">');
    assert.deepEqual(shown.dangerous, [], 'no element was made from run data');
    assert.equal(shown.csp, '0', 'no CSP violation');
    await sleep(500);
    assert.deepEqual(dialogs, [], 'no alert ran');
    await frame.press('#detail', 'Escape');
    await waitFor(() => frame.isHidden('#detail'), { message: 'the detail to close' });
  });

  it('logs and ignores a malformed message', async () => {
    const before = await rowNames();
    await frame.evaluate(() => {
      window.postMessage({ type: 'snapshot', seq: 1e9, snapshot: { table: '<img src=x onerror=alert(6)>' } }, '*');
      window.postMessage({ type: 'eval', code: 'alert(7)' }, '*');
    });
    await waitFor(async () => (await frame.evaluate(() => document.body.dataset.rejected)) === '2', {
      message: 'two messages rejected',
    });
    assert.deepEqual(await rowNames(), before, 'the panel is unchanged');
    const logs = server.logsDir();
    const channel = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory()
            ? channel(path.join(dir, e.name))
            : /Carbon Meter\.log$/.test(e.name)
              ? [path.join(dir, e.name)]
              : [],
        );
    await waitFor(
      () =>
        channel(logs).some((f) =>
          /ignored a malformed message from the extension: snapshot message: snapshot\.generatedAt/.test(
            fs.readFileSync(f, 'utf8'),
          ),
        ),
      {
        message: "the webview's warning in the Carbon Meter log",
      },
    );
    assert.deepEqual(dialogs, []);
  });

  it('filters by text, source and status; sorts; pages', async () => {
    await filterText('bert');
    const bert = seeded.runs.filter((r) => /bert/i.test(r.name) || /bert/i.test(r.command));
    assert.match(await countText(), new RegExp(`of ${bert.length} matching runs \\(81 in the history\\)`));
    assert.ok((await rowNames()).every((n) => /bert/.test(n)));
    await filterText('');
    await frame.selectOption('select[aria-label="Filter by source"]', 'debug');
    const debug = seeded.runs.filter((r) => r.source === 'debug');
    await waitFor(async () => (await countText()).includes(`of ${debug.length} matching runs`), {
      message: 'the source filter',
    });
    assert.ok(
      (await frame.$$eval('#runs-table tbody td.col-source', (els) => els.map((e) => e.textContent))).every(
        (s) => s === 'debug',
      ),
    );
    await frame.selectOption('select[aria-label="Filter by source"]', 'all');
    await frame.selectOption('select[aria-label="Filter by status"]', 'failed');
    const failed = seeded.runs.filter((r) => r.status === 'failed');
    await waitFor(async () => (await countText()).includes(`of ${failed.length} matching runs`), {
      message: 'the status filter',
    });
    await frame.selectOption('select[aria-label="Filter by status"]', 'all');
    await waitFor(async () => (await countText()) === '1–50 of 81 runs', { message: 'no filter' });

    await frame.click('th[data-col="emissionsKg"] button');
    const biggest = [...seeded.runs].sort((a, b) => b.emissionsKg - a.emissionsKg)[0];
    await waitFor(
      async () =>
        (await rowNames())[0] === biggest.name &&
        (await frame.getAttribute('th[data-col="emissionsKg"]', 'aria-sort')) === 'descending',
      { message: 'sorted by CO₂eq' },
    );
    await frame.click('button[aria-label="Next page"]');
    await waitFor(async () => (await countText()) === '51–81 of 81 runs', { message: 'page 2' });
    assert.equal((await rowNames()).length, 31);
    await frame.click('th[data-col="startedAt"] button');
    await waitFor(async () => (await countText()) === '1–50 of 81 runs', { message: 'back to page 1 after sorting' });
  });

  it('works from the keyboard: arrows move, Enter opens, Escape closes and gives the focus back', async () => {
    await frame.focus('input.search');
    await frame.press('input.search', 'ArrowDown');
    const names = await rowNames();
    await frame.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id ?? '');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const focused = await frame.evaluate(
      () => (document.activeElement as HTMLElement).closest('tr')?.querySelector('.run-name')?.textContent,
    );
    assert.equal(focused, names[2]);
    await page.keyboard.press('Enter');
    await waitFor(async () => (await detailTitle()) === names[2], { message: 'the detail opened with Enter' });
    assert.equal(
      await frame.evaluate(() => document.activeElement?.id),
      'detail-title',
      'the focus moves to the detail',
    );
    assert.equal(
      await frame.evaluate(() => document.querySelectorAll('#runs-table tbody tr[tabindex="0"]').length),
      1,
      'one tab stop in the table',
    );
    await page.keyboard.press('Escape');
    await waitFor(() => frame.isHidden('#detail'), { message: 'the detail to close' });
    assert.equal(
      await frame.evaluate(
        () => (document.activeElement as HTMLElement).closest('tr')?.querySelector('.run-name')?.textContent,
      ),
      names[2],
    );
    await page.keyboard.press('PageDown');
    await waitFor(async () => (await countText()) === '51–81 of 81 runs', { message: 'PageDown to page 2' });
    assert.equal(
      await frame.evaluate(() => (document.activeElement as HTMLElement).closest('tr')?.rowIndex),
      1,
      'the first row of page 2 has the focus',
    );
    await page.keyboard.press('PageUp');
    await waitFor(async () => (await countText()) === '1–50 of 81 runs', { message: 'PageUp to page 1' });
  });

  it('reads the runs chart from the keyboard: ArrowRight announces the oldest run as its tooltip shows it', async () => {
    const drawn = seeded.runs
      .filter((r) => r.emissionsKg > 0)
      .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    const chartName = (n: string) => (n.length > CHART_NAME_CHARS ? n.slice(0, CHART_NAME_CHARS - 1) + '…' : n);
    assert.equal(await frame.getAttribute('#runs-chart', 'tabindex'), '0');
    await frame.focus('#runs-chart');
    await page.keyboard.press('ArrowRight');
    const live = async () => (await frame.textContent('#runs-chart-live')) ?? '';
    await waitFor(async () => (await live()).startsWith(`1 of ${drawn.length}: ${chartName(drawn[0].name)}; `), {
      message: 'the oldest run announced',
    });
    assert.match(await live(), /^1 of \d+: .+; [\d.]+ (mg|g|kg) CO₂eq; [\w ]+; started .+\d/);
    await page.keyboard.press('ArrowRight');
    await waitFor(async () => (await live()).startsWith(`2 of ${drawn.length}: ${chartName(drawn[1].name)}; `), {
      message: 'the next run announced',
    });
    assert.equal(await frame.evaluate(() => document.body.dataset.cspViolations ?? '0'), '0', 'no CSP violation');
  });

  it('a run in progress for 10 h at 1 Hz draws at most 2,000 points per series', async () => {
    await frame.click(`tr[data-id="${seeded.longRunId}"]`);
    await waitFor(async () => (await detailTitle()) === 'llama-7b-full-finetune', { message: 'the long run' });
    await frame.waitForSelector('#power-chart[data-points]');
    const points = Number(await frame.getAttribute('#power-chart', 'data-points'));
    assert.ok(points > 1000 && points <= 2000, `${points} points`);
    assert.match((await frame.textContent('#detail .sub .note')) ?? '', /^\d+ samples, drawn as \d+ points/);
    assert.match((await frame.textContent('#detail .detail-sub')) ?? '', /^running · terminal/);
    assert.equal(await frame.isDisabled('[data-key="action-deleteRun"]'), true, 'a run in progress cannot be deleted');
    assert.match(
      (await frame.textContent('#detail .time-tip')) ?? '',
      /Set carbonMeter\.intensity\.provider to a live source to get greener-hour tips\./,
    );
  });

  it('is themed: dark, light and high contrast, chart colours included (README screenshots)', async () => {
    await page.setViewportSize({ width: 1600, height: 1240 });
    await frame.click(`tr[data-id="${seeded.timeResolvedRunId}"]`);
    await waitFor(async () => (await detailTitle()) === 'gpt2-medium-pretrain', { message: 'the time-resolved run' });
    await frame.waitForSelector('#intensity-chart[data-points]');
    const colours = () =>
      frame.evaluate(() => ({
        body: document.body.className,
        // the theme's colour, without an alpha (as the panel draws it)
        blue: getComputedStyle(document.body)
          .getPropertyValue('--vscode-charts-blue')
          .trim()
          .replace(/^(#[0-9a-f]{6})[0-9a-f]{2}$/i, '$1'),
        swatch: (document.querySelector('#detail .swatch') as HTMLElement).style.getPropertyValue('--swatch').trim(),
        bg: getComputedStyle(document.body).backgroundColor,
      }));
    await frame.evaluate(() => window.scrollTo(0, 0));
    await sleep(800);
    const dark = await colours();
    assert.match(dark.body, /vscode-dark/);
    assert.equal(dark.swatch, dark.blue);
    fs.mkdirSync(DOCS, { recursive: true });
    await screenshot(page, path.join(DOCS, 'panel-dark.png'));

    await setTheme('Light Modern');
    await waitFor(async () => (await colours()).body.includes('vscode-light'), {
      message: 'the light theme in the webview',
    });
    await waitFor(
      async () => {
        const c = await colours();
        return c.swatch === c.blue && c.swatch !== dark.swatch;
      },
      { message: 'the chart colours of the light theme' },
    );
    const light = await colours();
    assert.notEqual(light.bg, dark.bg);
    await sleep(500);
    await screenshot(page, path.join(DOCS, 'panel-light.png'));

    await setTheme('Dark High Contrast');
    await waitFor(async () => (await colours()).body.includes('vscode-high-contrast'), {
      message: 'the high-contrast theme in the webview',
    });
    const hc = await colours();
    assert.equal(hc.swatch, hc.blue);
    await sleep(500);
    await screenshot(page, path.join(SHOTS ?? tmp, 'panel-hc.png'));
    await setTheme('Dark Modern');
    await page.setViewportSize({ width: 1600, height: 1000 });
  });

  it('nothing breaks at 400 px wide', async () => {
    await page.setViewportSize({ width: 452, height: 900 });
    await waitFor(async () => (await frame.evaluate(() => window.innerWidth)) <= 420, { message: 'a narrow webview' });
    await sleep(500);
    const m = await frame.evaluate(() => {
      const table = document.querySelector('.runs-section .table-scroll') as HTMLElement;
      const visibleCols = Array.from(document.querySelectorAll('#runs-table thead th')).filter(
        (th) => getComputedStyle(th).display !== 'none',
      ).length;
      return {
        width: window.innerWidth,
        page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        table: table.scrollWidth - table.clientWidth,
        visibleCols,
      };
    });
    assert.ok(m.width >= 380 && m.width <= 420, `webview ${m.width} px`);
    assert.ok(m.page <= 0, `the page overflows by ${m.page} px`);
    assert.ok(m.table <= 1, `the table overflows by ${m.table} px`);
    assert.ok(m.visibleCols >= 3, `${m.visibleCols} columns`);
    await screenshot(page, path.join(SHOTS ?? tmp, 'panel-400.png'));
    await page.setViewportSize({ width: 1600, height: 1000 });
  });

  it('comes back after a window reload, with the run that was open', async () => {
    const open = await detailTitle();
    assert.equal(open, 'gpt2-medium-pretrain');
    // as a user does it: the workbench saves its state (the open panel, the webview's state), then reloads
    const navigated = page.waitForEvent('framenavigated', {
      predicate: (f) => f === page.mainFrame(),
      timeout: 60_000,
    });
    await runCommand(page, 'Developer: Reload Window');
    await navigated;
    await waitForWorkbench(page, 90_000, server);
    await panelFrame('#detail:not([hidden]) #detail-title');
    await waitFor(async () => (await detailTitle()) === open, { message: 'the open run after the reload' });
    assert.match(await countText(), /of 81 runs$/);
  });
});
