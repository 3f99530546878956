/**
 * Choosing the provider: the CLI's --provider and environment, the extension's settings (read through a getter),
 * the switching provider the extension hands the meter, and the CLI end to end against the local server.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  baseUrlEnvName,
  createIntensityProvider,
  DEFAULT_BASE_URLS,
  ElectricityMapsProvider,
  INTENSITY_PROVIDER_IDS,
  INTENSITY_SETTING_KEYS,
  intensityConfigFromEnv,
  intensityConfigFromSettings,
  readIntensitySettings,
  SwitchingIntensityProvider,
  UkCarbonIntensityProvider,
  WattTimeProvider,
} from '../../src/core/intensity/live';
import { StaticIntensityProvider } from '../../src/core/intensity/provider';
import { resolveRegion } from '../../src/core/intensity/regions';
import { HistoryStore } from '../../src/core/history/store';
import type { Run } from '../../src/core/types';
import { EM_TOKEN, IntensityServer } from '../helpers/intensityServer';
import { runCli, type CliResult } from '../helpers/cli';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
const BUSY = 'const e = Date.now() + 1200; while (Date.now() < e) {}';

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
async function withTempDir<T>(prefix: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `carbon-meter run` of a Node script (default: 1.2 s of CPU) in `region`, sampled every 0.5 s. */
function meteredNode(opts: { region: string; provider?: string; json?: boolean; script?: string }): string[] {
  return [
    'run',
    ...(opts.provider ? ['--provider', opts.provider] : []),
    '--region',
    opts.region,
    '--interval',
    '0.5',
    ...(opts.json ? ['--json'] : []),
    '--',
    process.execPath,
    '-e',
    opts.script ?? BUSY,
  ];
}

