/**
 * Test-only extensions that the extension-host tests load next to Carbon Meter: every folder
 * `test/vscode-fixture-<name>/` whose package.json says `"carbonMeterTestExtension": true` (for instance the
 * `debugpy` debugger of test/vscode-fixture-debugpy, served by debugpy's own adapter). They are never packaged
 * (.vscodeignore is an allowlist) and the product never depends on them. test/vscode-fixture-ext, the harness
 * self-check's throwaway extension, has no such flag and is not loaded.
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
