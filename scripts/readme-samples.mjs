// Rewrites README.md's sample outputs from real output: runs the built CLI (dist/cli.js; `npm run build` first) on
// examples/train_cpu.py with a fresh, temporary CARBON_METER_HOME, and replaces each block between
// `<!-- readme-sample:NAME -->` and `<!-- /readme-sample:NAME -->` with what the CLI printed.
// Only the temporary history folder is replaced in the text, by $CARBON_METER_HOME. Before writing, it checks that
// the sample agrees with its own stated formula (CPU energy = TDP × CPU time ÷ logical CPUs for the TDP model), so
// a README can never again show a figure its formula does not give.
// Usage: node scripts/readme-samples.mjs [--epochs N] [--region CODE]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.js');
const readmePath = path.join(root, 'README.md');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const epochs = arg('epochs', '20');
const region = arg('region', 'FR');
const python = process.env.PYTHON ?? 'python3';

if (!fs.existsSync(cli)) fail(`${cli} is missing: run 'npm run build' first`);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-readme-'));
const env = { ...process.env, CARBON_METER_HOME: home };
for (const k of Object.keys(env)) if (k.startsWith('CARBON_METER_') && k !== 'CARBON_METER_HOME') delete env[k];

function cm(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, env, encoding: 'utf8' });
  if (r.status !== 0) fail(`carbon-meter ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

function fail(message) {
  console.error(`readme-samples: ${message}`);
  process.exit(1);
}

const recordFile = path.join(home, 'record.json');
const command = [
  'run',
  '--quiet',
  '--region',
  region,
  '--json-out',
  recordFile,
  '--',
  python,
  'examples/train_cpu.py',
  '--epochs',
  epochs,
];
const run = cm(command);
const record = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
checkFormula(record);

const samples = {
  run: `$ carbon-meter ${command
    .filter((a, i) => !(a === '--json-out' || command[i - 1] === '--json-out') && a !== '--quiet')
    .join(' ')
    .replace(
      python,
      'python3',
    )}\n${run.stdout.trimEnd().split('\n').slice(-2).join('\n').replace(/^/, '…\n')}\n${run.stderr.trimEnd()}`,
  history: `$ carbon-meter history\n${cm(['history']).stdout.trimEnd()}`,
  regions: `$ carbon-meter regions --energy-kwh 10 --limit 5\n${cm(['regions', '--energy-kwh', '10', '--limit', '5']).stdout.trimEnd()}`,
};

let readme = fs.readFileSync(readmePath, 'utf8');
for (const [name, text] of Object.entries(samples)) {
  const block = new RegExp(`(<!-- readme-sample:${name} -->\\n)[\\s\\S]*?(<!-- /readme-sample:${name} -->)`);
  if (!block.test(readme))
    fail(`README.md has no <!-- readme-sample:${name} --> … <!-- /readme-sample:${name} --> block`);
  const body = text.split(home).join('$CARBON_METER_HOME');
  readme = readme.replace(block, (_m, open, close) => `${open}\`\`\`\n${body}\n\`\`\`\n${close}`);
}
fs.writeFileSync(readmePath, readme);
fs.rmSync(home, { recursive: true, force: true });
console.log(
  `readme-samples: README.md updated from a real run (${record.cpuSeconds} CPU s, ${record.hardware.cpuModel})`,
);

/** The figures of the sample must follow from the method it states. */
function checkFormula(r) {
  const e = r.energyKWh;
  const sum = (e.cpu + e.gpu + e.ram) * r.pue;
  if (Math.abs(sum - e.total) > 1e-12 + 1e-9 * e.total)
    fail(`total ${e.total} kWh is not (cpu + gpu + ram) × PUE = ${sum}`);
  const cpu = r.power.cpu;
  if (cpu.method !== 'measured' && cpu.tdpW) {
    const modelKWh = (cpu.tdpW * r.cpuSeconds) / r.hardware.logicalCpus / 3.6e6;
    if (Math.abs(modelKWh - e.cpu) > 0.02 * modelKWh)
      fail(`CPU energy ${e.cpu} kWh is not TDP × CPU time ÷ logical CPUs = ${modelKWh} kWh`);
  }
  const g = (e.total * r.intensity.gPerKWh) / 1000;
  if (Math.abs(g - r.emissionsKg) > 1e-9 + 1e-6 * g)
    fail(`emissions ${r.emissionsKg} kg are not energy × intensity = ${g} kg`);
}
