/**
 * A local stand-in for the three live intensity APIs, on 127.0.0.1, serving their documented response shapes (real
 * field names and units) and every failure mode the providers must survive. No test touches the internet.
 *
 *   Electricity Maps v3   GET /v3/carbon-intensity/latest?zone=      (auth-token header)
 *                         GET /v3/carbon-intensity/forecast?zone=
 *   Carbon Intensity (GB) GET /intensity/{from}/fw48h
 *                         GET /regional/intensity/{from}/fw48h/postcode/{outward}
 *   WattTime v3           GET /login (HTTP Basic) → { token }
 *                         GET /v3/region-from-loc?latitude=&longitude=&signal_type=co2_moer
 *                         GET /v3/forecast?region=&signal_type=co2_moer&horizon_hours=   (lbs_co2_per_mwh)
 *                         GET /v3/signal-index?region=&signal_type=co2_moer               (percentile)
 *
 * The values come from `intensityAt(t)` (gCO₂eq/kWh for Electricity Maps and GB, lbs CO₂/MWh for WattTime) at the
 * start of each period, so a test knows exactly what the provider must read.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Endpoint =
  | 'em.latest'
  | 'em.forecast'
  | 'uk.national'
  | 'uk.regional'
  | 'wt.login'
  | 'wt.region-from-loc'
  | 'wt.forecast'
  | 'wt.signal-index';

/** A failure to serve instead of the normal answer. */
export type Failure =
  | { status: number; body?: string; headers?: Record<string, string> }
  /** accept the request and never answer */
  | 'hang'
  /** 200 with a body that is not JSON */
  | 'malformed'
  /** 200 with JSON of the wrong shape */
  | 'wrong-shape';

export interface RecordedRequest {
  endpoint: Endpoint | 'unknown';
  url: string;
  headers: http.IncomingHttpHeaders;
}

export const EM_TOKEN = 'em-token-7d3f9a1c';
export const WT_USERNAME = 'meter-user';
export const WT_PASSWORD = 'correct horse battery';
export const WT_TOKEN = 'wt-bearer-5e2b8c0d';

const HOUR = 3_600_000;
const HALF_HOUR = 1_800_000;
const FIVE_MIN = 300_000;

/** Regions the GB regional endpoint knows, by outward postcode (real DNO names). */
export const UK_POSTCODES: Record<string, { regionid: number; dnoregion: string; shortname: string; offset: number }> =
  {
    RG10: { regionid: 12, dnoregion: 'SSE South', shortname: 'South England', offset: 11 },
    M1: { regionid: 3, dnoregion: 'Electricity North West', shortname: 'North West England', offset: -7 },
  };

export function ukIndex(g: number): string {
  return g < 50 ? 'very low' : g < 130 ? 'low' : g < 210 ? 'moderate' : g < 310 ? 'high' : 'very high';
}

/** The API's time format, `YYYY-MM-DDThh:mmZ`. */
export function ukTime(t: number): string {
  return new Date(t).toISOString().slice(0, 16) + 'Z';
}

export class IntensityServer {
  readonly requests: RecordedRequest[] = [];
  /** gCO₂eq/kWh (Electricity Maps, GB) or lbs/MWh (WattTime) in force at t */
  intensityAt: (t: number) => number = () => 200;
  /** the server's clock (its "latest" and forecast starts) */
  now: () => number = () => Date.now();
  /** every answer waits this long (to make requests from several processes overlap) */
  delayMs = 0;
  /** Electricity Maps zones and data centres it knows */
  emZones = new Set(['FR', 'DE', 'GB', 'US-CAL-CISO']);
  emDataCenters = new Set(['gcp/europe-west9', 'aws/eu-west-3']);
  /** whether the accounts' plans include forecasts (Electricity Maps forecast, WattTime MOER forecast) */
  emForecastAllowed = true;
  wtForecastAllowed = true;
  wtRegions = new Set(['CAISO_NORTH', 'PJM_DC']);
  /** WattTime signal index (percentile) */
  signalIndex = 83;
  private readonly failures = new Map<Endpoint, { failure: Failure; times: number }>();
  private readonly hanging = new Set<http.ServerResponse>();
  private server!: http.Server;
  url = '';

