import { Type, type TSchema } from '@sinclair/typebox';
import { inviteOutSchema } from '../shared/invites.js';

// Parley's own API (/api/parley): one coherent shape for every core capability. These
// schemas validate requests and frames and are the source of the OpenAPI and AsyncAPI
// documents (/docs/json, /docs/asyncapi.json).

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Parley id' });
const Seq = Type.Integer({ minimum: 0 });
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const TempId = Type.String({ minLength: 1, maxLength: 255, description: "The client's id for a send: a retry with the same one into the same conversation stores nothing new; in another conversation it is a new message" });
const Emoji = Type.String({ minLength: 1, maxLength: 32, description: 'One emoji' });
const Kind = Type.Union([Type.Literal('direct'), Type.Literal('group'), Type.Literal('channel')]);
const Visibility = Type.Union([Type.Literal('public'), Type.Literal('private')], {
  description: "private: invite only; public (channels): listed in the tenant's directory, anyone of the tenant joins",
});
const Role = Type.Union([Type.Literal('admin'), Type.Literal('moderator'), Type.Literal('member')]);
const MessageKind = Type.Union([Type.Literal('text'), Type.Literal('emoji'), Type.Literal('image'), Type.Literal('file'), Type.Literal('voice'), Type.Literal('system')]);
/** An integration's JSON object (issue 19): at most 4 KiB serialized, 5 levels deep; returned as given. */
const Metadata = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Your integration\'s own JSON object (its ids, links): at most 4096 bytes serialized and 5 levels deep; returned as given wherever the message or conversation is',
});
const MetadataOut = Nullable(Metadata);
const Status = Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('busy'), Type.Literal('offline')]);

// ---------------------------------------------------------------- shapes returned

export const UserOut = Type.Object(
  {
    id: Id,
    uuid: Type.String(),
    name: Type.String(),
    email: Type.String(),
    avatar_url: Nullable(Type.String()),
    is_bot: Type.Optional(Type.Boolean({ description: 'A bot: acts through an API key or an incoming webhook' })),
  },
);

/** The caller's own profile, with what they administer: a client offers the admin section by it. */
export const MeOut = Type.Object({
  ...UserOut.properties,
  tenant_role: Type.Union([Type.Literal('admin'), Type.Literal('member')], { description: "Mine in my tenant: its admins administer it (/admin)" }),
  is_operator: Type.Boolean({ description: 'A server operator: administers every tenant' }),
});

export const AttachmentOut = Type.Object(
  {
    id: Id,
    uuid: Type.String(),
    kind: Type.Union([Type.Literal('image'), Type.Literal('file'), Type.Literal('voice')]),
    name: Type.String(),
    size: Type.Integer(),
    mime_type: Type.String(),
    url: Type.String({ description: 'Signed, expiring URL' }),
    thumbnail_url: Nullable(Type.String()),
    width: Nullable(Type.Integer()),
    height: Nullable(Type.Integer()),
    duration: Nullable(Type.Number({ description: 'Seconds (voice)' })),
  },
);

export const MessageOut = Type.Object(
  {
    id: Id,
    uuid: Type.String(),
    conversation_id: Id,
    seq: Type.Integer({ minimum: 1, description: 'Gapless per conversation' }),
    change_seq: Type.Integer({ minimum: 1, description: "The conversation's change counter when this message last changed" }),
    sender: UserOut,
    kind: MessageKind,
    content: Nullable(Type.String({ description: 'Null once deleted' })),
    reply_to_id: Nullable(Id),
    reply_count: Type.Integer(),
    created_at: Time,
    edited_at: Nullable(Time),
    deleted_at: Nullable(Time),
    deleted_by: Type.Optional(Id),
    deleted_reason: Type.Optional(Type.String({ description: "Why a moderator deleted someone else's message (with deleted_by): shown to everyone in the conversation, its author first of all" })),
    attachments: Type.Array(AttachmentOut),
    reactions: Type.Array(Type.Object({ emoji: Type.String(), user_ids: Type.Array(Id), count: Type.Integer() })),
    local_temp_id: Type.Optional(Nullable(Type.String({ description: "The sender's local_temp_id (the sender's copies only)" }))),
    metadata: Type.Optional(MetadataOut),
  },
);

export const MemberOut = Type.Object({ user: UserOut, role: Role, read_seq: Seq, delivered_seq: Seq, joined_at: Time, online: Type.Boolean() });

export const ConversationOut = Type.Object(
  {
    id: Id,
    uuid: Type.String(),
    kind: Kind,
    title: Nullable(Type.String()),
    created_by: Nullable(Id),
    created_at: Time,
    last_seq: Seq,
    change_seq: Seq,
    last_message: Nullable(MessageOut),
    last_message_at: Nullable(Time),
    unread_count: Type.Integer({ minimum: 0, description: 'Messages above my_seen_seq that are not deleted, not thread replies (they count in their thread) and not deleted for me' }),
    first_unread_seq: Nullable(Type.Integer({ minimum: 1, description: 'The first of them: where opening the conversation lands (null: nothing unread)' })),
    my_seen_seq: Type.Integer({ minimum: 0, description: 'My own place: reads and my sends move it forward, mark-unread moves it back (my_read_seq, which the others see, never moves back)' }),
    my_role: Role,
    my_read_seq: Seq,
    my_sent_seq: Type.Integer({ minimum: 0, description: 'The seq of my newest message here (0: none); sending moves it, never my_read_seq' }),
    member_count: Type.Integer({ minimum: 0, description: 'Current participants' }),
    visibility: Visibility,
    metadata: Type.Optional(MetadataOut),
    members: Type.Array(MemberOut, {
      description: 'GET /conversations/{id}: every member. The list (GET /conversations): a direct conversation\'s two, at most 5 of a group or channel (member_count has the total)',
    }),
  },
);

