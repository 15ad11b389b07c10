import type { Attachment, ConversationView, Message, User, UserSummary } from '../../core/model.js';
import type { DialectContext } from '../dialect.js';
import type { Static } from '@sinclair/typebox';
import { iso, isoOrNull } from '../shared/time.js';
import type { ConversationOut, MessageOut, ReportOut } from './schemas.js';
import type { MessageReport } from '../../backends/store/store.js';

export type Ctx = Pick<DialectContext, 'fileUrl' | 'isOnline'>;


/** Stored metadata as the API returns it: the object as it was given (null: none). */
const renderMetadata = (json: string | null | undefined): Record<string, unknown> | null => (json ? (JSON.parse(json) as Record<string, unknown>) : null);

export function renderUser(u: UserSummary) {
  return { id: u.id, uuid: u.uuid, name: u.name, email: u.email, avatar_url: u.avatarUrl, is_bot: u.isBot === true };
}

/** The caller's own profile (MeOut). */
export function renderMe(u: User) {
  return { ...renderUser(u), tenant_role: u.tenantRole, is_operator: u.isOperator };
}

export function renderAttachment(ctx: Ctx, a: Attachment) {
  return {
    id: a.id,
    uuid: a.uuid,
    kind: a.kind,
    name: a.fileName,
    size: a.size,
    mime_type: a.mimeType,
    url: ctx.fileUrl(a),
    thumbnail_url: a.thumbnailPath ? ctx.fileUrl(a, 'thumbnail') : null,
    width: a.width,
    height: a.height,
    duration: a.durationSeconds,
  };
}

/** A message as Parley's API shows it; `localTempId` only in the sender's copies. */
export function renderMessage(ctx: Ctx, m: Message, sender: UserSummary, localTempId?: string | null): Static<typeof MessageOut> {
  const out: Static<typeof MessageOut> = {
    id: m.id,
    uuid: m.uuid,
    conversation_id: m.conversationId,
    seq: m.seq,
    change_seq: m.changeSeq,
    sender: renderUser(sender),
    kind: m.kind,
    content: m.content,
    reply_to_id: m.replyToId,
    reply_count: m.replyCount,
    created_at: iso(m.createdAt),
    edited_at: isoOrNull(m.editedAt),
    deleted_at: isoOrNull(m.deletedAt),
    attachments: m.deletedAt === null ? m.attachments.map((a) => renderAttachment(ctx, a)) : [],
    reactions: m.reactions.map((r) => ({ emoji: r.emoji, user_ids: r.userIds, count: r.userIds.length })),
    metadata: renderMetadata(m.metadataJson),
  };
  if (m.removal) {
    out.deleted_by = m.removal.deletedBy;
    out.deleted_reason = m.removal.reason;
  }
  if (localTempId !== undefined) out.local_temp_id = localTempId;
  return out;
}

/**
 * A conversation; `members` is every member from a single conversation's view and at most a
 * few of a group's in the room list, whose `member_count` says how many there are.
 */
export function renderConversation(ctx: Ctx, v: ConversationView): Static<typeof ConversationOut> {
  const c = v.conversation;
  const users = v.people;
  return {
    id: c.id,
    uuid: c.uuid,
    kind: c.kind,
    title: c.title,
    created_by: c.createdBy,
    created_at: iso(c.createdAt),
    last_seq: c.lastSeq,
    change_seq: c.changeSeq,
    last_message: v.lastMessage ? renderMessage(ctx, v.lastMessage, users.get(v.lastMessage.senderId)!) : null,
    last_message_at: isoOrNull(c.lastMessageAt),
    unread_count: v.unreadCount,
    first_unread_seq: v.firstUnreadSeq,
    my_seen_seq: v.me.seenSeq,
    my_role: v.me.role,
    my_read_seq: v.me.readSeq,
    my_sent_seq: v.me.sentSeq,
    member_count: c.memberCount,
    visibility: c.visibility,
    metadata: renderMetadata(c.metadataJson),
    members: v.members.map((m) => ({
      user: renderUser(m.user),
      role: m.participant.role,
      read_seq: m.participant.readSeq,
      delivered_seq: m.participant.deliveredSeq,
      joined_at: iso(m.participant.joinedAt),
      online: ctx.isOnline(m.user.id),
    })),
  };
}

/** A report as its reporter and the moderators see it. */
export function renderReport(r: MessageReport): Static<typeof ReportOut> {
  return {
    id: r.id,
    conversation_id: r.conversationId,
    message_id: r.messageId,
    reporter_id: r.reporterId,
    author_id: r.authorId,
    reason: r.reason,
    state: r.state,
    created_at: iso(r.createdAt),
    resolved_by: r.resolvedBy,
    resolved_at: isoOrNull(r.resolvedAt),
  };
}
