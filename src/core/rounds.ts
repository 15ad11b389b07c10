/**
 * A background job's rounds, one at a time, until stopped: `round` resolves to whether work is
 * left (the next round starts at once) or not (the next one after `idleMs`); a failed round is
 * reported and the next one waits `idleMs`. The timer never keeps the process alive, and
 * `stop` waits for the round under way.
 */
export class Rounds {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #stopped = true;

  constructor(
    readonly round: () => Promise<boolean>,
    readonly idleMs: number,
    readonly onError?: (e: unknown) => void,
  ) {}

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.round()
        .then((busy) => this.#schedule(busy ? 0 : this.idleMs))
        .catch((e) => {
          this.onError?.(e);
          this.#schedule(this.idleMs);
        });
    }, ms);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }
}
