// Rows as the database returns them (typed from schema.ts) and their domain objects.
import type { Selectable } from 'kysely';
import type {
  Attachment,
  Conversation,
  FriendStatus,
  Id,
  Invite,
  Message,
  MessageKind,
  Participant,
  ReactionSummary,
  Role,
  Tenant,
  User,
  UserSummary,
} from '../../../core/model.js';
import type { AttachmentsTable, ConversationsTable, FriendshipsTable, InvitesTable, MessagesTable, ParticipantsTable, TenantsTable, UsersTable } from '../schema.js';
import type { FriendshipRow } from '../store.js';

export type TenantRow = Selectable<TenantsTable>;
export type UserRow = Pick<
  Selectable<UsersTable>,
  'id' | 'uuid' | 'tenant_id' | 'email' | 'name' | 'avatar_url' | 'token_version' | 'last_seen_at' | 'created_at' | 'tenant_role'
> & { tenant_uuid: string };
export type SummaryRow = Pick<Selectable<UsersTable>, 'id' | 'uuid' | 'name' | 'email' | 'avatar_url'>;
export type InviteRow = Selectable<InvitesTable> & { tenant_uuid: string };
export type ConversationRow = Selectable<ConversationsTable>;
export type ParticipantRow = Pick<
  Selectable<ParticipantsTable>,
  'conversation_id' | 'user_id' | 'role' | 'joined_at' | 'read_seq' | 'delivered_seq' | 'read_at'
> & { sent_seq?: number; seen_seq?: number };
export type AttachmentRow = Pick<
  Selectable<AttachmentsTable>,
  'id' | 'uuid' | 'position' | 'kind' | 'file_name' | 'stored_path' | 'size' | 'mime_type' | 'duration_seconds' | 'width' | 'height' | 'thumbnail_path'
>;
export type MessageRow = Selectable<MessagesTable>;
export type FriendshipTableRow = Selectable<FriendshipsTable>;

export const ATTACHMENT_COLUMNS =
  'id, uuid, position, kind, file_name, stored_path, size, mime_type, duration_seconds, width, height, thumbnail_path';

export const MESSAGE_COLUMN_LIST = [
  'id',
  'uuid',
  'conversation_id',
  'seq',
  'change_seq',
  'sender_id',
  'kind',
  'content',
  'reply_to_id',
  'reply_count',
  'client_id',
  'created_at',
  'edited_at',
  'deleted_at',
] as const satisfies readonly (keyof MessagesTable)[];
export const MESSAGE_COLUMNS = MESSAGE_COLUMN_LIST.join(', ');
/** The same columns of `messages` aliased `m`. */
export const MESSAGE_COLUMNS_OF_M = MESSAGE_COLUMN_LIST.map((c) => 'm.' + c).join(', ');

export const pair = (a: Id, b: Id): [Id, Id] => (a < b ? [a, b] : [b, a]);
export const placeholders = (n: number) => new Array(n).fill('?').join(', ');

export const toTenant = (r: TenantRow): Tenant => ({ id: r.id, uuid: r.uuid, name: r.name, createdAt: r.created_at });

export const toUser = (r: UserRow): User => ({
  id: r.id,
  uuid: r.uuid,
  tenantId: r.tenant_id,
  tenantUuid: r.tenant_uuid,
  email: r.email,
  name: r.name,
  avatarUrl: r.avatar_url ?? null,
  tokenVersion: r.token_version,
  lastSeenAt: r.last_seen_at ?? null,
  createdAt: r.created_at,
  tenantRole: r.tenant_role === 'admin' ? 'admin' : 'member',
});

export const toInvite = (r: InviteRow): Invite => ({
  id: r.id,
  uuid: r.uuid,
  tenantId: r.tenant_id,
  tenantUuid: r.tenant_uuid,
  email: r.email ?? null,
  createdBy: r.created_by ?? null,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at ?? null,
  usedBy: r.used_by ?? null,
  revokedAt: r.revoked_at ?? null,
});

export const toSummary = (r: SummaryRow): UserSummary => ({
  id: r.id,
  uuid: r.uuid,
  name: r.name,
  email: r.email,
  avatarUrl: r.avatar_url ?? null,
});

export const toConversation = (r: ConversationRow): Conversation => ({
  id: r.id,
  uuid: r.uuid,
  tenantId: r.tenant_id,
  kind: r.kind as Conversation['kind'],
  title: r.title ?? null,
  createdBy: r.created_by ?? null,
  lastSeq: r.last_seq,
  changeSeq: r.change_seq,
  lastMessageAt: r.last_message_at ?? null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  memberCount: Number(r.member_count ?? 0),
});

export const toParticipant = (r: ParticipantRow): Participant => ({
  conversationId: r.conversation_id,
  userId: r.user_id,
  role: r.role as Role,
  joinedAt: r.joined_at,
  readSeq: r.read_seq,
  deliveredSeq: r.delivered_seq,
  sentSeq: r.sent_seq ?? 0,
  seenSeq: r.seen_seq ?? Math.max(r.read_seq, r.sent_seq ?? 0),
  readAt: r.read_at ?? null,
});

export const toAttachment = (r: AttachmentRow): Attachment => ({
  id: r.id,
  uuid: r.uuid,
  position: r.position,
  kind: r.kind as Attachment['kind'],
  fileName: r.file_name,
  storedPath: r.stored_path,
  size: r.size,
  mimeType: r.mime_type,
  durationSeconds: r.duration_seconds ?? null,
  width: r.width ?? null,
  height: r.height ?? null,
  thumbnailPath: r.thumbnail_path ?? null,
});

export const toMessage = (r: MessageRow, replyToUuid: string | null, attachments: Attachment[] = [], reactions: ReactionSummary[] = []): Message => ({
  id: r.id,
  uuid: r.uuid,
  conversationId: r.conversation_id,
  seq: r.seq,
  changeSeq: r.change_seq,
  senderId: r.sender_id,
  kind: r.kind as MessageKind,
  content: r.deleted_at == null ? (r.content ?? null) : null,
  replyToId: r.reply_to_id ?? null,
  replyToUuid,
  clientId: r.client_id ?? null,
  createdAt: r.created_at,
  editedAt: r.edited_at ?? null,
  deletedAt: r.deleted_at ?? null,
  attachments,
  reactions,
  replyCount: r.reply_count ?? 0,
});

export const toFriendship = (r: FriendshipTableRow): FriendshipRow => ({
  userA: r.user_a,
  userB: r.user_b,
  status: r.status as FriendStatus,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