describe('intensity/live: configuration', () => {
  it('CLI environment: static by default; --provider wins over CARBON_METER_PROVIDER', () => {
    assert.deepEqual(intensityConfigFromEnv({}), { provider: 'static' });
    assert.equal(intensityConfigFromEnv({ CARBON_METER_PROVIDER: 'watttime' }).provider, 'watttime');
    assert.equal(
      intensityConfigFromEnv({ CARBON_METER_PROVIDER: 'watttime' }, 'uk-carbon-intensity').provider,
      'uk-carbon-intensity',
    );
    assert.throws(
      () => intensityConfigFromEnv({}, 'carbonara'),
      /--provider must be one of static, electricitymaps, uk-carbon-intensity, watttime, not "carbonara"/,
    );
    assert.throws(() => intensityConfigFromEnv({ CARBON_METER_PROVIDER: 'x' }), /CARBON_METER_PROVIDER must be one of/);
  });

  it('CLI environment: base URLs per provider, credentials, zone, postcode, region, timeout', () => {
    assert.equal(baseUrlEnvName('uk-carbon-intensity'), 'CARBON_METER_UK_CARBON_INTENSITY_URL');
    assert.equal(baseUrlEnvName('electricitymaps'), 'CARBON_METER_ELECTRICITYMAPS_URL');
    assert.equal(baseUrlEnvName('watttime'), 'CARBON_METER_WATTTIME_URL');
    const env = {
      CARBON_METER_PROVIDER: 'electricitymaps',
      CARBON_METER_ELECTRICITYMAPS_URL: 'http://127.0.0.1:9/v3',
      CARBON_METER_WATTTIME_URL: 'http://ignored.invalid',
      CARBON_METER_ELECTRICITYMAPS_TOKEN: 'tok',
      CARBON_METER_ELECTRICITYMAPS_ZONE: 'DK-DK1',
      CARBON_METER_UK_POSTCODE: 'RG10',
      CARBON_METER_WATTTIME_USERNAME: 'u',
      CARBON_METER_WATTTIME_PASSWORD: 'p',
      CARBON_METER_WATTTIME_REGION: 'CAISO_NORTH',
      CARBON_METER_WATTTIME_LATITUDE: '38.5',
      CARBON_METER_WATTTIME_LONGITUDE: '-121.5',
      CARBON_METER_INTENSITY_TIMEOUT: '2.5',
    };
    assert.deepEqual(intensityConfigFromEnv(env), {
      provider: 'electricitymaps',
      baseUrl: 'http://127.0.0.1:9/v3',
      timeoutMs: 2500,
      electricityMapsToken: 'tok',
      electricityMapsZone: 'DK-DK1',
      ukPostcode: 'RG10',
      wattTimeUsername: 'u',
      wattTimePassword: 'p',
      wattTimeRegion: 'CAISO_NORTH',
      wattTimeLatitude: 38.5,
      wattTimeLongitude: -121.5,
    });
    assert.throws(
      () => intensityConfigFromEnv({ CARBON_METER_UK_CARBON_INTENSITY_URL: 'ftp://x' }, 'uk-carbon-intensity'),
      /must be an http\(s\) URL/,
    );
    assert.throws(() => intensityConfigFromEnv({ CARBON_METER_INTENSITY_TIMEOUT: 'soon' }), /must be a number/);
  });

  it('settings: defaults, and every wrong value is a problem with a safe default', () => {
    const none = readIntensitySettings(() => undefined);
    assert.deepEqual(none.problems, []);
    assert.equal(none.settings.provider, 'static');
    assert.deepEqual(none.settings.baseUrls, DEFAULT_BASE_URLS);
    assert.equal(none.settings.timeoutS, 10);
    assert.equal(none.settings.notifyHighIntensity, false);

    const values: Record<string, unknown> = {
      'intensity.provider': 'carbon-oracle',
      'intensity.electricitymaps.baseUrl': 'not a url',
      'intensity.ukCarbonIntensity.baseUrl': 'http://127.0.0.1:8080',
      'intensity.watttime.latitude': 123,
      'intensity.timeoutSeconds': 0,
      'intensity.notifyHighIntensity': 'yes',
    };
    const bad = readIntensitySettings((k) => values[k]);
    assert.equal(bad.settings.provider, 'static');
    assert.equal(bad.settings.baseUrls.electricitymaps, DEFAULT_BASE_URLS.electricitymaps);
    assert.equal(bad.settings.baseUrls['uk-carbon-intensity'], 'http://127.0.0.1:8080');
    assert.equal(bad.settings.wattTimeLatitude, undefined);
    assert.equal(bad.settings.timeoutS, 10);
    assert.deepEqual(bad.problems.map((p) => p.key).sort(), [
      'carbonMeter.intensity.electricitymaps.baseUrl',
      'carbonMeter.intensity.notifyHighIntensity',
      'carbonMeter.intensity.provider',
      'carbonMeter.intensity.timeoutSeconds',
      'carbonMeter.intensity.watttime.latitude',
    ]);
    assert.match(
      bad.problems.find((p) => p.key === 'carbonMeter.intensity.provider')!.message,
      /"carbon-oracle"; expected one of "static", "electricitymaps", "uk-carbon-intensity", "watttime". Using "static"/,
    );
  });

  it('settings + secrets → the provider of the chosen source, with its own base URL', async () => {
    const { settings } = readIntensitySettings(
      (k) =>
        ({
          'intensity.provider': 'electricitymaps',
          'intensity.electricitymaps.baseUrl': 'http://127.0.0.1:1/v3',
          'intensity.watttime.baseUrl': 'http://127.0.0.1:2',
          'intensity.electricitymaps.zone': 'US-CAL-CISO',
        })[k],
    );
    const config = intensityConfigFromSettings(settings, { electricityMapsToken: 'secret' });
    assert.equal(config.baseUrl, 'http://127.0.0.1:1/v3');
    assert.equal(config.electricityMapsToken, 'secret');
    assert.equal(config.electricityMapsZone, 'US-CAL-CISO');
    await withTempDir('cm-cfg-', (dir) => {
      const p = createIntensityProvider(config, { cacheDir: dir });
      assert.ok(p instanceof ElectricityMapsProvider);
      assert.equal((p as ElectricityMapsProvider).baseUrl, 'http://127.0.0.1:1/v3');
      assert.ok(
        createIntensityProvider({ provider: 'uk-carbon-intensity' }, { cacheDir: dir }) instanceof
          UkCarbonIntensityProvider,
      );
      assert.ok(createIntensityProvider({ provider: 'watttime' }, { cacheDir: dir }) instanceof WattTimeProvider);
      assert.ok(createIntensityProvider({ provider: 'static' }, { cacheDir: dir }) instanceof StaticIntensityProvider);
      assert.equal(
        (createIntensityProvider({ provider: 'uk-carbon-intensity' }, { cacheDir: dir }) as UkCarbonIntensityProvider)
          .baseUrl,
        DEFAULT_BASE_URLS['uk-carbon-intensity'],
      );
    });
  });

  it('package.json declares exactly the settings the code reads, with the same defaults', () => {
    const root = path.join(__dirname, '..', '..', '..');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8'));
    const section = pkg.contributes.configuration.find((c: { title: string }) => c.title === 'Carbon intensity');
    const props = section.properties as Record<
      string,
      { default: unknown; enum?: string[]; markdownDescription: string; scope?: string }
    >;
    assert.deepEqual(
      Object.keys(props).sort(),
      Object.values(INTENSITY_SETTING_KEYS)
        .map((k) => `carbonMeter.${k}`)
        .sort(),
    );
    assert.deepEqual(props['carbonMeter.intensity.provider'].enum, [...INTENSITY_PROVIDER_IDS]);
    assert.equal(props['carbonMeter.intensity.electricitymaps.baseUrl'].default, DEFAULT_BASE_URLS.electricitymaps);
    assert.equal(
      props['carbonMeter.intensity.ukCarbonIntensity.baseUrl'].default,
      DEFAULT_BASE_URLS['uk-carbon-intensity'],
    );
    assert.equal(props['carbonMeter.intensity.watttime.baseUrl'].default, DEFAULT_BASE_URLS.watttime);
    for (const [key, p] of Object.entries(props)) {
      assert.ok(nls[p.markdownDescription.slice(1, -1)], `${key} has a description`);
      // a workspace must not redirect credentials to another server
      if (key.endsWith('.baseUrl')) assert.equal(p.scope, 'machine', key);
    }
    const cmd = pkg.contributes.commands.find((c: { command: string }) => c.command === 'carbonMeter.setApiKey');
    assert.equal(cmd.category, 'Carbon Meter');
    assert.equal(nls[cmd.title.slice(1, -1)], 'Set API Key');
  });

  it('the switching provider forwards to the provider in force', async () => {
    const server = await IntensityServer.start();
    await withTempDir('cm-switch-', async (dir) => {
      const s = new SwitchingIntensityProvider();
      const gb = resolveRegion('GB');
      assert.equal(s.id, 'static');
      assert.equal(s.granularityMs, Infinity);
      assert.equal(s.forecastHorizonH, 0);
      assert.equal(s.at(gb, 0).method, 'annual-average');
      await s.refresh(gb, Date.now());
      const f = await s.forecast(gb, Date.now());
      assert.equal(f.ok, false);
      s.set(new UkCarbonIntensityProvider({ cacheDir: dir, baseUrl: server.url }));
      assert.equal(s.id, 'uk-carbon-intensity');
      assert.equal(s.granularityMs, 1_800_000);
      assert.equal(s.forecastHorizonH, 48);
      const now = Date.now();
      await s.refresh(gb, now);
      assert.equal(s.at(gb, now).method, 'time-resolved');
      assert.equal((await s.forecast(gb, now)).ok, true);
      assert.equal(server.count('uk.national'), 1);
    }).finally(() => server.close());
  });
});