export const SessionOut = Type.Object({ token: Type.String(), token_type: Type.Literal('bearer'), user: UserOut });
export const HistoryOut = Type.Object({
  messages: Type.Array(MessageOut, { description: 'Oldest first' }),
  has_more: Type.Boolean({ description: 'Older messages exist: ask again with before_seq = the first seq here' }),
  last_seq: Seq,
  change_seq: Seq,
  epoch: Type.String({ description: "The history's epoch of these seqs: keep it with a cursor taken from this page" }),
  purged_before_seq: Type.Optional(Type.Integer({ minimum: 1, description: 'Retention purged every message with a smaller seq: the history stops there, and a cursor below it gets snapshot_required' })),
});
export const PresenceOut = Type.Object({ user_id: Id, online: Type.Boolean(), status: Status, last_seen: Nullable(Time) });
export const ErrorOut = Type.Object({ detail: Type.String(), code: Type.Optional(Type.String()) });

// ---------------------------------------------------------------- REST requests

export const RegisterBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.String({ minLength: 8, maxLength: 256 }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    tenant_id: Type.Optional(Type.String({ format: 'uuid' })),
    invite: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "An invite's code: registers into its tenant" })),
  },
  { additionalProperties: false },
);
export const PasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 256 }), new_password: Type.String({ minLength: 8, maxLength: 256 }) },
  { additionalProperties: false },
);
export const InviteOut = inviteOutSchema({ id: Type.String({ description: "The invite's uuid" }), usedBy: Id });
export const InviteIssuedOut = Type.Object({ ...InviteOut.properties, code: Type.String({ description: 'Shown once: the invitee registers with {"invite": code}' }) });
export const InviteBody = Type.Object(
  {
    ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 90 * 24 * 3600, description: 'Default INVITE_TTL_SECONDS (7 days)' })),
    email: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 254 }))),
  },
  { additionalProperties: false },
);
export const InviteParams = Type.Object({ id: Type.String({ format: 'uuid', description: "The invite's id (uuid)" }) });
export const LoginBody = Type.Object(
  { email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 256 }), tenant_id: Type.Optional(Type.String({ format: 'uuid' })) },
  { additionalProperties: false },
);
export const UserSearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 100, description: 'Part of a name or e-mail' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20, description: 'Most users answered' })),
});
export const CreateConversationBody = Type.Object(
  {
    kind: Kind,
    /** direct: the other user; group/channel: the first members. */
    user_id: Type.Optional(Id),
    member_ids: Type.Optional(Type.Array(Id, { maxItems: 500 })),
    title: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    visibility: Type.Optional({ ...Visibility, description: 'A channel: public or private (the default); anything else is private' }),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export const UpdateConversationBody = Type.Object(
  { title: Type.Optional(Nullable(Type.String({ maxLength: 200 }))), metadata: Type.Optional(MetadataOut) },
  { additionalProperties: false, description: 'What changes: the title, the metadata (null clears it), or both' },
);
export const ConversationParams = Type.Object({ id: Id });
export const ParticipantParams = Type.Object({ id: Id, user_id: Id });
export const AddParticipantBody = Type.Object({ user_id: Id, role: Type.Optional(Role) }, { additionalProperties: false });
export const SetRoleBody = Type.Object({ role: Role }, { additionalProperties: false });
export const HistoryQuery = Type.Object({
  before_seq: Type.Optional(Type.Integer({ minimum: 1, description: 'Only messages with a smaller seq (older)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Messages per page' })),
});
export const ChangesQuery = Type.Object({
  after_seq: Type.Integer({ minimum: 0, description: 'The last seq I have: new messages after it' }),
  after_change_seq: Type.Optional(Type.Integer({ minimum: 0, description: 'The last change_seq I have: edits, deletes and reactions of older messages after it' })),
  epoch: Type.Optional(Type.String({ maxLength: 64, description: "The history's epoch the cursors were read in (ready, subscribed, history pages): from another one (the server's database was restored from a backup), every cursor gets snapshot_required" })),
  /** Most messages in one page (a page also stops before MESSAGES_PAGE_MAX_BYTES of frames). */
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500, description: 'Most messages in one page' })),
});
export const ChangesOut = Type.Object({
  /** The frames a socket's resume sends (`message`, `message_changed`): older messages' changes first, in change order, then new messages in seq order. */
  frames: Type.Array(Type.Unknown()),
  /** More after this page: ask again with `next`. */
  has_more: Type.Boolean(),
  /** The cursor after this page: the next page's query, and once has_more is false, where the reader stands. */
  next: Type.Object({ after_seq: Seq, after_change_seq: Type.Optional(Seq), epoch: Type.Optional(Type.String()) }),
});
export const ConversationListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Conversations per page, most recent activity first' })),
  before: Type.Optional(
    Type.String({ pattern: '^\\d{1,15}_\\d{1,15}$', description: "Where the page starts: the previous page's Parley-Next-Cursor response header (absent on the last page)" }),
  ),
});
export const VisibilityBody = Type.Object({ visibility: Visibility }, { additionalProperties: false });
export const DirectoryQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 100, description: 'A part of the name, in any case' })),
  cursor: Type.Optional(Type.String({ maxLength: 1000, description: "The previous page's next_cursor" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Channels per page' })),
});
export const DirectoryChannelOut = Type.Object({
  id: Id,
  uuid: Type.String(),
  title: Nullable(Type.String()),
  member_count: Type.Integer({ minimum: 0, description: 'Current participants' }),
  is_member: Type.Boolean({ description: 'I am a participant' }),
  created_at: Time,
  last_message_at: Nullable(Time),
});
export const DirectoryOut = Type.Object({
  channels: Type.Array(DirectoryChannelOut, { description: 'By name (case-folded), then by age' }),
  next_cursor: Nullable(Type.String({ description: 'The cursor of the next page; null on the last one' })),
});
export const BlockParams = Type.Object({ user_id: Id });
export const BlockOut = Type.Object({ user: UserOut, blocked_at: Time });
export const SendBody = Type.Object(
  {
    kind: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('emoji'), Type.Literal('image'), Type.Literal('file'), Type.Literal('voice')])),
    content: Type.Optional(Nullable(Type.String())),
    local_temp_id: Type.Optional(TempId),
    reply_to_id: Type.Optional(Nullable(Id)),
    /** Keys returned by POST /api/parley/files. */
    attachments: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { maxItems: 10 })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export const MessageParams = Type.Object({ id: Id });
