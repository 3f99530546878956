// `npm test`: every tier, in order, stopping at the first failure, and one closing line with the totals.
//   build + package → types → layering → unit (plain Node) → extension host (real VS Code) → UI (real VS Code + Chromium)
import { spawn } from 'node:child_process';

const steps = [
  ['package the extension', 'npm', ['run', 'package']],
  ['type-check', 'npx', ['tsc', '-p', '.', '--noEmit']],
  ['layering', 'node', ['scripts/lint-core.mjs']],
  ['compile tests', 'npx', ['tsc', '-p', 'tsconfig.test.json']],
  ['unit tests', 'npx', ['mocha']],
  ['VS Code for tests', 'bash', ['scripts/vscode/install-code-server.sh']],
  ['extension-host tests (code-server)', 'node', ['out/test/harness/runExthost.js']],
  ['UI tests (code-server + Chromium)', 'npx', ['mocha', '--no-config', '--timeout', '600000', 'out/test/ui/**/*.test.js']],
];

let passed = 0;
let failed = 0;
let pending = 0;
const started = Date.now();
for (const [name, cmd, args] of steps) {
  console.log(`\n== ${name}: ${cmd} ${args.join(' ')}`);
  let out = '';
  const code = await new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => { process.stdout.write(d); out += d; });
    child.stderr.on('data', (d) => { process.stderr.write(d); });
    child.on('close', (c) => resolve(c ?? 1));
  });
  // mocha's spec reporter: "N passing", "N failing", "N pending"
  const count = (re) => [...out.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
  passed += count(/^\s*(\d+) passing/gm);
  failed += count(/^\s*(\d+) failing/gm);
  pending += count(/^\s*(\d+) pending/gm);
  if (code !== 0) {
    console.log(`\n== ${name} failed (exit ${code}) after ${Math.round((Date.now() - started) / 1000)} s`);
    console.log(`${passed} passed, ${Math.max(failed, 1)} failed${pending ? `, ${pending} skipped` : ''}`);
    process.exit(code);
  }
}
console.log(`\n== all tiers passed in ${Math.round((Date.now() - started) / 1000)} s`);
console.log(`${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
