/**
 * Tests in a real VS Code, offline: code-server (a full VS Code build served to
 * a browser, installed by scripts/vscode/install-code-server.sh into
 * .vscode-test/code-server/) driven by Playwright in Debian's Chromium.
 *
 * Two tiers share this module:
 * - UI tests (plain Node + mocha): startCodeServer() + openWorkbench(), then the
 *   helpers below (runCommand, openTerminalAndRun, statusBarItem, ...).
 * - Extension-host tests: runExtensionHostTests() runs a mocha suite inside
 *   the real extension host (see exthostMocha.ts) and returns its exit code.
 *
 * Every wait here is bounded; the bounds are generous because they are limits
 * on waiting on a 2-core CI machine, not performance assertions.
 *
 * Environment knobs:
 *   CARBON_METER_CODE_SERVER_DIR  where code-server is installed (default <repo>/.vscode-test/code-server)
 *   CARBON_METER_CHROMIUM         browser executable (default /usr/bin/chromium)
 *   CARBON_METER_VSCODE_VERBOSE=1 echo code-server's output to stderr as it comes
 *   CARBON_METER_VSCODE_KEEP=1    keep the throwaway user-data/extensions dirs after stop()
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Frame, Locator, Page } from 'playwright-core';
import { ENV_TEST_OUTPUT, ENV_TEST_RESULT, readRecord, summaryLine, type TestRunRecord } from './results';

export { ENV_TEST_OUTPUT, ENV_TEST_RESULT, readRecord, summaryLine, type TestRunRecord };

// ---------------------------------------------------------------------------
// Types

export interface StartCodeServerOptions {
  /** Folder opened in the workbench (must exist). */
  workspace: string;
  /** A packaged extension (or several) to install into the throwaway extensions dir. */
  vsix?: string | string[];
  /**
   * Load an extension from its folder (no .vsix): passed to the workbench as the
   * `extensionDevelopmentPath` payload by openWorkbench(). Needs, and so turns
   * on, the smoke-test driver.
   */
  extensionDevelopmentPath?: string;
  /** Merged into process.env for code-server (and so its extension host and terminals). */
  env?: Record<string, string>;
  /** Merged over the test defaults (see DEFAULT_SETTINGS) into User/settings.json. */
  settings?: object;
  /** `--vscode-option enable-smoke-test-driver`: needed for payloads (extension tests, dev path). */
  smokeTestDriver?: boolean;
  /** Bound on waiting for the HTTP port (default 60 s). */
  startTimeoutMs?: number;
}

export interface CodeServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Pid of the code-server process (leader of its process group). */
  readonly pid: number;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly workspace: string;
  readonly extensionDevelopmentPath?: string;
  readonly smokeTestDriver: boolean;
  /** The newest `<userDataDir>/logs/<time>` folder (exthost1/remoteexthost.log is in it). */
  logsDir(): string;
  /** The last lines code-server printed (stdout and stderr). */
  output(): string;
  /** Closes browsers opened on it, kills the whole process tree, removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface Workbench {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Closes the browser (server.stop() does it too). */
  close(): Promise<void>;
}

export interface OpenWorkbenchOptions {
  width?: number;
  height?: number;
  /** Bound on waiting for the workbench (default 90 s). */
  timeoutMs?: number;
  /** Extra `payload` entries for the workbench URL, e.g. [['extensionTestsPath', uri]]. */
  payload?: Array<[string, string]>;
  /** Runs after the page exists and before it navigates (exposeFunction, listeners). */
  beforeNavigate?: (page: Page) => Promise<void>;
}

export interface WaitForOptions {
  /** Upper bound on waiting (default 30 s). */
  timeoutMs?: number;
  /** Poll interval (default 200 ms). */
  intervalMs?: number;
  /** What is being waited for, for the timeout error. */
  message?: string;
}

export interface ExtensionHostTestOptions {
  /** Folder of the extension under test (loaded from source, no .vsix). */
  extensionDevelopmentPath: string;
  /** Packaged extensions installed next to it (test-only helpers, see testExtensions.ts). */
  vsix?: string[];
  /** Absolute path to a compiled JS module exporting run(): Promise<void> (e.g. out/test/harness/exthostMocha.js). */
  testsPath: string;
  /** Folder opened in the workbench. */
  workspace: string;
  /** Extra environment for the extension host (e.g. CARBON_METER_TEST_GLOB). */
  env?: Record<string, string>;
  /** Settings merged over the defaults. */
  settings?: object;
  /** Bound on the whole run (default 10 min). */
  timeoutMs?: number;
  /** Write the test output to stdout when done (default true). */
  print?: boolean;
}

