import type { DomainEvent } from '../core/events.js';
import type { Id, Message } from '../core/model.js';

/**
 * Reads back what a process missed of a conversation: the changes with change_seq in
 * (afterChangeSeq, upToChangeSeq], messages with seq ≥ newFromSeq as `message.created` in seq
 * order first, then the older ones' changes (see Messages.missedEvents).
 */
export type GapFiller = (conversationId: Id, afterChangeSeq: number, upToChangeSeq: number, newFromSeq: number) => Promise<DomainEvent[]>;

/** Where a follower of a conversation stands: its newest seq and change_seq. */
export interface Cursor {
  lastSeq: number;
  changeSeq: number;
}

interface ConversationOrder {
  /** The change_seq delivered next; undefined until the first message event since subscribing. */
  next: number | undefined;
  /** The seq of the next new message. */
  nextSeq: number;
  /** Started from a known cursor: anything older than `next` was delivered, or predates the followers. */
  exact: boolean;
  /** Events waiting behind a missing change_seq, in arrival order. */
  queue: DomainEvent[];
  timer: NodeJS.Timeout | null;
  filling: boolean;
  /** Reads of the current gap that failed in a row. */
  failures: number;
  /**
   * Started by an event, not a cursor: the first events wait `waitMs` together, so one that
   * overtook an earlier one still comes after it.
   */
  starting: boolean;
  /** change_seqs delivered from the store; their live copy, if it still comes, is dropped. */
  filled: Set<number>;
}

/** Reads of one gap before its followers are told to resync (waits: waitMs × 2, 4, 8, 16). */
export const FILL_ATTEMPTS = 5;

type MessageEvent = Extract<DomainEvent, { message: Message; conversation: unknown }>;
const messageOf = (e: DomainEvent): Message | undefined => (e.type !== 'mention' && 'message' in e ? e.message : undefined);

/**
 * Puts the message events of each conversation back in change_seq order on this process.
 *
 * Every new message, edit, delete and reaction takes the conversation's next change_seq in
 * its transaction, so change_seq orders all of them (and new messages by seq). Processes
 * publish through the bus independently, so the live copy of change 6 (from one process) can
 * arrive before change 5 (from another). An event that arrives ahead of a missing change
 * waits, with everything of its conversation behind it, for at most `waitMs`; then the
 * missing changes are read from the store (the publisher may have died between its commit
 * and its publish) and delivered first. A retried send is published again (`retry`), so a
 * message whose first publish was lost still reaches everyone; a process that delivered
 * that change already drops it. Other events (typing, receipts) are not ordered, only kept
 * behind a waiting message. A gap whose read fails is read again (FILL_ATTEMPTS times, each
 * wait twice the one before), then given up with everything behind it, and `onLost` makes
 * the followers resync: nothing goes out with a hole in front of it.
 */
export class SeqOrderer {
  readonly #byConversation = new Map<Id, ConversationOrder>();

  constructor(
    /**
     * `inTurn`: the event is its conversation's next change, so its followers have every
     * change before it now. False for what a gap's read brings back (new messages first, then
     * older ones' changes: not in change_seq order) and for stragglers.
     */
    readonly deliver: (event: DomainEvent, inTurn: boolean) => void,
    readonly fill: GapFiller,
    readonly waitMs: number,
    readonly onError: (e: unknown) => void = () => {},
    /**
     * The missing changes of a conversation could not be read back (FILL_ATTEMPTS failed
     * reads): its state is forgotten, with everything waiting behind the gap, and its
     * followers must resync (resume from their cursors) rather than go on without them.
     */
    readonly onLost: (conversationId: Id) => void = () => {},
  ) {}