export const EditBody = Type.Object({ content: Type.String(), metadata: Type.Optional(MetadataOut) }, { additionalProperties: false });
export const ReactionParams = Type.Object({ id: Id, emoji: Emoji });
export const ReadBody = Type.Object({ seq: Type.Optional(Seq) }, { additionalProperties: false });
export const AckBody = Type.Object({ seq: Seq }, { additionalProperties: false });
export const PresenceQuery = Type.Object({ user_ids: Type.String({ pattern: '^\\d+(,\\d+){0,199}$', description: 'Comma-separated ids' }) });
export const PresenceBody = Type.Object({ status: Status }, { additionalProperties: false });
export const UploadOut = Type.Object({
  files: Type.Array(Type.Object({ ...AttachmentOut.properties, key: Type.String({ description: 'Name it in a send: attachments: [key]' }) })),
});

// ---------------------------------------------------------------- socket: client → server

// Issue 18: edit history, delete for me, pins and saved messages (curation-routes.ts).
export const RevisionOut = Type.Object({
  content: Type.String({ description: 'The text as it was before an edit replaced it' }),
  editor: UserOut,
  written_at: Type.String({ format: 'date-time', description: 'When this text was written (sent, or an earlier edit)' }),
  replaced_at: Type.String({ format: 'date-time', description: 'When the next edit replaced it' }),
});
export const RevisionsOut = Type.Object({
  message_id: Id,
  edited_at: Nullable(Time),
  revisions: Type.Array(RevisionOut, { description: 'Every earlier text, oldest first; the current one is the message itself' }),
});
export const PinOut = Type.Object({ message: MessageOut, pinned_by: UserOut, pinned_at: Time });
export const SavedOut = Type.Object({ message: MessageOut, saved_at: Time });
export const SavedPageOut = Type.Object({
  items: Type.Array(SavedOut, { description: 'Newest save first; only messages I may still see' }),
  next: Nullable(Type.String({ description: "The next page's `before` (null on the last page)" })),
});
export const SavedQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Saved messages per page' })),
  before: Type.Optional(Type.String({ pattern: '^\\d{1,15}_\\d{1,15}$', description: "Where the page starts: the previous page's `next`" })),
});

