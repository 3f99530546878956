/**
 * Live intensity providers against a local server that speaks each API's documented shapes: parsing, caching,
 * one request per period, Retry-After, and the fallback to the static average for every failure.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ElectricityMapsProvider,
  IntensityCache,
  LBS_PER_MWH_TO_G_PER_KWH,
  outwardPostcode,
  parseElectricityMapsForecast,
  parseElectricityMapsLatest,
  parseRetryAfter,
  parseUkNational,
  parseUkRegional,
  parseWattTimeForecast,
  parseWattTimeSignalIndex,
  pointAt,
  UkCarbonIntensityProvider,
  WattTimeProvider,
  type IntensityProblem,
  type LiveIntensityProvider,
  type LiveProviderOptions,
} from '../../src/core/intensity/live';
import { resolveRegion } from '../../src/core/intensity/regions';
import { deadPid } from '../helpers/proc';
import {
  EM_TOKEN,
  IntensityServer,
  UK_POSTCODES,
  WT_PASSWORD,
  WT_TOKEN,
  WT_USERNAME,
  type Endpoint,
  type Failure,
} from '../helpers/intensityServer';

const HOUR = 3_600_000;
const HALF_HOUR = 1_800_000;
const FIVE_MIN = 300_000;
const GB = resolveRegion('GB');
const FR = resolveRegion('FR');

/** A value that changes every half hour, so a test knows which period was read. */
function stepped(t: number): number {
  return 100 + (Math.floor(t / HALF_HOUR) % 7) * 20;
}

interface Harness {
  problems: IntensityProblem[];
  logs: { level: string; message: string }[];
  opts: LiveProviderOptions;
}

function harness(cacheDir: string, baseUrl: string, extra: Partial<LiveProviderOptions> = {}): Harness {
  const problems: IntensityProblem[] = [];
  const logs: { level: string; message: string }[] = [];
  return {
    problems,
    logs,
    opts: {
      cacheDir,
      baseUrl,
      timeoutMs: 2000,
      pollMs: 10,
      onProblem: (p) => problems.push(p),
      log: (level, message) => logs.push({ level, message }),
      ...extra,
    },
  };
}

