/**
 * UI tests, as a user sees it: the packaged .vsix installed in a real VS Code (code-server), driven in Chromium.
 * Run with `npm run test:ui` (after `npm run package`).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { HistoryStore } from '../../src/core/history/store';
import type { Run } from '../../src/core/types';
import {
  openTerminalAndRun,
  openWorkbench,
  repoRoot,
  runCommand,
  runInTerminal,
  screenshot,
  screenshotDir,
  startCodeServer,
  statusBarItemById,
  waitFor,
  type CodeServer,
  type Workbench,
} from '../harness/codeServer';
import { makeTestWorkspace, type TestWorkspace } from '../harness/workspace';

const ROOT = repoRoot(__dirname);
const VSIX = path.join(ROOT, 'carbon-meter-0.1.0.vsix');
const ITEM = 'carbon-meter.carbon-meter.carbonMeter.status';

/** The grams shown in the status bar ("$(pulse) 0.42 g CO₂eq · 38 W" → 0.42), converted from its unit. */
function gramsOf(text: string): number | undefined {
  const m = /([\d.]+)\s*(mg|g|kg|t)\s*CO₂eq/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * { mg: 1e-3, g: 1, kg: 1e3, t: 1e6 }[m[2] as 'mg' | 'g' | 'kg' | 't'];
}

describe('Carbon Meter UI (code-server + Chromium)', function () {
  this.timeout(600_000);
  let ws: TestWorkspace;
  let server: CodeServer;
  let wb: Workbench;
  let page: Page;
  let store: HistoryStore;

  const runs = (): Run[] => store.load().runs;

  before(async () => {
    assert.ok(fs.existsSync(VSIX), `${VSIX} is missing: run 'npm run package' first`);
    ws = makeTestWorkspace(ROOT);
    store = new HistoryStore(ws.env.CARBON_METER_HOME);
    server = await startCodeServer({
      workspace: ws.workspace,
      vsix: VSIX,
      env: { ...ws.env, CARBON_METER_REGION: 'FR' },
      settings: { 'carbonMeter.notifications.minDurationSeconds': 0 },
    });
    wb = await openWorkbench(server, { width: 1400, height: 900 });
    page = wb.page;
  });

  after(async () => {
    await wb?.close().catch(() => undefined);
    await server?.stop();
    ws?.cleanup();
  });

  it('installs from the .vsix and activates: the status bar shows the idle readout', async () => {
    const item = statusBarItemById(page, ITEM);
    await item.waitFor({ timeout: 120_000 });
    await waitFor(async () => /today/.test((await item.textContent()) ?? ''), {
      timeoutMs: 60_000,
      message: 'the idle readout',
    });
  });

  it('`ls` in the terminal is not metered', async () => {
    await openTerminalAndRun(page, 'ls', { waitForOutput: 'busy.py' });
    // the extension decides as the command starts; give it the time a training run would need to appear
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(runs().length, 0);
    assert.ok(/today/.test((await statusBarItemById(page, ITEM).textContent()) ?? ''));
  });

  it('a training run in the terminal shows a live figure that grows, then a completed record', async () => {
    const item = statusBarItemById(page, ITEM);
    await runInTerminal(page, 'python3 busy.py 8');
    const first = await waitFor(
      async () => {
        const g = gramsOf((await item.textContent()) ?? '');
        return g !== undefined && g > 0 && /W$/.test(((await item.textContent()) ?? '').trim()) ? g : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'a live figure in the status bar' },
    );
    const later = await waitFor(
      async () => {
        const g = gramsOf((await item.textContent()) ?? '');
        return g !== undefined && g > first ? g : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'the figure to grow' },
    );
    assert.ok(later > first);
    // the tooltip: breakdown with methods and links
    await item.hover();
    const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'Carbon Meter' }).first();
    await hover.waitFor({ timeout: 30_000 });
    const tip = (await hover.textContent()) ?? '';
    assert.match(tip, /busy\.py/);
    assert.match(tip, /CPU/);
    assert.match(tip, /modelled|measured|default/);
    assert.match(tip, /FR/);
    assert.match(tip, /Show History/);
    assert.match(tip, /Stop Metering/);
    await screenshot(page, path.join(screenshotDir(), 'status-bar.png'));
    await page.mouse.move(10, 10);

    const run = await waitFor(() => runs().find((r) => r.status === 'completed' && r.source === 'terminal'), {
      timeoutMs: 120_000,
      message: 'a completed run in the history',
    });
    assert.match(run.command, /python3 busy\.py 8/);
    assert.equal(run.exitCode, 0);
    assert.equal(run.intensity.region, 'FR');
    assert.ok(run.cpuSeconds >= 7 && run.cpuSeconds <= 10, `cpuSeconds ${run.cpuSeconds}`);
    // 8 CPU seconds at the TDP model's ≤ ~20 W per busy core: a sensible energy, neither zero nor absurd
    assert.ok(run.energyKWh.total > 1e-6 && run.energyKWh.total < 1e-3, `energy ${run.energyKWh.total} kWh`);
    await waitFor(
      async () =>
        /✓|check|CO₂eq/.test((await item.textContent()) ?? '') && !/W$/.test(((await item.textContent()) ?? '').trim()),
      {
        timeoutMs: 30_000,
        message: 'the final figure',
      },
    );
  });

  it('a debug session of a Node script is metered', async () => {
    const before = runs().length;
    await runCommand(page, 'Debug: Start Debugging');
    const run = await waitFor(() => runs().find((r) => r.source === 'debug' && r.status !== 'running'), {
      timeoutMs: 120_000,
      message: 'a debug run in the history',
    });
    assert.match(run.command, /busy\.js/);
    assert.ok(run.cpuSeconds >= 2, `cpuSeconds ${run.cpuSeconds}: ${JSON.stringify(run)}`);
    assert.equal(runs().length, before + 1);
  });

  it('"Stop Metering" stops metering; the process goes on', async () => {
    const item = statusBarItemById(page, ITEM);
    await openTerminalAndRun(page, 'python3 busy.py 120');
    await waitFor(async () => /W$/.test(((await item.textContent()) ?? '').trim()), {
      timeoutMs: 60_000,
      message: 'a live figure',
    });
    await runCommand(page, 'Carbon Meter: Stop Metering');
    const run = await waitFor(() => runs().find((r) => r.command.includes('busy.py 120') && r.status !== 'running'), {
      timeoutMs: 60_000,
      message: 'the stopped run in the history',
    });
    assert.equal(run.status, 'completed');
    assert.doesNotThrow(() => process.kill(run.pid!, 0), 'the training process is still running');
    process.kill(run.pid!, 'SIGTERM');
  });
});
