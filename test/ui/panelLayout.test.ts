/**
 * The History panel's page on its own in Chromium, at exact widths: the panel's own page (src/extension/panel/page.ts)
 * with the built bundle (dist/webview.js) and stylesheet (media/panel.css) under its Content Security Policy, fed a
 * snapshot the core builds from a seeded history (panelSeed.ts) through the same message the extension posts. It checks what needs exact widths or many of them,
 * which the workbench cannot give (its editor has a minimum width): nothing scrolls sideways from 1,400 px down to
 * 180 px, the runs chart's time axis for one run and for runs minutes apart, and the charts' keyboard path. The
 * code-server test (panel.test.ts) drives the same panel inside VS Code.
 *
 *   npm run build && npx tsc -p tsconfig.test.json && npx mocha --no-config --timeout 600000 out/test/ui/panelLayout.test.js
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { HistoryStore } from '../../src/core/history/store';
import type { Run } from '../../src/core/types';
import { PanelModel, type Snapshot } from '../../src/core/view/snapshot';
import { panelPage } from '../../src/extension/panel/page';
import { launchBrowser, repoRoot, waitFor } from '../harness/codeServer';
import { seedHistory, type Seeded } from './panelSeed';

const ROOT = repoRoot();
const ORIGIN = 'https://panel.test';
const NONCE = 'cGFuZWwtdGVzdC1ub25jZQ';
/** What the workbench puts on the page: its theme's variables (the Dark Modern font and sizes), set from script. */
const THEME: Record<string, string> = {
  '--vscode-font-family': 'system-ui, "Segoe UI", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-font-weight': 'normal',
  '--vscode-editor-font-family': 'monospace',
  '--vscode-editor-font-size': '14px',
  '--vscode-foreground': '#cccccc',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-focusBorder': '#0078d4',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-charts-blue': '#3794ff',
};

/** The panel's own page (src/extension/panel/page.ts, as the extension builds it), served from ORIGIN. */
function pageHtml(): string {
  return panelPage({
    cspSource: ORIGIN,
    nonce: NONCE,
    scriptUri: `${ORIGIN}/dist/webview.js`,
    styleUri: `${ORIGIN}/media/panel.css`,
    language: 'en',
    title: 'Carbon Meter',
    loadingText: 'Loading the history…',
  });
}

