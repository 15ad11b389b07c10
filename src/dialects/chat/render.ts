import type { Attachment, ConversationView, Id, Message, UserSummary } from '../../core/model.js';
import { LIKE_EMOJI } from '../../core/model.js';
import type { DialectContext } from '../dialect.js';
import { iso, isoOrNull } from '../shared/time.js';

// Documents 000 and 001 (and, for the same paths, 002's response bodies). One message
// shape serves both revisions: 001's fields (local_temp_id, files_data, duration,
// receiver_details, is_liked, like_count) plus 000/002's single-file keys describing the
// first file, and 002's flat sender/receiver fields. Adding fields is allowed; dropping is not.

export type Ctx = Pick<DialectContext, 'isOnline' | 'fileUrl'>;

export const userDetails = (ctx: Ctx, u: UserSummary | null) =>
  u && { id: u.id, name: u.name, email: u.email, avatar_url: u.avatarUrl, is_online: ctx.isOnline(u.id) };

export interface MessageRenderInput {
  message: Message;
  sender: UserSummary;
  receiver: UserSummary | null;
  viewerId: Id;
  isRead: boolean;
  localTempId: string | null;
}

export function renderMessage(ctx: Ctx, { message: m, sender, receiver, viewerId, isRead, localTempId }: MessageRenderInput) {
  const files = m.attachments.map((a) => ({
    file_name: a.fileName,
    file_path: ctx.fileUrl(a),
    file_size: a.size,
    mime_type: a.mimeType,
    duration: a.durationSeconds,
    width: a.width,
    height: a.height,
    thumbnail_url: a.thumbnailPath ? ctx.fileUrl(a, 'thumbnail') : null,
  }));
  const first = files[0] ?? null;
  const likes = m.reactions.find((r) => r.emoji === LIKE_EMOJI)?.userIds ?? [];
  const voice = m.attachments.find((a) => a.kind === 'voice' && a.durationSeconds !== null);
  return {
    id: m.id,
    uuid: m.uuid,
    room_id: m.conversationId,
    seq: m.seq,
    change_seq: m.changeSeq,
    sender_id: m.senderId,
    receiver_id: receiver?.id ?? null,
    sender_name: sender.name,
    receiver_name: receiver?.name ?? null,
    sender_avatar: sender.avatarUrl,
    receiver_avatar: receiver?.avatarUrl ?? null,
    message_type: m.kind,
    content: m.content,
    local_temp_id: localTempId,
    file_name: first?.file_name ?? null,
    file_path: first?.file_path ?? null,
    file_size: first?.file_size ?? null,
    mime_type: first?.mime_type ?? null,
    files_data: files.length > 0 ? files : null,
    duration: voice?.durationSeconds ?? null,
    reply_to: m.replyToId,
    created_at: iso(m.createdAt),
    updated_at: iso(m.editedAt ?? m.deletedAt ?? m.createdAt),
    is_edited: m.editedAt !== null,
    is_read: isRead,
    is_deleted: m.deletedAt !== null,
    is_sender: m.senderId === viewerId,
    is_liked: likes.includes(viewerId),
    like_count: likes.length,
    sender_details: userDetails(ctx, sender),
    receiver_details: userDetails(ctx, receiver),
  };
}

/** In a direct room the receiver is the other one; in a group there is none. */
export function receiverOf(pair: readonly [UserSummary, UserSummary] | null, senderId: Id): UserSummary | null {
  if (!pair) return null;
  return pair[0].id === senderId ? pair[1] : pair[0];
}

/**
 * `is_read`: in a direct room, whether the receiver has read it; in a group, for the sender
 * whether anyone else has, for the others whether the viewer has.
 */
export function isRead(m: Message, viewerId: Id, readSeqs: Record<number, number> | null, receiverId: Id | null): boolean {
  if (!readSeqs) return false;
  if (receiverId !== null) return (readSeqs[receiverId] ?? 0) >= m.seq;
  if (m.senderId === viewerId) return Object.entries(readSeqs).some(([u, s]) => Number(u) !== viewerId && s >= m.seq);
  return (readSeqs[viewerId] ?? 0) >= m.seq;
}

/** A room as 002 shows it (000/001 show no body for these paths). */
export function renderRoom(ctx: Ctx, v: ConversationView) {
  const others = v.members.filter((m) => m.user.id !== v.me.userId);
  const other = v.conversation.kind === 'direct' ? (others[0]?.user ?? null) : null;
  const last = v.lastMessage;
  const lastSender = last ? v.people.get(last.senderId) : undefined;
  return {
    id: v.conversation.id,
    uuid: v.conversation.uuid,
    name: v.conversation.title ?? (v.conversation.kind === 'direct' ? 'Direct Chat' : null),
    room_type: v.conversation.kind,
    created_by: v.conversation.createdBy,
    created_at: iso(v.conversation.createdAt),
    updated_at: iso(v.conversation.updatedAt),
    is_active: true,
    other_user: userDetails(ctx, other),
    participant_count: v.conversation.memberCount,
    last_message: last && {
      id: last.id,
      content: last.content,
      message_type: last.kind,
      created_at: iso(last.createdAt),
      sender_id: last.senderId,
      sender_name: lastSender?.name ?? null,
      is_deleted: last.deletedAt !== null,
    },
    last_message_at: isoOrNull(v.conversation.lastMessageAt),
    last_seq: v.conversation.lastSeq,
    unread_count: v.unreadCount,
  };
}

/**
 * One file of 000's `upload-files` response: its fields as documented (`file_path` is the
 * key to send back in `file_data`/`file_path`), plus a signed `file_url` for a preview and
 * what was measured.
 */
export function renderUploadedFile(ctx: Ctx, a: Attachment) {
  return {
    file_name: a.fileName,
    file_path: a.storedPath,
    file_size: a.size,
    mime_type: a.mimeType,
    file_url: ctx.fileUrl(a),
    uuid: a.uuid,
    kind: a.kind,
    duration: a.durationSeconds,
    width: a.width,
    height: a.height,
    thumbnail_url: a.thumbnailPath ? ctx.fileUrl(a, 'thumbnail') : null,
  };
}