// Issue 20: bans, mutes and reports (moderation-routes.ts).
const SanctionKindOut = Type.Union([Type.Literal('ban'), Type.Literal('mute')]);
export const SanctionParams = Type.Object({ id: Id, user_id: Id });
export const SanctionBody = Type.Object(
  {
    reason: Type.Optional(Nullable(Type.String({ maxLength: 2000, description: 'Why (at most 500 characters); shown to moderators' }))),
    until: Type.Optional(Nullable(Type.String({ format: 'date-time', description: 'When it is lifted by itself (null or absent: never); from then on it is not in force' }))),
  },
  { additionalProperties: false },
);
export const SanctionOut = Type.Object({
  user: UserOut,
  kind: SanctionKindOut,
  reason: Nullable(Type.String()),
  until: Nullable(Time),
  by: Nullable(Id),
  created_at: Time,
});
const ReportState = Type.Union([Type.Literal('open'), Type.Literal('dismissed'), Type.Literal('deleted'), Type.Literal('muted'), Type.Literal('banned'), Type.Literal('suspended')], {
  description: 'open, or how a moderator resolved it: dismissed, the message deleted, its author muted or banned',
});
export const ReportOut = Type.Object({
  id: Id,
  conversation_id: Id,
  message_id: Id,
  reporter_id: Id,
  author_id: Id,
  reason: Type.String(),
  state: ReportState,
  created_at: Time,
  resolved_by: Nullable(Id),
  resolved_at: Nullable(Time),
});
export const ReportEntryOut = Type.Object({ ...ReportOut.properties, message: Nullable(MessageOut) });
export const ReportPageOut = Type.Object({
  items: Type.Array(ReportEntryOut),
  next: Nullable(Type.Integer({ description: "The next page's cursor (null on the last page)" })),
});
export const ReportBody = Type.Object({ reason: Type.String({ maxLength: 4000, description: 'Why (at most 1000 characters)' }) }, { additionalProperties: false });
export const ReportParams = Type.Object({ id: Id });
export const ReportQueueQuery = Type.Object({
  conversation_id: Type.Optional(Id),
  after: Type.Optional(Type.Integer({ minimum: 0, description: "The previous page's `next`" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Reports per page' })),
});
export const MyReportsQuery = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 1, description: "The previous page's `next`" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Reports per page' })),
});
export const ResolveBody = Type.Object(
  {
    action: Type.Union([Type.Literal('dismiss'), Type.Literal('delete'), Type.Literal('mute'), Type.Literal('ban'), Type.Literal('suspend')], { description: "dismiss; delete the message; mute or ban its author; suspend its author's account (tenant admins)" }),
    ...SanctionBody.properties,
  },
  { additionalProperties: false },
);
export const DeleteQuery = Type.Object({
  reason: Type.Optional(Type.String({ maxLength: 2000, description: "A moderator deleting someone else's message: why (at most 500 characters), shown with the tombstone" })),
});

const frame = <T extends string, P extends Record<string, TSchema>>(type: T, props: P, description: string) =>
  Type.Object({ type: Type.Literal(type), ...props }, { additionalProperties: false, description });

export const Cursor = Type.Object({ conversation_id: Id, last_seq: Seq, last_change_seq: Type.Optional(Seq) }, { additionalProperties: false });

export const ClientFrames = {
  subscribe: frame(
    'subscribe',
    { cursors: Type.Optional(Type.Array(Cursor, { maxItems: 1000 })), epoch: Type.Optional(Type.String({ maxLength: 64, description: "The history's epoch the cursors were read in (ready, subscribed, history pages): from another one (the server's database was restored from a backup), every cursor gets snapshot_required" })) },
    "Follow all of the user's conversations (and new ones). With cursors: first replay what was missed after each (new messages, then changes of older ones), or snapshot_required.",
  ),
  send: frame(
    'send',
    {
      conversation_id: Id,
      kind: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('emoji'), Type.Literal('image'), Type.Literal('file'), Type.Literal('voice')])),
      content: Type.Optional(Nullable(Type.String())),
      local_temp_id: TempId,
      reply_to_id: Type.Optional(Nullable(Id)),
      attachments: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { maxItems: 10 })),
      metadata: Type.Optional(Metadata),
    },
    'Send a message. The ack is the `message` frame carrying this local_temp_id, sent after the commit; a failure is an `error` frame carrying it.',
  ),
  edit: frame('edit', { message_id: Id, content: Type.String(), metadata: Type.Optional(MetadataOut) }, 'Edit your own text message (metadata: null clears it).'),
  delete: frame('delete', { message_id: Id }, 'Delete a message (yours; in groups, admins and moderators: anyone\'s).'),
  react: frame('react', { message_id: Id, emoji: Emoji, on: Type.Boolean() }, 'Add (on: true) or remove a reaction.'),
  read: frame('read', { conversation_id: Id, seq: Type.Optional(Seq) }, 'Mark read up to seq (default: all).'),
  ack: frame('ack', { conversation_id: Id, seq: Seq }, 'This device holds every message of the conversation up to seq (delivered receipts, and no push for them). The SDK sends it on receipt.'),
  typing: frame('typing', { conversation_id: Id, is_typing: Type.Boolean() }, 'Typing started or stopped; expires on its own.'),
  presence: frame('presence', { status: Status }, 'Set your presence status.'),
  ping: frame('ping', {}, 'Answered with pong.'),
} as const;

// ---------------------------------------------------------------- socket: server → client

const out = <T extends string, P extends Record<string, TSchema>>(type: T, props: P, description: string) =>
  Type.Object({ type: Type.Literal(type), ...props }, { description });

const ConversationRefOut = Type.Object({ id: Id, uuid: Type.String(), kind: Kind });