describe('History panel page at exact widths (Chromium, the built bundle)', function () {
  this.timeout(120_000);
  let tmp: string;
  let seeded: Seeded;
  let store: HistoryStore;
  let runs: Run[];
  let browser: Browser;
  let page: Page;
  let seq = 0;

  /** Posts the snapshot of these runs (the open run's detail included), as the extension does. */
  async function show(list: readonly Run[], openRunId?: string): Promise<Snapshot> {
    const snapshot = new PanelModel().build({
      runs: list,
      openRunId,
      samples: (id) => store.samples(id),
      historyDir: seeded.dir,
    });
    const n = ++seq;
    await page.evaluate(([s, k]) => window.postMessage({ type: 'snapshot', seq: k, snapshot: s }, '*'), [
      JSON.parse(JSON.stringify(snapshot)),
      n,
    ] as const);
    await waitFor(async () => (await page.getAttribute('#app', 'data-runs')) === String(list.length), {
      message: `the panel showing ${list.length} runs`,
    });
    return snapshot;
  }

  /** What the webview posted to the extension. */
  const posted = () => page.evaluate(() => (window as unknown as { posted: { type: string; id?: string }[] }).posted);

  before(async () => {
    for (const f of ['dist/webview.js', 'media/panel.css'])
      if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-panel-layout-'));
    seeded = seedHistory(path.join(tmp, 'home'));
    store = new HistoryStore(seeded.dir);
    runs = store.load().runs;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.route(`${ORIGIN}/**`, (route) => {
      const p = new URL(route.request().url()).pathname;
      if (p === '/') return route.fulfill({ contentType: 'text/html', body: pageHtml() });
      if (p === '/media/panel.css' || p === '/dist/webview.js')
        return route.fulfill({
          contentType: p.endsWith('.css') ? 'text/css' : 'text/javascript',
          body: fs.readFileSync(path.join(ROOT, p)),
        });
      return route.abort();
    });
    // the webview's host API: what the page posts is kept for the test to read
    // the workbench's theme variables and body class, as VS Code sets them on a webview (from script: the page's
    // policy allows no inline style)
    await page.addInitScript((theme: Record<string, string>) => {
      const apply = () => {
        for (const [k, v] of Object.entries(theme)) document.documentElement.style.setProperty(k, v);
        document.body?.classList.add('vscode-dark');
      };
      new MutationObserver((_, o) => {
        if (!document.body) return;
        apply();
        o.disconnect();
      }).observe(document, { childList: true, subtree: true });
    }, THEME);
    await page.addInitScript(() => {
      const w = window as unknown as { posted: unknown[]; acquireVsCodeApi: () => unknown };
      w.posted = [];
      w.acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => w.posted.push(m),
        getState: () => undefined,
        setState: () => undefined,
      });
    });
    await page.goto(`${ORIGIN}/`);
    await waitFor(async () => (await posted()).some((m) => m.type === 'ready'), {
      message: 'the webview to say ready',
    });
  });

  after(async () => {
    await browser?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('one run: the time axis spans an hour around it, not days', async () => {
    const one = runs.find((r) => r.id === seeded.injectionRunId)!;
    await show([one]);
    const [min, max] = await page.$eval('#runs-chart', (c) => [Number(c.dataset.xMinS), Number(c.dataset.xMaxS)]);
    assert.equal(max - min, 3600, `${max - min} s`);
    assert.equal((min + max) / 2, Math.round(Date.parse(one.startedAt) / 1000), 'centred on the run');
  });

  it('two runs three minutes apart: an hour around both', async () => {
    const [a, b] = runs.filter((r) => r.emissionsKg > 0);
    const close = { ...b, startedAt: new Date(Date.parse(a.startedAt) + 180_000).toISOString() };
    await show([a, close]);
    const [min, max] = await page.$eval('#runs-chart', (c) => [Number(c.dataset.xMinS), Number(c.dataset.xMaxS)]);
    assert.equal(max - min, 3600);
  });

  it('the runs chart from the keyboard: a tab stop, arrows announce the runs oldest first, End, Enter opens', async () => {
    const snapshot = await show(runs);
    const drawn = snapshot.chart.series.flatMap((s) => s.t.map((t, i) => ({ t, name: s.name[i], id: s.id[i] })));
    drawn.sort((x, y) => x.t - y.t);
    const attrs = await page.$eval('#runs-chart', (c) => ({
      tabindex: c.getAttribute('tabindex'),
      role: c.getAttribute('role'),
      label: c.getAttribute('aria-label') ?? '',
      live: document.getElementById('runs-chart-live')?.getAttribute('aria-live'),
    }));
    assert.deepEqual(
      { tabindex: attrs.tabindex, role: attrs.role, live: attrs.live },
      { tabindex: '0', role: 'application', live: 'polite' },
    );
    assert.match(attrs.label, /^CO₂eq of \d+ runs over time/);
    await page.focus('#runs-chart');
    await page.keyboard.press('ArrowRight');
    const live = () => page.textContent('#runs-chart-live');
    await waitFor(async () => (await live())?.startsWith(`1 of ${drawn.length}: ${drawn[0].name}; `), {
      message: 'the first run announced',
    });
    assert.match((await live()) ?? '', /^1 of \d+: .+; [\d.]+ (mg|g|kg) CO₂eq; \w+; started .+\d/);
    await page.keyboard.press('ArrowRight');
    await waitFor(async () => (await live())?.startsWith(`2 of ${drawn.length}: ${drawn[1].name}; `), {
      message: 'the second run announced',
    });
    await page.keyboard.press('End');
    const last = drawn[drawn.length - 1];
    await waitFor(async () => (await live())?.startsWith(`${drawn.length} of ${drawn.length}: ${last.name}; `), {
      message: 'the newest run announced',
    });
    assert.equal(await page.$eval('#runs-chart', (c) => c.dataset.focusIndex), String(drawn.length - 1));
    await page.keyboard.press('Enter');
    await waitFor(async () => (await posted()).some((m) => m.type === 'openRun' && m.id === last.id), {
      message: 'Enter to open the run',
    });
    assert.equal(await page.evaluate(() => document.body.dataset.cspViolations ?? '0'), '0', 'no CSP violation');
  });

  it('the power chart from the keyboard: Home announces the first sample with its figures', async () => {
    await show(runs, seeded.timeResolvedRunId);
    await page.waitForSelector('#power-chart[data-points]');
    await page.focus('#power-chart');
    await page.keyboard.press('Home');
    await waitFor(async () => /^at \d/.test((await page.textContent('#power-chart-live')) ?? ''), {
      message: 'the first sample announced',
    });
    assert.match(
      (await page.textContent('#power-chart-live')) ?? '',
      /^at [\d.]+ s: CPU [\d.]+ k?W, GPU [\d.]+ k?W, RAM [\d.]+ k?W; [\d.]+ (mg|g|kg) CO₂eq so far$/,
    );
  });

  for (const width of [1400, 1000, 800, 600, 400, 300, 230, 180])
    it(`nothing scrolls sideways at ${width} px (a run open), and the legend names only the axes drawn`, async () => {
      await page.setViewportSize({ width, height: 900 });
      await show(runs, seeded.timeResolvedRunId);
      await waitFor(async () => (await page.evaluate(() => window.innerWidth)) === width, { message: `${width} px` });
      const m = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        // any element that would show a horizontal scrollbar (the tables' wrappers are overflow-x: auto)
        scrollers: Array.from(document.querySelectorAll<HTMLElement>('body *'))
          .filter((e) => e.clientWidth > 0 && e.scrollWidth - e.clientWidth > 1)
          .filter((e) => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
          .map((e) => `${e.className || e.tagName} by ${e.scrollWidth - e.clientWidth} px`),
        names: Array.from(document.querySelectorAll('#runs-table .run-name'))
          .slice(0, 5)
          .map((e) => ({ title: e.getAttribute('title'), text: e.textContent })),
      }));
      assert.ok(m.page <= 0, `the page overflows by ${m.page} px`);
      assert.deepEqual(m.scrollers, []);
      for (const n of m.names) assert.equal(n.title, n.text, 'a cut name has its full text in its title');
      // the power chart drops its right-hand axis below 300 px (charts.ts TITLED_MIN_PX): its legend names that axis
      // only while it is drawn
      await waitFor(
        async () =>
          page.evaluate(() => {
            const box = document.querySelector('#power-chart')!.parentElement!;
            const legend = (document.querySelector('.untitled-axes > .legend, #detail .sub > .legend') as HTMLElement)
              .innerText;
            return /right axis/.test(legend) === box.clientWidth >= 300 && /CO₂eq so far/.test(legend);
          }),
        { message: `the legend at ${width} px names the right axis only when it is drawn` },
      );
    });
});
