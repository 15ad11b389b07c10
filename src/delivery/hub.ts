import type { Bus } from '../backends/bus/bus.js';
import type { CacheInvalidator } from '../backends/store/store.js';
import type { CacheChange, DomainEvent, EventPublisher, Flush } from '../core/events.js';
import type { Id } from '../core/model.js';
import { CloseCodes, OPEN, SharedFrame, type Connection } from './connection.js';
import { SeqOrderer, type Cursor, type GapFiller } from './ordering.js';
import type { Metrics } from '../observability/metrics.js';

const conversationChannel = (id: Id) => `conv:${id}`;
const userChannel = (id: Id) => `user:${id}`;
/** Every process subscribes to it: the CachedStore's invalidations. */
const CONTROL_CHANNEL = 'control';

/** Most events one socket may have held behind its own unflushed send (the hub's default replay bound). */
const FLUSH_HELD_MAX = 10_000;

/** How often a paged replay looks whether its socket drained (a WebSocketLike has no drain event). */
const DRAIN_POLL_MS = 5;

/** Resolves once the socket has at most `low` bytes queued, or is closed. */
async function drained(conn: Connection<any>, low: number): Promise<void> {
  while (!conn.closed && conn.socket.readyState === OPEN && conn.socket.bufferedAmount > low) {
    await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
  }
}

/** Runs `run` after `delayMs` (ms, fractional allowed): the hub's clock, which a test may replace. */
export type Schedule = (run: () => void, delayMs: number) => void;

/** The real clock; the timer never keeps a process alive that is otherwise done. */
const timers: Schedule = (run, delayMs) => {
  setTimeout(run, delayMs).unref();
};

/**
 * `n` moments within `[0, windowMs)`, one in each n-th of the window at a random point of it
 * (the i-th in slot i, `[i*windowMs/n, (i+1)*windowMs/n)`). Independent uniform draws bunch: of 1000 sockets over 3 s, some 100 ms
 * gets ~50, not 33. One per slot puts at most ceil(n/k)+1 in any k-th of the window.
 */
export function spreadDelays(n: number, windowMs: number, random: () => number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const start = (i * windowMs) / n;
    // The last slot ends at the window's end itself: (n * windowMs) / n can round above it.
    const end = i === n - 1 ? windowMs : ((i + 1) * windowMs) / n;
    const at = start + random() * (end - start);
    // r just below 1 may round the sum up to the slot's end, where the next slot's first moment
    // can be too: two slots in one instant, one more than the bound. Kept inside its own slot.
    return at < end ? at : start;
  });
}

/** What a catch-up read: the events to replay, and where the conversation stood in the snapshot they were read from. */
export interface Replay {
  events: DomainEvent[];
  /** The snapshot's newest seq and change_seq: a live change at or below it is in the replay, or older than the cursor. */
  upTo: Cursor;
}

/**
 * The sockets of this process and the events they follow. Publishes through the bus and
 * delivers what the bus brings to local sockets, encoding each event once per rendering
 * variant. The origin connection of an event always gets it (its ack), once. The events of
 * a conversation reach its sockets in seq order, whichever process published them (SeqOrderer).
 */
export class Hub implements EventPublisher, CacheInvalidator {
  readonly #connections = new Map<string, Connection<any>>();
  readonly #byConversation = new Map<Id, Set<Connection<any>>>();
  readonly #byUser = new Map<Id, Set<Connection<any>>>();
  readonly #subscribed = new Map<Id, Promise<void>>();
  #onDelivered: (conversationId: Id, userId: Id, seq: number) => void = () => {};
  #fill: GapFiller = async () => [];
  #position: ((conversationId: Id) => Promise<Cursor>) | null = null;
  readonly #onError: (e: unknown) => void;
  readonly #order: SeqOrderer;
  readonly #metrics: Metrics | undefined;
  readonly #slowConsumer: () => void;
  /** Most live events one socket may have held behind a replay of one conversation. */
  readonly #heldMax: number;
  /**
   * Held lists of a socket's own unflushed send (#holdForFlush), not of a replay: they last one
   * flush, and a client's sends in a row wait there together, so RESUME_MAX_MESSAGES is not
   * their bound (a socket that sent more than it in a row is no slow consumer); FLUSH_HELD_MAX is.
   */
  readonly #flushHolds = new WeakSet<DomainEvent[]>();
  /** When the spread closes of closeAllOver run. */
  readonly #schedule: Schedule;

