import type { Attachment, ConversationView, Member, Message, Millis, UserSummary } from '../../core/model.js';
import type { DialectContext } from '../dialect.js';
import { iso, isoOrNull } from '../shared/time.js';

// Document 003: everything is named by UUID; a message carries its reactions and reply count.

export type Ctx = Pick<DialectContext, 'fileUrl' | 'isOnline'>;

export const user003 = (u: UserSummary) => ({ id: u.uuid, name: u.name, email: u.email, avatar_url: u.avatarUrl });

/** Users by integer id, for reaction authors. */
export type UserLookup = (id: number) => UserSummary | undefined;

export function renderMessage003(ctx: Ctx, m: Message, conversationUuid: string, sender: UserSummary, users: UserLookup, localTempId: string | null = null) {
  const file: Attachment | undefined = m.attachments[0];
  return {
    id: m.uuid,
    conversation: conversationUuid,
    conversation_id: conversationUuid,
    seq: m.seq,
    sender_id: sender.uuid,
    sender: user003(sender),
    message_type: m.kind,
    content: m.content,
    file_url: file ? ctx.fileUrl(file) : null,
    file_name: file?.fileName ?? null,
    file_size: file?.size ?? null,
    reply_to: m.replyToUuid,
    reply_count: m.replyCount,
    reactions: m.reactions.flatMap((r) =>
      r.userIds.map((u) => ({ message_id: m.uuid, user_id: users(u)?.uuid ?? null, emoji: r.emoji })),
    ),
    edited_at: isoOrNull(m.editedAt),
    is_deleted: m.deletedAt !== null,
    created_at: iso(m.createdAt),
    local_temp_id: localTempId,
  };
}

export function renderParticipant(conversationUuid: string, m: Member, lastSeen: Millis | null) {
  return {
    id: `${conversationUuid}:${m.user.uuid}`,
    conversation: conversationUuid,
    user_id: m.user.uuid,
    user: user003(m.user),
    role: m.participant.role,
    joined_at: iso(m.participant.joinedAt),
    last_seen_at: isoOrNull(lastSeen),
    is_active: true,
  };
}

export function renderConversation(ctx: Ctx, v: ConversationView, tenantUuid: string) {
  const byId = v.people;
  const last = v.lastMessage;
  const lastSender = last ? byId.get(last.senderId) : undefined;
  return {
    id: v.conversation.uuid,
    tenant_id: tenantUuid,
    title: v.conversation.title,
    conversation_type: v.conversation.kind,
    created_by: v.conversation.createdBy === null ? null : (byId.get(v.conversation.createdBy)?.uuid ?? null),
    is_active: true,
    participant_count: v.conversation.memberCount,
    my_role: v.me.role,
    last_message:
      last && lastSender
        ? renderMessage003(ctx, last, v.conversation.uuid, lastSender, (id) => byId.get(id))
        : null,
    last_message_at: isoOrNull(v.conversation.lastMessageAt),
    unread_count: v.unreadCount,
    last_seq: v.conversation.lastSeq,
    created_at: iso(v.conversation.createdAt),
    updated_at: iso(v.conversation.updatedAt),
  };
}
