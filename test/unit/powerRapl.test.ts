import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  classifyRaplError,
  counterDeltaUj,
  NO_RAPL_REASON,
  parseMicrojoules,
  probeRapl,
  raplFixCommand,
  RaplReader,
  type RaplProbe,
} from '../../src/core/power/rapl';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'powercap');
const NOBODY = 65534;

const temps: string[] = [];

/** Copies a fixture tree (keeping its relative symlinks) to a temporary folder; returns the powercap root. */
function copyFixture(name: string): { base: string; root: string } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `cm-powercap-${name}-`));
  temps.push(base);
  fs.cpSync(path.join(FIXTURES, name), base, { recursive: true, verbatimSymlinks: true });
  return { base, root: path.join(base, 'class', 'powercap') };
}

function writeEnergy(root: string, zone: string, uj: number | string): void {
  fs.writeFileSync(path.join(root, zone, 'energy_uj'), `${uj}\n`);
}

function realError(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected the call to fail');
}

after(() => {
  for (const t of temps) fs.rmSync(t, { recursive: true, force: true });
});

describe('power/rapl: the fixtures', () => {
  it('look like sysfs: flat symlinks under class/powercap into devices/virtual/powercap', () => {
    const root = path.join(FIXTURES, 'xeon-2s', 'class', 'powercap');
    assert.deepEqual(fs.readdirSync(root).sort(), [
      'intel-rapl',
      'intel-rapl:0',
      'intel-rapl:0:0',
      'intel-rapl:0:1',
      'intel-rapl:1',
      'intel-rapl:1:0',
      'intel-rapl:1:1',
    ]);
    assert.ok(fs.lstatSync(path.join(root, 'intel-rapl:0')).isSymbolicLink());
    assert.equal(
      fs.readlinkSync(path.join(root, 'intel-rapl:0:0')),
      '../../devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0',
    );
    assert.equal(fs.readFileSync(path.join(root, 'intel-rapl:0', 'name'), 'utf8'), 'package-0\n');
    assert.equal(fs.readFileSync(path.join(root, 'intel-rapl:0', 'energy_uj'), 'utf8'), '123456789\n');
    assert.equal(fs.readFileSync(path.join(root, 'intel-rapl:0', 'max_energy_range_uj'), 'utf8'), '262143328850\n');
    assert.equal(fs.readFileSync(path.join(root, 'intel-rapl:0:0', 'name'), 'utf8'), 'core\n');
  });
});

describe('power/rapl: probeRapl', () => {
  it('says there is no RAPL when the powercap folder is missing', () => {
    const p = probeRapl(path.join(os.tmpdir(), 'cm-no-such-powercap', 'class', 'powercap'));
    assert.deepEqual(p, { readable: false, domains: [], reason: NO_RAPL_REASON });
    assert.equal(NO_RAPL_REASON, 'no RAPL powercap interface (not Linux, a VM, or the driver is not loaded)');
  });

  it('finds both packages of a two-socket machine and skips their core and dram sub-zones', () => {
    const { root } = copyFixture('xeon-2s');
    const p = probeRapl(root);
    assert.equal(p.readable, true);
    assert.equal(p.reason, undefined);
    assert.deepEqual(p.domains, [
      { name: 'package-0', dir: path.join(root, 'intel-rapl:0'), maxEnergyRangeUj: 262143328850 },
      { name: 'package-1', dir: path.join(root, 'intel-rapl:1'), maxEnergyRangeUj: 262143328850 },
    ]);
  });

  it('on a laptop reads the package only: not psys, not the MMIO copy of the package', () => {
    const { root } = copyFixture('laptop');
    const p = probeRapl(root);
    assert.equal(p.readable, true);
    assert.deepEqual(
      p.domains.map((d) => [d.name, path.basename(d.dir)]),
      [['package-0', 'intel-rapl:0']],
    );
  });

  it('reads AMD packages through the same intel-rapl tree', () => {
    const { root } = copyFixture('amd-epyc');
    const p = probeRapl(root);
    assert.equal(p.readable, true);
    assert.deepEqual(p.domains, [
      { name: 'package-0', dir: path.join(root, 'intel-rapl:0'), maxEnergyRangeUj: 65532610987 },
    ]);
  });

  it('says so when a powercap folder has no RAPL package zone', () => {
    const { root } = copyFixture('empty');
    const p = probeRapl(root);
    assert.equal(p.readable, false);
    assert.deepEqual(p.domains, []);
    assert.match(p.reason!, /no RAPL package domain under .*\(found: dtpm\)/);
  });

  it('reports a counter that is not a number', () => {
    const { root } = copyFixture('amd-epyc');
    writeEnergy(root, 'intel-rapl:0', 'garbage');
    const p = probeRapl(root);
    assert.equal(p.readable, false);
    assert.equal(p.domains.length, 1);
    assert.match(p.reason!, /energy_uj does not hold a counter: "garbage"/);
    assert.equal(p.fix, undefined);
  });

  it('routes every read through the read function it is given', () => {
    const { root } = copyFixture('amd-epyc');
    const seen: string[] = [];
    const p = probeRapl(root, (file) => {
      seen.push(path.relative(root, file));
      return fs.readFileSync(file, 'utf8');
    });
    assert.equal(p.readable, true);
    assert.deepEqual(seen, ['intel-rapl:0/name', 'intel-rapl:0/max_energy_range_uj', 'intel-rapl:0/energy_uj']);
  });

  it('on this machine answers without throwing, with a reason whenever it is not readable', () => {
    const p = probeRapl();
    assert.equal(typeof p.readable, 'boolean');
    if (!fs.existsSync('/sys/class/powercap')) assert.equal(p.reason, NO_RAPL_REASON);
    if (!p.readable) assert.ok(p.reason && p.reason.length > 10);
    else assert.ok(p.domains.every((d) => d.name.startsWith('package-')));
  });
});