  constructor(
    readonly bus: Bus,
    opts: { reorderWaitMs?: number; onError?: (e: unknown) => void; metrics?: Metrics; heldMax?: number; schedule?: Schedule } = {},
  ) {
    this.#heldMax = opts.heldMax ?? 10_000;
    this.#schedule = opts.schedule ?? timers;
    const metrics = (this.#metrics = opts.metrics);
    this.#slowConsumer = () => metrics?.slowConsumers.inc();
    const fill: GapFiller = (c, after, upTo, newFrom) => {
      metrics?.reorderFills.inc();
      return this.#fill(c, after, upTo, newFrom);
    };
    this.#order = new SeqOrderer((e, inTurn) => this.#deliverToConversation(e, inTurn), fill, opts.reorderWaitMs ?? 150, opts.onError, (id) => this.#resync(id));
    this.#onError = opts.onError ?? (() => {});
    bus.onEvent((channel, event) => this.#deliver(channel, event));
    this.ready = Promise.resolve(bus.subscribe(CONTROL_CHANNEL)).catch((e) => this.#onError(e));
    // Invalidations published while the bus was cut off are lost: forget everything.
    bus.onGap?.(() => this.#forget({ scope: 'all' }));
  }

  /** Resolves once this process receives the control channel (cache invalidations): serve after it. */
  readonly ready: Promise<void>;
  readonly #invalidated: ((change: CacheChange) => void)[] = [];

  invalidate(change: CacheChange): Promise<void> {
    this.#forget(change);
    return this.bus.publish(CONTROL_CHANNEL, { type: 'cache.invalidate', change });
  }

  onInvalidate(listener: (change: CacheChange) => void): void {
    this.#invalidated.push(listener);
  }

  #forget(change: CacheChange): void {
    for (const l of this.#invalidated) {
      try {
        l(change);
      } catch (e) {
        this.#onError(e);
      }
    }
  }

  /** How missing seqs are read back from the store (set by the composition root). */
  setGapFiller(fill: GapFiller): void {
    this.#fill = fill;
  }

  /** How a join without a cursor learns where a conversation stands now (set by the composition root). */
  setPositionReader(read: (conversationId: Id) => Promise<Cursor>): void {
    this.#position = read;
  }

  /** Conversations whose events wait for a missing seq right now. */
  get reordering(): number {
    return this.#order.waiting;
  }

  /** Called for every message.created written to a participant's socket whose clients do not ack (delivered receipts). */
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

  /** How many entries each of the hub's long-lived maps holds (a leak shows as growth with a steady number of sockets). */
  get entries(): Record<'conversations' | 'users' | 'followers' | 'subscriptions' | 'in_flight', number> {
    let followers = 0;
    for (const set of this.#byConversation.values()) followers += set.size;
    return { conversations: this.#byConversation.size, users: this.#byUser.size, followers, subscriptions: this.#subscribed.size, in_flight: this.#inFlight.size };
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
    if (origin && (event.retry || !origin.conversations.has(event.conversation.id))) {
      const flush = event.flush;
      if (flush && !flush.done) void flush.settled.then(() => flush.ok && this.#render([origin], event, true));
      else this.#render([origin], event, true);
    }
    void this.bus.publish(conversationChannel(event.conversation.id), event);
  }

  publishToUsers(userIds: readonly Id[], event: DomainEvent): void {
    for (const id of userIds) void this.bus.publish(userChannel(id), event);
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
   * Without one, the first follower on this process reads where the conversation stands
   * (setPositionReader) before subscribing, for the same reason, and so that its first two
   * events, if they come out of order, are put back in order instead of losing the earlier.
   */
  join(conn: Connection<any>, conversationId: Id, cursor?: Cursor): Promise<void> {
    // Closed while its subscribe ran: remove() has run already and would not run again.
    if (conn.closed) return Promise.resolve();
    if (conn.conversations.has(conversationId)) return this.#subscribed.get(conversationId) ?? Promise.resolve();
    conn.conversations.add(conversationId);
    if (!add(this.#byConversation, conversationId, conn)) return this.#subscribed.get(conversationId) ?? Promise.resolve();
    const first = this.#byConversation.get(conversationId);
    const done = (async () => {
      let from = cursor;
      if (!from && this.#position) {
        from = await this.#position(conversationId).catch((e: unknown) => {
          this.#onError(e);
          return undefined;
        });
        // Everyone left meanwhile: leave() unsubscribed already.
        if (this.#byConversation.get(conversationId) !== first) return;
      }
      if (from) this.#order.begin(conversationId, from);
      await this.bus.subscribe(conversationChannel(conversationId));
    })().catch(() => {});
    this.#subscribed.set(conversationId, done);
    return done;
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
   * Joins and replays what the socket missed. Live events that arrive while `load` reads and
   * while the replay is sent are held; afterwards each is sent unless the snapshot the replay
   * was read from covers it (its change_seq is at most the snapshot's). Resolves to that
   * snapshot's position: the socket has everything up to it and gets everything after it.
   * If `load` fails, the socket does not follow the conversation (no hole behind a live
   * stream) and nothing held is shown.
   */
  async joinWithReplay(conn: Connection<any>, conversationId: Id, load: () => Promise<Replay>, cursor?: Cursor): Promise<Cursor> {
    const held: DomainEvent[] = [];
    (conn.held ??= new Map()).set(conversationId, held);
    let replay: Replay;
    try {
      // Subscribed before the history is read, so nothing published in between is missed.
      await this.join(conn, conversationId, cursor);
      replay = await load();
    } catch (e) {
      this.#release(conn, conversationId, held);
      this.leave(conn, conversationId);
      throw e;
    }
    try {
      await this.#sendReplay(conn, conversationId, replay.events);
    } finally {
      this.#release(conn, conversationId, held);
      const covered = replay.upTo.changeSeq;
      if (conn.conversations.has(conversationId)) raiseMark(conn, conversationId, covered);
      // Held in arrival order, which is not change_seq order after a gap's read: none raises the mark.
      for (const e of held) {
        if (e.type !== 'mention' && 'message' in e && e.message.changeSeq <= covered) continue;
        this.#render([conn], e, false, false, false);
      }
    }
    return replay.upTo;
  }

  /** Holds `conn`'s events of the conversation from its own `event` on, until `flush` is done. */
  #holdForFlush(conn: Connection<any>, conversationId: Id, event: DomainEvent, flush: Flush): void {
    const held: DomainEvent[] = [event];
    this.#flushHolds.add(held);
    (conn.held ??= new Map()).set(conversationId, held);
    void flush.settled.then(() => {
      // Not on disk: the send fails, and #render drops its ack (and those of this socket's
      // sends that failed with it); the rest goes out.
      const now = conn.held?.get(conversationId);
      if (now === held) this.#release(conn, conversationId, held);
      if (conn.closed || !conn.conversations.has(conversationId)) return;
      // A replay began meanwhile (it took the conversation's hold): these come before its live events.
      if (now !== held && now) now.unshift(...held);
      else for (const e of held) this.#render([conn], e);
    });
  }

  #release(conn: Connection<any>, conversationId: Id, held: DomainEvent[]): void {
    if (conn.held?.get(conversationId) !== held) return;
    conn.held.delete(conversationId);
    if (conn.held.size === 0) conn.held = null;
  }

  /**
   * Sends a replay in pages: while the socket has more than a quarter of its send buffer
   * queued, the next event waits until it has drained to a sixteenth. A backlog larger than
   * the buffer (8 MB by default) then reaches the client at the pace it reads, where sent in
   * one go it closed the socket with 4008 every time, and the client came back for the same
   * replay (issue 14, item 10). Replayed in seq order with their current change_seq, which
   * is not monotonic; `force`: each goes out whatever the socket's mark says.
   */
  async #sendReplay(conn: Connection<any>, conversationId: Id, events: readonly DomainEvent[]): Promise<void> {
    const high = conn.sendBufferLimit / 4;
    const low = conn.sendBufferLimit / 16;
    for (const e of events) {
      if (conn.closed || !conn.conversations.has(conversationId)) return;
      if (conn.socket.bufferedAmount > high) await drained(conn, low);
      this.#render([conn], e, true, true, false);
    }
  }

  /**
   * The missing changes of a conversation could not be read back: its followers here would
   * go on without them. They are closed with 1012 and resume from their cursors (or reload),
   * which reads the store again, as after a bus outage.
   */
  #resync(conversationId: Id): void {
    for (const conn of [...(this.#byConversation.get(conversationId) ?? [])]) {
      conn.close(CloseCodes.serviceRestart, 'event stream interrupted; reconnect and resume');
      this.remove(conn);
    }
  }

  /** Closes every socket of a user (logout), or those authenticated by a token older than `version`. */
  closeUser(userId: Id, code: number, reason: string, version?: number): void {
    for (const conn of [...(this.#byUser.get(userId) ?? [])]) if (version === undefined || conn.user.tokenVersion < version) conn.close(code, reason);
  }

  closeAll(code: number, reason: string): void {
    for (const conn of [...this.#connections.values()]) conn.close(code, reason);
  }

  /**
   * Closes every socket within `windowMs` (after a bus outage: their clients then reconnect
   * spread out instead of in one instant), one in each n-th of the window (`spreadDelays`), in
   * a random order. Each is silenced now, so nothing reaches it after what it may have missed:
   * its cursor stays where its stream is whole, and it resumes from there. A socket silenced by
   * an earlier outage keeps its moment (scheduled again it would bunch with this outage's); one
   * that closed meanwhile is skipped.
   */
  closeAllOver(code: number, reason: string, windowMs: number, random: () => number = Math.random): void {
    const conns = [...this.#connections.values()].filter((c) => !c.silenced && !c.closed);
    for (const conn of conns) conn.silenced = true;
    if (windowMs <= 0) {
      for (const conn of conns) conn.close(code, reason);
      return;
    }
    // Fisher-Yates: which socket gets which slot is random, not the oldest first.
    for (let i = conns.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [conns[i], conns[j]] = [conns[j], conns[i]];
    }
    const delays = spreadDelays(conns.length, windowMs, random);
    conns.forEach((conn, i) =>
      this.#schedule(() => {
        if (!conn.closed) conn.close(code, reason);
      }, delays[i]),
    );
  }

  #deliver(channel: string, event: DomainEvent): void {
    if (channel === CONTROL_CHANNEL) {
      if (event.type === 'cache.invalidate') this.#forget(event.change);
      return;
    }
    if (event.type === 'session.revoked') {
      this.closeUser(event.userId, CloseCodes.invalidToken, 'session revoked', event.version);
      return;
    }
    if (this.#metrics && event.publishedAt) this.#metrics.busLag.observe((Date.now() - event.publishedAt) / 1000);
    if (channel.startsWith('conv:')) {
      const id = (event as { conversation: { id: Id } }).conversation.id;
      // A late event after the last follower left: ordering it would start a state no join
      // could begin from its cursor any more.
      if (!this.#byConversation.has(id)) return;
      this.#order.push(id, event);
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

  /**
   * A conversation event, in its turn: to every local follower (a retry: all but its origin).
   * `inTurn` (see SeqOrderer): only then does the sockets' mark move to its change_seq.
   */
  #deliverToConversation(event: DomainEvent, inTurn = true): void {
    const id = (event as { conversation: { id: Id } }).conversation.id;
    const subs = this.#byConversation.get(id);
    if (!subs) return;
    const targets: Connection<any>[] = [];
    for (const c of subs) if (!(event.retry && c.id === event.origin)) targets.push(c);
    if (targets.length > 0) {
      this.#render(targets, event, false, false, inTurn);
      if (this.#metrics && event.publishedAt) this.#metrics.fanOut.observe((Date.now() - event.publishedAt) / 1000);
    }
    // A removed participant's sockets hear of their removal, then nothing more of it.
    if (event.type === 'participant.removed' || event.type === 'conversation.deleted') {
      for (const c of targets) {
        if (event.type === 'conversation.deleted' || c.user.id === event.user.id) this.leave(c, id);
      }
    }
  }

  /**
   * Renders once per variant and sends; `force`: even what the socket's mark says it had
   * (answers, replays); `replay`: a replay's own event, not held behind it. `advance`: the
   * socket now has every change up to this one, so its mark moves there. An answer out of
   * turn (a retry's ack ahead of earlier changes still read back) or a change read back out
   * of change_seq order does not: a mark moved by one of them hid the earlier changes that
   * followed (fault run parley_fault_2e8087add0: a block of messages and edits missed for good).
   */
  #render(targets: Connection<any>[], event: DomainEvent, force = false, replay = false, advance = !force): void {
    // A socket that holds the event (behind a replay or its own flush) renders it later, alone:
    // the frames go with the event then, so it finds the one the others got.
    const frames: Map<string, SharedFrame> = (event as Framed)[FRAMES] ?? new Map();
    // The frame of the previous socket's renderer and variant: a group's sockets mostly share
    // one (the sender's differs), so most deliveries skip building the cache key.
    let lastRenderer: unknown = null;
    let lastVariant: string | null = null;
    let lastFrame: SharedFrame | undefined;
    let sent = 0;
    const convId = 'conversation' in event ? event.conversation.id : 0;
    const changeSeq = event.type !== 'mention' && 'message' in event ? event.message.changeSeq : 0;
    for (const conn of targets) {
      // Silenced: not shown, nor counted delivered.
      if (conn.closed || conn.silenced) continue;
      const held = !replay && convId && conn.held?.get(convId);
      if (held) {
        // A replay so slow to drain that more live events wait behind it than a resume
        // replays at all: this socket will not catch up; it resumes later as any slow consumer.
        if (held.length >= (this.#flushHolds.has(held) ? FLUSH_HELD_MAX : this.#heldMax)) {
          conn.close(CloseCodes.slowConsumer, 'slow consumer');
          this.#slowConsumer();
          continue;
        }
        held.push(event);
        (event as Framed)[FRAMES] = frames;
        continue;
      }
      // The sender's ack promises the disk: it waits for the flush, and this socket's later
      // events of the conversation wait behind it. Every other socket has it now.
      if (event.flush && conn.id === event.origin && convId) {
        // Not on disk: the send failed, so no ack (a socket's later sends may have waited
        // behind this one's flush with their own).
        if (event.flush.done && !event.flush.ok) continue;
        if (!event.flush.done) {
          (event as Framed)[FRAMES] = frames;
          this.#holdForFlush(conn, convId, event, event.flush);
          continue;
        }
      }
      if (changeSeq > 0) {
        if (!force && changeSeq <= (conn.marks?.get(convId) ?? 0)) continue;
        if (advance) raiseMark(conn, convId, changeSeq);
      }
      const variant = conn.renderer.key(event, conn);
      if (variant === null) continue;
      let frame: SharedFrame | undefined;
      if (conn.renderer === lastRenderer && variant === lastVariant) frame = lastFrame!;
      else {
        const cacheKey = conn.renderer.name + '\u0000' + variant;
        frame = frames.get(cacheKey);
        if (frame === undefined) frames.set(cacheKey, (frame = new SharedFrame(conn.renderer.frame(event, conn))));
        lastRenderer = conn.renderer;
        lastVariant = variant;
        lastFrame = frame;
      }
      conn.send(frame);
      if (event.type !== 'message.created') continue;
      if (conn.user.id !== event.message.senderId && !conn.renderer.clientAcks) this.#onDelivered(convId, conn.user.id, event.message.seq);
      sent++;
      if (this.#metrics && conn.id === event.origin && event.sentAt !== undefined) this.#metrics.sendToAck.observe((performance.now() - event.sentAt) / 1000);
    }
    // Once per event, not per socket: a counter's inc hashes its labels each time.
    if (sent > 0) this.#metrics?.messagesOut.inc(sent);
  }
}

/** An event's frames by renderer and variant, once a socket holds it (a symbol: no bus carries it). */
const FRAMES = Symbol('frames');
type Framed = DomainEvent & { [FRAMES]?: Map<string, SharedFrame> };

/** Nothing at or below `changeSeq` is shown to `conn` again unless forced: it has all of it. */
function raiseMark(conn: Connection<any>, conversationId: Id, changeSeq: number): void {
  if (changeSeq > (conn.marks?.get(conversationId) ?? 0)) (conn.marks ??= new Map()).set(conversationId, changeSeq);
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
