/**
 * Test-only extensions that the extension-host tests load next to Carbon Meter: every folder
 * `test/vscode-fixture-<name>/` whose package.json says `"carbonMeterTestExtension": true` (for instance the
 * `debugpy` debugger of test/vscode-fixture-debugpy, served by debugpy's own adapter). They are never packaged
 * with Carbon Meter (.vscodeignore is an allowlist) and the product never depends on them.
 * test/vscode-fixture-ext, the harness self-check's throwaway extension, has no such flag and is not loaded.
 *
 * code-server takes one extension under development only (the workbench reads its URL payload into a Map, so a
 * second `extensionDevelopmentPath` entry replaces the first): runExthost.ts packs these into .vsix files with
 * vsce and installs them into the run's throwaway extensions folder. Desktop VS Code (runElectron.ts) takes several
 * `--extensionDevelopmentPath` arguments and loads the folders as they are.
 */
import * as fs from 'fs';
import * as path from 'path';

export const TEST_EXTENSION_FLAG = 'carbonMeterTestExtension';

/** Absolute folders of the flagged test extensions under `<root>/test`, sorted by name. */
export function testExtensions(root: string): string[] {
  const testDir = path.join(root, 'test');
  let names: string[];
  try {
    names = fs.readdirSync(testDir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.filter((n) => n.startsWith('vscode-fixture-')).sort()) {
    const manifest = path.join(testDir, name, 'package.json');
    let pkg: unknown;
    try {
      pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(
        `harness: ${path.relative(root, manifest)} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (pkg && typeof pkg === 'object' && (pkg as Record<string, unknown>)[TEST_EXTENSION_FLAG] === true) {
      out.push(path.join(testDir, name));
    }
  }
  return out;
}

interface Vsce {
  createVSIX(options: Record<string, unknown>): Promise<unknown>;
}

/** Packs each test extension folder into `<outDir>/<folder>.vsix` (vsce, no dependencies); returns the files. */
export async function packTestExtensions(dirs: string[], outDir: string): Promise<string[]> {
  if (!dirs.length) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vsce = require('@vscode/vsce') as Vsce;
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const dir of dirs) {
    const packagePath = path.join(outDir, `${path.basename(dir)}.vsix`);
    try {
      await vsce.createVSIX({
        cwd: dir,
        packagePath,
        dependencies: false,
        allowMissingRepository: true,
        skipLicense: true,
      });
    } catch (e) {
      throw new Error(
        `harness: packing the test extension ${dir} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    files.push(packagePath);
  }
  return files;
}
