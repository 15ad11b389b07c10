import type { AppendResult, NewMessage, Store } from '../../backends/store/store.js';

interface Pending {
  input: NewMessage;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

/**
 * Group commit: sends that arrive while transactions run (or within the same turn of the
 * event loop) are committed together in the next one, so the cost of a commit (its flush to
 * disk, its round trips) is shared by the batch. Up to `pipeline` batches are committing at
 * once: the next one fills and starts while the previous waits for its flush or for the
 * database's answer. The store orders them (row locks on PostgreSQL, one writer on SQLite),
 * so seqs still grow per conversation in the order batches were taken.
 *
 * Batches settle in the order they were taken, each only after it committed: `onCommitted`
 * runs for every result of a batch, in seq order, before any promise of that batch settles.
 */
export class MessageWriter {
  readonly #queue: Pending[] = [];
  #scheduled = false;
  #inFlight = 0;
  /** The settling of the newest batch taken: the next one settles after it. */
  #settled: Promise<void> = Promise.resolve();
  #idle: (() => void)[] = [];

  constructor(
    readonly store: Store,
    readonly maxBatch: number,
    readonly onCommitted: (result: AppendResult, input: NewMessage) => void,
    /** Told the size of every batch before it is committed (metrics). */
    public onBatch: (size: number) => void = () => {},
    /** Batches committing at once (Store.appendPipeline). */
    readonly pipeline = 1,
  ) {}

  append(input: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  #schedule() {
    if (this.#scheduled || this.#inFlight >= this.pipeline || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#take();
    });
  }

  #take() {
    if (this.#inFlight >= this.pipeline || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.maxBatch);
    this.#inFlight++;
    this.onBatch(batch.length);
    const outcomes = this.#commit(batch);
    const before = this.#settled;
    this.#settled = (async () => {
      const out = await outcomes;
      await before;
      this.#settle(batch, out);
    })();
    void outcomes.then(() => {
      this.#inFlight--;
      this.#schedule();
      if (this.#inFlight === 0 && this.#queue.length === 0 && !this.#scheduled) void this.#settled.then(() => this.#wakeIdle());
    });
    this.#schedule();
  }

  async #commit(batch: Pending[]): Promise<Outcome[]> {
    try {
      const results = await this.store.appendMessages(batch.map((p) => p.input));
      return results.map((result) => ({ ok: true, result }));
    } catch (error) {
      if (batch.length === 1) return [{ ok: false, error }];
    }
    // One bad send must not fail its neighbours: commit them one by one.
    const out: Outcome[] = [];
    for (const p of batch) {
      try {
        out.push({ ok: true, result: (await this.store.appendMessages([p.input]))[0] });
      } catch (error) {
        out.push({ ok: false, error });
      }
    }
    return out;
  }

  #settle(batch: Pending[], outcomes: Outcome[]) {
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i];
      if (o.ok) this.onCommitted(o.result, batch[i].input);
    }
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i];
      if (o.ok) batch[i].resolve(o.result);
      else batch[i].reject(o.error);
    }
  }

  #wakeIdle() {
    if (this.#inFlight > 0 || this.#queue.length > 0 || this.#scheduled) return;
    for (const f of this.#idle.splice(0)) f();
  }

  /** Resolves when every queued send has committed and settled (graceful shutdown). */
  drained(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0 && !this.#scheduled) return this.#settled;
    return new Promise((r) => this.#idle.push(r));
  }
}
