import { isDeferred, type AppendOptions, type AppendOutcome, type AppendResult, type NewMessage, type Store } from '../../backends/store/store.js';
import { Flush } from '../events.js';
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
  /** Retries that found the row held again. */
  misses: number;
}

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1000;
/**
 * How long a retry that missed before waits for the row, in a transaction of its own: a
 * probe takes the row only when it is free at that instant, which another process that
 * keeps the conversation busy may never leave it; waiting in line gets it at that process's
 * next commit, and in a transaction of its own the wait holds up no other conversation.
 */
const PATIENT_WAIT_MS = 2000;

/**
 * Group commit: sends that arrive while transactions run (or within the same turn of the
 * event loop) are committed together in the next one, so the cost of a commit (its flush to
 * disk, its round trips) is shared by the batch. Up to `pipeline` batches are committing at
 * once: the next one fills and starts while the previous waits for its flush or for the
 * database's answer. Seqs still grow per conversation in the order batches were taken: the
 * store runs them in that order (SQLite's one writer), each starting once the one before it
 * has committed (a failed one first commits its sends one by one), or, where it does not
 * (Store.appendsInCallOrder false: PostgreSQL, each on a connection of its own), no two
 * running batches share a conversation: a send to one a running batch holds waits, in its
 * place in the queue, for that batch to end.
 *
 * Batches settle in the order they were taken, each only after it committed: `onCommitted`
 * runs for every result of a batch, in seq order, before any promise of that batch settles.
 * A store that tells a commit before its flush to disk (AppendOptions.onCommit: SQLite) has
 * `onCommitted` run then, with the batch's Flush, while the promises still wait for the disk:
 * the others' sockets get the messages one flush earlier, the senders' acks do not.
 *
 * A conversation the store defers (another process holds it: stopped mid-commit, or cut off)
 * stalls alone: its sends, and every later one to it, wait aside in order and are offered
 * again after a growing pause, taken only if free by then, while every other conversation
 * keeps committing. A retry that found the row held again waits in line for it next time, in
 * a transaction of its own, so a conversation another process keeps busy is not starved.
 */
export class MessageWriter {
  readonly #queue: Pending[] = [];
  readonly #stalled = new Map<Id, Stall>();
  #scheduled = false;
  #inFlight = 0;
  /** Conversations a running batch holds (`disjoint`): their sends wait in the queue. */
  readonly #busy = new Map<Id, number>();
  /** Where the store runs batches in call order: the newest batch taken has committed, or ended. */
  #previousCommitted: Promise<void> = Promise.resolve();
  /** The settling of the newest batch taken: the next one settles after it. */
  #settled: Promise<void> = Promise.resolve();
  /** The `onCommitted` calls of the newest batch taken: the next one's come after them. */
  #told: Promise<void> = Promise.resolve();
  #idle: (() => void)[] = [];

  constructor(
    readonly store: Store,
    readonly maxBatch: number,
    /** `flush`: not null when told at the commit, before the batch is on disk (its promises wait for that). */
    readonly onCommitted: (result: AppendResult, input: NewMessage, flush: Flush | null) => void,
    /** Told the size of every batch before it is committed (metrics). */
    public onBatch: (size: number) => void = () => {},
    /** Batches committing at once (Store.appendPipeline). */
    readonly pipeline = 1,
  ) {
    this.disjoint = store.appendsInCallOrder === false;
  }

  /** Told how long each batch took, from its start to its outcomes (committed and on disk), in seconds (metrics). */
  onBatchDone: (seconds: number) => void = () => {};

