/**
 * Region codes close to what the user wrote, for "did you mean" in an unknown-region message: edit distance to a
 * code, a code typed inside the input, or a word of a place name.
 */
import { COUNTRY_ALIASES, getTables, WORLD_CODE } from './regionTables';

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  let prev2: number[] = new Array<number>(n + 1).fill(0);
  let prev: number[] = Array.from({ length: n + 1 }, (_, j) => j);
  let cur: number[] = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/** Words of place names too common to point at one place. */
const GENERIC_WORDS = new Set([
  'and',
  'of',
  'the',
  'st',
  'saint',
  'new',
  'north',
  'south',
  'east',
  'west',
  'central',
  'northern',
  'southern',
  'eastern',
  'western',
  'island',
  'islands',
  'is',
  'republic',
  'rep',
  'dem',
  'united',
  'city',
  'us',
  'uk',
]);

function words(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/**
 * Region codes close to what the user wrote: by edit distance to a code, a code or prefix typed
 * inside the input ('fr-paris' → FR), or a word of a name or location ('paris' → gcp:europe-west9).
 * Best first; ties keep the order of `listRegions()`.
 */
export function suggestRegions(input: string, limit = 3): string[] {
  const q = String(input ?? '')
    .trim()
    .toLowerCase();
  if (q === '' || limit <= 0) return [];
  const t = getTables();
  const tokens = words(q);
  const cloudForm = q.includes(':');
  const threshold = Math.max(1, Math.floor(q.length / 4));
  const scored: { code: string; score: number; index: number }[] = [];
  t.all.forEach((region, index) => {
    const codes =
      region.kind === 'cloud'
        ? [region.code.toLowerCase(), region.code.slice(region.code.indexOf(':') + 1).toLowerCase()]
        : region.code === WORLD_CODE
          ? ['world']
          : [region.code.toLowerCase(), (region.countryAlpha3 ?? '').toLowerCase()];
    let score = Number.POSITIVE_INFINITY;
    for (const key of codes) {
      if (key === '') continue;
      let d = editDistance(q, key);
      // The input is the start of a code ('gcp:europe-west' → gcp:europe-west9), or a code with one
      // character too many or followed by more words ('frr' → FR, 'fr-paris' → FR).
      if (Math.min(q.length, key.length) >= 2) {
        const rest = q.startsWith(key) ? q.slice(key.length) : undefined;
        if (key.startsWith(q) || (rest !== undefined && (rest.length <= 1 || /^[^a-z0-9]/.test(rest)))) {
          d = Math.min(d, 1) - 0.25;
        }
      }
      score = Math.min(score, d);
    }
    // Just a provider ('aws') lists that provider's regions.
    if (region.provider === q) score = Math.min(score, 0.5);
    const nameWords = words(region.kind === 'cloud' ? (region.location ?? '') : region.name).filter(
      (w) => !GENERIC_WORDS.has(w),
    );
    // Country codes inside free text ('fr-paris'), not inside a provider:region ('aws:us-east').
    const countryCodes = region.kind === 'country' && !cloudForm ? codes : [];
    for (const token of tokens) {
      const code = (COUNTRY_ALIASES[token.toUpperCase()] ?? token).toLowerCase();
      if (token.length >= 2 && countryCodes.includes(code)) score = Math.min(score, 0.5);
      // In a provider:region input, the provider's regions come before a country of the same name.
      const wordScore = cloudForm && region.kind === 'country' ? 1 : 0.5;
      if (token.length >= 3 && nameWords.includes(token)) score = Math.min(score, wordScore);
      else if (token.length >= 4 && nameWords.some((w) => w.startsWith(token))) score = Math.min(score, 1.5);
    }
    if (score <= Math.max(threshold, 1.5)) scored.push({ code: region.code, score, index });
  });
  scored.sort((a, b) => a.score - b.score || a.index - b.index);
  const out: string[] = [];
  for (const s of scored) {
    if (!out.includes(s.code)) out.push(s.code);
    if (out.length >= limit) break;
  }
  return out;
}
