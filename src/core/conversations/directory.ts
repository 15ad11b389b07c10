import type { DirectoryCursor, DirectoryEntry, Store } from '../../backends/store/store.js';
import { DomainError, refusal, storeCall } from '../errors.js';
import type { EventPublisher } from '../events.js';
import type { ConversationView, User, Visibility } from '../model.js';
import { Users } from '../users.js';
import type { ConversationKey, Conversations } from './conversations.js';

export interface DirectoryPage {
  channels: DirectoryEntry[];
  /** Opaque: the `cursor` of the next page; null on the last one. */
  next: string | null;
}

export interface Joined {
  view: ConversationView;
  /** False when they were a participant already: nothing changed. */
  joined: boolean;
}

/** Channels per directory page, at most. */
export const DIRECTORY_MAX_PAGE = 100;

const encodeCursor = (c: DirectoryCursor): string => Buffer.from(JSON.stringify([c.nameKey, c.id])).toString('base64url');

function decodeCursor(s: string): DirectoryCursor {
  try {
    const [nameKey, id] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown[];
    if (typeof nameKey === 'string' && Number.isSafeInteger(id) && (id as number) > 0) return { nameKey, id: id as number };
  } catch {
    // refused below
  }
  throw refusal('bad_directory_cursor');
}

/**
 * The channel directory (issue 18). A channel is private (invite only, what every
 * conversation was before) or public: listed in its tenant's directory, and anyone of the
 * tenant joins it. Decisions:
 * - Nothing private is shown or joinable: a private channel, a group, a direct conversation or
 *   another tenant's channel is `conversation_not_found` to a join, as if it did not exist.
 * - Someone removed from a public channel may join it again (as in Slack): public means the
 *   tenant's; an admin who wants someone kept out makes the channel private.
 * - Blocks do not gate a join: they refuse direct messages and being added by the blocked
 *   person (forced membership); joining a public room is the joiner's own choice.
 * - The member cap (MAX_CONVERSATION_MEMBERS) holds for joins as for adds.
 */
export class ChannelDirectory {
  constructor(
    readonly store: Store,
    readonly conversations: Conversations,
    readonly events: EventPublisher,
    readonly maxMembers: number,
  ) {}

  /** The actor's tenant's public channels, by name; `q` a part of the name, any case. */
  async list(actor: User, query: { q?: string; cursor?: string; limit?: number }): Promise<DirectoryPage> {
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 50)), DIRECTORY_MAX_PAGE);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const q = query.q?.trim() || undefined;
    const rows = await this.store.publicChannels(actor.tenantId, actor.id, { q, after, limit: limit + 1 });
    const channels = rows.slice(0, limit);
    const last = channels.at(-1);
    return {
      channels,
      next: rows.length > limit && last ? encodeCursor({ nameKey: last.nameKey, id: last.conversation.id }) : null,
    };
  }

  /** Joins a public channel of the actor's tenant as a member; a member already: as they are. */
  async join(actor: User, key: ConversationKey): Promise<Joined> {
    const conversation = typeof key === 'number' ? await this.store.conversationById(key) : await this.store.conversationByUuid(key);
    if (!conversation || conversation.tenantId !== actor.tenantId) throw new DomainError('conversation_not_found');
    if (await this.store.participant(conversation.id, actor.id)) return { view: await this.conversations.view(actor, conversation.id), joined: false };
    if (conversation.kind !== 'channel' || conversation.visibility !== 'public') throw new DomainError('conversation_not_found');
    await this.conversations.sanctions.refuseBanned(conversation.id, actor.id);
    // The store checks again, under the conversation's lock, that it is still public.
    const added = await storeCall(
      this.store.addParticipants(conversation.id, [{ userId: actor.id, role: 'member' }], Date.now(), { maxMembers: this.maxMembers, publicOnly: true }),
    );
    if (added.includes(actor.id)) {
      const ref = await this.conversations.ref(conversation);
      this.events.publish({ type: 'participant.added', conversation: ref, user: Users.summaryOf(actor), role: 'member', by: actor.id });
      this.events.publishToUsers([actor.id], { type: 'conversation.created', conversation: ref });
    }
    return { view: await this.conversations.view(actor, conversation.id), joined: added.includes(actor.id) };
  }

  /** A channel's admins list it (public) or take it out (private); members stay either way. */
  async setVisibility(actor: User, key: ConversationKey, visibility: Visibility): Promise<ConversationView> {
    const { conversation } = await this.conversations.requireRole(actor, key, 'set_visibility');
    if (conversation.kind !== 'channel' && visibility === 'public') throw refusal('public_channels_only');
    if (conversation.visibility !== visibility) {
      await this.store.updateConversation(conversation.id, { visibility }, Date.now());
      this.events.publish({ type: 'conversation.updated', conversation: await this.conversations.ref(conversation), title: conversation.title, visibility });
    }
    return this.conversations.view(actor, conversation.id);
  }
}