  /**
   * Starts ordering a conversation this process begins to follow, from the cursor read just
   * before subscribing: what is committed after it and published before the subscription
   * took effect is then filled from the store instead of being missed.
   */
  begin(conversationId: Id, cursor: Cursor): void {
    if (this.#byConversation.has(conversationId)) return;
    this.#byConversation.set(conversationId, this.#state(cursor.changeSeq + 1, cursor.lastSeq + 1, true));
  }

  /** Stops ordering a conversation (no local follower left). */
  forget(conversationId: Id): void {
    const state = this.#byConversation.get(conversationId);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    this.#byConversation.delete(conversationId);
  }

  /** Conversations with events waiting for a missing change (metrics, tests). */
  get waiting(): number {
    let n = 0;
    for (const s of this.#byConversation.values()) if (s.queue.length > 0) n++;
    return n;
  }

  push(conversationId: Id, event: DomainEvent): void {
    let state = this.#byConversation.get(conversationId);
    if (!state) {
      const m = messageOf(event);
      if (!m) return this.deliver(event, false);
      // No cursor to start from (begin() was not called): the first message event may have
      // overtaken an earlier one, which would then come after it and be lost to sockets that
      // saw the later one. So the first events wait together, like any gap, and start from
      // the earliest.
      state = this.#state(undefined, 0, false);
      state.starting = true;
      this.#byConversation.set(conversationId, state);
      state.queue.push(event);
      state.timer = setTimeout(() => this.#start(conversationId, state!), this.waitMs);
      state.timer.unref?.();
      return;
    }
    if (state.starting) {
      state.queue.push(event);
      return;
    }
    if (state.queue.length > 0) {
      state.queue.push(event);
      this.#flush(conversationId, state);
      return;
    }
    if (!this.#offer(state, event)) {
      state.queue.push(event);
      this.#arm(conversationId, state);
    }
  }

  #state(next: number | undefined, nextSeq: number, exact: boolean): ConversationOrder {
    return { next, nextSeq, exact, queue: [], timer: null, filling: false, failures: 0, starting: false, filled: new Set() };
  }

  /** The wait of a conversation started by an event is over: it starts from the earliest change that came. */
  #start(conversationId: Id, state: ConversationOrder): void {
    state.timer = null;
    state.starting = false;
    if (this.#byConversation.get(conversationId) !== state) return;
    let first: Message | undefined;
    let firstEvent: DomainEvent | undefined;
    for (const e of state.queue) {
      const m = messageOf(e);
      if (m && (!first || m.changeSeq < first.changeSeq)) (first = m), (firstEvent = e);
    }
    if (first && firstEvent) {
      state.next = first.changeSeq;
      // Started by a change of an existing message, nothing before it is new to this
      // process's sockets: only later seqs are.
      state.nextSeq = firstEvent.type === 'message.created' ? first.seq : first.seq + 1;
    }
    this.#flush(conversationId, state);
  }

  /** Delivers or drops `event` and returns true, or returns false: it must wait for an earlier change. */
  #offer(state: ConversationOrder, event: DomainEvent): boolean {
    const m = messageOf(event);
    if (!m) {
      this.deliver(event, false);
      return true;
    }
    const cs = m.changeSeq;
    if (state.next === undefined) {
      // A retry seen first: this process cannot tell whether its sockets had it; twice is worse.
      if (event.retry) return true;
      state.next = cs;
    }
    if (cs === state.next) {
      // A retry of a message shown already carries its change_seq now, that of a later change
      // (an edit) it does not show: taking its turn would skip that change for good.
      if (event.retry && m.seq < state.nextSeq) return true;
      state.next = cs + 1;
      this.#deliverInTurn(state, event as MessageEvent, true);
      return true;
    }
    if (cs > state.next) return false;
    // Behind: delivered here already (a retry's second publish, or filled from the store), an
    // edit that changed nothing, or a straggler from before this process's first message.
    if (state.filled.delete(cs) || event.retry || state.exact) return true;
    this.#deliverInTurn(state, event as MessageEvent, false);
    return true;
  }

  /**
   * A message event in its turn. A message this process has not shown yet is shown as new
   * first (its creation was filled as a later state, or lost), and never twice.
   */
  #deliverInTurn(state: ConversationOrder, event: MessageEvent, inTurn: boolean): void {
    const m = event.message;
    if (m.seq >= state.nextSeq) {
      state.nextSeq = m.seq + 1;
      if (event.type !== 'message.created') {
        this.deliver({ type: 'message.created', conversation: event.conversation, message: m, sender: event.sender, localTempId: m.clientId }, inTurn);
      }
    } else if (event.type === 'message.created' && state.exact) return;
    this.deliver(event, inTurn);
  }

  #flush(conversationId: Id, state: ConversationOrder): void {
    while (state.queue.length > 0) {
      if (this.#offer(state, state.queue[0])) {
        state.queue.shift();
        continue;
      }
      // The head waits for an earlier change: maybe it is further back in the queue.
      const i = state.queue.findIndex((e) => messageOf(e)?.changeSeq === state.next);
      if (i < 0) break;
      this.#offer(state, state.queue.splice(i, 1)[0]);
    }
    if (state.queue.length === 0) {
      if (state.timer) clearTimeout(state.timer);
      state.timer = null;
    } else this.#arm(conversationId, state);
  }

  #arm(conversationId: Id, state: ConversationOrder, delayMs = this.waitMs): void {
    if (state.timer || state.filling || state.starting) return;
    state.timer = setTimeout(() => {
      state.timer = null;
      void this.#fillGap(conversationId, state);
    }, delayMs);
    state.timer.unref?.();
  }

  async #fillGap(conversationId: Id, state: ConversationOrder): Promise<void> {
    if (this.#byConversation.get(conversationId) !== state || state.next === undefined) return;
    let upTo = Infinity;
    for (const e of state.queue) {
      const cs = messageOf(e)?.changeSeq;
      if (cs !== undefined && cs < upTo) upTo = cs;
    }
    if (upTo === Infinity) return this.#flush(conversationId, state);
    const from = state.next;
    state.filling = true;
    let events: DomainEvent[];
    try {
      events = await this.fill(conversationId, from - 1, upTo - 1, state.nextSeq);
    } catch (e) {
      state.filling = false;
      this.onError(e);
      if (this.#byConversation.get(conversationId) !== state) return;
      // Giving the gap up would show what follows it without it, for good (issue 15 item
      // 4). The read is tried again, waiting twice as long each time; then the followers
      // resync from the store themselves.
      if (++state.failures < FILL_ATTEMPTS) return this.#arm(conversationId, state, this.waitMs * 2 ** state.failures);
      this.forget(conversationId);
      this.onLost(conversationId);
      return;
    }
    state.filling = false;
    state.failures = 0;
    if (this.#byConversation.get(conversationId) !== state) return;
    if (state.next === from) {
      for (const e of events) this.#deliverInTurn(state, e as MessageEvent, false);
      // Every change of the gap is now delivered; its live copy is dropped if it still comes.
      if (upTo - from <= 10_000) for (let cs = from; cs < upTo; cs++) state.filled.add(cs);
      state.next = upTo;
      if (state.filled.size > 10_000) state.filled.clear();
    }
    this.#flush(conversationId, state);
  }
}