export const ServerFrames = {
  ready: out(
    'ready',
    { user: UserOut, resume_max: Type.Integer(), epoch: Type.String({ description: "The history's epoch: keep it with your cursors and send it back in subscribe" }) },
    'First frame after the connection is authenticated.',
  ),
  subscribed: out(
    'subscribed',
    {
      conversations: Type.Array(Type.Object({ id: Id, last_seq: Seq, change_seq: Seq })),
      gone: Type.Optional(Type.Array(Id, { description: 'Conversations of the cursors or of the list that are no longer yours (deleted, or you were removed): not followed.' })),
      epoch: Type.String({ description: "The history's epoch of these positions" }),
    },
    'Answer to subscribe, after every replay: the conversations followed and where each stood (the live stream goes on from there).',
  ),
  message: out('message', { conversation_id: Id, message: MessageOut }, 'A new message (for its sender: the ack, with local_temp_id).'),
  message_changed: out(
    'message_changed',
    {
      conversation_id: Id,
      change: Type.Union([Type.Literal('edited'), Type.Literal('deleted'), Type.Literal('reaction_added'), Type.Literal('reaction_removed'), Type.Literal('replayed')]),
      message: MessageOut,
      user_id: Type.Optional(Id),
      emoji: Type.Optional(Type.String()),
    },
    'A message as it is now, after an edit, a delete or a reaction (replayed: changed while you were away).',
  ),
  read: out('read', { conversation_id: Id, user_id: Id, read_seq: Seq }, "A participant's read watermark moved."),
  unread: out(
    'unread',
    { conversation_id: Id, seen_seq: Seq, unread_count: Type.Integer({ minimum: 0 }), first_unread_seq: Nullable(Type.Integer({ minimum: 1 })) },
    'My place in a conversation moved (a read or mark-unread on any of my devices): my unread count there now. Only my own sockets get it.',
  ),
  thread: out(
    'thread',
    { conversation_id: Id, root_id: Id, read_seq: Seq, unread_count: Type.Integer({ minimum: 0 }), following: Type.Boolean() },
    'My place in a thread, my following of it, or its unread count (a reply I deleted for myself) changed, on any of my devices. Only my own sockets get it.',
  ),
  delivered: out('delivered', { conversation_id: Id, user_id: Id, delivered_seq: Seq }, "A participant's device received messages up to delivered_seq."),
  typing: out('typing', { conversation_id: Id, user_id: Id, is_typing: Type.Boolean(), typing_user_ids: Type.Array(Id) }, 'Someone started or stopped typing.'),
  presence: out('presence', { user_id: Id, online: Type.Boolean(), status: Status, last_seen: Nullable(Time) }, 'Presence of someone you share a conversation with.'),
  mention: out('mention', { conversation_id: Id, message: MessageOut }, 'You were mentioned (every device, subscribed or not).'),
  report_resolved: out('report_resolved', { report: ReportOut }, 'A moderator resolved one of my reports (every device of mine): its outcome in `state`.'),
  conversation_changed: out(
    'conversation_changed',
    {
      change: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('deleted')]),
      conversation: ConversationRefOut,
      title: Type.Optional(Nullable(Type.String())),
      visibility: Type.Optional({ ...Visibility, description: 'Its new visibility, when that is what changed (a channel made public or private)' }),
    },
    'A conversation you are in was created (or you were added), renamed, made public or private, or deleted.',
  ),
  participant_changed: out(
    'participant_changed',
    { change: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('role')]), conversation_id: Id, user: UserOut, role: Type.Optional(Role), by: Id },
    'Someone joined, left or changed role.',
  ),
  message_hidden: out('message_hidden', { conversation_id: Id, message_id: Id }, 'You deleted this message for yourself (from any of your devices): drop it here too.'),
  pin_changed: out(
    'pin_changed',
    { conversation_id: Id, change: Type.Union([Type.Literal('pinned'), Type.Literal('unpinned')]), message_id: Id, by: Id, at: Time },
    'A message of the conversation was pinned or unpinned (`by`: who did it).',
  ),
  snapshot_required: out('snapshot_required', { conversation_id: Id, missed: Type.Integer() }, 'Too much was missed to replay: reload the conversation over REST.'),
  error: out('error', { code: Type.String(), message: Type.String(), local_temp_id: Type.Optional(Type.Union([Type.String(), Type.Number()])) }, 'A frame was refused; nothing changed. The socket stays open.'),
  pong: out('pong', {}, 'Answer to ping.'),
} as const;

export type ClientFrameType = keyof typeof ClientFrames;
export type ServerFrameType = keyof typeof ServerFrames;

// ---------------------------------------------------------------- issue 18: mark as unread, threads (unread-routes.ts)

export const MarkUnreadBody = Type.Object(
  { seq: Type.Integer({ minimum: 1, description: 'The first message to show as unread again' }) },
  { additionalProperties: false },
);

export const UnreadOut = Type.Object({
  seen_seq: Seq,
  unread_count: Type.Integer({ minimum: 0, description: 'Messages above seen_seq that are not deleted, not thread replies (they count in their thread) and not deleted for me' }),
  first_unread_seq: Nullable(Type.Integer({ minimum: 1 })),
});

export const ThreadOut = Type.Object({
  root: MessageOut,
  conversation_id: Id,
  read_seq: Type.Integer({ minimum: 0, description: 'My place in the thread: replies with a higher seq are unread' }),
  unread_count: Type.Integer({ minimum: 0, description: 'Replies above read_seq that are not deleted, nor deleted for me' }),
  reply_count: Type.Integer({ minimum: 0 }),
  last_reply_seq: Nullable(Type.Integer({ minimum: 1 })),
  last_reply_at: Nullable(Time),
  following: Type.Boolean({ description: 'Followed threads are in my Threads list; replying or starting a thread follows it' }),
});

export const ThreadRepliesQuery = Type.Object({
  after_seq: Type.Optional(Type.Integer({ minimum: 0, description: 'Only replies with a higher seq' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 100, description: 'Replies per page' })),
});

export const ThreadRepliesOut = Type.Object({ thread: ThreadOut, replies: Type.Array(MessageOut), has_more: Type.Boolean() });

export const ThreadListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Threads at most' })),
});

// ---------------------------------------------------------------- search (docs/search.md)

