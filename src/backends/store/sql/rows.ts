// Rows as the database returns them (typed from schema.ts) and their domain objects.
import type { Selectable } from 'kysely';
import type {
  ApiKey,
  ApiKeyScope,
  Attachment,
  IncomingWebhook,
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
import type { ApiKeysTable, AttachmentsTable, ConversationsTable, IncomingWebhooksTable, FriendshipsTable, InvitesTable, MessagesTable, ParticipantsTable, TenantsTable, UsersTable } from '../schema.js';
import type { FriendshipRow } from '../store.js';
import { notifyContentOf } from './notifications.js';

export type TenantRow = Selectable<TenantsTable>;
export type UserRow = Pick<
  Selectable<UsersTable>,
  'id' | 'uuid' | 'tenant_id' | 'email' | 'name' | 'avatar_url' | 'token_version' | 'last_seen_at' | 'created_at' | 'tenant_role' | 'is_bot' | 'suspended_at' | 'is_operator'
> & { tenant_uuid: string };
export type SummaryRow = Pick<Selectable<UsersTable>, 'id' | 'uuid' | 'name' | 'email' | 'avatar_url' | 'is_bot'>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type IncomingWebhookRow = Selectable<IncomingWebhooksTable>;
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
  'metadata',
] as const satisfies readonly (keyof MessagesTable)[];
export const MESSAGE_COLUMNS = MESSAGE_COLUMN_LIST.join(', ');
/** The same columns of `messages` aliased `m`. */
export const MESSAGE_COLUMNS_OF_M = MESSAGE_COLUMN_LIST.map((c) => 'm.' + c).join(', ');

export const pair = (a: Id, b: Id): [Id, Id] => (a < b ? [a, b] : [b, a]);
export const placeholders = (n: number) => new Array(n).fill('?').join(', ');

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
/** A row's columns under their domain names (snake_case as camelCase); a column the row may lack is null. */
export type Camelized<R, K extends keyof R & string> = {
  -readonly [P in K as Camel<P>]-?: Exclude<R[P], undefined> | (undefined extends R[P] ? null : never);
};

/**
 * The one row-to-domain mapping: each listed column under its camelCase name. Most domain
 * objects are their row renamed; the rest is said beside each use.
 */
export function rowMapper<R>() {
  return <K extends keyof R & string>(columns: readonly K[]) => {
    const names = columns.map((c) => [c, c.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase())] as const);
    return (r: R): Camelized<R, K> => {
      const out: Record<string, unknown> = {};
      for (const [column, name] of names) out[name] = r[column] ?? null;
      return out as Camelized<R, K>;
    };
  };
}

export const USER_COLUMNS = ['id', 'uuid', 'tenant_id', 'email', 'name', 'avatar_url', 'token_version', 'last_seen_at', 'created_at', 'tenant_role', 'is_bot', 'suspended_at', 'is_operator'] as const;
/** A user's summary, as every rendering names someone. */
export const SUMMARY_COLUMNS = ['id', 'uuid', 'name', 'email', 'avatar_url', 'is_bot'] as const;
export const INVITE_COLUMNS = ['id', 'uuid', 'tenant_id', 'code_hash', 'email', 'created_by', 'created_at', 'expires_at', 'used_at', 'used_by', 'revoked_at'] as const;

const tenantFields = rowMapper<TenantRow>()(['id', 'uuid', 'name', 'created_at']);
export const toTenant = (r: TenantRow): Tenant => ({ ...tenantFields(r), notifyContent: notifyContentOf(r.notify_content) });

const userFields = rowMapper<UserRow>()([...USER_COLUMNS, 'tenant_uuid']);
export const toUser = (r: UserRow): User => ({
  ...userFields(r),
  tenantRole: r.tenant_role === 'admin' ? 'admin' : 'member',
  isBot: Number(r.is_bot) === 1,
  suspendedAt: r.suspended_at == null ? null : Number(r.suspended_at),
  isOperator: Number(r.is_operator) === 1,
});

export const toInvite: (r: InviteRow) => Invite = rowMapper<InviteRow>()([...INVITE_COLUMNS.filter((c) => c !== 'code_hash'), 'tenant_uuid']);

const summaryFields = rowMapper<SummaryRow>()(['id', 'uuid', 'name', 'email', 'avatar_url']);
// A person's summary carries no isBot at all: only a bot's says so.
export const toSummary = (r: SummaryRow): UserSummary => (Number(r.is_bot) === 1 ? { ...summaryFields(r), isBot: true } : summaryFields(r));

const apiKeyFields = rowMapper<ApiKeyRow>()(['id', 'uuid', 'tenant_id', 'bot_user_id', 'name', 'created_by', 'created_at', 'last_used_at', 'revoked_at']);
export const toApiKey = (r: ApiKeyRow): ApiKey => ({ ...apiKeyFields(r), scopes: r.scopes.split(',').filter((s): s is ApiKeyScope => s === 'read' || s === 'write' || s === 'admin') });
export const toIncomingWebhook: (r: IncomingWebhookRow) => IncomingWebhook = rowMapper<IncomingWebhookRow>()([
  'id', 'uuid', 'tenant_id', 'conversation_id', 'bot_user_id', 'name', 'created_by', 'created_at', 'revoked_at',
]);

const conversationFields = rowMapper<ConversationRow>()(['id', 'uuid', 'tenant_id', 'title', 'created_by', 'last_seq', 'change_seq', 'last_message_at', 'created_at', 'updated_at']);
export const toConversation = (r: ConversationRow): Conversation => ({
  ...conversationFields(r),
  kind: r.kind as Conversation['kind'],
  memberCount: Number(r.member_count ?? 0),
  visibility: r.visibility === 'public' ? 'public' : 'private',
  metadataJson: r.metadata ?? null,
  retentionDays: r.retention_days ?? null,
  purgedBeforeSeq: Number(r.purged_before_seq ?? 1),
});

const participantFields = rowMapper<ParticipantRow>()(['conversation_id', 'user_id', 'joined_at', 'read_seq', 'delivered_seq', 'read_at']);
export const toParticipant = (r: ParticipantRow): Participant => ({
  ...participantFields(r),
  role: r.role as Role,
  sentSeq: r.sent_seq ?? 0,
  seenSeq: r.seen_seq ?? Math.max(r.read_seq, r.sent_seq ?? 0),
});

const attachmentFields = rowMapper<AttachmentRow>()(['id', 'uuid', 'position', 'file_name', 'stored_path', 'size', 'mime_type', 'duration_seconds', 'width', 'height', 'thumbnail_path']);
export const toAttachment = (r: AttachmentRow): Attachment => ({ ...attachmentFields(r), kind: r.kind as Attachment['kind'] });

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
  metadataJson: r.metadata ?? null,
});

const friendshipFields = rowMapper<FriendshipTableRow>()(['user_a', 'user_b', 'requested_by', 'created_at', 'updated_at']);
export const toFriendship = (r: FriendshipTableRow): FriendshipRow => ({ ...friendshipFields(r), status: r.status as FriendStatus });
