import type { Bus } from '../backends/bus/bus.js';
import type { DomainEvent, EventPublisher } from '../core/events.js';
import type { Id } from '../core/model.js';
import { CloseCodes, type Connection } from './connection.js';
import { SeqOrderer, type Cursor, type GapFiller } from './ordering.js';
import type { Metrics } from '../observability/metrics.js';

const conversationChannel = (id: Id) => `conv:${id}`;
const userChannel = (id: Id) => `user:${id}`;

/**
 * The sockets of this process and the events they follow. Publishes through the bus and
 * delivers what the bus brings to local sockets, encoding each event once per rendering
 * variant. The origin connection of an event always gets it (its ack), once. The events of
 * a conversation reach its sockets in seq order, whichever process published them (SeqOrderer).
 */
export class Hub implements EventPublisher {
  readonly #connections = new Map<string, Connection<any>>();
  readonly #byConversation = new Map<Id, Set<Connection<any>>>();
  readonly #byUser = new Map<Id, Set<Connection<any>>>();
  readonly #subscribed = new Map<Id, Promise<void>>();
  #onDelivered: (conversationId: Id, userId: Id, seq: number) => void = () => {};
  #fill: GapFiller = async () => [];
  readonly #order: SeqOrderer;
  readonly #metrics: Metrics | undefined;
  readonly #slowConsumer: () => void;

