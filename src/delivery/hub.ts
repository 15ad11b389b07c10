import type { Bus } from '../backends/bus/bus.js';
import type { DomainEvent, EventPublisher } from '../core/events.js';
import type { Id } from '../core/model.js';
import { CloseCodes, type Connection } from './connection.js';

const conversationChannel = (id: Id) => `conv:${id}`;
const userChannel = (id: Id) => `user:${id}`;

/**
 * The sockets of this process and the events they follow. Publishes through the bus and
 * delivers what the bus brings to local sockets, encoding each event once per rendering
 * variant. The origin connection of an event always gets it (its ack), once.
 */
export class Hub implements EventPublisher {
  readonly #connections = new Map<string, Connection<any>>();
  readonly #byConversation = new Map<Id, Set<Connection<any>>>();
  readonly #byUser = new Map<Id, Set<Connection<any>>>();
  readonly #subscribed = new Map<Id, Promise<void>>();
  #onDelivered: (conversationId: Id, userId: Id, seq: number) => void = () => {};

  constructor(readonly bus: Bus) {
    bus.onEvent((channel, event) => this.#deliver(channel, event));
  }

  /** Called for every message.created a participant's socket received (delivered receipts). */
  onDelivered(listener: (conversationId: Id, userId: Id, seq: number) => void) {
    this.#onDelivered = listener;
  }

  get size(): number {
    return this.#connections.size;
  }

  connections(): IterableIterator<Connection<any>> {
    return this.#connections.values();
  }

  publish(event: DomainEvent): void {
    if (!('conversation' in event) || event.type === 'conversation.created') return;
    // The origin socket's copy is its ack. It is local; when it does not follow the
    // conversation the bus would not bring it there, so it gets its copy here.
    const origin = event.origin ? this.#connections.get(event.origin) : undefined;
    if (origin && (event.originOnly || !origin.conversations.has(event.conversation.id))) this.#render([origin], event);
    // A retried send: the other sockets already had the message.
    if (event.originOnly) return;
    this.bus.publish(conversationChannel(event.conversation.id), event);
  }

  publishToUsers(userIds: readonly Id[], event: DomainEvent): void {
    for (const id of userIds) this.bus.publish(userChannel(id), event);
  }

  add(conn: Connection<any>): void {
    this.#connections.set(conn.id, conn);
    if (add(this.#byUser, conn.user.id, conn)) this.bus.subscribe(userChannel(conn.user.id));
  }

  remove(conn: Connection<any>): void {
    if (!this.#connections.delete(conn.id)) return;
    for (const c of conn.conversations) this.leave(conn, c);
    if (drop(this.#byUser, conn.user.id, conn)) this.bus.unsubscribe(userChannel(conn.user.id));
  }

  /** Follows a conversation; resolves once the bus delivers its events here (Redis: SUBSCRIBE done). */
  join(conn: Connection<any>, conversationId: Id): Promise<void> {
    if (conn.conversations.has(conversationId)) return this.#subscribed.get(conversationId) ?? Promise.resolve();
    conn.conversations.add(conversationId);
    if (add(this.#byConversation, conversationId, conn)) {
      const done = Promise.resolve(this.bus.subscribe(conversationChannel(conversationId))).catch(() => {});
      this.#subscribed.set(conversationId, done);
      return done;
    }
    return this.#subscribed.get(conversationId) ?? Promise.resolve();
  }

  leave(conn: Connection<any>, conversationId: Id): void {
    if (!conn.conversations.delete(conversationId)) return;
    conn.held?.delete(conversationId);
    if (drop(this.#byConversation, conversationId, conn)) {
      this.#subscribed.delete(conversationId);
      this.bus.unsubscribe(conversationChannel(conversationId));
    }
  }

  /**
   * Joins and replays what the socket missed: live events that arrive while `load` runs are
   * held, then sent after the replay unless the replay already covered them (by seq).
   */
  async joinWithReplay(conn: Connection<any>, conversationId: Id, load: () => Promise<DomainEvent[]>): Promise<void> {
    conn.held ??= new Map();
    conn.held.set(conversationId, []);
    // Subscribed before the history is read, so nothing published in between is missed.
    await this.join(conn, conversationId);
    let replay: DomainEvent[] = [];
    try {
      replay = await load();
    } finally {
      const held = conn.held?.get(conversationId) ?? [];
      conn.held?.delete(conversationId);
      if (conn.held?.size === 0) conn.held = null;
      let top = 0;
      for (const e of replay) {
        this.#render([conn], e);
        if (e.type === 'message.created') top = Math.max(top, e.message.seq);
      }
      for (const e of held) {
        if (e.type === 'message.created' && e.message.seq <= top) continue;
        this.#render([conn], e);
      }
    }
  }

  /** Closes every socket of a user (logout). */
  closeUser(userId: Id, code: number, reason: string): void {
    for (const conn of [...(this.#byUser.get(userId) ?? [])]) conn.close(code, reason);
  }

  closeAll(code: number, reason: string): void {
    for (const conn of [...this.#connections.values()]) conn.close(code, reason);
  }

  #deliver(channel: string, event: DomainEvent): void {
    if (event.type === 'session.revoked') {
      this.closeUser(event.userId, CloseCodes.invalidToken, 'session revoked');
      return;
    }
    const targets: Connection<any>[] = [];
    if (channel.startsWith('conv:')) {
      const subs = this.#byConversation.get((event as { conversation: { id: Id } }).conversation.id);
      if (subs) for (const c of subs) targets.push(c);
    } else {
      const subs = this.#byUser.get(Number(channel.slice(5)));
      if (subs) for (const c of subs) targets.push(c);
      if (event.type === 'conversation.created') {
        for (const c of targets) if (c.followNew?.(event.conversation)) this.join(c, event.conversation.id);
      }
    }
    if (targets.length > 0) this.#render(targets, event);
    // A removed participant's sockets hear of their removal, then nothing more of it.
    if (event.type === 'participant.removed' || event.type === 'conversation.deleted') {
      for (const c of targets) {
        if (event.type === 'conversation.deleted' || c.user.id === event.user.id) this.leave(c, event.conversation.id);
      }
    }
  }

  #render(targets: Connection<any>[], event: DomainEvent): void {
    const frames = new Map<string, string>();
    const convId = 'conversation' in event ? event.conversation.id : 0;
    for (const conn of targets) {
      if (conn.closed) continue;
      const held = convId && conn.held?.get(convId);
      if (held) {
        held.push(event);
        continue;
      }
      const variant = conn.renderer.key(event, conn);
      if (variant === null) continue;
      const cacheKey = conn.renderer.name + '\u0000' + variant;
      let frame = frames.get(cacheKey);
      if (frame === undefined) frames.set(cacheKey, (frame = conn.renderer.frame(event, conn)));
      conn.send(frame);
      if (event.type === 'message.created' && conn.user.id !== event.message.senderId) {
        this.#onDelivered(convId, conn.user.id, event.message.seq);
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
