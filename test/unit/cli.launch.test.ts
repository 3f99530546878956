/**
 * dist/cli.js, the launcher (src/cli/launch.ts): the built CLI run through its V8 code cache, as users run it, with
 * real cache files (taken, used, refused, mismatched, unwritable); and the parts of start-up it relies on: the bundle
 * as the build leaves it (ASCII, Node's built-ins used as they are), koffi's native module loaded straight from
 * beside the bundle, SHA-256 without node:crypto at start.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheHeader, codeCacheDir, readCache, writeCache } from '../../src/cli/launch';
import { directKoffiPath, loadKoffi } from '../../src/core/util/ffi';
import { sha256Hex } from '../../src/core/util/hash';
import { runCli } from '../helpers/cli';

const ROOT = path.join(__dirname, '..', '..', '..');
const DIST = path.join(ROOT, 'dist');
const CLI = path.join(DIST, 'cli.js');

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** One `run` of a short command with the cache in `cacheDir`; the launcher's debug lines about the cache. */
async function runOnce(cacheDir: string, home: string, extra: Record<string, string> = {}) {
  const r = await runCli(CLI, ['run', '--quiet', '--json', '--', 'true'], {
    CARBON_METER_HOME: home,
    CARBON_METER_CODE_CACHE: cacheDir,
    CARBON_METER_DEBUG: '1',
    ...extra,
  });
  assert.equal(r.code, 0, r.stderr);
  const record = JSON.parse(r.stdout.trim().split('\n').pop()!) as { status: string; exitCode: number };
  assert.equal(record.status, 'completed');
  assert.equal(record.exitCode, 0);
  return r.stderr
    .split('\n')
    .filter((l) => l.includes('code cache:'))
    .map((l) => l.replace(/^.*code cache: [^:]*: /, '').replace(/^written \(\d+ bytes\)$/, 'written'));
}