export const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 200, description: 'Words to find, in any script: each must begin a word of the message or of one of its files\' names (case and accents ignored)' }),
  conversation_id: Type.Optional({ ...Id, description: 'Only in this conversation (404 when it is not mine)' }),
  sender_id: Type.Optional({ ...Id, description: 'Only messages of this sender' }),
  has: Type.Optional(Type.Union([Type.Literal('file'), Type.Literal('image'), Type.Literal('voice')], { description: 'Only messages with an attachment of this kind' })),
  before: Type.Optional({ ...Time, description: 'Only messages sent before this time' }),
  after: Type.Optional({ ...Time, description: 'Only messages sent after this time' }),
  thread_id: Type.Optional({ ...Id, description: "A thread's first message: only it and its replies" }),
  order: Type.Optional(Type.Union([Type.Literal('newest'), Type.Literal('relevance')], { default: 'newest', description: 'Newest first, or the best matches first' })),
  cursor: Type.Optional(Type.String({ maxLength: 64, pattern: '^[-0-9.e_]+$', description: "The previous page's next_cursor" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20, description: 'Most results in one page' })),
});
export const SearchHitOut = Type.Object({
  message: MessageOut,
  highlight: Nullable(
    Type.Object({
      field: Type.Union([Type.Literal('content'), Type.Literal('file')], { description: "Where the words were found: the message's text or a file's name" }),
      text: Type.String({ description: 'A window of that text, as it is: escape it before showing it' }),
      ranges: Type.Array(Type.Object({ start: Type.Integer({ minimum: 0 }), end: Type.Integer({ minimum: 0 }) }), { description: 'The matched words in `text` (UTF-16 offsets, end exclusive)' }),
    }),
  ),
});
export const SearchOut = Type.Object({
  results: Type.Array(SearchHitOut),
  next_cursor: Nullable(Type.String({ description: 'Pass as cursor for the next page; null on the last' })),
});

// ---------------------------------------------------------------- issue 19: push notifications (notification-routes.ts)
const Level = Type.Union([Type.Literal('all'), Type.Literal('mentions'), Type.Literal('none')], {
  description: 'all: every message; mentions: mentions of me and direct messages; none: no push',
});
const MuteUntil = Nullable(Type.String({ format: 'date-time', description: 'No push before this time (null: not muted)' }));
const NotifyContent = Type.Union([Type.Literal('full'), Type.Literal('none')], { description: 'full: who wrote what; none: "New message" only, the device fetches the rest' });
export const TenantNotifyContentOut = Type.Object({
  content: Type.Union([NotifyContent, Type.Null()], { description: "The tenant's own mode; null: the server's default (NOTIFY_CONTENT)" }),
  in_force: NotifyContent,
});
export const TenantNotifyContentBody = Type.Object({ content: Nullable(NotifyContent) }, { additionalProperties: false });
export const NotificationSettingsOut = Type.Object({ level: Level, mute_until: MuteUntil });
export const NotificationSettingsBody = Type.Object({ level: Type.Optional(Level), mute_until: Type.Optional(MuteUntil) }, { additionalProperties: false });
export const ConversationNotificationSettingsOut = Type.Object({
  level: Nullable(Level),
  mute_until: MuteUntil,
});
export const ConversationNotificationSettingsBody = Type.Object(
  { level: Type.Optional(Nullable(Level)), mute_until: Type.Optional(MuteUntil) },
  { additionalProperties: false, description: 'level null: as my own setting' },
);
export const VapidKeyOut = Type.Object({ public_key: Type.String({ description: "The server's VAPID public key (base64url): the applicationServerKey to subscribe with" }) });
const DeviceId = Type.String({ minLength: 1, maxLength: 128, description: 'This device (the SDK makes one up and keeps it); one subscription per endpoint' });
export const PushSubscriptionBody = Type.Union([
  Type.Object(
    { kind: Type.Literal('web'), device_id: Type.Optional(DeviceId), endpoint: Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' }), keys: Type.Object({ p256dh: Type.String({ minLength: 1, maxLength: 256 }), auth: Type.String({ minLength: 1, maxLength: 64 }) }) },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Union([Type.Literal('fcm'), Type.Literal('apns')]), device_id: Type.Optional(DeviceId), token: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
]);
export const PushSubscriptionOut = Type.Object({ id: Id, kind: Type.String(), device_id: Type.String() });
export const PushSubscriptionParams = Type.Object({ id: Id });
// ------------------------------------------------------------ webhooks and the events log (issue 19)
const EventType = Type.String({ description: 'message.created, message.updated, message.deleted, reaction.added, reaction.removed, member.joined, member.left, member.role_changed, conversation.created, conversation.updated, conversation.deleted' });
const endpointFields = {
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL the events are POSTed to; private and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true' }),
  event_types: Type.Optional(Type.Array(EventType, { maxItems: 20, description: 'Only these types; empty or absent: every type' })),
  conversation_id: Type.Optional(Nullable(Id)),
  mention_user_id: Type.Optional(Nullable(Type.Integer({ minimum: 1, description: "A bot's endpoint: only message.created events that mention this user or are in a direct conversation with them" }))),
  description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
};
export const WebhookBody = Type.Object(endpointFields, { additionalProperties: false });
export const WebhookPatchBody = Type.Object(
  { ...endpointFields, url: Type.Optional(endpointFields.url), enabled: Type.Optional(Type.Boolean({ description: 'false disables it; true enables it again: its deliveries resume where they stopped' })) },
  { additionalProperties: false },
);
export const WebhookParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: "The endpoint's id (we_…)" }) });
export const WebhookOut = Type.Object({
  id: Type.String({ description: 'we_…' }),
  url: Type.String(),
  event_types: Type.Array(Type.String()),
  conversation_id: Nullable(Id),
  mention_user_id: Nullable(Id),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  disabled_reason: Nullable(Type.String({ description: 'admin, or failing (disabled after WEBHOOK_DISABLE_AFTER_MS of failures)' })),
  disabled_at: Nullable(Time),
  created_at: Time,
  last_success_at: Nullable(Time),
  last_failure_at: Nullable(Time),
  failing_since: Nullable(Time),
  last_error: Nullable(Type.String()),
  pending: Type.Integer({ minimum: 0, description: 'Deliveries not made yet' }),
});
export const WebhookCreatedOut = Type.Object({ ...WebhookOut.properties, secret: Type.String({ description: 'whsec_…: shown once; verify webhook-signature with it (Standard Webhooks)' }) });
export const EventsQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'The cursor of the last event I have (0: from the start)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Most events in one page' })),
});
export const EventOut = Type.Object({
  id: Type.String({ description: "evt_…: the same as a webhook's webhook-id" }),
  cursor: Type.Integer({ minimum: 1, description: "The event's place in the tenant's log" }),
  type: EventType,
  timestamp: Time,
  conversation_id: Id,
  data: Type.Object(
    {
      message: Type.Optional(MessageOut),
      user: Type.Optional(UserOut),
      emoji: Type.Optional(Type.String()),
      role: Type.Optional(Nullable(Type.String({ description: 'The member\'s role; null when they left' }))),
      conversation: Type.Optional(
        Type.Object({ id: Id, uuid: Type.String(), kind: Kind, title: Nullable(Type.String()), visibility: Type.String(), created_by: Nullable(Id), created_at: Time }),
      ),
    },
    { description: 'message (with user and emoji for reactions), user and role (members), or conversation' },
  ),
});
export const EventsOut = Type.Object({
  events: Type.Array(EventOut),
  next_cursor: Type.Integer({ minimum: 0, description: 'Pass as after for the next page (the last cursor of this one, or after when it is empty)' }),
});
// ---------------------------------------------------------------- bots and server-to-server (issue 19)