function allCacheText(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  return fs
    .readdirSync(dir)
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

describe('intensity/live: parsing the documented response shapes', () => {
  it('Electricity Maps latest: gCO₂eq/kWh for the hour starting at datetime', () => {
    const r = parseElectricityMapsLatest({
      zone: 'DE',
      carbonIntensity: 322,
      datetime: '2019-05-21T00:00:00.000Z',
      updatedAt: '2022-04-07T15:32:21.002Z',
      createdAt: '2022-02-08T06:20:31.772Z',
      emissionFactorType: 'lifecycle',
      isEstimated: true,
      estimationMethod: 'TIME_SLICER_AVERAGE',
    });
    assert.deepEqual(r.point, { fromMs: Date.UTC(2019, 4, 21), toMs: Date.UTC(2019, 4, 21, 1), gPerKWh: 322 });
    assert.equal(r.zone, 'DE');
    assert.equal(r.emissionFactorType, 'lifecycle');
    assert.equal(r.isEstimated, true);
    assert.equal(r.estimationMethod, 'TIME_SLICER_AVERAGE');
  });

  it('Electricity Maps forecast: one hourly point per item, sorted, gaps skipped', () => {
    const pts = parseElectricityMapsForecast({
      zone: 'FR',
      forecast: [
        { carbonIntensity: 48, datetime: '2024-03-01T11:00:00.000Z' },
        { carbonIntensity: 52, datetime: '2024-03-01T10:00:00.000Z' },
        { carbonIntensity: null, datetime: '2024-03-01T12:00:00.000Z' },
      ],
      updatedAt: '2024-03-01T09:58:00.000Z',
    });
    assert.deepEqual(
      pts.map((p) => [new Date(p.fromMs).toISOString(), p.toMs - p.fromMs, p.gPerKWh, p.forecast]),
      [
        ['2024-03-01T10:00:00.000Z', HOUR, 52, true],
        ['2024-03-01T11:00:00.000Z', HOUR, 48, true],
      ],
    );
  });

  it('Electricity Maps: a value that is not a number is malformed', () => {
    assert.throws(
      () => parseElectricityMapsLatest({ zone: 'FR', carbonIntensity: '56', datetime: '2024-01-01T00:00:00Z' }),
      { name: 'LiveIntensityError', kind: 'malformed' },
    );
    assert.throws(() => parseElectricityMapsLatest({ zone: 'FR', carbonIntensity: 56, datetime: 'yesterday' }), {
      kind: 'malformed',
    });
    assert.throws(() => parseElectricityMapsForecast({ zone: 'FR' }), { kind: 'malformed' });
  });

  it('GB national: actual where published, else forecast; the index is kept; times are `hh:mmZ`', () => {
    const s = parseUkNational({
      data: [
        {
          from: '2018-01-20T12:00Z',
          to: '2018-01-20T12:30Z',
          intensity: { forecast: 266, actual: 263, index: 'moderate' },
        },
        {
          from: '2018-01-20T12:30Z',
          to: '2018-01-20T13:00Z',
          intensity: { forecast: 270, actual: null, index: 'high' },
        },
      ],
    });
    assert.deepEqual(s.points, [
      { fromMs: Date.UTC(2018, 0, 20, 12), toMs: Date.UTC(2018, 0, 20, 12, 30), gPerKWh: 263, index: 'moderate' },
      {
        fromMs: Date.UTC(2018, 0, 20, 12, 30),
        toMs: Date.UTC(2018, 0, 20, 13),
        gPerKWh: 270,
        index: 'high',
        forecast: true,
      },
    ]);
  });

  it('GB regional: the object of /regional/intensity/…/postcode and the list of /regional/postcode', () => {
    const region = {
      regionid: 3,
      dnoregion: 'Electricity North West',
      shortname: 'North West England',
      postcode: 'RG10',
      data: [
        {
          from: '2018-01-20T12:00Z',
          to: '2018-01-20T12:30Z',
          intensity: { forecast: 266, index: 'moderate' },
          generationmix: [
            { fuel: 'gas', perc: 43.6 },
            { fuel: 'wind', perc: 6.8 },
          ],
        },
      ],
    };
    for (const body of [{ data: region }, { data: [region] }]) {
      const s = parseUkRegional(body);
      assert.equal(s.region?.shortname, 'North West England');
      assert.equal(s.region?.regionid, 3);
      assert.deepEqual(s.points, [
        {
          fromMs: Date.UTC(2018, 0, 20, 12),
          toMs: Date.UTC(2018, 0, 20, 12, 30),
          gPerKWh: 266,
          index: 'moderate',
          forecast: true,
        },
      ]);
    }
    assert.throws(() => parseUkRegional({ data: [] }), { kind: 'unknown-zone' });
    assert.throws(() => parseUkRegional({ data: { regionid: 3 } }), { kind: 'malformed' });
  });

  it('GB postcodes: only the outward code is sent', () => {
    assert.equal(outwardPostcode('RG10'), 'RG10');
    assert.equal(outwardPostcode(' rg10 1ab '), 'RG10');
    assert.equal(outwardPostcode('SW1A1AA'), 'SW1A');
    assert.equal(outwardPostcode('M1'), 'M1');
    assert.equal(outwardPostcode('75001'), undefined);
    assert.equal(outwardPostcode('Paris'), undefined);
  });

  it('WattTime forecast: lbs_co2_per_mwh × 0.45359237 = g/kWh, 5-minute points from meta', () => {
    const f = parseWattTimeForecast({
      data: [
        { point_time: '2024-05-01T00:05:00+00:00', value: 900 },
        { point_time: '2024-05-01T00:00:00+00:00', value: 1000 },
      ],
      meta: {
        data_point_period_seconds: 300,
        region: 'CAISO_NORTH',
        warnings: [],
        signal_type: 'co2_moer',
        model: { date: '2023-03-01' },
        units: 'lbs_co2_per_mwh',
        generated_at_period_seconds: 300,
        generated_at: '2024-05-01T00:00:00+00:00',
      },
    });
    assert.equal(LBS_PER_MWH_TO_G_PER_KWH, 0.45359237);
    assert.equal(f.region, 'CAISO_NORTH');
    assert.deepEqual(
      f.points.map((p) => [p.fromMs, p.toMs - p.fromMs, p.gPerKWh]),
      [
        [Date.UTC(2024, 4, 1), FIVE_MIN, 1000 * 0.45359237],
        [Date.UTC(2024, 4, 1, 0, 5), FIVE_MIN, 900 * 0.45359237],
      ],
    );
    assert.throws(() => parseWattTimeForecast({ data: [], meta: { units: 'percentile' } }), { kind: 'malformed' });
    assert.throws(() => parseWattTimeForecast({ data: [{ point_time: '2024-05-01T00:00:00+00:00', value: 'high' }] }), {
      kind: 'malformed',
    });
  });

  it('WattTime signal index: the latest percentile', () => {
    const s = parseWattTimeSignalIndex({
      data: [{ point_time: '2024-05-01T00:05:00+00:00', value: 62 }],
      meta: {
        data_point_period_seconds: 300,
        region: 'CAISO_NORTH',
        signal_type: 'co2_moer',
        units: 'percentile',
        warnings: [],
        model: { date: '2022-10-01' },
      },
    });
    assert.deepEqual(s, { value: 62, atMs: Date.UTC(2024, 4, 1, 0, 5) });
    assert.throws(() => parseWattTimeSignalIndex({ data: [{ value: 140 }] }), { kind: 'malformed' });
  });

  it('Retry-After: delay-seconds and HTTP-date', () => {
    const now = Date.UTC(2024, 0, 1, 12);
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 12:01:30 GMT', now), 90_000);
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it('the value in force: the period holding t, or the latest one for a while after it ends', () => {
    const pts = [
      { fromMs: 0, toMs: 10, gPerKWh: 1 },
      { fromMs: 10, toMs: 20, gPerKWh: 2 },
    ];
    assert.equal(pointAt(pts, -1, 5), undefined);
    assert.equal(pointAt(pts, 0, 5)?.gPerKWh, 1);
    assert.equal(pointAt(pts, 9.9, 5)?.gPerKWh, 1);
    assert.equal(pointAt(pts, 10, 5)?.gPerKWh, 2);
    assert.equal(pointAt(pts, 24, 5)?.gPerKWh, 2);
    assert.equal(pointAt(pts, 25, 5), undefined);
  });
});

describe('intensity/live: providers against the local server', () => {
  let server: IntensityServer;
  let dir: string;
  let now: number;

  beforeEach(async () => {
    server = await IntensityServer.start();
    server.intensityAt = stepped;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-intensity-'));
    now = Date.now();
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('GB Carbon Intensity', () => {
    it('national: the half hour in force, time-resolved, one request per period', async () => {
      const h = harness(dir, server.url);
      const p = new UkCarbonIntensityProvider(h.opts);
      assert.equal(p.granularityMs, HALF_HOUR);
      await p.refresh(GB, now);
      const r = p.at(GB, now);
      const start = Math.floor(now / HALF_HOUR) * HALF_HOUR;
      assert.equal(r.method, 'time-resolved');
      assert.equal(r.gPerKWh, stepped(start));
      assert.equal(r.factorType, 'average');
      assert.equal(r.validFrom, start);
      assert.equal(r.validTo, start + HALF_HOUR);
      assert.match(r.source, /Carbon Intensity API .*Great Britain national/);
      assert.equal(r.fallback, undefined);
      // the URL asks from the half hour before, in the API's time format
      assert.match(server.requests[0].url, /^\/intensity\/\d{4}-\d\d-\d\dT\d\d:[03]0Z\/fw48h$/);

      await p.refresh(GB, now + 1000);
      await p.refresh(GB, start + HALF_HOUR - 1);
      assert.equal(server.count('uk.national'), 1, 'same period: no new request');
      // the 48 h forecast answers the next periods too, before any new request
      assert.equal(p.at(GB, start + 3 * HALF_HOUR + 5).gPerKWh, stepped(start + 3 * HALF_HOUR));
      await p.refresh(GB, start + HALF_HOUR);
      assert.equal(server.count('uk.national'), 2, 'next period: one more');
      assert.deepEqual(h.problems, []);
    });

    it('regional: by outward postcode, with the region in the source', async () => {
      const h = harness(dir, server.url);
      const p = new UkCarbonIntensityProvider({ ...h.opts, postcode: 'rg10 1ab' });
      await p.refresh(GB, now);
      const r = p.at(GB, now);
      assert.equal(r.gPerKWh, stepped(Math.floor(now / HALF_HOUR) * HALF_HOUR) + UK_POSTCODES.RG10.offset);
      assert.match(r.source, /South England \(postcode RG10\)/);
      assert.match(server.requests[0].url, /^\/regional\/intensity\/[^/]+\/fw48h\/postcode\/RG10$/);
    });

    it('a postcode the API does not know: static average with the reason, and no new request for hours', async () => {
      const h = harness(dir, server.url);
      const p = new UkCarbonIntensityProvider({ ...h.opts, postcode: 'ZZ9' });
      await p.refresh(GB, now);
      const r = p.at(GB, now);
      assert.equal(r.method, 'annual-average');
      assert.equal(r.gPerKWh, GB.intensityGPerKWh);
      assert.match(r.fallback ?? '', /unknown zone \(HTTP 400: Please enter a valid postcode/);
      await p.refresh(GB, now + HALF_HOUR);
      await p.refresh(GB, now + 4 * HALF_HOUR);
      assert.equal(server.count('uk.regional'), 1);
      assert.deepEqual(
        h.problems.map((x) => x.kind),
        ['unknown-zone'],
      );
    });

    it('a region outside Great Britain: no request, the static average, said once', async () => {
      const h = harness(dir, server.url);
      const p = new UkCarbonIntensityProvider(h.opts);
      await p.refresh(FR, now);
      const r1 = p.at(FR, now);
      const r2 = p.at(FR, now + 1000);
      assert.equal(server.requests.length, 0);
      assert.equal(r1.gPerKWh, FR.intensityGPerKWh);
      assert.equal(r1.method, 'annual-average');
      assert.match(
        r1.fallback ?? '',
        /covers Great Britain only.*France \(FR\): set the region to GB \(carbonMeter.region; CLI: --region GB\)/,
      );
      assert.equal(r2.fallback, r1.fallback);
      assert.equal(h.problems.length, 1);
    });

    it('before the first answer: the static average without a fallback (the refresh is under way)', () => {
      const p = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      const r = p.at(GB, now);
      assert.equal(r.method, 'annual-average');
      assert.equal(r.fallback, undefined);
      assert.match(r.source, /no Carbon Intensity API \(GB\) value had arrived yet/);
    });

    it('a failure from hours ago does not mark a new run as fallback before this period is asked', async () => {
      server.fail('uk.national', { status: 500 }, 1);
      const old = now - 6 * HALF_HOUR;
      const a = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      await a.refresh(GB, old);
      assert.match(a.at(GB, old).fallback ?? '', /HTTP 500/);
      const h = harness(dir, server.url);
      const b = new UkCarbonIntensityProvider(h.opts);
      const before = b.at(GB, now);
      assert.equal(before.fallback, undefined);
      assert.equal(h.problems.length, 0);
      await b.refresh(GB, now);
      assert.equal(b.at(GB, now).method, 'time-resolved');
    });

    it('keeps using its forecast when a later request fails', async () => {
      const h = harness(dir, server.url);
      const p = new UkCarbonIntensityProvider(h.opts);
      await p.refresh(GB, now);
      server.fail('uk.national', { status: 503 });
      const later = now + HALF_HOUR;
      await p.refresh(GB, later);
      assert.equal(server.count('uk.national'), 2);
      const r = p.at(GB, later);
      assert.equal(r.method, 'time-resolved');
      assert.equal(r.gPerKWh, stepped(Math.floor(later / HALF_HOUR) * HALF_HOUR));
      assert.equal(r.fallback, undefined);
      assert.equal(h.problems.length, 1, 'the failure is still told once');
      assert.ok(h.logs.some((l) => l.level === 'warn' && /HTTP 503/.test(l.message)));
    });

    it('comes back to live values after a failure', async () => {
      const h = harness(dir, server.url);
      const p = new UkCarbonIntensityProvider(h.opts);
      server.fail('uk.national', { status: 500 }, 1);
      await p.refresh(GB, now);
      assert.equal(p.at(GB, now).method, 'annual-average');
      await p.refresh(GB, now + HALF_HOUR);
      const r = p.at(GB, now + HALF_HOUR);
      assert.equal(r.method, 'time-resolved');
      assert.equal(r.fallback, undefined);
      assert.ok(h.logs.some((l) => l.level === 'info' && /live values again/.test(l.message)));
    });
  });

  describe('Electricity Maps', () => {
    it('latest with the auth-token header; the token is written nowhere', async () => {
      const h = harness(dir, `${server.url}/v3`);
      const p = new ElectricityMapsProvider({ ...h.opts, token: EM_TOKEN });
      assert.equal(p.granularityMs, HOUR);
      await p.refresh(FR, now);
      const r = p.at(FR, now);
      const hour = Math.floor(now / HOUR) * HOUR;
      assert.equal(r.method, 'time-resolved');
      assert.equal(r.gPerKWh, stepped(hour));
      assert.equal(r.validFrom, hour);
      assert.equal(r.validTo, hour + HOUR);
      assert.match(r.source, /Electricity Maps API v3, zone FR: hourly, lifecycle emission factors/);
      assert.equal(server.requests[0].headers['auth-token'], EM_TOKEN);
      assert.equal(server.requests[0].url, '/v3/carbon-intensity/latest?zone=FR');
      assert.ok(!allCacheText(dir).includes(EM_TOKEN));
      assert.ok(!JSON.stringify(h.logs).includes(EM_TOKEN));
    });

    it('a cloud region is asked for by data centre', async () => {
      const p = new ElectricityMapsProvider({ ...harness(dir, `${server.url}/v3`).opts, token: EM_TOKEN });
      const region = resolveRegion('gcp:europe-west9');
      await p.refresh(region, now);
      assert.equal(
        server.requests[0].url,
        '/v3/carbon-intensity/latest?dataCenterProvider=gcp&dataCenterRegion=europe-west9',
      );
      assert.equal(p.at(region, now).method, 'time-resolved');
    });

    it('no token: no request, the static average, told once with what to do', async () => {
      const h = harness(dir, `${server.url}/v3`);
      const p = new ElectricityMapsProvider(h.opts);
      await p.refresh(FR, now);
      const r = p.at(FR, now);
      p.at(FR, now + 1);
      assert.equal(server.requests.length, 0);
      assert.equal(r.gPerKWh, FR.intensityGPerKWh);
      assert.match(r.fallback ?? '', /needs an API token: run 'Carbon Meter: Set API Key'/);
      assert.deepEqual(
        h.problems.map((x) => x.kind),
        ['no-credentials'],
      );
    });

    it('a refused token (401): the static average; the token is not in the message', async () => {
      const h = harness(dir, `${server.url}/v3`);
      const p = new ElectricityMapsProvider({ ...h.opts, token: 'wrong-token-123' });
      await p.refresh(FR, now);
      const r = p.at(FR, now);
      assert.match(r.fallback ?? '', /credentials were refused \(HTTP 401: Invalid auth-token\)/);
      assert.ok(!JSON.stringify([r, h.problems, h.logs, allCacheText(dir)]).includes('wrong-token-123'));
    });

    it('a zone the API does not know (404)', async () => {
      const h = harness(dir, `${server.url}/v3`);
      const p = new ElectricityMapsProvider({ ...h.opts, token: EM_TOKEN, zone: 'XX-NOWHERE' });
      await p.refresh(FR, now);
      assert.match(p.at(FR, now).fallback ?? '', /unknown zone \(HTTP 404: Zone 'XX-NOWHERE' does not exist/);
      assert.deepEqual(
        h.problems.map((x) => x.kind),
        ['unknown-zone'],
      );
    });

    it('the world average has no zone: said without a request', async () => {
      const p = new ElectricityMapsProvider({ ...harness(dir, `${server.url}/v3`).opts, token: EM_TOKEN });
      await p.refresh(resolveRegion('WORLD'), now);
      assert.equal(server.requests.length, 0);
      assert.match(p.at(resolveRegion('WORLD'), now).fallback ?? '', /no zone for World/);
    });

    it('forecast where the plan has it; a 403 is remembered for a day', async () => {
      const h = harness(dir, `${server.url}/v3`);
      const p = new ElectricityMapsProvider({ ...h.opts, token: EM_TOKEN });
      const f = await p.forecast(FR, now);
      assert.ok(f.ok);
      assert.equal(f.points.length, 24);
      assert.equal(f.points[1].gPerKWh, stepped(Math.floor(now / HOUR) * HOUR + HOUR));
      assert.equal(server.count('em.forecast'), 1);

      const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-intensity-'));
      try {
        server.emForecastAllowed = false;
        const p2 = new ElectricityMapsProvider({ ...harness(dir2, `${server.url}/v3`).opts, token: EM_TOKEN });
        const denied = await p2.forecast(FR, now);
        assert.equal(denied.ok, false);
        assert.match(
          !denied.ok ? denied.reason : '',
          /not allowed by this account's plan \(HTTP 403: Forecasts are not included/,
        );
        await p2.forecast(FR, now + 2 * HOUR);
        assert.equal(server.count('em.forecast'), 2, 'not asked again after the 403');
      } finally {
        fs.rmSync(dir2, { recursive: true, force: true });
      }
    });
  });

  describe('WattTime', () => {
    const creds = { username: WT_USERNAME, password: WT_PASSWORD };

    it('login, then the MOER forecast: g/kWh, labelled marginal; one login for many periods', async () => {
      const h = harness(dir, server.url);
      const p = new WattTimeProvider({ ...h.opts, ...creds, region: 'CAISO_NORTH' });
      assert.equal(p.granularityMs, FIVE_MIN);
      await p.refresh(GB, now);
      const r = p.at(GB, now);
      const step = Math.floor(now / FIVE_MIN) * FIVE_MIN;
      assert.equal(r.method, 'time-resolved');
      assert.equal(r.factorType, 'marginal');
      assert.equal(r.gPerKWh, stepped(step) * 0.45359237);
      assert.match(r.source, /marginal operating emissions rate \(MOER\), not an average/);
      const login = server.requests.find((x) => x.endpoint === 'wt.login')!;
      assert.equal(
        login.headers.authorization,
        `Basic ${Buffer.from(`${WT_USERNAME}:${WT_PASSWORD}`).toString('base64')}`,
      );
      const fc = server.requests.find((x) => x.endpoint === 'wt.forecast')!;
      assert.equal(fc.headers.authorization, `Bearer ${WT_TOKEN}`);
      assert.match(fc.url, /^\/v3\/forecast\?region=CAISO_NORTH&signal_type=co2_moer&horizon_hours=24$/);

      await p.refresh(GB, now + FIVE_MIN);
      await p.refresh(GB, now + 2 * FIVE_MIN);
      assert.equal(server.count('wt.forecast'), 3);
      assert.equal(server.count('wt.login'), 1);
      const text = JSON.stringify([allCacheText(dir), h.logs, h.problems]);
      for (const secret of [WT_PASSWORD, WT_TOKEN]) assert.ok(!text.includes(secret), `${secret} leaked`);
    });

    it('a location is turned into a region once', async () => {
      const p = new WattTimeProvider({
        ...harness(dir, server.url).opts,
        ...creds,
        latitude: 38.58,
        longitude: -121.49,
      });
      await p.refresh(GB, now);
      await p.refresh(GB, now + FIVE_MIN);
      assert.equal(server.count('wt.region-from-loc'), 1);
      assert.equal(server.count('wt.forecast'), 2);
      assert.equal(p.at(GB, now).factorType, 'marginal');
    });

    it('without the forecast in the plan: the static average, then only the signal index', async () => {
      server.wtForecastAllowed = false;
      const h = harness(dir, server.url);
      const p = new WattTimeProvider({ ...h.opts, ...creds, region: 'PJM_DC' });
      await p.refresh(GB, now);
      const r = p.at(GB, now);
      assert.equal(r.method, 'annual-average');
      assert.match(r.fallback ?? '', /not allowed by this account's plan \(HTTP 403/);
      await p.refresh(GB, now + FIVE_MIN);
      assert.equal(server.count('wt.forecast'), 1);
      assert.equal(server.count('wt.signal-index'), 1);
      const f = await p.forecast(GB, now + FIVE_MIN);
      assert.equal(f.ok, false);
      assert.equal(f.signalIndex, 83);
      assert.match(p.at(GB, now + FIVE_MIN).fallback ?? '', /only the signal index \(now 83\/100\)/);
    });

    it('a wrong password: the login is refused; the password is never shown', async () => {
      const h = harness(dir, server.url);
      const p = new WattTimeProvider({
        ...h.opts,
        username: WT_USERNAME,
        password: 'hunter2-wrong',
        region: 'CAISO_NORTH',
      });
      await p.refresh(GB, now);
      const r = p.at(GB, now);
      assert.match(r.fallback ?? '', /WattTime refused the username or password/);
      assert.equal(server.count('wt.forecast'), 0);
      assert.ok(!JSON.stringify([r, h.logs, h.problems, allCacheText(dir)]).includes('hunter2-wrong'));
    });

    it('no credentials: no request', async () => {
      const h = harness(dir, server.url);
      const p = new WattTimeProvider({ ...h.opts, region: 'CAISO_NORTH' });
      await p.refresh(GB, now);
      assert.equal(server.requests.length, 0);
      assert.match(p.at(GB, now).fallback ?? '', /WattTime needs a username and password/);
    });

    it('no region and no location: no request', async () => {
      const p = new WattTimeProvider({ ...harness(dir, server.url).opts, ...creds });
      await p.refresh(GB, now);
      assert.equal(server.requests.length, 0);
      assert.match(p.at(GB, now).fallback ?? '', /needs a grid region: set carbonMeter\.intensity\.watttime\.region/);
    });
  });

  describe('every failure falls back to the static average, told once and logged', () => {
    type Make = (h: Harness) => LiveIntensityProvider;
    const providers: {
      name: string;
      endpoint: Endpoint;
      make: Make;
      region: () => typeof GB;
      granularity: number;
      unknownZone: Failure;
    }[] = [
      {
        name: 'GB Carbon Intensity (regional)',
        endpoint: 'uk.regional',
        make: (h) => new UkCarbonIntensityProvider({ ...h.opts, postcode: 'RG10' }),
        region: () => GB,
        granularity: HALF_HOUR,
        unknownZone: {
          status: 400,
          body: JSON.stringify({
            error: { code: '400 Bad Request', message: 'Please enter a valid postcode i.e. RG10 or SW1.' },
          }),
        },
      },
      {
        name: 'Electricity Maps',
        endpoint: 'em.latest',
        make: (h) => new ElectricityMapsProvider({ ...h.opts, baseUrl: `${h.opts.baseUrl}/v3`, token: EM_TOKEN }),
        region: () => FR,
        granularity: HOUR,
        unknownZone: { status: 404, body: JSON.stringify({ status: 'error', message: "Zone 'FR' does not exist." }) },
      },
      {
        name: 'WattTime',
        endpoint: 'wt.forecast',
        make: (h) =>
          new WattTimeProvider({ ...h.opts, username: WT_USERNAME, password: WT_PASSWORD, region: 'CAISO_NORTH' }),
        region: () => GB,
        granularity: FIVE_MIN,
        unknownZone: { status: 400, body: JSON.stringify({ error: 'Invalid region: CAISO_NORTH' }) },
      },
    ];
    const failures = (unknownZone: Failure): { name: string; failure: Failure; reason: RegExp; kind: string }[] => [
      {
        name: '401',
        failure: { status: 401, body: '{"error":"Unauthorized"}' },
        reason: /refused \(HTTP 401/,
        kind: 'unauthorized',
      },
      {
        name: '429 with Retry-After',
        failure: { status: 429, headers: { 'retry-after': '120' } },
        reason: /too many requests \(HTTP 429; asked to wait 120 s\)/,
        kind: 'rate-limited',
      },
      { name: '500', failure: { status: 500 }, reason: /server error \(HTTP 500\)/, kind: 'server' },
      { name: '503', failure: { status: 503 }, reason: /server error \(HTTP 503\)/, kind: 'server' },
      { name: 'timeout', failure: 'hang', reason: /no answer within 0\.3 s/, kind: 'timeout' },
      { name: 'malformed JSON', failure: 'malformed', reason: /not valid JSON/, kind: 'malformed' },
      {
        name: 'JSON of the wrong shape',
        failure: 'wrong-shape',
        reason: /no "(data|forecast)" list|no region object|not an object|not a number|datetime/,
        kind: 'malformed',
      },
      { name: 'unknown zone', failure: unknownZone, reason: /unknown zone/, kind: 'unknown-zone' },
    ];
    for (const prov of providers) {
      for (const f of failures(prov.unknownZone)) {
        it(`${prov.name}: ${f.name}`, async () => {
          const h = harness(dir, server.url, { timeoutMs: 300 });
          const p = prov.make(h);
          const region = prov.region();
          server.fail(prov.endpoint, f.failure);
          await p.refresh(region, now);
          const readings = [p.at(region, now), p.at(region, now + 1), p.at(region, now + 2)];
          await p.refresh(region, now + prov.granularity);
          readings.push(p.at(region, now + prov.granularity));
          for (const r of readings) {
            assert.equal(r.method, 'annual-average');
            assert.equal(r.gPerKWh, region.intensityGPerKWh);
            assert.equal(r.factorType, 'average');
            assert.match(r.fallback ?? '', f.reason);
            assert.match(r.fallback ?? '', /using the static annual average instead$/);
          }
          assert.equal(h.problems.length, 1, `told once: ${JSON.stringify(h.problems)}`);
          assert.equal(h.problems[0].kind, f.kind);
          assert.equal(h.problems[0].providerId, p.id);
          assert.ok(
            h.logs.some((l) => l.level === 'warn' && f.reason.test(l.message)),
            'logged',
          );
          // 429 and unknown zones also hold the next period back; the others ask once per period
          const expected = f.kind === 'rate-limited' || f.kind === 'unknown-zone' ? 1 : 2;
          assert.equal(server.count(prov.endpoint), expected);
        });
      }
    }
  });

  describe('Retry-After', () => {
    it('no process asks before the time the server gave, whatever the period', async () => {
      server.fail('uk.national', { status: 429, headers: { 'retry-after': '120' } });
      const a = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      await a.refresh(GB, now);
      await a.refresh(GB, now + HALF_HOUR);
      await a.refresh(GB, now + 5 * HALF_HOUR);
      // another window sharing the cache
      const b = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      await b.refresh(GB, now + 6 * HALF_HOUR);
      assert.equal(server.count('uk.national'), 1);
      assert.match(b.at(GB, now).fallback ?? '', /HTTP 429; asked to wait 120 s/);
      const entry = new IntensityCache(dir).read(
        fs
          .readdirSync(dir)
          .find((f) => f.endsWith('.json'))!
          .slice(0, -5),
      )!;
      assert.ok(entry.retryAfterUntilMs! >= now + 119_000 && entry.retryAfterUntilMs! <= Date.now() + 120_000);
    });

    it('an HTTP-date is honoured too', async () => {
      server.fail('em.latest', {
        status: 429,
        headers: { 'retry-after': new Date(Date.now() + 90_000).toUTCString() },
      });
      const p = new ElectricityMapsProvider({ ...harness(dir, `${server.url}/v3`).opts, token: EM_TOKEN });
      await p.refresh(FR, now);
      await p.refresh(FR, now + 3 * HOUR);
      assert.equal(server.count('em.latest'), 1);
      assert.match(p.at(FR, now).fallback ?? '', /asked to wait (8\d|90)(\.\d)? s/);
    });

    it('asks again once the wait is over', async () => {
      server.fail('uk.national', { status: 429, headers: { 'retry-after': '1' } }, 1);
      const p = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      await p.refresh(GB, now);
      await p.refresh(GB, now + HALF_HOUR);
      assert.equal(server.count('uk.national'), 1);
      await new Promise((r) => setTimeout(r, 1100));
      await p.refresh(GB, now + HALF_HOUR);
      assert.equal(server.count('uk.national'), 2);
      assert.equal(p.at(GB, now + HALF_HOUR).method, 'time-resolved');
    });
  });

  describe('the shared cache', () => {
    it('two providers of one process (two windows) refreshing at once: one request', async () => {
      server.delayMs = 100;
      const a = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      const b = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      await Promise.all([a.refresh(GB, now), b.refresh(GB, now), a.refresh(GB, now)]);
      assert.equal(server.count('uk.national'), 1);
      assert.equal(a.at(GB, now).gPerKWh, b.at(GB, now).gPerKWh);
      assert.equal(b.at(GB, now).method, 'time-resolved');
    });

    it('a later provider reads the cache without asking', async () => {
      await new UkCarbonIntensityProvider(harness(dir, server.url).opts).refresh(GB, now);
      const later = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      assert.equal(later.at(GB, now).method, 'time-resolved', 'at() alone reads the disk cache');
      await later.refresh(GB, now);
      assert.equal(server.count('uk.national'), 1);
    });

    it('another API root does not share entries', async () => {
      await new UkCarbonIntensityProvider(harness(dir, server.url).opts).refresh(GB, now);
      const other = await IntensityServer.start();
      try {
        await new UkCarbonIntensityProvider(harness(dir, other.url).opts).refresh(GB, now);
        assert.equal(other.count('uk.national'), 1);
      } finally {
        await other.close();
      }
    });

    it('a claim left by a dead process is taken over', async () => {
      const p = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      const name = p.entryName({ key: 'national', describe: '', params: {} }, 'current');
      fs.mkdirSync(dir, { recursive: true });
      const pid = await deadPid();
      const claim = path.join(dir, `${name}.p${p.period(now)}.g0.claim`);
      fs.writeFileSync(claim, JSON.stringify({ pid, host: os.hostname(), heartbeatAt: new Date().toISOString() }));
      await p.refresh(GB, now);
      assert.equal(server.count('uk.national'), 1);
      assert.equal(p.at(GB, now).method, 'time-resolved');
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.endsWith('.claim')),
        [path.basename(claim)],
        'the dead g0 stays; g1 was claimed, then released once the entry was written',
      );
    });

    it('a claim whose owner hangs past the deadline is taken over', async () => {
      const p = new UkCarbonIntensityProvider(harness(dir, server.url, { timeoutMs: 200 }).opts);
      const name = p.entryName({ key: 'national', describe: '', params: {} }, 'current');
      fs.mkdirSync(dir, { recursive: true });
      const old = new Date(Date.now() - 60_000).toISOString();
      fs.writeFileSync(
        path.join(dir, `${name}.p${p.period(now)}.g0.claim`),
        JSON.stringify({ pid: process.pid, host: os.hostname(), heartbeatAt: old }),
      );
      await p.refresh(GB, now);
      assert.equal(server.count('uk.national'), 1);
      assert.equal(p.at(GB, now).method, 'time-resolved');
    });

    it('a torn cache file is ignored and rewritten', async () => {
      const p = new UkCarbonIntensityProvider(harness(dir, server.url).opts);
      const name = p.entryName({ key: 'national', describe: '', params: {} }, 'current');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${name}.json`), '{"version":1,"points":[{"fromMs"');
      assert.equal(p.at(GB, now).fallback, undefined);
      await p.refresh(GB, now);
      assert.equal(p.at(GB, now).method, 'time-resolved');
      assert.equal(new IntensityCache(dir).read(name)?.fetchedPeriod, p.period(now));
    });

    it('credentials set after a refused request allow a new one in the same period', async () => {
      const h = harness(dir, `${server.url}/v3`);
      await new ElectricityMapsProvider({ ...h.opts, token: 'old-bad-token' }).refresh(FR, now);
      const sameKey = new ElectricityMapsProvider({ ...h.opts, token: 'old-bad-token' });
      await sameKey.refresh(FR, now);
      assert.equal(server.count('em.latest'), 1, 'the 401 answers the period for everyone');
      const newKey = new ElectricityMapsProvider({ ...h.opts, token: EM_TOKEN, credentialsSetAtMs: Date.now() + 1 });
      await newKey.refresh(FR, now);
      assert.equal(server.count('em.latest'), 2);
      assert.equal(newKey.at(FR, now).method, 'time-resolved');
    });
  });
});
