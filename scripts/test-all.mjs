// `npm test`: every tier, in order, stopping at the first failure, and one closing line with the real totals.
//   system packages → build + package → types → lint → unit (plain Node) → VS Code for tests →
//   extension host (real VS Code) → UI (real VS Code + Chromium)
// On a fresh Debian clone, `npm ci && npm test` is all it takes: the set-up steps install what is missing
// (system packages as root, code-server and its Node 24 under .vscode-test/) and do nothing when it is there.
import { spawn } from 'node:child_process';

const steps = [
  ['system packages', 'bash', ['scripts/setup/system-packages.sh']],
  ['package the extension', 'npm', ['run', 'package']],
  ['type-check', 'npm', ['run', 'typecheck']],
  ['lint (ESLint: typescript-eslint, layer import bans; Prettier)', 'npm', ['run', 'lint']],
  ['compile tests', 'npx', ['tsc', '-p', 'tsconfig.test.json']],
  // a single-node SLURM with accounting (Debian's slurm-wlm, slurmdbd, MariaDB) for the SLURM tests; needs root
  [
    'SLURM test cluster',
    'bash',
    [
      '-c',
      'if [ "$(id -u)" = 0 ]; then bash scripts/slurm/local-cluster.sh start; else echo "not root: no local SLURM cluster; the SLURM cluster tests will say they skip"; fi',
    ],
  ],
  ['unit tests', 'npx', ['mocha']],
  ['VS Code for tests', 'bash', ['scripts/vscode/install-code-server.sh']],
  // a safety deadline for the whole tier, not a speed goal: the tier takes minutes, more on a loaded machine
  [
    'extension-host tests (code-server)',
    'node',
    ['out/test/harness/runExthost.js', '--timeout-ms', String(45 * 60_000)],
  ],
  [
    'UI tests (code-server + Chromium)',
    'npx',
    ['mocha', '--no-config', '--timeout', '600000', 'out/test/ui/**/*.test.js'],
  ],
];

/** Totals from mocha's spec reporter ("N passing", "N failing", "N pending"), summed over the tiers run so far. */
const totals = { passed: 0, failed: 0, pending: 0 };
const count = (out, re) => [...out.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
const summary = () =>
  `${totals.passed} passed, ${totals.failed} failed${totals.pending ? `, ${totals.pending} skipped` : ''}`;

const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
for (const [name, cmd, args] of steps) {
  console.log(`\n== ${name}: ${cmd} ${args.join(' ')} (${elapsed()})`);
  let out = '';
  const code = await new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      out += d;
    });
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('error', (err) => {
      console.log(`cannot start ${cmd}: ${err.message}`);
      resolve(127);
    });
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  totals.passed += count(out, /^\s*(\d+) passing/gm);
  totals.failed += count(out, /^\s*(\d+) failing/gm);
  totals.pending += count(out, /^\s*(\d+) pending/gm);
  if (code !== 0) {
    const why = count(out, /^\s*(\d+) failing/gm) > 0 ? 'tests failed' : 'the step itself failed, not a test';
    console.log(`\n== step "${name}" failed (exit ${code}: ${why}) after ${elapsed()}`);
    console.log(`${summary()}; stopped at "${name}"`);
    process.exit(code);
  }
}
console.log(`\n== all tiers passed in ${elapsed()}`);
console.log(summary());