  /** Batches running at once must not share a conversation: the store does not order them. */
  readonly disjoint: boolean;

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
    const batch = this.#busy.size > 0 ? this.#takeFree() : this.#queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    let probe: Set<Id> | undefined;
    if (this.#stalled.size > 0) {
      for (const p of batch) if (this.#stalled.get(p.input.conversationId)?.retrying) (probe ??= new Set()).add(p.input.conversationId);
    }
    this.#inFlight++;
    this.onBatch(batch.length);
    const started = performance.now();
    const outcomes = this.#run(batch, probe ? { probe } : {});
    void outcomes.then(() => {
      this.onBatchDone((performance.now() - started) / 1000);
      this.#inFlight--;
      this.#schedule();
      if (this.#inFlight === 0 && this.#queue.length === 0 && !this.#scheduled) void this.#settled.then(() => this.#wakeIdle());
    });
    this.#schedule();
  }

  /** The oldest queued sends (up to maxBatch) to conversations no running batch holds; the others keep their order. */
  #takeFree(): Pending[] {
    const taken: Pending[] = [];
    let kept = 0;
    for (const p of this.#queue) {
      if (taken.length < this.maxBatch && !this.#busy.has(p.input.conversationId)) taken.push(p);
      else this.#queue[kept++] = p;
    }
    this.#queue.length = kept;
    return taken;
  }

  /**
   * Commits `batch`; tells its results (`onCommitted`) once it committed and every batch taken
   * before it has been told, and settles it once it is on disk and every batch taken before
   * it has settled. Resolves to its outcomes.
   */
  #run(batch: Pending[], opts: AppendOptions): Promise<Outcome[]> {
    let tell!: (outcomes: Outcome[], early: boolean) => void;
    const told = new Promise<{ outcomes: Outcome[]; early: boolean }>((resolve) => (tell = (outcomes, early) => resolve({ outcomes, early })));
    if (this.disjoint) this.#hold(batch, 1);
    // Where the store runs batches in call order, this one starts once the one before it has
    // committed (its flush may still run) or ended: had that one failed and committed its sends
    // one by one, this one's would otherwise take seqs before them.
    const after = this.disjoint ? null : this.#previousCommitted;
    let committed: (() => void) | null = null;
    if (!this.disjoint) this.#previousCommitted = new Promise<void>((r) => (committed = r));
    const outcomes = this.#commit(
      batch,
      opts,
      (early) => {
        committed?.();
        tell(early, true);
      },
      after,
    );
    // Not told at the commit (a store that does not, or one by one after a failure): told now.
    void outcomes.then((out) => {
      if (this.disjoint) this.#hold(batch, -1);
      committed?.();
      tell(out, false);
    });
    const beforeTold = this.#told;
    const toldInTurn = (this.#told = (async () => {
      const { outcomes: out, early } = await told;
      await beforeTold;
      // The promises settle once the batch is on disk; an error after the commit (the flush
      // failed) fails every send of it, so no ack goes out for them (Flush.ok false).
      const flush = early ? new Flush(outcomes.then((o) => (o.every((x) => !('ok' in x) || x.ok) ? undefined : Promise.reject(new Error('not on disk'))))) : null;
      for (let i = 0; i < batch.length; i++) {
        const o = out[i];
        if ('ok' in o && o.ok) this.onCommitted(o.result, batch[i].input, flush);
      }
    })());
    const beforeSettled = this.#settled;
    this.#settled = (async () => {
      const out = await outcomes;
      await beforeSettled;
      await toldInTurn;
      this.#settle(batch, out);
    })();
    return outcomes;
  }

  /** Marks the conversations of `batch` held by one more (+1) or one fewer (-1) running batch. */
  #hold(batch: readonly Pending[], by: 1 | -1) {
    for (const c of new Set(batch.map((p) => p.input.conversationId))) {
      const n = (this.#busy.get(c) ?? 0) + by;
      if (n > 0) this.#busy.set(c, n);
      else this.#busy.delete(c);
    }
  }

  /** `told`: the outcomes once the batch committed, when the store tells that before its flush. */
  async #commit(batch: Pending[], opts: AppendOptions, told: ((outcomes: Outcome[]) => void) | undefined, after: Promise<void> | null): Promise<Outcome[]> {
    if (after) await after;
    const toOutcome = (o: AppendOutcome): Outcome => (isDeferred(o) ? { deferred: true } : { ok: true, result: o });
    let committed = false;
    const onCommit = told
      ? (outcomes: readonly AppendOutcome[]) => {
          committed = true;
          told(outcomes.map(toOutcome));
        }
      : undefined;
    try {
      return (await this.store.appendMessages(batch.map((p) => p.input), onCommit ? { ...opts, onCommit } : opts)).map(toOutcome);
    } catch (error) {
      // Committed, then not flushed: every send of it fails (a retry of its local_temp_id
      // finds its message); committing them again one by one would write them twice.
      if (batch.length === 1 || committed) return batch.map(() => ({ ok: false, error: fromStoreError(error) }));
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
      stall = { items: [], backoffMs: FIRST_RETRY_MS, timer: null, retrying: false, misses: 0 };
      this.#stalled.set(c, stall);
    } else if (stall.retrying) {
      stall.backoffMs = Math.min(MAX_RETRY_MS, stall.backoffMs * 2);
      stall.misses++;
    }
    stall.items = [...items, ...later, ...stall.items];
    stall.retrying = false;
    if (stall.timer) clearTimeout(stall.timer);
    stall.timer = setTimeout(() => {
      stall.timer = null;
      stall.retrying = true;
      const items = stall.items.splice(0);
      if (stall.misses > 0) {
        // Sends to `c` arriving meanwhile wait in stall.items, behind these.
        void this.#run(items, { waitMs: PATIENT_WAIT_MS });
        void this.#settled.then(() => this.#wakeIdle());
        return;
      }
      // Offered again ahead of everything: they are the oldest sends waiting.
      this.#queue.unshift(...items);
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
