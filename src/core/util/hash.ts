/**
 * SHA-256 for ids and short, file-name-safe tags, with node:crypto loaded on first use: loading it costs about 4 ms
 * of CPU, which `carbon-meter run` would otherwise pay at every start for a hash it may never take.
 */
import type * as Crypto from 'node:crypto';

let digest: ((text: string) => string) | undefined;

/** crypto.hash (Node ≥ 20.12) is a single call; createHash builds a Hash object per call (the import hashes a row id per row). Same digest. */
function pick(): (text: string) => string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof Crypto & { hash?: (alg: string, data: string, enc: 'hex') => string };
  const { hash } = crypto;
  return typeof hash === 'function'
    ? (s) => hash('sha256', s, 'hex')
    : (s) => crypto.createHash('sha256').update(s).digest('hex');
}

/** The hex SHA-256 of `text` (UTF-8). */
export function sha256Hex(text: string): string {
  return (digest ??= pick())(text);
}
