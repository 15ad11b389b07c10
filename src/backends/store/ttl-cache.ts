/** A small map whose entries expire: how long a cached read may outlive an invalidation the bus lost. */
export class TtlCache<K, V> {
  readonly #map = new Map<K, { value: V; until: number }>();
  constructor(
    readonly ttlMs: number,
    readonly maxSize = 10_000,
  ) {}

  get(key: K): V | undefined {
    const hit = this.#map.get(key);
    if (!hit) return undefined;
    if (hit.until < Date.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: K, value: V): void {
    if (this.#map.size >= this.maxSize) this.#map.delete(this.#map.keys().next().value as K);
    this.#map.set(key, { value, until: Date.now() + this.ttlMs });
  }

  delete(key: K): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}
