// Every shape the SDK hands out: the wire types generated from the server's own schemas
// (src/dialects/parley/schemas.ts → generated/wire.ts, `npm run sdk:types`), under the names
// a client reads. The SDK imports nothing outside sdk/ and has no runtime dependency.
import type * as W from './generated/wire.js';

// ---------------------------------------------------------------- REST shapes

export type User = W.UserOut;
/** My own profile (me()): a User with my tenant role and whether I operate the server. */
export type Me = W.MeOut;
export type Attachment = W.AttachmentOut;
export type Message = W.MessageOut;
export type Reaction = Message['reactions'][number];
export type Member = W.MemberOut;
export type Conversation = W.ConversationOut;
export type Session = W.SessionOut;
export type HistoryResponse = W.HistoryOut;
export type SearchResponse = W.SearchOut;
export type SearchHit = W.SearchHitOut;
export type Presence = W.PresenceOut;
export type Block = W.BlockOut;
export type UploadedFile = W.UploadOut['files'][number];
export type DirectoryPage = W.DirectoryOut;
export type DirectoryChannel = W.DirectoryChannelOut;
/** A message's edit history: its earlier texts, oldest first. */
export type Revisions = W.RevisionsOut;
export type Revision = W.RevisionOut;
export type Pin = W.PinOut;
/** A ban or mute in force in a conversation (issue 20). */
export type Sanction = W.SanctionOut;
/** Why and until when (an ISO time; absent: for good). */
export type SanctionInput = W.SanctionBody;
export type Report = W.ReportOut;
/** A page of reports with their messages (the queue, or mine); `next` is the following page's cursor. */
export type ReportPage = W.ReportPageOut;
export type ReportResolution = W.ResolveBody;
/** A webhook endpoint of my tenant (tenant admins only); `secret` only in the answer that created it. */
export type Webhook = W.WebhookOut;
export type CreatedWebhook = W.WebhookCreatedOut;
/** One event of my tenant's log, as webhooks deliver it (`id` is the webhook-id). */
export type LoggedEvent = W.EventOut;
export type EventsPage = W.EventsOut;
/** One entry of my tenant's audit log (tenant admins only). */
export type AuditEntry = W.AuditEntryOut;
export type AuditPage = W.AuditPageOut;
/** Filters of the audit log; `before` is a page's `next`. */
export type AuditQuery = W.AuditQuery;
/** A line of the audit export: every hashed field as hashed (`at` in epoch ms, `details` the JSON text), so the chain can be checked (docs/audit.md). */
export type AuditExportLine = Omit<AuditEntry, 'at' | 'details'> & { at: number; details: string | null };
/** My tenant's "keep N days" and legal holds (tenant admins only; issue 20). */
export type RetentionSettings = W.RetentionOut;
export type ConversationRetention = W.ConversationRetentionOut;
export type SavedItem = W.SavedOut;
export type SavedPage = W.SavedPageOut;
export type UnreadState = W.UnreadOut;
export type Thread = W.ThreadOut;
/** An API key as listed (its secret is never shown again). */
export type ApiKey = W.ApiKeyOut;
/** A new API key, with its secret: shown once. */
export type IssuedApiKey = W.ApiKeyIssuedOut;
export type ApiKeyScope = ApiKey['scopes'][number];
/** A conversation's incoming webhook as listed (its URL is never shown again). */
export type IncomingWebhook = W.IncomingWebhookOut;
/** A new incoming webhook, with its secret URL: shown once. */
export type IssuedIncomingWebhook = W.IncomingWebhookIssuedOut;
export type ThreadReplies = W.ThreadRepliesOut;
export type NotificationSettings = W.NotificationSettingsOut;
export type ConversationNotificationSettings = W.ConversationNotificationSettingsOut;
/** The tenant's notification content: its own (null: the server's default) and the one in force. */
export type TenantNotifyContent = W.TenantNotifyContentOut;
export type PushSubscriptionInput = W.PushSubscriptionBody;
export type PushSubscriptionInfo = W.PushSubscriptionOut;

export type ConversationKind = Conversation['kind'];
/** private: invite only; public (channels): in the tenant's directory, anyone of it joins. */
export type Visibility = Conversation['visibility'];
export type Role = Member['role'];
export type MessageKind = Message['kind'];
/** The kinds a client may send (`system` is the server's). */
export type SendKind = NonNullable<W.SendBody['kind']>;
export type PresenceStatus = Presence['status'];

// ---------------------------------------------------------------- socket frames