export interface ExtensionHostTestResult {
  /** 0 only when run() resolved, its completion was recorded and nothing failed. */
  exitCode: number;
  /** The test output (mocha's reporter) followed by the harness's verdict. */
  output: string;
  /** What the run() wrapper recorded, if anything. */
  record?: TestRunRecord;
  durationMs: number;
}

type Outcome =
  | { kind: 'exit'; code: number }
  | { kind: 'timeout' }
  | { kind: 'server-died' }
  | { kind: 'page-crashed' }
  | { kind: 'open-failed'; message: string };

/** Test defaults for User/settings.json; options.settings is merged over them. */
export const DEFAULT_SETTINGS: Readonly<Record<string, unknown>> = Object.freeze({
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'git.openRepositoryInParentFolders': 'never',
  'terminal.integrated.defaultProfile.linux': 'bash',
  'terminal.integrated.shellIntegration.enabled': true,
  'terminal.integrated.shellIntegration.decorationsEnabled': 'both',
  'terminal.integrated.enablePersistentSessions': false,
  // The DOM renderer keeps the terminal's text readable (terminalText()).
  'terminal.integrated.gpuAcceleration': 'off',
  'window.confirmBeforeClose': 'never',
});

/** Chromium flags known to work headless on these machines. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

// ---------------------------------------------------------------------------
// Locating things

/** The project root: the nearest folder above this file with scripts/vscode/install-code-server.sh. */
/**
 * Where the UI tests write the README's screenshots: `out/screenshots/` (ignored), so that a test run never rewrites
 * tracked files. `npm run docs:screenshots` sets CARBON_METER_DOCS_SHOTS=1 to refresh `docs/` on purpose.
 */
export function screenshotDir(): string {
  const dir =
    process.env.CARBON_METER_DOCS_SHOTS === '1'
      ? path.join(repoRoot(), 'docs')
      : path.join(repoRoot(), 'out', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function repoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'scripts', 'vscode', 'install-code-server.sh'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`harness: cannot find the project root above ${from}`);
    dir = parent;
  }
}

export interface CodeServerInstall {
  dir: string;
  /** The Node 24 binary code-server runs on. */
  node: string;
  /** code-server's entry script. */
  entry: string;
}

/** Where install-code-server.sh put code-server; throws with what to do if it is not there. */
export function codeServerInstall(): CodeServerInstall {
  const dir = process.env.CARBON_METER_CODE_SERVER_DIR || path.join(repoRoot(), '.vscode-test', 'code-server');
  const node = path.join(dir, 'node_modules', 'node', 'bin', 'node');
  const entry = path.join(dir, 'g', 'lib', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  for (const f of [node, entry]) {
    if (!fs.existsSync(f)) {
      throw new Error(
        `harness: code-server is not installed (${f} is missing). ` +
          `Run \`bash scripts/vscode/install-code-server.sh\` first (about 3 minutes, needs the npm registry).`,
      );
    }
  }
  return { dir, node, entry };
}

function chromiumPath(): string {
  const exe = process.env.CARBON_METER_CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(exe)) {
    throw new Error(`harness: no browser at ${exe}: \`apt-get install -y chromium\` (or set CARBON_METER_CHROMIUM).`);
  }
  return exe;
}

/** A `vscode-remote://127.0.0.1:PORT/abs/path` URI for a file on the server (the page's host:port). */
export function remoteUri(server: Pick<CodeServer, 'port'>, absPath: string): string {
  if (!path.isAbsolute(absPath)) throw new Error(`harness: remoteUri needs an absolute path, got ${absPath}`);
  const encoded = path
    .resolve(absPath)
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
  return `vscode-remote://127.0.0.1:${server.port}${encoded}`;
}

