import * as crypto from 'node:crypto';

/** 2,000–4,000 characters determined by the id: a payload whose integrity a reader can check. */
export function padFor(id: string): string {
  const h = crypto.createHash('sha256').update(id).digest('hex');
  const len = 2000 + (parseInt(h.slice(0, 4), 16) % 2000);
  return h.repeat(Math.ceil(len / h.length)).slice(0, len);
}