describe('CLI launcher: the V8 code cache', function () {
  this.timeout(120_000);
  before(function () {
    if (!fs.existsSync(CLI) || !fs.existsSync(path.join(DIST, 'cliMain.js'))) this.skip();
  });

  it('is taken at the first run, used by the next, and ties itself to this bundle and this Node', async () => {
    const cacheDir = path.join(tmp('cm-cc-'), 'cache');
    const home = tmp('cm-home-');
    assert.deepEqual(await runOnce(cacheDir, home), ['none', 'written']);
    const file = path.join(cacheDir, 'run.v8cache');
    const buf = fs.readFileSync(file);
    const header = buf.toString('latin1', 0, buf.indexOf(10));
    const stat = fs.statSync(path.join(DIST, 'cliMain.js'));
    assert.equal(header, `${cacheHeader(stat)} partial`, 'a run shorter than the steady state is a partial cache');
    assert.match(
      header,
      new RegExp(`^carbon-meter-code-cache 1 ${process.version.replace(/\./g, '\\.')} ${process.arch} ${stat.size} `),
    );
    assert.ok(buf.length - header.length > 10_000, 'V8 data follows the header');
    if (process.platform !== 'win32') {
      assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'readable by this user alone');
      assert.equal(fs.statSync(cacheDir).mode & 0o777, 0o700);
    }
    assert.deepEqual(await runOnce(cacheDir, home), ['accepted (partial)']);
    assert.equal(fs.readdirSync(cacheDir).join(','), 'run.v8cache', 'no temporary file left');
  });

  /** A cache taken by a first run: its folder, the home, the file, its bytes and where its header line ends. */
  async function taken() {
    const cacheDir = tmp('cm-cc-');
    const home = tmp('cm-home-');
    await runOnce(cacheDir, home);
    const file = path.join(cacheDir, 'run.v8cache');
    const buf = fs.readFileSync(file);
    return { cacheDir, home, file, buf, headerEnd: buf.indexOf(10) };
  }

  it('is refused by V8 when its data is damaged, and taken again; the run is unaffected', async () => {
    const { cacheDir, home, file, buf, headerEnd } = await taken();
    const end = headerEnd + 1;
    // the header still names this bundle; V8's data is garbage of the same length
    fs.writeFileSync(file, Buffer.concat([buf.subarray(0, end), Buffer.alloc(buf.length - end, 0x5a)]));
    assert.deepEqual(await runOnce(cacheDir, home), ['refused by V8', 'written']);
    assert.deepEqual(await runOnce(cacheDir, home), ['accepted (partial)']);
  });

  it('is not used for another build of the bundle (another size, time or file), and is replaced', async () => {
    const { cacheDir, home, file, buf, headerEnd: end } = await taken();
    const other = buf.toString('latin1', 0, end).replace(/ (\d+) (\S+) (\d+) (partial|complete)$/, ' $1 1.5 $3 $4');
    fs.writeFileSync(file, Buffer.concat([Buffer.from(other, 'latin1'), buf.subarray(end)]));
    assert.deepEqual(await runOnce(cacheDir, home), ['none', 'written']);
  });

  it('changes nothing but the start-up when it cannot be written, and is silent without CARBON_METER_DEBUG', async () => {
    const dir = tmp('cm-cc-');
    const blocked = path.join(dir, 'file');
    fs.writeFileSync(blocked, 'a file where the cache folder would be');
    const home = tmp('cm-home-');
    const lines = await runOnce(path.join(blocked, 'cache'), home);
    assert.equal(lines[0], 'none');
    assert.match(lines[1] ?? '', /^not written \(/);
    const quiet = await runCli(CLI, ['run', '--quiet', '--', 'true'], {
      CARBON_METER_HOME: home,
      CARBON_METER_CODE_CACHE: path.join(blocked, 'cache'),
    });
    assert.equal(quiet.code, 0);
    assert.doesNotMatch(quiet.stderr, /cache/i);
  });

  it('is not taken by --help, by a usage error, or when turned off', async () => {
    const cacheDir = tmp('cm-cc-');
    const env = { CARBON_METER_HOME: tmp('cm-home-'), CARBON_METER_CODE_CACHE: cacheDir };
    assert.equal((await runCli(CLI, ['run', '--help'], env)).code, 0);
    assert.equal((await runCli(CLI, ['history', '--no-such-flag'], env)).code, 2);
    assert.deepEqual(fs.readdirSync(cacheDir), []);
    const off = await runCli(CLI, ['history'], { ...env, CARBON_METER_CODE_CACHE: 'off', CARBON_METER_DEBUG: '1' });
    assert.equal(off.code, 0);
    assert.match(off.stderr, /code cache: off: none/);
    assert.deepEqual(fs.readdirSync(cacheDir), []);
    assert.equal((await runCli(CLI, ['history'], env)).code, 0);
    assert.deepEqual(fs.readdirSync(cacheDir), ['history.v8cache'], 'each command has its own cache');
    const version = await runCli(CLI, ['--version'], env);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.deepEqual(fs.readdirSync(cacheDir).sort(), ['history.v8cache', 'other.v8cache'], '--version: the rest');
  });

  it('lives in the user cache folder of each platform, or where CARBON_METER_CODE_CACHE says', () => {
    const home = os.homedir();
    assert.equal(codeCacheDir({ CARBON_METER_CODE_CACHE: 'off' }, 'linux'), undefined);
    assert.equal(codeCacheDir({ CARBON_METER_CODE_CACHE: '0' }, 'linux'), undefined);
    assert.equal(codeCacheDir({ CARBON_METER_CODE_CACHE: '/x/y' }, 'linux'), path.resolve('/x/y'));
    assert.equal(codeCacheDir({ XDG_CACHE_HOME: '/xdg' }, 'linux'), path.join('/xdg', 'carbon-meter'));
    assert.equal(codeCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux'), path.join(home, '.cache', 'carbon-meter'));
    assert.equal(codeCacheDir({}, 'linux'), path.join(home, '.cache', 'carbon-meter'));
    assert.equal(codeCacheDir({}, 'darwin'), path.join(home, 'Library', 'Caches', 'carbon-meter'));
    assert.equal(
      codeCacheDir({ LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' }, 'win32'),
      path.join('C:\\Users\\a\\AppData\\Local', 'carbon-meter', 'Cache'),
    );
  });

  it('reads back what it wrote, and nothing from a file of another format', () => {
    const dir = tmp('cm-cc-');
    const file = path.join(dir, 'x.v8cache');
    writeCache(file, 'carbon-meter-code-cache 1 v0 x64 1 2 3 complete', Buffer.from([1, 2, 10, 3]));
    assert.deepEqual(readCache(file, 'carbon-meter-code-cache 1 v0 x64 1 2 3'), {
      data: Buffer.from([1, 2, 10, 3]),
      complete: true,
    });
    assert.equal(readCache(file, 'carbon-meter-code-cache 1 v0 x64 1 2 4'), undefined);
    fs.writeFileSync(file, 'no header line at all');
    assert.equal(readCache(file, 'carbon-meter-code-cache 1 v0 x64 1 2 3'), undefined);
    assert.equal(readCache(path.join(dir, 'missing'), 'h'), undefined);
  });
});

describe('CLI start-up: what the bundle and its helpers rely on', () => {
  before(function () {
    if (!fs.existsSync(path.join(DIST, 'cliMain.js'))) this.skip();
  });

  it('the CLI bundle is ASCII and uses Node built-ins without copying them (scripts/build.mjs)', () => {
    const raw = fs.readFileSync(path.join(DIST, 'cliMain.js'));
    assert.equal(
      raw.findIndex((b) => b > 0x7f),
      -1,
      'every byte is ASCII',
    );
    const text = raw.toString('latin1');
    assert.doesNotMatch(text, /__toESM\(require\("node:/);
    assert.match(text, /require\("node:fs"\)/);
  });

  it('systeminformation is a bundle apart, loaded by require where it is used, and works from there', async function () {
    this.timeout(60000);
    const bundle = path.join(DIST, 'systeminformation.js');
    for (const name of ['cliMain.js', 'extension.js']) {
      const text = fs.readFileSync(path.join(DIST, name), 'latin1');
      assert.match(text, /require\("\.\/systeminformation\.js"\)/, `${name} loads the bundle beside it`);
      // a dynamic import() would load it as an ES module, and cannot run inside the launcher's vm.Script at all
      assert.doesNotMatch(text, /[^\w.]import\(/, `${name} has no dynamic import()`);
      assert.ok(!text.includes('getStaticData'), `${name} does not carry systeminformation itself`);
    }
    assert.ok(fs.readFileSync(bundle, 'latin1').includes('getStaticData'), 'the bundle apart does');
    const si = createRequire(__filename)(bundle) as { processes(): Promise<{ list: { pid: number }[] }> };
    const { list } = await si.processes();
    assert.ok(
      list.some((p) => p.pid === process.pid),
      'the bundle lists the processes of this machine, this one among them',
    );
  });

  it('koffi: the native module beside the bundle is loaded straight, and is the one koffi itself loads', function () {
    if (process.platform !== 'linux') this.skip();
    const direct = directKoffiPath(DIST);
    if (!direct) this.skip(); // musl, or a platform npm installed no prebuilt module for
    assert.ok(fs.existsSync(direct));
    assert.equal(directKoffiPath(path.join(os.tmpdir(), 'no-such-dist')), undefined);
    const k = loadKoffi(DIST);
    const version = (
      JSON.parse(fs.readFileSync(path.join(DIST, 'node_modules', 'koffi', 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    assert.equal(k.version, version);
    const getpid = k.load('libc.so.6').func('int getpid()');
    assert.equal(getpid(), process.pid, 'a real call through it');
    assert.equal(loadKoffi(DIST), k, 'loaded once');
  });

  it('run loads no node:crypto, with a history and its folder of running runs already there', async () => {
    const dir = tmp('cm-nocrypto-');
    const home = path.join(dir, 'home');
    const cacheDir = path.join(dir, 'cache');
    await runOnce(cacheDir, home); // the first run leaves the history and the running-runs folder behind
    assert.ok(fs.existsSync(path.join(home, 'running')));
    // a preloaded script writes the built-in modules the CLI's own process loaded, as it exits
    const preload = path.join(dir, 'builtins.js');
    const list = path.join(dir, 'builtins.txt');
    fs.writeFileSync(
      preload,
      `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`,
    );
    await runOnce(cacheDir, home, { NODE_OPTIONS: `--require ${preload}` });
    const loaded = fs.readFileSync(list, 'utf8').split('\n');
    assert.ok(loaded.includes('NativeModule child_process'), 'the list is of the CLI that ran the command');
    assert.ok(!loaded.includes('NativeModule crypto'), 'node:crypto is loaded only when a hash is taken');
  });

  it('sha256Hex is SHA-256', () => {
    for (const s of ['', 'vm', 'hôte-ünïcode', 'x'.repeat(1000)])
      assert.equal(sha256Hex(s), crypto.createHash('sha256').update(s).digest('hex'));
  });
});
