/**
 * A throwaway workspace and history folder for one extension-host test run,
 * shared by runExthost.ts (code-server) and runElectron.ts (test-electron).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Copied into each run's fresh workspace when it exists (override: CARBON_METER_TEST_WORKSPACE_TEMPLATE). */
export const DEFAULT_WORKSPACE_TEMPLATE = path.join('test', 'fixtures', 'workspace');

export interface TestWorkspace {
  /** The folder to open in VS Code (a fresh copy of the template, or empty). */
  workspace: string;
  /** The environment for the extension host: CARBON_METER_HOME (a throwaway history) and CARBON_METER_TEST_ROOT. */
  env: Record<string, string>;
  /** This run's temp folder (for result files and the like); removed by cleanup(). */
  tmpDir: string;
  /** Where the template came from, if any. */
  template?: string;
  /** Removes the temp folders (not a workspace given with `workspace`). */
  cleanup(): void;
}

/**
 * Makes the folders for one run under os.tmpdir(). With opts.workspace, that
 * folder is used as it is; otherwise a fresh folder gets a copy of the
 * template (opts.template, $CARBON_METER_TEST_WORKSPACE_TEMPLATE, or
 * test/fixtures/workspace when it exists).
 */
export function makeTestWorkspace(root: string, opts: { workspace?: string; template?: string } = {}): TestWorkspace {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carbon-meter-run-'));
  const home = path.join(tmp, 'carbon-meter-home');
  fs.mkdirSync(home);
  let workspace: string;
  let template: string | undefined;
  if (opts.workspace) {
    workspace = path.resolve(opts.workspace);
  } else {
    workspace = path.join(tmp, 'workspace');
    const candidate = opts.template ?? process.env.CARBON_METER_TEST_WORKSPACE_TEMPLATE ?? DEFAULT_WORKSPACE_TEMPLATE;
    const abs = path.resolve(root, candidate);
    if (fs.existsSync(abs)) {
      template = abs;
      fs.cpSync(abs, workspace, { recursive: true });
    } else {
      fs.mkdirSync(workspace);
    }
  }
  return {
    workspace,
    tmpDir: tmp,
    template,
    env: { CARBON_METER_HOME: home, CARBON_METER_TEST_ROOT: root },
    cleanup: () => fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 }),
  };
}