export type ClientFrameType = keyof W.ClientFrames;
export type ServerFrameType = keyof W.ServerFrames;
/** A frame the client sends, by type. */
export type ClientFrame<K extends ClientFrameType = ClientFrameType> = K extends ClientFrameType ? W.ClientFrames[K] : never;
/** A frame the server sends, by type. */
export type ServerFrame<K extends ServerFrameType = ServerFrameType> = K extends ServerFrameType ? W.ServerFrames[K] : never;

export type Cursor = W.Cursor;
export type ReadyFrame = ServerFrame<'ready'>;
export type SubscribedFrame = ServerFrame<'subscribed'>;
export type MessageFrame = ServerFrame<'message'>;
export type MessageChangedFrame = ServerFrame<'message_changed'>;
export type ReadFrame = ServerFrame<'read'>;
/** My place in a conversation moved (on any of my devices). */
export type UnreadFrame = ServerFrame<'unread'>;
/** My place in a thread, or my following of it, changed. */
export type ThreadFrame = ServerFrame<'thread'>;
export type DeliveredFrame = ServerFrame<'delivered'>;
export type TypingFrame = ServerFrame<'typing'>;
export type PresenceFrame = ServerFrame<'presence'>;
export type MentionFrame = ServerFrame<'mention'>;
export type ConversationChangedFrame = ServerFrame<'conversation_changed'>;
export type ParticipantChangedFrame = ServerFrame<'participant_changed'>;
export type SnapshotRequiredFrame = ServerFrame<'snapshot_required'>;
export type ErrorFrame = ServerFrame<'error'>;
export type MessageHiddenFrame = ServerFrame<'message_hidden'>;
export type PinChangedFrame = ServerFrame<'pin_changed'>;
export type ReportResolvedFrame = ServerFrame<'report_resolved'>;

// ---------------------------------------------------------------- the SDK's own

/** The socket's state, for a "reconnecting…" banner. */
export type ConnectionStatus = 'connecting' | 'online' | 'offline';

export interface StatusEvent {
  status: ConnectionStatus;
  /** Close code of the socket that just closed (offline). */
  code?: number;
  reason?: string;
  /** Reconnect attempt number (1 = the first retry after a drop). */
  attempt?: number;
  /** offline: when the next attempt starts, in ms (undefined: no retry planned). */
  retryInMs?: number;
  /** offline for good: the token was refused (4000, 4001, 4003) or disconnect() was called. */
  final?: boolean;
}

/** An optimistic message: sent, not acknowledged yet. Replaced by the real message on its ack. */
export interface PendingMessage {
  local_temp_id: string;
  conversation_id: number;
  kind: SendKind;
  content: string | null;
  reply_to_id: number | null;
  /** Upload keys named in the send. */
  attachments: string[];
  /** When it was queued (ISO). */
  created_at: string;
  sender_id: number | null;
  status: 'pending';
}

/** A send the server refused (its pending entry is gone). */
export interface SendFailedEvent {
  local_temp_id: string;
  conversation_id: number;
  code: string;
  message: string;
}

/** What `on(event, handler)` hands to each handler. */
export interface ParleyEventMap {
  /** A new message (each id once; an own send's ack carries its local_temp_id). */
  message: MessageFrame;
  /** A message as it is now after an edit, a delete or a reaction (each (id, change_seq) once). */
  message_changed: MessageChangedFrame;
  read: ReadFrame;
  /** My unread state in a conversation changed (a read or mark-unread on any of my devices). */
  unread: UnreadFrame;
  thread: ThreadFrame;
  delivered: DeliveredFrame;
  typing: TypingFrame;
  presence: PresenceFrame;
  mention: MentionFrame;
  conversation_changed: ConversationChangedFrame;
  participant_changed: ParticipantChangedFrame;
  /** You deleted a message for yourself (on this device or another): the state dropped it. */
  message_hidden: MessageHiddenFrame;
  /** A message of a conversation was pinned or unpinned: reload its pins (`pins`). */
  pin_changed: PinChangedFrame;
  /** A moderator resolved one of my reports (`report.state` is the outcome). */
  report_resolved: ReportResolvedFrame;
  /** Too much was missed to replay; the SDK reloads the conversation's newest page itself. */
  snapshot_required: SnapshotRequiredFrame;
  status: StatusEvent;
  /** An optimistic message was queued (emitted synchronously by send()). */
  pending: PendingMessage;
  send_failed: SendFailedEvent;
  /** A refused frame that no promise is waiting for, or a background refresh that failed. */
  error: ErrorFrame;
}

export type ParleyEventName = keyof ParleyEventMap;
