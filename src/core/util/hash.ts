/**
 * SHA-256 for short, file-name-safe tags, with node:crypto loaded on first use: loading it costs about 4 ms of CPU,
 * which `carbon-meter run` would otherwise pay at every start for a hash it may never take.
 */
import type * as Crypto from 'node:crypto';

let crypto: typeof Crypto | undefined;

/** The hex SHA-256 of `text` (UTF-8). */
export function sha256Hex(text: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  crypto ??= require('node:crypto') as typeof Crypto;
  return crypto.createHash('sha256').update(text).digest('hex');
}