/** The workbench URL for server.workspace, with an optional payload. */
export function workbenchUrl(server: CodeServer, payload: Array<[string, string]> = []): string {
  const u = new URL(server.url + '/');
  u.searchParams.set('folder', server.workspace);
  const all: Array<[string, string]> = [];
  if (server.extensionDevelopmentPath) {
    all.push(['extensionDevelopmentPath', remoteUri(server, server.extensionDevelopmentPath)]);
  }
  all.push(...payload);
  if (all.length > 0) u.searchParams.set('payload', JSON.stringify(all));
  return u.toString();
}

// ---------------------------------------------------------------------------
// Small utilities

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Polls fn until it returns a truthy value, and returns that value. Exceptions
 * from fn count as "not yet". Throws after timeoutMs with the message and the
 * last value or error seen.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = `last value: ${JSON.stringify(v)}`;
    } catch (e) {
      last = `last error: ${errorText(e)}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${opts.message ?? 'a condition'} (${last})`,
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** A free TCP port on 127.0.0.1 (there is a small race until code-server binds it; startCodeServer retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('harness: no free port'))));
    });
  });
}

function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d.length + body.length <= 4096 ? d : ''));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Keeps the last `max` lines of a stream. */
class TailBuffer {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 300) {}
  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const l of parts) this.lines.push(l);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text(last = this.max): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-last).join('\n');
  }
}

// ---------------------------------------------------------------------------
// Process trees (Linux /proc)

function procStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** All live descendants of the given pids (children first found through /proc). */
export function descendants(...roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const queue = [...roots];
  const seen = new Set(roots);
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of children.get(p) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function signalAll(groupLeader: number, pids: Iterable<number>, sig: NodeJS.Signals): void {
  try {
    process.kill(-groupLeader, sig);
  } catch {
    /* group gone */
  }
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
}

/**
 * Kills a process, its process group and every descendant (terminal shells
 * run in sessions of their own, so the group alone is not enough): SIGTERM,
 * then SIGKILL after graceMs.
 */
export async function killTree(pid: number, graceMs = 5_000): Promise<void> {
  const pids = new Set<number>([pid, ...descendants(pid)]);
  signalAll(pid, pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    for (const p of descendants(...[...pids].filter(isAlive))) pids.add(p);
    if (![...pids].some(isAlive)) return;
    await sleep(100);
  }
  for (const p of descendants(...[...pids].filter(isAlive))) pids.add(p);
  signalAll(pid, [...pids].filter(isAlive), 'SIGKILL');
  await waitFor(() => ![...pids].some(isAlive), {
    timeoutMs: 5_000,
    intervalMs: 50,
    message: `process tree of ${pid} to die`,
  }).catch(() => undefined);
}

function killTreeSync(pid: number): void {
  const pids = [pid, ...descendants(pid)];
  signalAll(pid, pids, 'SIGKILL');
}

function removeDir(dir: string): void {
  if (process.env.CARBON_METER_VSCODE_KEEP === '1') return;
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {
    /* best effort */
  }
}

// Servers still running, killed when this process exits, however it exits.
const live = new Set<CodeServerProcess>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const s of live) s.killSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const s of live) s.killSync();
      // No one else handles it: die of the signal as we would have.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

// ---------------------------------------------------------------------------
// code-server

/** The environment for code-server: ours, minus what would make it talk to an enclosing VS Code. */
function serverEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    // VSCODE_IPC_HOOK_CLI (set in a VS Code terminal) makes code-server open the
    // folder in *that* VS Code instead of starting; ELECTRON_RUN_AS_NODE and the
    // other VSCODE_* come from an enclosing extension host.
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k === 'NODE_OPTIONS') delete env[k];
  }
  return { ...env, ...(extra ?? {}) };
}

