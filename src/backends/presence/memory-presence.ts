import type { Id } from '../../core/model.js';
import { PresenceReads, type Presence, type PresenceStatus, type TypingChange } from './presence.js';

/** One process: connections and typing marks in maps, typing expiry by timer. */
export class MemoryPresence extends PresenceReads implements Presence {
  readonly #connections = new Map<Id, Set<string>>();
  readonly #status = new Map<Id, PresenceStatus>();
  readonly #typing = new Map<Id, Map<Id, NodeJS.Timeout>>();
  #expired: (conversationId: Id, userId: Id, typingNow: Id[]) => void = () => {};

  constructor(readonly typingTtlMs: number) {
    super();
  }

  async connect(userId: Id, connectionId: string): Promise<boolean> {
    let set = this.#connections.get(userId);
    const first = !set;
    if (!set) this.#connections.set(userId, (set = new Set()));
    set.add(connectionId);
    this.lastSeenAt.set(userId, Date.now());
    return first;
  }

  async disconnect(userId: Id, connectionId: string): Promise<boolean> {
    const set = this.#connections.get(userId);
    if (!set || !set.delete(connectionId)) return false;
    this.lastSeenAt.set(userId, Date.now());
    if (set.size > 0) return false;
    this.#connections.delete(userId);
    this.#status.delete(userId);
    return true;
  }

  isOnline(userId: Id): boolean {
    return this.#connections.has(userId);
  }

  async setStatus(userId: Id, status: PresenceStatus): Promise<void> {
    this.#status.set(userId, status);
  }

  status(userId: Id): PresenceStatus {
    return this.#status.get(userId) ?? (this.isOnline(userId) ? 'online' : 'offline');
  }

  async setTyping(conversationId: Id, userId: Id, typing: boolean): Promise<TypingChange> {
    let marks = this.#typing.get(conversationId);
    const old = marks?.get(userId);
    if (old) clearTimeout(old);
    if (typing) {
      if (!marks) this.#typing.set(conversationId, (marks = new Map()));
      const timer = setTimeout(() => {
        const m = this.#typing.get(conversationId);
        if (m?.get(userId) !== timer) return;
        m.delete(userId);
        if (m.size === 0) this.#typing.delete(conversationId);
        this.#expired(conversationId, userId, this.#typingIn(conversationId));
      }, this.typingTtlMs);
      timer.unref();
      marks.set(userId, timer);
    } else if (marks) {
      marks.delete(userId);
      if (marks.size === 0) this.#typing.delete(conversationId);
    }
    // An expired mark is gone from the map (its timer removed it), so `old` means typing now.
    return { changed: typing !== (old !== undefined), typingNow: this.#typingIn(conversationId) };
  }

  typingHere(conversationId: Id, userId: Id): boolean {
    return this.#typing.get(conversationId)?.has(userId) ?? false;
  }

  #typingIn(conversationId: Id): Id[] {
    return [...(this.#typing.get(conversationId)?.keys() ?? [])];
  }

  onTypingExpired(listener: (conversationId: Id, userId: Id, typingNow: Id[]) => void): void {
    this.#expired = listener;
  }

  async close(): Promise<void> {
    for (const marks of this.#typing.values()) for (const t of marks.values()) clearTimeout(t);
    this.#typing.clear();
  }
}

export const createMemoryPresence = (typingTtlMs: number): Presence => new MemoryPresence(typingTtlMs);
