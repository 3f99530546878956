/**
 * The intensity cache across real processes (windows and CLIs): several processes refreshing at once make exactly
 * one request; a process killed while it holds the claim does not block the others.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { IntensityReading } from '../../src/core/intensity/provider';
import { IntensityServer, WT_PASSWORD, WT_USERNAME } from '../helpers/intensityServer';

const LIVE = path.join(__dirname, '..', '..', 'src', 'core', 'intensity', 'live', 'index.js');
const REGIONS = path.join(__dirname, '..', '..', 'src', 'core', 'intensity', 'regions.js');

/** A process that builds a provider on the shared cache, says "ready", and refreshes when told "go". */
const CHILD = `
const [live, regions, kind, cacheDir, baseUrl, t, user, pass] = process.argv.slice(1);
const L = require(live);
const GB = require(regions).resolveRegion('GB');
const opts = { cacheDir, baseUrl, pollMs: 10, timeoutMs: 30000 };
const p = kind === 'uk'
  ? new L.UkCarbonIntensityProvider(opts)
  : new L.WattTimeProvider({ ...opts, username: user, password: pass, region: 'CAISO_NORTH' });
process.stdin.once('data', async () => {
  await p.refresh(GB, Number(t));
  process.stdout.write(JSON.stringify(p.at(GB, Number(t))) + '\\n');
  process.exit(0);
});
process.stdout.write('ready\\n');
`;

interface Child {
  proc: ChildProcess;
  line(match: (l: string) => boolean): Promise<string>;
  exited: Promise<number | null>;
  stderr: () => string;
}

function child(kind: 'uk' | 'watttime', cacheDir: string, baseUrl: string, t: number): Child {
  const proc = spawn(
    process.execPath,
    ['-e', CHILD, LIVE, REGIONS, kind, cacheDir, baseUrl, String(t), WT_USERNAME, WT_PASSWORD],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) {
      if (!w.match(l)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(l);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    exited,
    stderr: () => err,
    line: (match) => {
      const seen = lines.find(match);
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

describe('intensity/live: the cache shared by processes', () => {
  let server: IntensityServer;
  let dir: string;

  beforeEach(async () => {
    server = await IntensityServer.start();
    server.intensityAt = (t) => 150 + (Math.floor(t / 1_800_000) % 5) * 10;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-intensity-proc-'));
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function race(n: number, kind: 'uk' | 'watttime'): Promise<IntensityReading[]> {
    const t = Date.now();
    const kids = Array.from({ length: n }, () => child(kind, dir, server.url, t));
    await Promise.all(kids.map((k) => k.line((l) => l === 'ready')));
    for (const k of kids) k.proc.stdin!.write('go\n');
    const out = await Promise.all(kids.map((k) => k.line((l) => l.startsWith('{'))));
    const codes = await Promise.all(kids.map((k) => k.exited));
    codes.forEach((c, i) => assert.equal(c, 0, kids[i].stderr()));
    return out.map((l) => JSON.parse(l) as IntensityReading);
  }

  it('two processes refreshing at once: exactly one HTTP request, both read its value', async () => {
    server.delayMs = 300; // the second process certainly arrives while the first is asking
    const readings = await race(2, 'uk');
    assert.equal(server.count('uk.national'), 1);
    const start = Math.floor(readings[0].validFrom!);
    for (const r of readings) {
      assert.equal(r.method, 'time-resolved');
      assert.equal(r.gPerKWh, server.intensityAt(start));
      assert.equal(r.fallback, undefined);
    }
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.claim') || f.includes('.tmp-')),
      [],
      'no claim or temporary file is left behind',
    );
  });

  it('four processes with a login first (WattTime): one login and one forecast request', async () => {
    server.delayMs = 200;
    const readings = await race(4, 'watttime');
    assert.equal(server.count('wt.login'), 1);
    assert.equal(server.count('wt.forecast'), 1);
    for (const r of readings) {
      assert.equal(r.method, 'time-resolved');
      assert.equal(r.factorType, 'marginal');
    }
  });

  it('a process killed while asking does not block the others: the next one takes the claim over', async () => {
    server.fail('uk.national', 'hang', 1);
    const t = Date.now();
    const a = child('uk', dir, server.url, t);
    await a.line((l) => l === 'ready');
    a.proc.stdin!.write('go\n');
    while (server.count('uk.national') < 1) await new Promise((r) => setTimeout(r, 10));
    const b = child('uk', dir, server.url, t);
    await b.line((l) => l === 'ready');
    b.proc.stdin!.write('go\n');
    // b waits on a's claim; a dies without answering
    a.proc.kill('SIGKILL');
    await a.exited;
    const r = JSON.parse(await b.line((l) => l.startsWith('{'))) as IntensityReading;
    assert.equal(await b.exited, 0, b.stderr());
    assert.equal(server.count('uk.national'), 2);
    assert.equal(r.method, 'time-resolved');
  });
});
