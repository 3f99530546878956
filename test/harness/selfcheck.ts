/**
 * End-to-end check of the real-VS-Code harness with the throwaway extension in
 * test/vscode-fixture-ext (a command, a status bar item, a shell-integration
 * listener):
 *
 *  (a) UI: package the fixture (.vsix), start code-server with it installed,
 *      open the workbench, run its command from the palette, read the status
 *      bar, open its webview and read it, run `echo hi` in a new terminal (seen through shell integration),
 *      take a screenshot; then check that no process was left behind.
 *  (b) Extension host: mocha suites inside the real extension host: passing
 *      (exit 0), passing + failing (exit 1), and a host that dies (exit 1
 *      although the workbench says 0).
 *
 *   node out/test/harness/selfcheck.js [--ui-only | --exthost-only] [--screenshot FILE]
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  descendants,
  findInWebviews,
  openTerminalAndRun,
  openWorkbench,
  repoRoot,
  runCommand,
  runExtensionHostTests,
  screenshot,
  startCodeServer,
  statusBarItem,
  terminalText,
  type CodeServer,
} from './codeServer';

const root = repoRoot();
const fixture = path.join(root, 'test', 'vscode-fixture-ext');
const testsPath = path.join(__dirname, 'exthostMocha.js');

const timings: Array<[string, number]> = [];
const results: Array<{ name: string; ok: boolean; detail?: string }> = [];

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings.push([name, Date.now() - t0]);
    console.log(`  ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

function check(name: string, ok: boolean, detail?: string): void {
  results.push({ name, ok, detail });
  console.log(`${ok ? '  ✓' : '  ✗'} ${name}${detail && !ok ? `\n      ${detail.replace(/\n/g, '\n      ')}` : ''}`);
}

function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

function packageFixture(outDir: string): string {
  const vsix = path.join(outDir, 'harness-fixture.vsix');
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  cp.execFileSync(
    process.execPath,
    [vsce, 'package', '--out', vsix, '--no-dependencies', '--allow-missing-repository', '--skip-license'],
    { cwd: fixture, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
  );
  return vsix;
}

async function uiCheck(shotPath: string): Promise<void> {
  console.log('(a) UI in code-server + Chromium');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carbon-meter-selfcheck-'));
  const workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(workspace);
  fs.writeFileSync(path.join(workspace, 'train.py'), 'print("training")\n');
  let server: CodeServer | undefined;
  let pidsToCheck: number[] = [];
  try {
    const vsix = await timed('package the fixture (vsce)', async () => packageFixture(tmp));
    server = await timed('start code-server (incl. --install-extension)', () => startCodeServer({ workspace, vsix }));
    const { page, browser } = await timed('open the workbench (Chromium)', () => openWorkbench(server!));
    const browserPid = (browser as unknown as { process?: () => cp.ChildProcess | undefined }).process?.()?.pid;

    await timed('extension activates (status bar item)', () =>
      statusBarItem(page, 'Fixture: ready').waitFor({ timeout: 60_000 }),
    );
    check('status bar shows "Fixture: ready"', true);

    await timed('run "Harness Fixture: Say Hello" from the palette', async () => {
      await runCommand(page, 'Harness Fixture: Say Hello');
      await statusBarItem(page, 'Fixture: hello 1').waitFor({ timeout: 30_000 });
    });
    check(
      'command from the palette updates the status bar item',
      (await statusBarItem(page, 'Fixture: hello 1').count()) === 1,
    );

    await timed('webview panel from the palette', async () => {
      await runCommand(page, 'Harness Fixture: Show Panel');
      const frame = await findInWebviews(page, '#fixture-hello');
      const heading = (await frame.textContent('#fixture-hello')) ?? '';
      check(
        'webview content is readable (findInWebviews)',
        /Hello from the fixture webview \(1\)/.test(heading),
        heading,
      );
    });

    await timed('new terminal, `echo hi`', () => openTerminalAndRun(page, 'echo hi', { waitForOutput: /^hi$/m }));
    const text = await terminalText(page);
    check('terminal printed "hi"', /^hi$/m.test(text), text);
    await timed('shell integration reports the command', () =>
      statusBarItem(page, 'Fixture: ran echo hi').waitFor({ timeout: 30_000 }),
    );
    check('onDidStartTerminalShellExecution saw "echo hi"', true);

    await screenshot(page, shotPath);
    check(`screenshot ${shotPath}`, fs.statSync(shotPath).size > 10_000);

    pidsToCheck = [server.pid, ...descendants(server.pid)];
    if (browserPid) pidsToCheck.push(browserPid, ...descendants(browserPid));
    const shells = pidsToCheck.filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'bash';
      } catch {
        return false;
      }
    });
    check('the terminal shell is a descendant of code-server', shells.length > 0);
  } catch (e) {
    check('UI check ran to the end', false, e instanceof Error ? e.stack : String(e));
    if (server) console.log(`code-server output (last lines):\n${server.output()}`);
  } finally {
    if (server) await timed('stop (code-server tree + browser)', () => server!.stop());
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (server) {
    const left = pidsToCheck.filter(isAlive);
    check(`no process left behind (${pidsToCheck.length} checked)`, left.length === 0, `alive: ${left.join(', ')}`);
    check('temp dirs removed', !fs.existsSync(server.userDataDir), server.userDataDir);
  }
}

async function exthostCheck(): Promise<void> {
  console.log('(b) extension-host mocha tests');
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'carbon-meter-selfcheck-ws-'));
  const run = (glob: string) =>
    runExtensionHostTests({
      extensionDevelopmentPath: fixture,
      testsPath,
      workspace,
      env: { CARBON_METER_TEST_ROOT: fixture, CARBON_METER_TEST_GLOB: glob },
      timeoutMs: 180_000,
      print: true,
    });
  try {
    const pass = await timed('exthost run: passing suite', () => run('test/pass.test.js'));
    check('passing suite → exit code 0', pass.exitCode === 0 && pass.record?.passes === 1, pass.output);
    check('mocha output reaches the runner', /1 passing/.test(pass.output), pass.output);

    const fail = await timed('exthost run: passing + failing', () => run('test/pass.test.js,test/fail.test.js'));
    check(
      'one failing test → exit code 1 (1 passed, 1 failed)',
      fail.exitCode === 1 && fail.record?.passes === 1 && fail.record?.failures === 1,
      fail.output,
    );
    check(
      'failure message is in the output',
      /fails on purpose/.test(fail.output) && /expected by the self-check/.test(fail.output),
      fail.output,
    );

    const crash = await timed('exthost run: host dies mid-run', () => run('test/crash.test.js'));
    check('dead extension host → exit code 1', crash.exitCode === 1, crash.output);
  } catch (e) {
    check('extension-host check ran to the end', false, e instanceof Error ? e.stack : String(e));
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const shotIndex = args.indexOf('--screenshot');
  const shotPath = shotIndex >= 0 ? path.resolve(args[shotIndex + 1]) : '/tmp/harness-selfcheck.png';
  const t0 = Date.now();
  if (!args.includes('--exthost-only')) await uiCheck(shotPath);
  if (!args.includes('--ui-only')) await exthostCheck();

  console.log('\ntimings:');
  for (const [name, ms] of timings) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${name}`);
  console.log(`  ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  total`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`selfcheck: ${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
