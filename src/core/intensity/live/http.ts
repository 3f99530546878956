/**
 * One HTTP GET with Node's fetch, a timeout (AbortSignal.timeout), and every failure turned into a
 * `LiveIntensityError` of a known kind. Credentials travel in headers only, never in URLs, and are redacted from
 * any text taken from a response.
 */
import { errorMessage } from '../../errors';
import { LiveIntensityError } from './types';

export interface GetJsonOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  /** what the caller is asking for, for messages: "Electricity Maps carbon-intensity/latest" */
  what: string;
  /** strings that must never appear in a message (tokens, passwords) */
  secrets?: readonly string[];
  /** status codes that mean "this zone/region/postcode does not exist" for this endpoint */
  unknownZoneStatuses?: readonly number[];
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

/** Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Returns ms from `now`, or undefined. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isFinite(at)) return Math.max(0, at - now);
  return undefined;
}

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('***');
  return out;
}

/** A short, safe excerpt of an error body: the `message`/`error` field of JSON, else the start of the text. */
function errorDetail(text: string, secrets: readonly string[]): string {
  let detail = text.trim();
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const e = j.error;
    const nested = e && typeof e === 'object' ? (e as Record<string, unknown>).message : undefined;
    const m = [j.message, e, nested].find((x): x is string => typeof x === 'string' && x.length > 0);
    if (m) detail = m;
  } catch {
    // not JSON: keep the text
  }
  detail = redact(detail.replace(/\s+/g, ' '), secrets);
  return detail.length > 160 ? `${detail.slice(0, 157)}…` : detail;
}

export async function getJson(url: string, opts: GetJsonOptions): Promise<JsonResponse> {
  const secrets = opts.secrets ?? [];
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', ...opts.headers },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    if (isAbort(err)) {
      throw new LiveIntensityError('timeout', `${opts.what}: no answer within ${sig(opts.timeoutMs / 1000)} s`);
    }
    const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
    throw new LiveIntensityError(
      'network',
      `${opts.what}: cannot reach ${new URL(url).host} (${redact(String(cause?.code ?? cause?.message ?? errorMessage(err)), secrets)})`,
    );
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    if (isAbort(err)) {
      throw new LiveIntensityError(
        'timeout',
        `${opts.what}: the answer did not finish within ${sig(opts.timeoutMs / 1000)} s`,
      );
    }
    throw new LiveIntensityError(
      'network',
      `${opts.what}: the connection broke while reading the answer (${redact(errorMessage(err), secrets)})`,
    );
  }
  const refused = statusError(res, text, opts.what, secrets, opts.unknownZoneStatuses);
  if (refused) throw refused;
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new LiveIntensityError('malformed', `${opts.what}: the answer is not valid JSON`);
  }
}

/** The request's timeout fired (AbortSignal.timeout), before the answer began or while it was read. */
function isAbort(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** The error an answer that is not a 2xx stands for, of its kind; undefined for a 2xx. */
function statusError(
  res: Response,
  text: string,
  what: string,
  secrets: readonly string[],
  unknownZoneStatuses: readonly number[] | undefined,
): LiveIntensityError | undefined {
  const status = res.status;
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    const wait = retryAfterMs !== undefined ? `; asked to wait ${sig(retryAfterMs / 1000)} s` : '';
    return new LiveIntensityError('rate-limited', `${what}: too many requests (HTTP 429${wait})`, retryAfterMs, 429);
  }
  if (status === 401) {
    return new LiveIntensityError(
      'unauthorized',
      `${what}: the credentials were refused (HTTP 401: ${errorDetail(text, secrets)})`,
      undefined,
      401,
    );
  }
  if (unknownZoneStatuses?.includes(status)) {
    return new LiveIntensityError(
      'unknown-zone',
      `${what}: unknown zone (HTTP ${status}: ${errorDetail(text, secrets)})`,
      undefined,
      status,
    );
  }
  if (status === 403) {
    return new LiveIntensityError(
      'forbidden',
      `${what}: not allowed by this account's plan (HTTP 403: ${errorDetail(text, secrets)})`,
      undefined,
      403,
    );
  }
  if (status >= 500)
    return new LiveIntensityError('server', `${what}: server error (HTTP ${status})`, undefined, status);
  if (status < 200 || status >= 300) {
    return new LiveIntensityError(
      'server',
      `${what}: unexpected HTTP ${status} (${errorDetail(text, secrets)})`,
      undefined,
      status,
    );
  }
  return undefined;
}

function sig(x: number): string {
  return String(Number(x.toPrecision(3)));
}