describe('intensity/live: the CLI with --provider', () => {
  let server: IntensityServer;
  let home: string;

  beforeEach(async () => {
    server = await IntensityServer.start();
    server.intensityAt = (t) => 120 + (Math.floor(t / 1_800_000) % 3) * 15;
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cli-live-'));
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return runCli(CLI, args, { CARBON_METER_HOME: home, ...env });
  }

  function homeText(): string {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const f of fs.readdirSync(d)) {
        const p = path.join(d, f);
        if (fs.statSync(p).isDirectory()) walk(p);
        else out.push(fs.readFileSync(p, 'utf8'));
      }
    };
    walk(home);
    return out.join('\n');
  }

  it('--provider uk-carbon-intensity: the run is time-resolved, its samples carry the intensity, two runs share one request', async () => {
    const env = { CARBON_METER_UK_CARBON_INTENSITY_URL: server.url };
    const r = await cli(meteredNode({ provider: 'uk-carbon-intensity', region: 'GB', json: true }), env);
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout) as Run;
    assert.equal(run.intensity.method, 'time-resolved');
    assert.match(
      run.intensity.source,
      /Carbon Intensity API \(National Energy System Operator, CC BY 4\.0\), Great Britain national/,
    );
    assert.equal(run.intensity.fallback, undefined);
    assert.equal(run.intensity.factorType, 'average');
    assert.ok(fs.existsSync(path.join(home, 'intensity-cache')));
    const samples = new HistoryStore(home).samples(run.id);
    assert.ok(samples.length >= 2);
    for (const s of samples) assert.equal(s.gPerKWh, server.intensityAt(Math.floor(s.t / 1_800_000) * 1_800_000));
    const seen = samples.map((s) => s.gPerKWh!);
    assert.ok(
      run.intensity.gPerKWh >= Math.min(...seen) - 1e-3 && run.intensity.gPerKWh <= Math.max(...seen) + 1e-3,
      'the energy-weighted mean of the values in force',
    );

    const again = await cli(
      meteredNode({ provider: 'uk-carbon-intensity', region: 'GB', json: true, script: '0' }),
      env,
    );
    assert.equal(again.code, 0, again.stderr);
    const periods = new Set(
      [run.startedAt, run.endedAt!, JSON.parse(again.stdout).endedAt].map((t) => Math.floor(Date.parse(t) / 1_800_000)),
    );
    assert.equal(server.count('uk.national'), periods.size, 'one request per half hour, whatever the number of runs');
  });

  it('CARBON_METER_PROVIDER=electricitymaps with a token: time-resolved, and the token is written nowhere', async () => {
    const r = await cli(meteredNode({ region: 'FR', json: true }), {
      CARBON_METER_PROVIDER: 'electricitymaps',
      CARBON_METER_ELECTRICITYMAPS_URL: `${server.url}/v3`,
      CARBON_METER_ELECTRICITYMAPS_TOKEN: EM_TOKEN,
    });
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout) as Run;
    assert.equal(run.intensity.method, 'time-resolved');
    assert.match(run.intensity.source, /Electricity Maps API v3, zone FR/);
    assert.equal(server.requests[0].headers['auth-token'], EM_TOKEN);
    assert.ok(!(r.stdout + r.stderr + homeText()).includes(EM_TOKEN));
  });

  it('without the token: the static average, the reason in the record, said once on stderr', async () => {
    const r = await cli(meteredNode({ region: 'FR', json: true }), {
      CARBON_METER_PROVIDER: 'electricitymaps',
      CARBON_METER_ELECTRICITYMAPS_URL: `${server.url}/v3`,
    });
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout) as Run;
    assert.equal(run.intensity.method, 'annual-average');
    assert.equal(run.intensity.gPerKWh, resolveRegion('FR').intensityGPerKWh);
    assert.match(run.intensity.fallback ?? '', /Electricity Maps needs an API token/);
    assert.equal(r.stderr.split('\n').filter((l) => /needs an API token/.test(l)).length, 1);
    assert.equal(server.requests.length, 0);
  });

  it('a server error: the run completes with the static average and says why', async () => {
    server.fail('uk.national', { status: 502 });
    const r = await cli(meteredNode({ provider: 'uk-carbon-intensity', region: 'GB' }), {
      CARBON_METER_UK_CARBON_INTENSITY_URL: server.url,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /fallback: Carbon Intensity API for Great Britain: server error \(HTTP 502\); using the static annual average instead/,
    );
    assert.equal(r.stderr.split('\n').filter((l) => /^carbon-meter: .*HTTP 502/.test(l)).length, 1);
  });

  it('an unknown provider is a usage error; --help documents the flag and the variables', async () => {
    const bad = await cli(['run', '--provider', 'carbonara', '--', 'true']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--provider must be one of static, electricitymaps, uk-carbon-intensity, watttime/);
    const help = await cli(['run', '--help']);
    assert.equal(help.code, 0);
    for (const s of [
      '--provider NAME',
      'CARBON_METER_UK_CARBON_INTENSITY_URL',
      'CARBON_METER_ELECTRICITYMAPS_TOKEN',
      'CARBON_METER_WATTTIME_USERNAME',
    ]) {
      assert.ok(help.stdout.includes(s), s);
    }
  });
});
