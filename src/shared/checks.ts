/**
 * The runtime checks of the panel's messages, as small combinators: each check returns undefined when the value is
 * fine, else what is wrong with it (with its path). `shape<T>` and `tagged<U>` take one check per field of the type,
 * so a field added to a message without its check fails to compile. No `vscode` and no Node: the webview bundles it.
 */
import { isSafeRunId } from '../core/history/records';
import { isObject as isObj } from '../core/util/isObject';

export type Check = (x: unknown, path: string) => string | undefined;

export const str =
  (max = Infinity): Check =>
  (x, p) =>
    typeof x !== 'string'
      ? `${p} is not a string`
      : x.length > max
        ? `${p} is longer than ${max} characters`
        : undefined;
export const num: Check = (x, p) =>
  typeof x === 'number' && Number.isFinite(x) ? undefined : `${p} is not a finite number`;
export const int: Check = (x, p) => (Number.isInteger(x) ? undefined : `${p} is not an integer`);
export const bool: Check = (x, p) => (typeof x === 'boolean' ? undefined : `${p} is not a boolean`);
export const oneOf =
  (values: readonly unknown[]): Check =>
  (x, p) =>
    values.includes(x) ? undefined : `${p} is not one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
export const optional =
  (c: Check): Check =>
  (x, p) =>
    x === undefined ? undefined : c(x, p);
export const nullable =
  (c: Check): Check =>
  (x, p) =>
    x === null ? undefined : c(x, p);
export const runId: Check = (x, p) => (isSafeRunId(x) ? undefined : `${p} is not a run id`);

export function arrayOf(item: Check, max = Infinity): Check {
  return (x, p) => {
    if (!Array.isArray(x)) return `${p} is not an array`;
    if (x.length > max) return `${p} has more than ${max} items`;
    for (let i = 0; i < x.length; i++) {
      const e = item(x[i], `${p}[${i}]`);
      if (e) return e;
    }
    return undefined;
  };
}

/** An array of finite numbers (fast path for the chart series). */
export function numbers(max: number): Check {
  return (x, p) => {
    if (!Array.isArray(x)) return `${p} is not an array`;
    if (x.length > max) return `${p} has more than ${max} items`;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${p}[${i}] is not a finite number`;
    }
    return undefined;
  };
}

/**
 * One check per field of T, every field required (optional ones take `optional(...)`): a field added to T without a
 * check here fails to compile, and so does a check for a field T does not have.
 */
export type Checks<T> = { readonly [K in keyof T]-?: Check };

/** An object whose fields pass their checks. T is always given: `shape<TableQuery>({...})`. */
export function shape<T>(fields: Checks<NoInfer<T>>): Check {
  const entries = Object.entries<Check>(fields);
  return (x, p) => {
    if (!isObj(x)) return `${p} is not an object`;
    for (const [k, c] of entries) {
      const e = c(x[k], `${p}.${k}`);
      if (e) return e;
    }
    return undefined;
  };
}

/**
 * A tagged union: one set of field checks per tag value, every tag required (a new message type or advice kind
 * without its checks fails to compile).
 */
export type TaggedChecks<U, Tag extends keyof U> = {
  readonly [V in U[Tag] & PropertyKey]: Checks<Omit<Extract<U, Record<Tag, V>>, Tag>>;
};

export function tagged<U, Tag extends keyof U & string>(tag: Tag, variants: TaggedChecks<NoInfer<U>, Tag>): Check {
  const byTag = new Map<unknown, Check>(
    Object.entries<Checks<unknown>>(variants).map(([v, fields]) => [v, shape<unknown>(fields)]),
  );
  return (x, p) => {
    if (!isObj(x)) return `${p} is not an object`;
    const check = typeof x[tag] === 'string' ? byTag.get(x[tag]) : undefined;
    if (!check) return `${p}.${tag} is not a known ${tag}`;
    return check(x, p);
  };
}

export function recordOf(keys: readonly string[], value: Check): Check {
  return (x, p) => {
    if (!isObj(x)) return `${p} is not an object`;
    for (const [k, v] of Object.entries(x)) {
      if (!keys.includes(k)) return `${p} has an unknown key ${JSON.stringify(k.slice(0, 40))}`;
      const e = value(v, `${p}.${k}`);
      if (e) return e;
    }
    return undefined;
  };
}