const ApiKeyScope = Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')], {
  description: 'read: GET only; write: also posting, reacting and editing as the key\'s bot; admin: also the tenant admin\'s operations',
});
export const ApiKeyOut = Type.Object({
  id: Type.String({ description: "The key's id (uuid)" }),
  name: Type.String(),
  scopes: Type.Array(ApiKeyScope),
  bot: UserOut,
  created_at: Time,
  last_used_at: Nullable(Time),
  revoked_at: Nullable(Time),
});
export const ApiKeyIssuedOut = Type.Object({
  ...ApiKeyOut.properties,
  secret: Type.String({ description: 'Shown once: send it as Authorization: Bearer pk_… (or X-Api-Key)' }),
});
export const ApiKeyBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, description: "The key's and its bot's name" }), scopes: Type.Array(ApiKeyScope, { minItems: 1, maxItems: 3 }) },
  { additionalProperties: false },
);
export const ApiKeyParams = Type.Object({ id: Type.String({ format: 'uuid', description: "The key's id (uuid)" }) });

export const IncomingWebhookOut = Type.Object({
  id: Type.String({ description: "The hook's id (uuid)" }),
  conversation_id: Id,
  name: Type.String(),
  bot: UserOut,
  created_by: Nullable(Id),
  created_at: Time,
  revoked_at: Nullable(Time),
});
export const IncomingWebhookIssuedOut = Type.Object({
  ...IncomingWebhookOut.properties,
  url: Type.String({ description: 'Shown once: POST {"text": "…"} to it to post as the hook\'s bot. Whoever has it may post: keep it secret' }),
  path: Type.String({ description: 'The same URL below PUBLIC_URL: /api/parley/hooks/{id}/{secret}' }),
});
export const IncomingWebhookBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, description: "The hook's and its bot's name" }) },
  { additionalProperties: false },
);
export const IncomingWebhookParams = Type.Object({ id: Id, hook_id: Type.String({ format: 'uuid', description: "The hook's id (uuid)" }) });
export const HookPostParams = Type.Object({
  id: Type.String({ maxLength: 64, description: "The hook's id (uuid)" }),
  secret: Type.String({ maxLength: 128, description: "The URL's secret, as the hook's creation answered it" }),
});
export const HookPostBody = Type.Object(
  {
    text: Type.String({ minLength: 1, description: 'The message (as Slack and Mattermost incoming webhooks take it)' }),
    username: Type.Optional(Type.String({ maxLength: 100, description: 'Accepted for compatibility; the message is the hook\'s bot\'s' })),
  },
);

// Retention and legal holds (issue 20).
const RetentionDays = Nullable(Type.Integer({ minimum: 1, maximum: 36_500, description: 'Keep messages this many days; null: keep forever (a conversation: its tenant\'s)' }));
export const RetentionBody = Type.Object({ days: RetentionDays }, { additionalProperties: false });
export const LegalHoldOut = Type.Object({
  target_type: Type.Union([Type.Literal('conversation'), Type.Literal('user')]),
  target_id: Id,
  created_at: Time,
});
export const RetentionOut = Type.Object({
  days: RetentionDays,
  legal_holds: Type.Array(LegalHoldOut, { description: 'What retention never purges while held: a conversation, or what a user sent' }),
});
export const ConversationRetentionOut = Type.Object({
  retention_days: RetentionDays,
  purged_before_seq: Type.Integer({ minimum: 1, description: 'Every message with a smaller seq was purged by retention' }),
});
// ---------------------------------------------------------------- administration (issue 20)

