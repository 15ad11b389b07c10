import type { Store } from '../../backends/store/store.js';
import type { EventPublisher } from '../events.js';
import type { Conversations } from '../conversations/conversations.js';
import type { Id, User } from '../model.js';

/**
 * Delivered watermarks. A device that acknowledged a message (Parley's `ack` frame or REST;
 * for the documents' sockets, whose clients cannot ack, the write to the socket) marks it
 * delivered for its user: the participant's delivered_seq is the highest of its devices' acks;
 * marks are coalesced per (conversation, user) and written in one transaction every
 * `intervalMs`, so fan-out never waits on the database.
 */
export class DeliveryReceipts {
  /** The highest mark per conversation, then user: no key string built per delivery (a group of 500 makes 499 per message). */
  #pending = new Map<Id, Map<Id, number>>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly store: Store,
    readonly conversations: Conversations,
    readonly events: EventPublisher,
    readonly intervalMs = 200,
  ) {}

  /** A device of `actor` holds every message of the conversation up to `seq` (a member only; capped at last_seq by the store). */
  async acknowledge(actor: User, conversationId: Id, seq: number): Promise<void> {
    const ref = await this.conversations.memberRef(actor, conversationId);
    this.delivered(ref.id, actor.id, seq);
  }

  delivered(conversationId: Id, userId: Id, seq: number): void {
    let users = this.#pending.get(conversationId);
    if (!users) this.#pending.set(conversationId, (users = new Map()));
    const cur = users.get(userId);
    if (cur !== undefined && cur >= seq) return;
    users.set(userId, seq);
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush().catch(() => {}), this.intervalMs);
      this.#timer.unref();
    }
  }

  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.size === 0) return;
    const updates: { conversationId: Id; userId: Id; seq: number }[] = [];
    for (const [conversationId, users] of this.#pending) for (const [userId, seq] of users) updates.push({ conversationId, userId, seq });
    this.#pending = new Map();
    await this.store.markDelivered(updates);
    const at = Date.now();
    for (const u of updates) {
      this.events.publish({
        type: 'receipt.delivered',
        conversation: await this.conversations.refById(u.conversationId),
        userId: u.userId,
        deliveredSeq: u.seq,
        at,
      });
    }
  }
}