  constructor(
    readonly bus: Bus,
    opts: { reorderWaitMs?: number; onError?: (e: unknown) => void; metrics?: Metrics } = {},
  ) {
    const metrics = (this.#metrics = opts.metrics);
    this.#slowConsumer = () => metrics?.slowConsumers.inc();
    const fill: GapFiller = (c, after, upTo, newFrom) => {
      metrics?.reorderFills.inc();
      return this.#fill(c, after, upTo, newFrom);
    };
    this.#order = new SeqOrderer((e) => this.#deliverToConversation(e), fill, opts.reorderWaitMs ?? 150, opts.onError);
    bus.onEvent((channel, event) => this.#deliver(channel, event));
  }

  /** How missing seqs are read back from the store (set by the composition root). */
  setGapFiller(fill: GapFiller): void {
    this.#fill = fill;
  }

  /** Conversations whose events wait for a missing seq right now. */
  get reordering(): number {
    return this.#order.waiting;
  }

  /** Called for every message.created a participant's socket received (delivered receipts). */
  onDelivered(listener: (conversationId: Id, userId: Id, seq: number) => void) {
    this.#onDelivered = listener;
  }

  /** False once shutdown began: new sockets are turned away and new frames ignored. */
  accepting = true;
  readonly #inFlight = new Set<Promise<unknown>>();

  /** Counts a frame's handling as in flight until it settles (graceful shutdown waits for it). */
  track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const done = () => this.#inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  /** Resolves when every frame being handled has been handled. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  get size(): number {
    return this.#connections.size;
  }

  connections(): IterableIterator<Connection<any>> {
    return this.#connections.values();
  }

  publish(event: DomainEvent): void {
    if (!('conversation' in event) || event.type === 'conversation.created') return;
    event.publishedAt = Date.now();
    if (event.type === 'message.created' && !event.retry) this.#metrics?.messagesIn.inc();
    // The origin socket's copy is its ack. It is local; when it does not follow the
    // conversation the bus would not bring it there, so it gets its copy here.
    const origin = event.origin ? this.#connections.get(event.origin) : undefined;
    // A retry's answer goes to the retrying socket even if it was shown the message already.
    if (origin && (event.retry || !origin.conversations.has(event.conversation.id))) this.#render([origin], event, true);
    this.bus.publish(conversationChannel(event.conversation.id), event);
  }

  publishToUsers(userIds: readonly Id[], event: DomainEvent): void {
    for (const id of userIds) this.bus.publish(userChannel(id), event);
  }

  add(conn: Connection<any>): void {
    this.#connections.set(conn.id, conn);
    conn.onSlowConsumer = this.#slowConsumer;
    if (add(this.#byUser, conn.user.id, conn)) this.bus.subscribe(userChannel(conn.user.id));
  }

  remove(conn: Connection<any>): void {
    if (!this.#connections.delete(conn.id)) return;
    for (const c of conn.conversations) this.leave(conn, c);
    if (drop(this.#byUser, conn.user.id, conn)) this.bus.unsubscribe(userChannel(conn.user.id));
  }

  /**
   * Follows a conversation; resolves once the bus delivers its events here (Redis: SUBSCRIBE
   * done). `cursor`, the conversation's newest seq and change_seq as read before joining,
   * lets what is published before the subscription took effect be filled from the store.
   */
  join(conn: Connection<any>, conversationId: Id, cursor?: Cursor): Promise<void> {
    if (conn.conversations.has(conversationId)) return this.#subscribed.get(conversationId) ?? Promise.resolve();
    conn.conversations.add(conversationId);
    if (add(this.#byConversation, conversationId, conn)) {
      if (cursor) this.#order.begin(conversationId, cursor);
      const done = Promise.resolve(this.bus.subscribe(conversationChannel(conversationId))).catch(() => {});
      this.#subscribed.set(conversationId, done);
      return done;
    }
    return this.#subscribed.get(conversationId) ?? Promise.resolve();
  }

  leave(conn: Connection<any>, conversationId: Id): void {
    if (!conn.conversations.delete(conversationId)) return;
    conn.held?.delete(conversationId);
    conn.marks?.delete(conversationId);
    if (drop(this.#byConversation, conversationId, conn)) {
      this.#subscribed.delete(conversationId);
      this.#order.forget(conversationId);
      this.bus.unsubscribe(conversationChannel(conversationId));
    }
  }

  /**
   * Joins and replays what the socket missed: live events that arrive while `load` runs are
   * held, then sent after the replay unless the replay already covered them (by change_seq).
   */
  async joinWithReplay(conn: Connection<any>, conversationId: Id, load: () => Promise<DomainEvent[]>, cursor?: Cursor): Promise<void> {
    conn.held ??= new Map();
    conn.held.set(conversationId, []);
    // Subscribed before the history is read, so nothing published in between is missed.
    await this.join(conn, conversationId, cursor);
    let replay: DomainEvent[] = [];
    try {
      replay = await load();
    } finally {
      const held = conn.held?.get(conversationId) ?? [];
      conn.held?.delete(conversationId);
      if (conn.held?.size === 0) conn.held = null;
      // The replay reaches the conversation's newest change as read: a held change at or
      // before the newest it showed is in it already.
      let top = 0;
      for (const e of replay) {
        // Replayed in seq order with their current change_seq, which is not monotonic.
        this.#render([conn], e, true);
        const m = 'message' in e ? e.message : undefined;
        if (m && m.changeSeq > top) top = m.changeSeq;
      }
      for (const e of held) {
        if (e.type !== 'mention' && 'message' in e && e.message.changeSeq <= top) continue;
        this.#render([conn], e);
      }
    }
  }

  /** Closes every socket of a user (logout), or those authenticated by a token older than `version`. */
  closeUser(userId: Id, code: number, reason: string, version?: number): void {
    for (const conn of [...(this.#byUser.get(userId) ?? [])]) if (version === undefined || conn.user.tokenVersion < version) conn.close(code, reason);
  }

  closeAll(code: number, reason: string): void {
    for (const conn of [...this.#connections.values()]) conn.close(code, reason);
  }

  #deliver(channel: string, event: DomainEvent): void {
    if (event.type === 'session.revoked') {
      this.closeUser(event.userId, CloseCodes.invalidToken, 'session revoked', event.version);
      return;
    }
    if (this.#metrics && event.publishedAt) this.#metrics.busLag.observe((Date.now() - event.publishedAt) / 1000);
    if (channel.startsWith('conv:')) {
      this.#order.push((event as { conversation: { id: Id } }).conversation.id, event);
      return;
    }
    const targets: Connection<any>[] = [];
    const subs = this.#byUser.get(Number(channel.slice(5)));
    if (subs) for (const c of subs) targets.push(c);
    if (event.type === 'conversation.created') {
      for (const c of targets) if (c.followNew?.(event.conversation)) this.join(c, event.conversation.id);
    }
    if (targets.length > 0) this.#render(targets, event);
  }

  /** A conversation event, in its turn: to every local follower (a retry: all but its origin). */
  #deliverToConversation(event: DomainEvent): void {
    const id = (event as { conversation: { id: Id } }).conversation.id;
    const subs = this.#byConversation.get(id);
    if (!subs) return;
    const targets: Connection<any>[] = [];
    for (const c of subs) if (!(event.retry && c.id === event.origin)) targets.push(c);
    if (targets.length > 0) {
      this.#render(targets, event);
      if (this.#metrics && event.publishedAt) this.#metrics.fanOut.observe((Date.now() - event.publishedAt) / 1000);
    }
    // A removed participant's sockets hear of their removal, then nothing more of it.
    if (event.type === 'participant.removed' || event.type === 'conversation.deleted') {
      for (const c of targets) {
        if (event.type === 'conversation.deleted' || c.user.id === event.user.id) this.leave(c, id);
      }
    }
  }

  /** Renders once per variant and sends; `force`: even what the socket's mark says it had (answers, replays). */
  #render(targets: Connection<any>[], event: DomainEvent, force = false): void {
    const frames = new Map<string, Buffer>();
    const convId = 'conversation' in event ? event.conversation.id : 0;
    const changeSeq = event.type !== 'mention' && 'message' in event ? event.message.changeSeq : 0;
    for (const conn of targets) {
      if (conn.closed) continue;
      const held = convId && conn.held?.get(convId);
      if (held) {
        held.push(event);
        continue;
      }
      if (changeSeq > 0) {
        const mark = conn.marks?.get(convId) ?? 0;
        if (changeSeq <= mark && !force) continue;
        if (changeSeq > mark) (conn.marks ??= new Map()).set(convId, changeSeq);
      }
      const variant = conn.renderer.key(event, conn);
      if (variant === null) continue;
      const cacheKey = conn.renderer.name + '\u0000' + variant;
      let frame = frames.get(cacheKey);
      if (frame === undefined) frames.set(cacheKey, (frame = Buffer.from(conn.renderer.frame(event, conn))));
      conn.send(frame);
      if (event.type !== 'message.created') continue;
      if (conn.user.id !== event.message.senderId) this.#onDelivered(convId, conn.user.id, event.message.seq);
      if (this.#metrics) {
        this.#metrics.messagesOut.inc();
        if (conn.id === event.origin && event.sentAt !== undefined) this.#metrics.sendToAck.observe((performance.now() - event.sentAt) / 1000);
      }
    }
  }
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): boolean {
  let set = map.get(key);
  const first = !set;
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
  return first;
}

function drop<K, V>(map: Map<K, Set<V>>, key: K, value: V): boolean {
  const set = map.get(key);
  if (!set || !set.delete(value)) return false;
  if (set.size > 0) return false;
  map.delete(key);
  return true;
}
