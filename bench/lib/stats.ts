// Latency samples and percentiles.

/** A growable Float64 sample buffer (ms): no allocation per sample. */
export class Samples {
  #a = new Float64Array(1 << 16);
  #n = 0;
  push(v: number): void {
    if (this.#n === this.#a.length) {
      const b = new Float64Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.#n++] = v;
  }
  get count(): number {
    return this.#n;
  }
  view(): Float64Array {
    return this.#a.subarray(0, this.#n);
  }
}

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles over every sample (sorts a copy). */
export function summarize(samples: Float64Array): Summary | null {
  const n = samples.length;
  if (n === 0) return null;
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i];
  return { count: n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[n - 1] };
}

export function fmt(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(digits);
}
