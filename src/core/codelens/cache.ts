/**
 * Detection results per document, valid for one document version: an edit makes a new version, so a result is never
 * stale, and asking again for the same version costs a map look-up. Bounded (least recently used entries go first),
 * so documents that were never closed do not pile up.
 */
export class VersionedCache<T> {
  private readonly entries = new Map<string, { version: number; value: T }>();
  /** How many times `compute` ran (a miss). */
  computed = 0;

  constructor(readonly maxEntries = 256) {}

  /** The value for `key` at `version`, computed once per version. */
  get(key: string, version: number, compute: () => T): T {
    const hit = this.entries.get(key);
    if (hit && hit.version === version) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = compute();
    this.computed++;
    this.entries.delete(key);
    this.entries.set(key, { version, value });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