function runToCompletion(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = cp.spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const tail = new TailBuffer(200);
    child.stdout.on('data', (d: Buffer) => tail.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => tail.push(d.toString()));
    const timer = setTimeout(() => {
      void killTree(child.pid!, 1_000);
      reject(
        new Error(
          `harness: \`${path.basename(file)} ${args.join(' ')}\` took over ${timeoutMs / 1000} s:\n${tail.text(40)}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: tail.text() });
    });
  });
}

class CodeServerProcess implements CodeServer {
  readonly url: string;
  readonly browsers = new Set<Browser>();
  private readonly tail = new TailBuffer(400);
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitListeners = new Set<() => void>();
  private stopping: Promise<void> | undefined;
  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  constructor(
    private readonly child: cp.ChildProcess,
    readonly port: number,
    readonly tmpRoot: string,
    readonly userDataDir: string,
    readonly extensionsDir: string,
    readonly workspace: string,
    readonly smokeTestDriver: boolean,
    readonly extensionDevelopmentPath: string | undefined,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    const verbose = process.env.CARBON_METER_VSCODE_VERBOSE === '1';
    const onData = (d: Buffer) => {
      const s = d.toString();
      this.tail.push(s);
      if (verbose) process.stderr.write(s.replace(/^(?=.)/gm, `[code-server:${port}] `));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      for (const l of this.exitListeners) l();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Calls fn once when code-server exits (at once if it already has); returns an unsubscribe function. */
  onExit(fn: () => void): () => void {
    if (this.exitInfo) {
      fn();
      return () => undefined;
    }
    this.exitListeners.add(fn);
    return () => this.exitListeners.delete(fn);
  }

  exitDescription(): string {
    if (!this.exitInfo) return 'running';
    return this.exitInfo.signal ? `killed by ${this.exitInfo.signal}` : `exited with code ${this.exitInfo.code}`;
  }

  logsDir(): string {
    const logs = path.join(this.userDataDir, 'logs');
    try {
      const dirs = fs
        .readdirSync(logs)
        .filter((d) => fs.statSync(path.join(logs, d)).isDirectory())
        .sort();
      if (dirs.length) return path.join(logs, dirs[dirs.length - 1]);
    } catch {
      /* no logs yet */
    }
    return logs;
  }

  output(lines?: number): string {
    return this.tail.text(lines);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([...this.browsers].map((b) => Promise.race([b.close().catch(() => undefined), sleep(10_000)])));
      this.browsers.clear();
      await killTree(this.pid);
      live.delete(this);
      removeDir(this.tmpRoot);
    })();
    return this.stopping;
  }

  killSync(): void {
    for (const b of this.browsers) {
      // Playwright kills its browsers on exit too; this is belt and braces.
      const pid = (b as unknown as { process?: () => cp.ChildProcess | undefined }).process?.()?.pid;
      if (pid) killTreeSync(pid);
    }
    killTreeSync(this.pid);
    live.delete(this);
    removeDir(this.tmpRoot);
  }
}

/**
 * Starts code-server on a free loopback port with a throwaway user-data dir
 * and extensions dir, installs opts.vsix if given, and resolves once its HTTP
 * port answers. Always pair it with `await server.stop()` in a finally block.
 */
export async function startCodeServer(opts: StartCodeServerOptions): Promise<CodeServer> {
  const install = codeServerInstall();
  const workspace = path.resolve(opts.workspace);
  if (!fs.statSync(workspace, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`harness: workspace ${workspace} is not a folder`);
  }
  const extensionDevelopmentPath = opts.extensionDevelopmentPath
    ? path.resolve(opts.extensionDevelopmentPath)
    : undefined;
  if (extensionDevelopmentPath && !fs.existsSync(path.join(extensionDevelopmentPath, 'package.json'))) {
    throw new Error(`harness: extensionDevelopmentPath ${extensionDevelopmentPath} has no package.json`);
  }
  const smokeTestDriver = Boolean(opts.smokeTestDriver || extensionDevelopmentPath);
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;

  installExitHooks();
  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'carbon-meter-vscode-'));
  const userDataDir = path.join(tmpRoot, 'user-data');
  const extensionsDir = path.join(tmpRoot, 'extensions');
  const configFile = path.join(tmpRoot, 'config.yaml');
  let started: CodeServerProcess | undefined;
  try {
    fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
    fs.mkdirSync(extensionsDir, { recursive: true });
    fs.writeFileSync(
      path.join(userDataDir, 'User', 'settings.json'),
      JSON.stringify({ ...DEFAULT_SETTINGS, ...(opts.settings ?? {}) }, null, 2),
    );
    // Our own config file, so that code-server never writes one (with a password) into ~/.config.
    fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
    const env = serverEnv(opts.env);
    const common = ['--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

    const vsixes = opts.vsix === undefined ? [] : Array.isArray(opts.vsix) ? opts.vsix : [opts.vsix];
    for (const vsix of vsixes) {
      const abs = path.resolve(vsix);
      if (!fs.existsSync(abs)) throw new Error(`harness: vsix ${abs} does not exist`);
      const r = await runToCompletion(
        install.node,
        [install.entry, ...common, '--install-extension', abs],
        env,
        180_000,
      );
      if (r.code !== 0) throw new Error(`harness: installing ${abs} failed (exit ${r.code}):\n${r.output}`);
    }

    const maxAttempts = 3;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const args = [
        install.entry,
        ...common,
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        ...(smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
        workspace,
      ];
      const child = cp.spawn(install.node, args, {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        cwd: workspace,
      });
      const server = new CodeServerProcess(
        child,
        port,
        tmpRoot,
        userDataDir,
        extensionsDir,
        workspace,
        smokeTestDriver,
        extensionDevelopmentPath,
      );
      live.add(server);
      started = server;
      const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
      try {
        await waitForHttp(server, spawnError, startTimeoutMs);
        return server;
      } catch (e) {
        await killTree(server.pid, 2_000).catch(() => undefined);
        live.delete(server);
        started = undefined;
        if (attempt < maxAttempts && /EADDRINUSE/.test(server.output())) continue;
        throw e;
      }
    }
  } catch (e) {
    if (started) await started.stop();
    else removeDir(tmpRoot);
    throw e;
  }
}

async function waitForHttp(server: CodeServerProcess, spawnError: Promise<Error>, timeoutMs: number): Promise<void> {
  let failure: Error | undefined;
  void spawnError.then((e) => (failure = e));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (failure) throw new Error(`harness: could not start code-server: ${failure.message}`);
    if (server.exited) {
      throw new Error(
        `harness: code-server ${server.exitDescription()} before it listened on port ${server.port}. Last output:\n${server.output(40)}`,
      );
    }
    try {
      // code-server's /healthz answers {"status":"alive"|"expired",...}: that also
      // tells it apart from anything else that might have taken the port.
      const res = await httpGet(`${server.url}/healthz`, 2_000);
      if (res.status === 200 && res.body.includes('"status"')) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      throw new Error(
        `harness: code-server did not answer on ${server.url} within ${timeoutMs / 1000} s. Last output:\n${server.output(40)}`,
      );
    }
    await sleep(150);
  }
}

// ---------------------------------------------------------------------------
// The workbench in Chromium

/** Launches headless Chromium (Debian's) with the flags that work here. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS], headless: true, timeout: 60_000 });
}

/**
 * Opens the workbench for server.workspace in a new headless Chromium and
 * waits until it is restored. The browser is closed by server.stop() too.
 */
export async function openWorkbench(server: CodeServer, opts: OpenWorkbenchOptions = {}): Promise<Workbench> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const impl = server instanceof CodeServerProcess ? server : undefined;
  if (impl?.stopped) throw new Error('harness: openWorkbench on a stopped code-server');
  const browser = await launchBrowser();
  if (impl?.stopped) {
    await browser.close().catch(() => undefined);
    throw new Error('harness: code-server was stopped while the browser started');
  }
  impl?.browsers.add(browser);
  const close = async () => {
    impl?.browsers.delete(browser);
    await browser.close().catch(() => undefined);
  };
  try {
    const context = await browser.newContext({
      viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    if (opts.beforeNavigate) await opts.beforeNavigate(page);
    await page.goto(workbenchUrl(server, opts.payload), { timeout: timeoutMs, waitUntil: 'domcontentloaded' });
    await waitForWorkbench(page, timeoutMs, server);
    return { browser, context, page, close };
  } catch (e) {
    await close();
    if (impl?.exited) {
      throw new Error(`${errorText(e)}\ncode-server ${impl.exitDescription()}. Last output:\n${impl.output(40)}`);
    }
    throw e;
  }
}

/**
 * Waits for the status bar and for the Problems item, which the workbench adds
 * once it is restored; with the smoke-test driver, also for the driver's own
 * "workbench restored" signal. Extensions activate later: wait for their own
 * UI (e.g. a status bar item) in the test.
 */
export async function waitForWorkbench(page: Page, timeoutMs = 90_000, server?: CodeServer): Promise<void> {
  await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: timeoutMs });
  await page.waitForSelector('.part.statusbar [id="status.problems"]', { timeout: timeoutMs, state: 'attached' });
  if (server?.smokeTestDriver) {
    await page.waitForFunction(() => 'driver' in window, undefined, { timeout: timeoutMs });
    await page.evaluate(() => {
      const driver = (window as unknown as { driver?: { whenWorkbenchRestored?: () => Promise<void> } }).driver;
      return driver?.whenWorkbenchRestored?.();
    });
  }
}

// ---------------------------------------------------------------------------
// UI helpers

/**
 * Runs a command from the command palette by its full title as shown there
 * ("Category: Title"). Matches the title exactly (case- and space-insensitive;
 * without the "Category: " part for the few commands listed without it),
 * waits for the palette's asynchronous list to show it, and then picks it
 * (Enter when it is the focused row, a click otherwise).
 */
export async function runCommand(page: Page, title: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      await runCommandOnce(page, title, left);
      return;
    } catch (e) {
      lastError = e;
      await page.keyboard.press('Escape').catch(() => undefined);
    }
  }
  throw new Error(`runCommand(${JSON.stringify(title)}) failed: ${errorText(lastError)}`);
}

async function runCommandOnce(page: Page, title: string, timeoutMs: number): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await page.keyboard.press('F1');
  try {
    await input.waitFor({ state: 'visible', timeout: Math.min(5_000, timeoutMs) });
  } catch {
    await page.keyboard.press('Control+Shift+P');
    await input.waitFor({ state: 'visible', timeout: Math.min(10_000, timeoutMs) });
  }
  const query = '>' + title;
  await input.fill(query);

  const match = await waitFor(
    () =>
      page.evaluate(
        ({ title, query }) => {
          const norm = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, ' ').trim().toLowerCase();
          const box = document.querySelector<HTMLInputElement>('.quick-input-widget .quick-input-box input');
          if (!box || box.value !== query) return null;
          const rows = Array.from(document.querySelectorAll('.quick-input-widget .quick-input-list .monaco-list-row'));
          const label = (r: Element) =>
            norm(r.querySelector('.label-name')?.textContent ?? r.getAttribute('aria-label'));
          // Some commands are listed without their category ("Create New Terminal (With Profile)").
          const bare = norm(title.replace(/^[^:]+:\s*/, ''));
          const row = rows.find((r) => label(r) === norm(title)) ?? rows.find((r) => label(r) === bare);
          if (!row) return null;
          return { index: row.getAttribute('data-index'), focused: row.classList.contains('focused') };
        },
        { title, query },
      ),
    { timeoutMs, intervalMs: 100, message: `the command palette to list "${title}"` },
  );
  if (match.focused) {
    await page.keyboard.press('Enter');
  } else {
    await page.locator(`.quick-input-widget .quick-input-list .monaco-list-row[data-index="${match.index}"]`).click();
  }
  // Done when the palette closed, or shows something else (the command opened its own quick pick).
  await waitFor(
    // a command that reloads the page takes the palette away mid-check: a vanished input counts as closed
    async () => !(await input.isVisible()) || (await input.inputValue({ timeout: 500 }).catch(() => '')) !== query,
    { timeoutMs: Math.min(10_000, timeoutMs), intervalMs: 100, message: `the palette to run "${title}"` },
  );
}

/** Clears notification toasts (they can cover the status bar's right end). */
export async function clearNotifications(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
}

/** A locator for the first status bar item whose text contains textOrRegex. */
export function statusBarItem(page: Page, textOrRegex: string | RegExp): Locator {
  return page.locator('.part.statusbar .statusbar-item', { hasText: textOrRegex }).first();
}

/**
 * A locator for a status bar item by its id: `<publisher>.<name>.<item id>` for
 * an item created with createStatusBarItem(id, ...).
 */
export function statusBarItemById(page: Page, fullId: string): Locator {
  return page.locator(`.part.statusbar .statusbar-item[id=${JSON.stringify(fullId)}]`);
}

const ACTIVE_TERMINAL = '.terminal-wrapper.active';
// Shell integration marks the current prompt with this decoration once the shell reported it.
const PROMPT_DECORATION = '.terminal-command-decoration.codicon-terminal-decoration-incomplete';

/** The visible text of the active terminal (needs the DOM renderer: gpuAcceleration "off", a default here). */
export async function terminalText(page: Page): Promise<string> {
  return page.evaluate((sel) => {
    const rows = document.querySelectorAll(`${sel} .xterm-rows > div`);
    return Array.from(rows, (r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd())
      .join('\n')
      .trimEnd();
  }, ACTIVE_TERMINAL);
}

/**
 * Types commandLine into the active terminal and presses Enter; with
 * waitForOutput, waits for that text in the terminal's visible rows.
 */
export async function runInTerminal(
  page: Page,
  commandLine: string,
  opts: { timeoutMs?: number; waitForOutput?: string | RegExp } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await page.locator(`${ACTIVE_TERMINAL} .xterm-helper-textarea`).focus({ timeout: timeoutMs });
  await page.keyboard.type(commandLine);
  await page.keyboard.press('Enter');
  if (opts.waitForOutput !== undefined) {
    const want = opts.waitForOutput;
    await waitFor(
      async () => {
        const text = await terminalText(page);
        return typeof want === 'string' ? text.includes(want) : want.test(text);
      },
      { timeoutMs, message: `terminal output ${String(want)} after \`${commandLine}\`` },
    );
  }
}

/**
 * Opens a new integrated terminal, waits until its shell has shown a prompt
 * through shell integration (so that the command reaches
 * onDidStartTerminalShellExecution), then runs commandLine in it (runInTerminal).
 */
export async function openTerminalAndRun(
  page: Page,
  commandLine: string,
  opts: { timeoutMs?: number; waitForOutput?: string | RegExp } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  // Mark the terminals that exist now, to tell the new one apart.
  await page.evaluate(() => {
    document.querySelectorAll('.terminal-wrapper').forEach((w) => w.setAttribute('data-harness-seen', '1'));
  });
  await runCommand(page, 'Terminal: Create New Terminal', { timeoutMs });
  const fresh = `${ACTIVE_TERMINAL}:not([data-harness-seen])`;
  await page.waitForSelector(`${fresh} .xterm`, { timeout: timeoutMs });
  try {
    await page.waitForSelector(`${fresh} ${PROMPT_DECORATION}`, { timeout: timeoutMs, state: 'attached' });
  } catch (e) {
    throw new Error(
      `openTerminalAndRun: the new terminal showed no shell-integration prompt within ${timeoutMs / 1000} s ` +
        `(is the shell bash and terminal.integrated.shellIntegration.enabled on?). Terminal text:\n${await terminalText(page)}\n${errorText(e)}`,
    );
  }
  await runInTerminal(page, commandLine, opts);
}

/**
 * Finds the webview frame (webviews live in nested iframes) that has an
 * element matching selector, waiting for it to appear.
 */
export async function findInWebviews(page: Page, selector: string, opts: { timeoutMs?: number } = {}): Promise<Frame> {
  return waitFor(
    async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame() || frame.isDetached()) continue;
        try {
          if (await frame.$(selector)) return frame;
        } catch {
          /* frame navigated or detached meanwhile */
        }
      }
      return undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 250, message: `a webview element matching ${selector}` },
  );
}

