import type { SearchHit, Store } from '../../backends/store/store.js';
import type { Conversations, ConversationKey } from '../conversations/conversations.js';
import type { MessageKey, Messages } from '../messages/messages.js';
import type { Id, Millis, User, UserSummary } from '../model.js';
import type { Users } from '../users.js';
import { DomainError } from '../errors.js';

export interface SearchInput {
  text: string;
  conversation?: ConversationKey;
  senderId?: Id;
  has?: 'file' | 'image' | 'voice';
  before?: Millis;
  after?: Millis;
  /** A thread's first message: it and its replies. */
  thread?: MessageKey;
  order?: 'newest' | 'relevance';
  cursor?: string;
  limit?: number;
}

export interface SearchPage {
  hits: SearchHit[];
  /** Every sender of the hits, read once. */
  senders: ReadonlyMap<Id, UserSummary>;
  /** The cursor of the next page; null on the last. */
  next: string | null;
}

/** The most hits one page holds. */
export const SEARCH_PAGE_MAX = 50;

/**
 * Full-text search over the messages a user may read (docs/search.md). Which conversations
 * those are is the store's query's to check, at query time; a conversation or thread the
 * filters name must be the actor's (else not found, as reading it would be).
 */
export class Search {
  constructor(
    private readonly store: Store,
    private readonly conversations: Conversations,
    private readonly history: Messages,
    private readonly users: Users,
    /** SEARCH_INDEX: false when no index is written (every search is refused, not answered empty). */
    private readonly enabled = true,
  ) {}

  async messages(actor: User, input: SearchInput): Promise<SearchPage> {
    if (!this.enabled) throw new DomainError('search_disabled');
    const conversationId = input.conversation === undefined ? undefined : (await this.conversations.access(actor, input.conversation)).conversation.id;
    const threadId = input.thread === undefined ? undefined : (await this.history.get(actor, input.thread)).message.id;
    const { hits, next } = await this.store.searchMessages({
      userId: actor.id,
      text: input.text,
      conversationId,
      senderId: input.senderId,
      has: input.has,
      before: input.before,
      after: input.after,
      threadId,
      order: input.order ?? 'newest',
      cursor: input.cursor,
      limit: Math.max(1, Math.min(SEARCH_PAGE_MAX, input.limit ?? 20)),
    });
    const senders = await this.users.named(hits.map((h) => h.message.senderId));
    return { hits, senders, next };
  }
}
