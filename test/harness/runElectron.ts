/**
 * Runs Carbon Meter's extension-host tests in a downloaded desktop VS Code with
 * @vscode/test-electron, for machines that can reach the VS Code download
 * servers. The same suite (exthostMocha.ts) runs offline in code-server with
 * runExthost.ts.
 *
 *   node out/test/harness/runElectron.js      (Linux without a display: xvfb-run -a ...)
 *
 * Environment: VSCODE_TEST_VERSION (default "stable"), VSCODE_EXECUTABLE_PATH
 * (use an installed VS Code, no download), and the CARBON_METER_TEST_* of
 * exthostMocha.ts (CARBON_METER_TEST_GLOB, CARBON_METER_TEST_GREP, ...). Like
 * runExthost.ts, it opens a fresh copy of test/fixtures/workspace and
 * points $CARBON_METER_HOME at a throwaway history folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { runTests, TestRunFailedError } from '@vscode/test-electron';
import { ENV_TEST_OUTPUT, ENV_TEST_RESULT, readRecord, summaryLine } from './results';
import { makeTestWorkspace } from './workspace';
import { testExtensions } from './testExtensions';

const NETWORK_ERROR =
  /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|getaddrinfo|socket hang up|timed? ?out|Failed to get VS Code|Failed to download|Failed to fetch/i;

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : JSON.stringify(e);
}

/** The extension root: the nearest folder above this file with a package.json that has engines.vscode. */
function extensionRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (
      fs.existsSync(file) &&
      (JSON.parse(fs.readFileSync(file, 'utf8')) as { engines?: { vscode?: string } }).engines?.vscode
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no extension package.json above ${__dirname}`);
  }
}

async function main(): Promise<number> {
  const root = extensionRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { main?: string };
  if (pkg.main && !fs.existsSync(path.resolve(root, pkg.main))) {
    console.error(`runElectron: ${pkg.main} is missing: run \`npm run build\` first.`);
    return 1;
  }
  const ws = makeTestWorkspace(root);
  const resultFile = path.join(ws.tmpDir, 'result.json');
  const outputFile = path.join(ws.tmpDir, 'output.log');
  try {
    let exitCode = 0;
    try {
      exitCode = await runTests({
        version: process.env.VSCODE_TEST_VERSION || 'stable',
        vscodeExecutablePath: process.env.VSCODE_EXECUTABLE_PATH || undefined,
        cachePath: path.join(root, '.vscode-test'),
        // ours first (the one under test), then the test-only extensions (testExtensions.ts)
        extensionDevelopmentPath: [root, ...testExtensions(root)],
        extensionTestsPath: path.join(__dirname, 'exthostMocha.js'),
        launchArgs: [
          ws.workspace,
          '--disable-extensions',
          '--disable-workspace-trust',
          '--skip-welcome',
          '--skip-release-notes',
          '--user-data-dir',
          path.join(ws.tmpDir, 'user-data'),
        ],
        extensionTestsEnv: { ...ws.env, [ENV_TEST_RESULT]: resultFile, [ENV_TEST_OUTPUT]: outputFile },
      });
    } catch (e) {
      if (e instanceof TestRunFailedError) {
        exitCode = typeof e.code === 'number' && e.code > 0 ? e.code : 1;
      } else if (NETWORK_ERROR.test(message(e))) {
        console.error(
          `runElectron: could not download VS Code (${message(e)}).\n` +
            'This machine seems to be offline. Set VSCODE_EXECUTABLE_PATH to an installed VS Code, ' +
            'or run the same suite offline in code-server: `npm run test:vscode`.',
        );
        console.log(summaryLine(undefined, 1));
        return 1;
      } else {
        throw e;
      }
    }

    const record = readRecord(resultFile);
    if (exitCode === 0 && record?.state !== 'done') {
      console.error(
        `runElectron: VS Code exited with 0 but the tests recorded ${record ? `"${record.state}"` : 'nothing'}: the extension host probably died.`,
      );
      exitCode = 1;
    }
    if (exitCode === 0 && (record?.failures ?? 0) > 0) exitCode = 1;
    if (record?.error) console.error(`runElectron: ${record.error}`);
    console.log(summaryLine(record, exitCode));
    return exitCode;
  } finally {
    ws.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`runElectron: ${message(e)}`);
    console.log(summaryLine(undefined, 1));
    process.exit(1);
  },
);
