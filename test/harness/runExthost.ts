/**
 * Runs Carbon Meter's extension-host tests (out/test/vscode/** /*.test.js) in a
 * real VS Code: code-server + headless Chromium, offline. The same suite runs
 * under @vscode/test-electron with runElectron.ts.
 *
 *   node out/test/harness/runExthost.js [--workspace DIR | --template DIR] [--glob GLOB] [--grep REGEX] [--timeout-ms N]
 *
 * The workspace is a fresh copy of test/fixtures/workspace (when it
 * exists; --template or $CARBON_METER_TEST_WORKSPACE_TEMPLATE to change it),
 * and $CARBON_METER_HOME a throwaway history folder. Test-only extensions (every
 * test/vscode-fixture-* flagged "carbonMeterTestExtension", see testExtensions.ts)
 * are packed and installed next to Carbon Meter.
 *
 * Needs: `bash scripts/vscode/install-code-server.sh`, chromium, the extension
 * built (package.json "main") and the tests compiled. Exits with the tests'
 * exit code; the last line is `exthost: N passed, N failed`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot, runExtensionHostTests } from './codeServer';
import { makeTestWorkspace } from './workspace';
import { packTestExtensions, testExtensions } from './testExtensions';

function usage(message: string): never {
  console.error(`runExthost: ${message}`);
  console.error(
    'usage: runExthost [--workspace DIR | --template DIR] [--glob GLOB[,GLOB]] [--grep REGEX] [--timeout-ms N]',
  );
  process.exit(2);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const opt: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--(workspace|template|glob|grep|timeout-ms)(?:=(.*))?$/.exec(args[i]);
    if (!m) usage(`unknown argument ${args[i]}`);
    const value = m[2] ?? args[++i];
    if (value === undefined) usage(`${args[i - 1]} needs a value`);
    opt[m[1]] = value;
  }

  const root = repoRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { main?: string };
  if (pkg.main && !fs.existsSync(path.resolve(root, pkg.main))) {
    console.error(`runExthost: ${pkg.main} is missing: run \`npm run build\` first.`);
    return 1;
  }
  const testsPath = path.join(__dirname, 'exthostMocha.js');

  // A fresh workspace (a copy of test/fixtures/workspace if it exists)
  // and a throwaway history folder ($CARBON_METER_HOME) per run.
  const ws = makeTestWorkspace(root, { workspace: opt.workspace, template: opt.template });
  const env: Record<string, string> = { ...ws.env };
  if (opt.glob) env.CARBON_METER_TEST_GLOB = opt.glob;
  if (opt.grep) env.CARBON_METER_TEST_GREP = opt.grep;
  console.log(
    `runExthost: workspace ${ws.workspace}${ws.template ? ` (copy of ${path.relative(root, ws.template)})` : ''}`,
  );
  try {
    // test-only extensions (test/vscode-fixture-*/ flagged "carbonMeterTestExtension"), installed next to ours
    const extra = testExtensions(root);
    if (extra.length) console.log(`runExthost: test extensions ${extra.map((p) => path.relative(root, p)).join(', ')}`);
    const vsix = await packTestExtensions(extra, path.join(ws.tmpDir, 'test-extensions'));
    const { exitCode } = await runExtensionHostTests({
      extensionDevelopmentPath: root,
      vsix,
      testsPath,
      workspace: ws.workspace,
      env,
      timeoutMs: opt['timeout-ms'] ? Number(opt['timeout-ms']) : undefined,
    });
    return exitCode;
  } finally {
    ws.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`runExthost: ${e instanceof Error ? e.message : String(e)}`);
    console.log('exthost: 0 passed, 1 failed');
    process.exit(1);
  },
);