/** Saves a PNG of the page (creating the folder); returns the path. */
export async function screenshot(page: Page, file: string): Promise<string> {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  await page.screenshot({ path: file });
  return file;
}

/** The text of remoteexthost.log (extension host log, including extensions' console output), or ''. */
export function extensionHostLog(server: CodeServer): string {
  try {
    return fs.readFileSync(path.join(server.logsDir(), 'exthost1', 'remoteexthost.log'), 'utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------
// Extension-host (mocha) tests

/**
 * Runs an extensionTestsPath module (exporting run(): Promise<void>, e.g.
 * exthostMocha.js) inside code-server's real extension host, through the
 * smoke-test driver, and returns its exit code and output.
 *
 * The workbench reports exit code 0 even if the extension host dies, so the
 * run() wrapper must record its completion in $CARBON_METER_TEST_RESULT (as
 * exthostMocha.ts does): "exit 0 without a completion record" is a failure.
 */
export async function runExtensionHostTests(opts: ExtensionHostTestOptions): Promise<ExtensionHostTestResult> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const testsPath = path.resolve(opts.testsPath);
  if (!fs.existsSync(testsPath))
    throw new Error(`harness: testsPath ${testsPath} does not exist (compile the tests first)`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carbon-meter-exthost-'));
  const resultFile = path.join(tmp, 'result.json');
  const outputFile = path.join(tmp, 'output.log');
  const consoleLines: string[] = [];
  let server: CodeServer | undefined;
  try {
    server = await startCodeServer({
      workspace: opts.workspace,
      extensionDevelopmentPath: opts.extensionDevelopmentPath,
      vsix: opts.vsix,
      smokeTestDriver: true,
      settings: opts.settings,
      env: { ...(opts.env ?? {}), [ENV_TEST_RESULT]: resultFile, [ENV_TEST_OUTPUT]: outputFile },
    });
    const srv = server as CodeServerProcess;

    let settle!: (o: Outcome) => void;
    const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
    const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
    const unsubscribe = srv.onExit(() => settle({ kind: 'server-died' }));
    let result: Outcome;
    try {
      // Not awaited on its own: fast tests may finish (and the page go away)
      // before the workbench counts as restored. The first outcome wins.
      void openWorkbench(server, {
        payload: [['extensionTestsPath', remoteUri(server, testsPath)]],
        timeoutMs: Math.min(timeoutMs, 120_000),
        beforeNavigate: async (page) => {
          await page.exposeFunction('codeAutomationExit', (code: unknown) => {
            settle({ kind: 'exit', code: typeof code === 'number' ? code : Number(code) || 0 });
          });
          await page.exposeFunction('codeAutomationLog', (type: unknown, args: unknown) => {
            const parts = Array.isArray(args) ? args : [args];
            consoleLines.push(
              `${type === 'error' ? '[error] ' : ''}${parts.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`,
            );
          });
          page.on('crash', () => settle({ kind: 'page-crashed' }));
        },
      }).catch((e) => settle({ kind: 'open-failed', message: errorText(e) }));
      result = await outcome;
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }

    const record = readRecord(resultFile);
    const testOutput = readText(outputFile);
    let exitCode: number;
    let verdict: string;
    switch (result.kind) {
      case 'timeout':
        exitCode = 1;
        verdict = `timed out after ${(timeoutMs / 1000).toFixed(0)} s`;
        break;
      case 'server-died':
        exitCode = 1;
        verdict = `code-server ${srv.exitDescription()} during the run. Last output:\n${srv.output(40)}`;
        break;
      case 'page-crashed':
        exitCode = 1;
        verdict = 'the browser page crashed';
        break;
      case 'open-failed':
        exitCode = 1;
        verdict = `the workbench did not open: ${result.message}`;
        break;
      case 'exit':
        if (result.code !== 0) {
          exitCode = result.code > 0 ? result.code : 1;
          verdict = `the tests failed (exit code ${result.code})`;
        } else if (!record || record.state !== 'done') {
          exitCode = 1;
          verdict =
            `the workbench reported exit code 0 but the tests recorded ${record ? `state "${record.state}"` : 'nothing'} ` +
            `in ${ENV_TEST_RESULT}: the extension host probably died (a crash or process.exit) before the tests finished`;
        } else if ((record.failures ?? 0) > 0) {
          exitCode = 1;
          verdict = `${record.failures} test(s) failed`;
        } else {
          exitCode = 0;
          verdict = 'ok';
        }
        break;
    }
    if (record?.error) verdict += `\nrecorded error: ${record.error}`;
    const exthostLog = exitCode !== 0 ? extensionHostLog(server) : '';

    const parts: string[] = [];
    parts.push(testOutput.trim() ? testOutput.trimEnd() : consoleLines.join('\n') || '(no test output)');
    if (exthostLog && (!record || record.state !== 'done')) {
      parts.push(
        '--- extension host log (last 60 lines) ---\n' + exthostLog.trimEnd().split('\n').slice(-60).join('\n'),
      );
    }
    parts.push(`[exthost tests] exit code ${exitCode}: ${verdict} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    parts.push(summaryLine(record, exitCode));
    const output = parts.join('\n') + '\n';
    if (opts.print !== false) process.stdout.write(output);
    return { exitCode, output, record, durationMs: Date.now() - t0 };
  } finally {
    if (server) await server.stop();
    removeDir(tmp);
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