describe('power/rapl: permission denied (a real EACCES)', () => {
  /**
   * Since CVE-2020-8694 energy_uj is 0400 root. Reproduced for real: the counter is chmod 000 and the probe runs
   * as a user the kernel refuses. As root (CI containers) chmod does not stop reads, so the probe then runs in a
   * child process as `nobody` (uid 65534), from a copy of the compiled module in the temporary folder.
   */
  function probeAsUnprivileged(root: string, base: string): { probe: RaplProbe; readerError?: string; uid: number } {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!isRoot) {
      const probe = probeRapl(root);
      let readerError: string | undefined;
      try {
        new RaplReader([
          { name: 'package-0', dir: path.join(root, 'intel-rapl:0'), maxEnergyRangeUj: 1 },
        ]).readDeltaUj();
      } catch (err) {
        readerError = (err as NodeJS.ErrnoException).code;
      }
      return { probe, readerError, uid: process.getuid?.() ?? -1 };
    }
    // the compiled module and what it requires, in the same layout (power/rapl.js needs ../errors.js)
    fs.mkdirSync(path.join(base, 'power'));
    const moduleCopy = path.join(base, 'power', 'rapl.js');
    fs.copyFileSync(require.resolve('../../src/core/power/rapl'), moduleCopy);
    fs.copyFileSync(require.resolve('../../src/core/errors'), path.join(base, 'errors.js'));
    fs.chmodSync(path.join(base, 'power'), 0o755);
    fs.chmodSync(path.join(base, 'errors.js'), 0o644);
    // let nobody traverse the temporary folder and read everything but the counter
    for (
      let dir = base;
      dir !== path.dirname(dir) && dir.startsWith(os.tmpdir()) && dir !== os.tmpdir();
      dir = path.dirname(dir)
    ) {
      fs.chmodSync(dir, 0o755);
    }
    fs.chmodSync(moduleCopy, 0o644);
    const code = `
      const rapl = require(${JSON.stringify(moduleCopy)});
      const probe = rapl.probeRapl(${JSON.stringify(root)});
      let readerError;
      try { new rapl.RaplReader([{ name: 'package-0', dir: ${JSON.stringify(path.join(root, 'intel-rapl:0'))}, maxEnergyRangeUj: 1 }]).readDeltaUj(); }
      catch (e) { readerError = e.code; }
      process.stdout.write(JSON.stringify({ probe, readerError, uid: process.getuid() }));
    `;
    const r = spawnSync(process.execPath, ['-e', code], { uid: NOBODY, gid: NOBODY, cwd: base, encoding: 'utf8' });
    assert.equal(r.error, undefined, `could not run a child as nobody: ${r.error?.message}`);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { probe: RaplProbe; readerError?: string; uid: number };
  }

  it('reports permission denied since CVE-2020-8694, with a command that fixes it', function () {
    if (process.platform === 'win32') this.skip();
    const { base, root } = copyFixture('xeon-2s');
    fs.chmodSync(path.join(root, 'intel-rapl:0', 'energy_uj'), 0o000);
    fs.chmodSync(path.join(root, 'intel-rapl:1', 'energy_uj'), 0o000);
    const { probe, readerError, uid } = probeAsUnprivileged(root, base);
    assert.notEqual(uid, 0, 'the probe must run unprivileged');
    assert.equal(probe.readable, false);
    assert.deepEqual(
      probe.domains.map((d) => d.name),
      ['package-0', 'package-1'],
    );
    assert.match(
      probe.reason!,
      /^permission denied reading .*intel-rapl:0\/energy_uj: since the fix for CVE-2020-8694 \(Linux ≥ 5\.10\)/,
    );
    assert.match(probe.reason!, /readable by root only/);
    assert.ok(probe.fix!.startsWith(`run \`sudo chmod a+r ${root}/intel-rapl:*/energy_uj\``), probe.fix);
    assert.match(probe.fix!, /udev rule/);
    assert.match(probe.fix!, /mode class\/powercap\/intel-rapl:0\/energy_uj = 0444/);
    assert.equal(readerError, 'EACCES');
  });
});

