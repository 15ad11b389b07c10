import type { AppendResult, NewMessage, Store } from '../../backends/store/store.js';

interface Pending {
  input: NewMessage;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: sends that arrive while a transaction runs (or within the same turn of the
 * event loop) are committed together in the next one, so the cost of a commit (an fsync on
 * SQLite with synchronous=FULL) is shared by the batch. Each send's promise settles only
 * after its batch committed; `onCommitted` runs for every result, in seq order, before any
 * promise of the batch settles.
 */
export class MessageWriter {
  readonly #queue: Pending[] = [];
  #scheduled = false;
  #running = false;
  #idle: (() => void)[] = [];

  constructor(
    readonly store: Store,
    readonly maxBatch: number,
    readonly onCommitted: (result: AppendResult, input: NewMessage) => void,
    readonly onBatch: (size: number) => void = () => {},
  ) {}

  append(input: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  #schedule() {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  async #drain() {
    this.#running = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.maxBatch);
      this.onBatch(batch.length);
      try {
        this.#settle(batch, await this.store.appendMessages(batch.map((p) => p.input)));
      } catch (e) {
        if (batch.length === 1) batch[0].reject(e);
        else {
          // One bad send must not fail its neighbours: commit them one by one.
          for (const p of batch) {
            try {
              this.#settle([p], await this.store.appendMessages([p.input]));
            } catch (err) {
              p.reject(err);
            }
          }
        }
      }
    }
    this.#running = false;
    for (const f of this.#idle.splice(0)) f();
  }

  #settle(batch: Pending[], results: AppendResult[]) {
    for (let i = 0; i < batch.length; i++) this.onCommitted(results[i], batch[i].input);
    for (let i = 0; i < batch.length; i++) batch[i].resolve(results[i]);
  }

  /** Resolves when every queued send has committed (graceful shutdown). */
  drained(): Promise<void> {
    if (!this.#running && this.#queue.length === 0 && !this.#scheduled) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }
}