const TenantRole = Type.Union([Type.Literal('admin'), Type.Literal('member')]);
const Registration = Type.Union([Type.Literal('default-tenant'), Type.Literal('invite'), Type.Literal('closed'), Type.Literal('open')]);
const AdminPage = {
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "Where the page starts: the previous page's `next`" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Rows per page' })),
  tenant: Type.Optional(Type.String({ format: 'uuid', description: "Operators: the tenant to act on (default: the operator's own)" })),
};
export const UserParams = Type.Object({ id: Id });
export const AdminUsersQuery = Type.Object({ ...AdminPage, q: Type.Optional(Type.String({ maxLength: 100, description: 'A part of the e-mail or name' })) });
export const AdminPageQuery = Type.Object(AdminPage);
export const TenantQuery = Type.Object({ tenant: AdminPage.tenant });
export const AdminUserOut = Type.Object({
  ...UserOut.properties,
  tenant_id: Type.String({ description: "The tenant's uuid" }),
  tenant_role: TenantRole,
  is_operator: Type.Boolean(),
  suspended_at: Nullable(Time),
  created_at: Time,
  last_seen_at: Nullable(Time),
});
export const AdminUserPageOut = Type.Object({ users: Type.Array(AdminUserOut), next: Nullable(Id) });
export const AdminUserDetailOut = Type.Object({
  user: AdminUserOut,
  sessions: Type.Object({
    token_version: Type.Integer({ description: 'Every token of an older version is refused' }),
    online: Type.Boolean(),
    last_seen_at: Nullable(Time),
    devices: Type.Array(Type.Object({ id: Id, kind: Type.String(), device_id: Type.String() })),
  }),
});
export const SuspendBody = Type.Object({ reason: Type.Optional(Nullable(Type.String({ maxLength: 500 }))) }, { additionalProperties: false });
export const ResetPasswordBody = Type.Object({ password: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'The new password; generated when absent' })) }, { additionalProperties: false });
export const ResetPasswordOut = Type.Object({ user: AdminUserOut, password: Type.String(), generated: Type.Boolean() });
export const TenantRoleBody = Type.Object({ role: TenantRole }, { additionalProperties: false });
export const ErasureOut = Type.Object({ messages: Type.Integer(), reactions: Type.Integer(), files: Type.Integer() });
export const TenantOut = Type.Object({ id: Type.String({ description: "The tenant's uuid" }), name: Type.String(), created_at: Time });
export const TenantPageOut = Type.Object({ tenants: Type.Array(TenantOut), next: Nullable(Id) });
export const AdminConversationOut = Type.Object({
  id: Id,
  uuid: Type.String(),
  kind: Type.String(),
  title: Nullable(Type.String()),
  member_count: Type.Integer(),
  last_seq: Seq,
  created_at: Time,
  archived_at: Nullable(Time),
});
export const AdminConversationPageOut = Type.Object({ conversations: Type.Array(AdminConversationOut), next: Nullable(Id) });
export const ArchiveBody = Type.Object({ archived: Type.Boolean() }, { additionalProperties: false });
export const TransferBody = Type.Object({ user_id: Id }, { additionalProperties: false });
export const TenantSettingsBody = Type.Object(
  {
    registration: Type.Optional(Nullable(Registration)),
    max_upload_bytes: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }))),
    retention_days: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 36500 }))),
    allowed_origins: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: 300 }), { maxItems: 50 }))),
  },
  { additionalProperties: false },
);
export const TenantSettingsOut = Type.Object({
  registration: Nullable(Registration),
  max_upload_bytes: Nullable(Type.Integer()),
  retention_days: Nullable(Type.Integer()),
  allowed_origins: Nullable(Type.Array(Type.String())),
});

// ---------------------------------------------------------------- audit log (issue 20)

const AuditTargetType = Type.Union(
  [Type.Literal('user'), Type.Literal('conversation'), Type.Literal('message'), Type.Literal('invite'), Type.Literal('tenant'), Type.Literal('report'), Type.Literal('api_key'), Type.Literal('webhook')],
  {
    description: 'What kind of thing the action was done to',
  },
);
export const AuditQuery = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'The cursor: next from the page before (entries below this seq)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Most entries in one page' })),
  actor_id: Type.Optional(Id),
  action: Type.Optional(Type.String({ maxLength: 64, description: 'A dotted action name, exactly: invite.create' })),
  target_type: Type.Optional(AuditTargetType),
  target_id: Type.Optional(Type.String({ maxLength: 128, description: 'The target, exactly: an id as the entries show it' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Entries at or after this time' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Entries before this time' })),
});
export const AuditEntryOut = Type.Object({
  seq: Type.Integer({ minimum: 1, description: "The entry's place in the tenant's log, from 1 without gaps" }),
  at: Time,
  actor_id: Type.Union([Id, Type.Null()], { description: "Who acted; null for the operator's command line" }),
  action: Type.String({ description: 'A dotted name: invite.create, api_key.revoke, participant.role…' }),
  target_type: AuditTargetType,
  target_id: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  origin: Type.Union([Type.String(), Type.Null()], { description: '"api" and the address it came from, or "cli"' }),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'What changed (an old and new value, an expiry)' }),
  prev_hash: Type.String({ description: 'The hash of the entry before (64 zeros for the first)' }),
  hash: Type.String({ description: "SHA-256 over the entry's fields and prev_hash (docs/audit.md)" }),
});
export const AuditPageOut = Type.Object({
  entries: Type.Array(AuditEntryOut, { description: 'Newest first' }),
  next: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Pass as before for the next page; null: this was the last' }),
});
export const AuditExportQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'The last seq I have (0: from the start)' })),
});
export const LegalHoldParams = Type.Object({
  target_type: Type.Union([Type.Literal('conversation'), Type.Literal('user')], { description: 'What is held: a conversation, or a user (what they sent)' }),
  target_id: Id,
});
