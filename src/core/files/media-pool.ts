/**
 * Runs the decoding of untrusted images and audio a bounded number at a time. Each decode
 * may hold up to IMAGE_MAX_DECODED_BYTES and a core; without a bound, N uploads arriving
 * together cost N times that (two 16-bit PNGs of 900 KB peaked at 1.77 GB). Jobs beyond
 * `concurrency` wait in arrival order; a waiting upload holds its staged file on disk (or
 * its decoded base64 bytes), never a decoded image.
 */
export class MediaPool {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly concurrency: number) {
    if (!(concurrency >= 1)) throw new Error('MediaPool: concurrency must be at least 1');
  }

  /** Jobs running now (at most `concurrency`). */
  get running(): number {
    return this.#running;
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency) this.#running++;
    // A finished job hands its slot straight to the next one, so none can jump the queue.
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
