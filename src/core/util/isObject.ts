/** A JSON object (not null, not an array): the first check of every parser of untrusted JSON. No Node, no DOM. */
export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