describe('power/rapl: error classification', () => {
  it('classifies a real ENOENT as a missing interface', () => {
    const err = realError(() => fs.readFileSync(path.join(os.tmpdir(), 'cm-no-such-dir', 'energy_uj')));
    const c = classifyRaplError(err, '/x/energy_uj');
    assert.equal(c.kind, 'missing');
    assert.match(c.reason, /does not exist \(ENOENT\)/);
    assert.equal(c.fix, undefined);
  });

  it('does not call EISDIR a permission problem', () => {
    const { root } = copyFixture('amd-epyc');
    const err = realError(() => fs.readFileSync(path.join(root, 'intel-rapl:0')));
    assert.equal(err.code, 'EISDIR');
    const c = classifyRaplError(err, 'f');
    assert.equal(c.kind, 'other');
    assert.match(c.reason, /cannot read f \(EISDIR\)/);
  });

  it('treats EPERM like EACCES', () => {
    // EPERM is what some LSMs (and containers with a read-only /sys mask) return for the same refusal
    const err = Object.assign(new Error('EPERM: operation not permitted, open'), { code: 'EPERM' });
    const c = classifyRaplError(err, '/sys/class/powercap/intel-rapl:0/energy_uj');
    assert.equal(c.kind, 'permission');
    assert.match(c.reason, /CVE-2020-8694/);
    assert.match(c.fix!, /sudo chmod a\+r \/sys\/class\/powercap\/intel-rapl:\*\/energy_uj/);
  });

  it('the fix command names the root that was probed', () => {
    assert.match(
      raplFixCommand('/host/sys/class/powercap/'),
      /^run `sudo chmod a\+r \/host\/sys\/class\/powercap\/intel-rapl:\*\/energy_uj`/,
    );
  });
});

describe('power/rapl: RaplReader', () => {
  it('primes on the first call, then sums the energy of both packages since the previous call', () => {
    const { root } = copyFixture('xeon-2s');
    const reader = new RaplReader(probeRapl(root).domains);
    assert.equal(reader.readDeltaUj(), 0);
    writeEnergy(root, 'intel-rapl:0', 123456789 + 5_000_000);
    writeEnergy(root, 'intel-rapl:1', 234567890 + 7_000_000);
    writeEnergy(root, 'intel-rapl:0:0', 1); // a sub-zone: not read, so a change there counts for nothing
    assert.equal(reader.readDeltaUj(), 12_000_000);
    assert.equal(reader.readDeltaUj(), 0);
    writeEnergy(root, 'intel-rapl:1', 234567890 + 7_000_000 + 250);
    assert.equal(reader.readDeltaUj(), 250);
  });

  it('adds max_energy_range_uj when a counter wrapped', () => {
    const { root } = copyFixture('xeon-2s');
    const reader = new RaplReader(probeRapl(root).domains);
    writeEnergy(root, 'intel-rapl:0', 262143328850 - 1_000);
    writeEnergy(root, 'intel-rapl:1', 500);
    reader.readDeltaUj();
    writeEnergy(root, 'intel-rapl:0', 4_000); // wrapped: 1,000 to the top, then 4,000
    writeEnergy(root, 'intel-rapl:1', 1_500);
    assert.equal(reader.readDeltaUj(), 5_000 + 1_000);
  });

  it('wraps at the AMD range too', () => {
    const { root } = copyFixture('amd-epyc');
    const reader = new RaplReader(probeRapl(root).domains);
    writeEnergy(root, 'intel-rapl:0', 65532610987);
    reader.readDeltaUj();
    writeEnergy(root, 'intel-rapl:0', 10);
    assert.equal(reader.readDeltaUj(), 10);
  });

  it('throws on a failed read and keeps the previous readings, so no energy is lost', () => {
    const { root } = copyFixture('xeon-2s');
    const reader = new RaplReader(probeRapl(root).domains);
    reader.readDeltaUj();
    const file = path.join(root, 'intel-rapl:1', 'energy_uj');
    fs.renameSync(file, `${file}.away`);
    writeEnergy(root, 'intel-rapl:0', 123456789 + 100);
    assert.throws(
      () => reader.readDeltaUj(),
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
    fs.renameSync(`${file}.away`, file);
    writeEnergy(root, 'intel-rapl:1', 234567890 + 20);
    assert.equal(reader.readDeltaUj(), 120);
  });

  it('counterDeltaUj: forward, unchanged, wrapped', () => {
    assert.equal(counterDeltaUj(100, 350, 1000), 250);
    assert.equal(counterDeltaUj(100, 100, 1000), 0);
    assert.equal(counterDeltaUj(900, 50, 1000), 150);
  });

  it('parseMicrojoules reads sysfs counters and rejects anything else', () => {
    assert.equal(parseMicrojoules('123456789\n', 'f'), 123456789);
    assert.equal(parseMicrojoules('262143328850\n', 'f'), 262143328850);
    assert.throws(() => parseMicrojoules('-5\n', 'f'), /does not hold a counter/);
    assert.throws(() => parseMicrojoules('', 'f'), /does not hold a counter/);
    assert.throws(() => parseMicrojoules('99999999999999999999\n', 'f'), /too large/);
  });
});
