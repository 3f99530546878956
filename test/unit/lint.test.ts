/**
 * The layering of ARCHITECTURE.md is enforced by eslint.config.mjs. These cases run the project's real ESLint
 * configuration on small sources placed (virtually) in each layer, so a config edit that drops a ban fails here.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.join(__dirname, '..', '..', '..');

describe('lint: the layering rules of eslint.config.mjs', function () {
  // the sources below are not on disk, so the type-aware rules (which need the file in a tsconfig) are left out
  const eslint = new ESLint({
    cwd: ROOT,
    overrideConfig: [
      {
        files: ['src/**/*.ts'],
        languageOptions: { parserOptions: { projectService: false } },
        rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
      },
    ],
  });

  async function problems(file: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
    return result.messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
  }

  const banned: [string, string, RegExp][] = [
    [
      'src/core/probe.ts',
      "import * as vscode from 'vscode';\nexport const v = vscode;\n",
      /no-restricted-imports: .*Only src\/extension may import vscode/,
    ],
    [
      'src/core/power/probe.ts',
      "import type { Settings } from '../../extension/settings';\nexport type S = Settings;\n",
      /src\/core never imports from src\/extension/,
    ],
    [
      'src/core/probe.ts',
      "export { App } from '../webview/app';\n",
      /src\/core never imports from src\/extension, src\/webview or src\/cli/,
    ],
    [
      'src/core/advice/probe.ts',
      "import { main } from '../../cli/main';\nexport const m = main;\n",
      /src\/core never imports/,
    ],
    [
      'src/core/probe.ts',
      "export async function f() { return import('vscode'); }\n",
      /no-restricted-syntax: a dynamic import/,
    ],
    [
      'src/core/probe.ts',
      "// eslint-disable-next-line @typescript-eslint/no-require-imports\nexport const v = require('vscode');\n",
      /no-restricted-syntax: require\(\)/,
    ],
    [
      'src/cli/probe.ts',
      "import * as vscode from 'vscode';\nexport const v = vscode;\n",
      /Only src\/extension may import vscode/,
    ],
    [
      'src/shared/probe.ts',
      "import * as vscode from 'vscode';\nexport const v = vscode;\n",
      /Only src\/extension may import vscode/,
    ],
    ['src/webview/probe.ts', "import * as fs from 'fs';\nexport const f = fs;\n", /browser sandbox: no Node modules/],
    [
      'src/webview/probe.ts',
      "import * as path from 'node:path';\nexport const p = path;\n",
      /browser sandbox: no Node modules/,
    ],
    [
      'src/webview/probe.ts',
      "import * as vscode from 'vscode';\nexport const v = vscode;\n",
      /talk to the extension through src\/shared\/protocol\.ts/,
    ],
  ];
  for (const [file, code, expected] of banned) {
    it(`${file}: ${code.split('\n').find((l) => !l.startsWith('//'))}`, async () => {
      const found = await problems(file, code);
      assert.ok(
        found.some((p) => expected.test(p)),
        `expected ${expected}, got: ${found.join(' | ') || 'no problem'}`,
      );
    });
  }

  const allowed: [string, string][] = [
    ['src/extension/probe.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n"],
    [
      'src/core/probe.ts',
      "import * as fs from 'node:fs';\nimport { errorMessage } from './errors';\nexport const f = [fs, errorMessage];\n",
    ],
    ['src/core/probe.ts', "import { parseArgs } from './cliArgs';\nexport const p = parseArgs;\n"],
    [
      'src/webview/probe.ts',
      "import { formatCo2 } from '../core/format';\nimport type { Snapshot } from '../shared/protocol';\nexport const f = formatCo2;\nexport type S = Snapshot;\n",
    ],
  ];
  for (const [file, code] of allowed) {
    it(`${file} may: ${code.split('\n')[0]}`, async () => {
      assert.deepEqual(await problems(file, code), []);
    });
  }
});
