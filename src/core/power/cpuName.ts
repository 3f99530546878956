/**
 * CPU model names as the TDP table (tdp.ts) compares them. Apart from the table so that scripts/gen-cpu-tdp.mjs
 * can normalise the table's names when it generates cpuTdpTable.generated.ts: the lookup then normalises only
 * the machine's own name.
 */

/** Normalises a CPU model name the way both sides of a match are compared. */
export function normaliseCpuName(raw: string): string {
  let s = ` ${raw} `;
  s = s.replace(/\((?:R|TM|C)\)|®|™/gi, ' ');
  s = s.replace(/@\s*\d+(?:\.\d+)?\s*[GM]Hz/gi, ' ');
  s = s.replace(/\b\d+(?:\.\d+)?\s*[GM]Hz\b/gi, ' ');
  s = s.replace(/\b(?:\d+|single|dual|triple|quad|six|eight|twelve|sixteen)[- ]Core Processor\b/gi, ' ');
  s = s.replace(/\b\d+-Cores?\b/gi, ' '); // "AMD Ryzen Threadripper PRO 3995WX 64-Cores"
  s = s.replace(/\bwith Radeon\b.*$/i, ' ');
  s = s.replace(/\s+Radeon R\d+\b.*$/i, ' '); // "AMD A10-7850K Radeon R7, 12 Compute Cores 4C+8G"
  s = s.replace(/\((?:\d+)W\)/gi, ' '); // the table's "(95W)" variants of one model
  s = s.replace(/\b(?:CPU|Processor|Genuine)\b/gi, ' ');
  s = s.replace(/\bCore2\b/gi, 'Core 2');
  s = s.replace(/[,;]/g, ' ');
  return s.replace(/\s+/g, ' ').trim().toLowerCase();
}

const FILLER = new Set(['intel', 'amd', 'gen', 'apu', 'processor', 'cpu']);

/** Words that may differ between a name and the table's: vendor, "gen", a generation ("11th"), a core count. */
export function isFiller(word: string): boolean {
  return FILLER.has(word) || /^\d+(?:st|nd|rd|th)$/.test(word) || /^\d+-core$/.test(word);
}

/** Tokens that carry the model number: they have a digit, and are not a generation ("11th"), a core count or a clock. */
export function modelTokens(normalised: string): string[] {
  return normalised
    .split(' ')
    .filter(
      (t) =>
        /\d/.test(t) && !/^\d+(?:st|nd|rd|th)$/.test(t) && !/^\d+-core$/.test(t) && !/^\d+(?:\.\d+)?[gm]hz$/.test(t),
    );
}

/** The set of model-number tokens, sorted: equal keys are the same model number. */
export function modelKey(normalised: string): string {
  return [...new Set(modelTokens(normalised))].sort().join(' ');
}