  static async start(): Promise<IntensityServer> {
    const s = new IntensityServer();
    s.server = http.createServer((req, res) => {
      void s.handle(req, res).catch((err) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  /** Serve `failure` for the next `times` requests to `endpoint` (default: until cleared). */
  fail(endpoint: Endpoint, failure: Failure, times = Infinity): void {
    this.failures.set(endpoint, { failure, times });
  }

  heal(endpoint?: Endpoint): void {
    if (endpoint) this.failures.delete(endpoint);
    else this.failures.clear();
  }

  count(endpoint: Endpoint): number {
    return this.requests.filter((r) => r.endpoint === endpoint).length;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(path: string): Endpoint | 'unknown' {
    if (path === '/v3/carbon-intensity/latest') return 'em.latest';
    if (path === '/v3/carbon-intensity/forecast') return 'em.forecast';
    if (/^\/intensity\/[^/]+\/fw48h$/.test(path)) return 'uk.national';
    if (/^\/regional\/intensity\/[^/]+\/fw48h\/postcode\/[^/]+$/.test(path)) return 'uk.regional';
    if (path === '/login') return 'wt.login';
    if (path === '/v3/region-from-loc') return 'wt.region-from-loc';
    if (path === '/v3/forecast') return 'wt.forecast';
    if (path === '/v3/signal-index') return 'wt.signal-index';
    return 'unknown';
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const endpoint = this.route(u.pathname);
    this.requests.push({ endpoint, url: req.url ?? '', headers: req.headers });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (endpoint === 'unknown') return json(res, 404, { error: `no route ${u.pathname}` });

    const f = this.failures.get(endpoint);
    if (f && f.times > 0) {
      f.times--;
      const failure = f.failure;
      if (failure === 'hang') {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      if (failure === 'malformed') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"data": [{"from": "2024-');
        return;
      }
      if (failure === 'wrong-shape') return json(res, 200, { unexpected: true, results: [] });
      res.writeHead(failure.status, { 'content-type': 'application/json', ...failure.headers });
      res.end(failure.body ?? JSON.stringify({ error: `HTTP ${failure.status} from the test server` }));
      return;
    }

    switch (endpoint) {
      case 'em.latest':
      case 'em.forecast':
        return this.electricityMaps(endpoint, u, req, res);
      case 'uk.national':
      case 'uk.regional':
        return this.uk(endpoint, u, res);
      default:
        return this.wattTime(endpoint, u, req, res);
    }
  }

  private electricityMaps(endpoint: Endpoint, u: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers['auth-token'] !== EM_TOKEN)
      return json(res, 401, { status: 'error', message: 'Invalid auth-token' });
    const zone = u.searchParams.get('zone');
    const dc = u.searchParams.get('dataCenterProvider');
    const key = zone ?? `${dc}/${u.searchParams.get('dataCenterRegion')}`;
    if (zone ? !this.emZones.has(zone) : !this.emDataCenters.has(key)) {
      return json(res, 404, { status: 'error', message: `Zone '${key}' does not exist.` });
    }
    const hour = Math.floor(this.now() / HOUR) * HOUR;
    const zoneName = zone ?? 'FR';
    if (endpoint === 'em.latest') {
      return json(res, 200, {
        zone: zoneName,
        carbonIntensity: this.intensityAt(hour),
        datetime: new Date(hour).toISOString(),
        updatedAt: new Date(this.now()).toISOString(),
        createdAt: new Date(hour).toISOString(),
        emissionFactorType: 'lifecycle',
        isEstimated: false,
        estimationMethod: null,
      });
    }
    if (!this.emForecastAllowed)
      return json(res, 403, { status: 'error', message: 'Forecasts are not included in your plan' });
    const forecast = [];
    for (let i = 0; i < 24; i++)
      forecast.push({
        carbonIntensity: this.intensityAt(hour + i * HOUR),
        datetime: new Date(hour + i * HOUR).toISOString(),
      });
    return json(res, 200, { zone: zoneName, forecast, updatedAt: new Date(this.now()).toISOString() });
  }

  private periods(fromParam: string, offset = 0, regional = false): unknown[] {
    const from = Date.parse(fromParam);
    const start = Math.floor(from / HALF_HOUR) * HALF_HOUR;
    const now = this.now();
    const out = [];
    for (let i = 0; i < 96; i++) {
      const a = start + i * HALF_HOUR;
      const g = this.intensityAt(a) + offset;
      const period: Record<string, unknown> = { from: ukTime(a), to: ukTime(a + HALF_HOUR) };
      if (regional) {
        period.intensity = { forecast: g, index: ukIndex(g) };
        period.generationmix = [
          { fuel: 'biomass', perc: 4.3 },
          { fuel: 'coal', perc: 0 },
          { fuel: 'imports', perc: 22.4 },
          { fuel: 'gas', perc: 26.7 },
          { fuel: 'nuclear', perc: 4.1 },
          { fuel: 'other', perc: 0 },
          { fuel: 'hydro', perc: 0.1 },
          { fuel: 'solar', perc: 0 },
          { fuel: 'wind', perc: 42.4 },
        ];
      } else {
        // actual is published once the period is over
        period.intensity = { forecast: g, actual: a + HALF_HOUR <= now ? g : null, index: ukIndex(g) };
      }
      out.push(period);
    }
    return out;
  }

  private uk(endpoint: Endpoint, u: URL, res: http.ServerResponse): void {
    const parts = u.pathname.split('/');
    if (endpoint === 'uk.national') {
      const from = decodeURIComponent(parts[2]);
      if (!Number.isFinite(Date.parse(from)))
        return json(res, 400, {
          error: { code: '400 Bad Request', message: 'Please enter a valid ISO 8601 datetime' },
        });
      return json(res, 200, { data: this.periods(from) });
    }
    const from = decodeURIComponent(parts[3]);
    const pc = decodeURIComponent(parts[6]).toUpperCase();
    const region = UK_POSTCODES[pc];
    if (!region)
      return json(res, 400, {
        error: { code: '400 Bad Request', message: 'Please enter a valid postcode i.e. RG10 or SW1.' },
      });
    return json(res, 200, {
      data: {
        regionid: region.regionid,
        dnoregion: region.dnoregion,
        shortname: region.shortname,
        postcode: pc,
        data: this.periods(from, region.offset, true),
      },
    });
  }

  private wattTime(endpoint: Endpoint, u: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (endpoint === 'wt.login') {
      const expected = `Basic ${Buffer.from(`${WT_USERNAME}:${WT_PASSWORD}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return json(res, 401, { error: 'Unauthorized' });
      return json(res, 200, { token: WT_TOKEN });
    }
    if (req.headers.authorization !== `Bearer ${WT_TOKEN}`) return json(res, 401, { error: 'Invalid token' });
    if (endpoint === 'wt.region-from-loc') {
      const lat = Number(u.searchParams.get('latitude'));
      const lon = Number(u.searchParams.get('longitude'));
      if (lat > 37 && lat < 42 && lon > -124 && lon < -119) {
        return json(res, 200, {
          region: 'CAISO_NORTH',
          region_full_name: 'California ISO Northern',
          signal_type: 'co2_moer',
        });
      }
      return json(res, 400, { error: 'Coordinates not found in any region' });
    }
    const region = u.searchParams.get('region') ?? '';
    if (!this.wtRegions.has(region)) return json(res, 400, { error: `Invalid region: ${region}` });
    const now = this.now();
    const step = Math.floor(now / FIVE_MIN) * FIVE_MIN;
    const model = { date: '2024-10-01' };
    if (endpoint === 'wt.signal-index') {
      return json(res, 200, {
        data: [{ point_time: new Date(step).toISOString().replace('.000Z', '+00:00'), value: this.signalIndex }],
        meta: {
          data_point_period_seconds: 300,
          region,
          signal_type: 'co2_moer',
          units: 'percentile',
          warnings: [],
          model,
        },
      });
    }
    if (!this.wtForecastAllowed)
      return json(res, 403, { error: `Your account does not have access to forecasts for ${region}` });
    const hours = Number(u.searchParams.get('horizon_hours') ?? '24');
    const data = [];
    for (let i = 0; i < Math.max(1, hours * 12); i++) {
      const a = step + i * FIVE_MIN;
      data.push({ point_time: new Date(a).toISOString().replace('.000Z', '+00:00'), value: this.intensityAt(a) });
    }
    return json(res, 200, {
      data,
      meta: {
        data_point_period_seconds: 300,
        region,
        warnings: [],
        signal_type: 'co2_moer',
        model,
        units: 'lbs_co2_per_mwh',
        generated_at_period_seconds: 300,
        generated_at: new Date(step).toISOString().replace('.000Z', '+00:00'),
      },
    });
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
