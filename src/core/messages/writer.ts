import { isDeferred, type AppendResult, type NewMessage, type Store } from '../../backends/store/store.js';
import type { Id } from '../model.js';
import { fromStoreError } from '../errors.js';

interface Pending {
  input: NewMessage;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; result: AppendResult } | { ok: false; error: unknown } | { deferred: true };

/** A conversation another transaction held too long: its sends wait aside, in order. */
interface Stall {
  items: Pending[];
  backoffMs: number;
  timer: NodeJS.Timeout | null;
  /** Its sends are in the queue or a batch, taken only if its row is free (Store probe). */
  retrying: boolean;
}

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1000;

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
 *
 * A conversation the store defers (another process holds it: stopped mid-commit, or cut off)
 * stalls alone: its sends, and every later one to it, wait aside in order and are offered
 * again after a growing pause, taken only if free by then, while every other conversation
 * keeps committing.
 */
export class MessageWriter {
  readonly #queue: Pending[] = [];
  readonly #stalled = new Map<Id, Stall>();
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

  /** Conversations whose sends wait aside right now (their row is held elsewhere). */
  get stalled(): number {
    return this.#stalled.size;
  }

  append(input: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      const p = { input, resolve, reject };
      const stall = this.#stalled.get(input.conversationId);
      if (stall) stall.items.push(p);
      else {
        this.#queue.push(p);
        this.#schedule();
      }
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
    let probe: Set<Id> | undefined;
    if (this.#stalled.size > 0) {
      for (const p of batch) if (this.#stalled.get(p.input.conversationId)?.retrying) (probe ??= new Set()).add(p.input.conversationId);
    }
    this.#inFlight++;
    this.onBatch(batch.length);
    const outcomes = this.#commit(batch, probe);
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

  async #commit(batch: Pending[], probe: Set<Id> | undefined): Promise<Outcome[]> {
    const opts = probe ? { probe } : {};
    const toOutcome = (o: Awaited<ReturnType<Store['appendMessages']>>[number]): Outcome => (isDeferred(o) ? { deferred: true } : { ok: true, result: o });
    try {
      return (await this.store.appendMessages(batch.map((p) => p.input), opts)).map(toOutcome);
    } catch (error) {
      if (batch.length === 1) return [{ ok: false, error: fromStoreError(error) }];
    }
    // One bad send must not fail its neighbours: commit them one by one. Once a conversation
    // is deferred, its later sends are too: none may take a seq before an earlier one.
    const out: Outcome[] = [];
    const held = new Set<Id>();
    for (const p of batch) {
      if (held.has(p.input.conversationId)) {
        out.push({ deferred: true });
        continue;
      }
      try {
        const o = toOutcome((await this.store.appendMessages([p.input], opts))[0]);
        if ('deferred' in o) held.add(p.input.conversationId);
        out.push(o);
      } catch (error) {
        out.push({ ok: false, error: fromStoreError(error) });
      }
    }
    return out;
  }

  #settle(batch: Pending[], outcomes: Outcome[]) {
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i];
      if ('ok' in o && o.ok) this.onCommitted(o.result, batch[i].input);
    }
    const deferred = new Map<Id, Pending[]>();
    const freed = new Set<Id>();
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i];
      const c = batch[i].input.conversationId;
      if ('deferred' in o) {
        let list = deferred.get(c);
        if (!list) deferred.set(c, (list = []));
        list.push(batch[i]);
        continue;
      }
      if (this.#stalled.get(c)?.retrying) freed.add(c);
      if (o.ok) batch[i].resolve(o.result);
      else batch[i].reject(o.error);
    }
    for (const c of freed) if (!deferred.has(c)) this.#unstall(c);
    for (const [c, items] of deferred) this.#stall(c, items);
    this.#schedule();
  }

  /** Sets `items` (the oldest sends of `c`) aside, with every later send of `c`, until a retry. */
  #stall(c: Id, items: Pending[]) {
    let stall = this.#stalled.get(c);
    const later = this.#queue.filter((p) => p.input.conversationId === c);
    if (later.length > 0) for (let i = this.#queue.length - 1; i >= 0; i--) if (this.#queue[i].input.conversationId === c) this.#queue.splice(i, 1);
    if (!stall) {
      stall = { items: [], backoffMs: FIRST_RETRY_MS, timer: null, retrying: false };
      this.#stalled.set(c, stall);
    } else if (stall.retrying) stall.backoffMs = Math.min(MAX_RETRY_MS, stall.backoffMs * 2);
    stall.items = [...items, ...later, ...stall.items];
    stall.retrying = false;
    if (stall.timer) clearTimeout(stall.timer);
    stall.timer = setTimeout(() => {
      stall.timer = null;
      stall.retrying = true;
      // Offered again ahead of everything: they are the oldest sends waiting.
      this.#queue.unshift(...stall.items.splice(0));
      this.#schedule();
    }, stall.backoffMs);
  }

  /** `c` committed again: what waited aside follows the sends of `c` still queued, in order. */
  #unstall(c: Id) {
    const stall = this.#stalled.get(c);
    if (!stall) return;
    this.#stalled.delete(c);
    if (stall.timer) clearTimeout(stall.timer);
    let at = 0;
    for (let i = 0; i < this.#queue.length; i++) if (this.#queue[i].input.conversationId === c) at = i + 1;
    this.#queue.splice(at, 0, ...stall.items);
  }

  #wakeIdle() {
    if (this.#inFlight > 0 || this.#queue.length > 0 || this.#scheduled || this.#stalled.size > 0) return;
    for (const f of this.#idle.splice(0)) f();
  }

  /** Resolves when every queued send has committed and settled (graceful shutdown). */
  drained(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0 && !this.#scheduled && this.#stalled.size === 0) return this.#settled;
    return new Promise((r) => this.#idle.push(r));
  }
}
