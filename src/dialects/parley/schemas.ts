import { Type, type TSchema } from '@sinclair/typebox';

// Parley's own API (/api/parley): one coherent shape for every core capability. These
// schemas validate requests and frames and are the source of the OpenAPI and AsyncAPI
// documents (/docs/json, /docs/asyncapi.json).

const Id = Type.Integer({ minimum: 1, description: 'Parley id' });
const Seq = Type.Integer({ minimum: 0 });
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const TempId = Type.String({ minLength: 1, maxLength: 255, description: "The client's id for a send: a retry with the same one into the same conversation stores nothing new; in another conversation it is a new message" });
const Emoji = Type.String({ minLength: 1, maxLength: 32, description: 'One emoji' });
const Kind = Type.Union([Type.Literal('direct'), Type.Literal('group'), Type.Literal('channel')]);
const Role = Type.Union([Type.Literal('admin'), Type.Literal('moderator'), Type.Literal('member')]);
const MessageKind = Type.Union([Type.Literal('text'), Type.Literal('emoji'), Type.Literal('image'), Type.Literal('file'), Type.Literal('voice'), Type.Literal('system')]);
const Status = Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('busy'), Type.Literal('offline')]);

// ---------------------------------------------------------------- shapes returned

export const UserOut = Type.Object(
  { id: Id, uuid: Type.String(), name: Type.String(), email: Type.String(), avatar_url: Nullable(Type.String()) },
);

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
    attachments: Type.Array(AttachmentOut),
    reactions: Type.Array(Type.Object({ emoji: Type.String(), user_ids: Type.Array(Id), count: Type.Integer() })),
    local_temp_id: Type.Optional(Nullable(Type.String({ description: "The sender's local_temp_id (the sender's copies only)" }))),
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
    unread_count: Type.Integer({ minimum: 0, description: 'last_seq − the newer of my read_seq and my newest own message' }),
    my_role: Role,
    my_read_seq: Seq,
    my_sent_seq: Type.Integer({ minimum: 0, description: 'The seq of my newest message here (0: none); sending moves it, never my_read_seq' }),
    member_count: Type.Integer({ minimum: 0, description: 'Current participants' }),
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
export const InviteOut = Type.Object({
  id: Type.String({ description: "The invite's uuid" }),
  tenant_id: Type.String(),
  email: Nullable(Type.String({ description: 'Only a registration with this e-mail may use it' })),
  status: Type.Union([Type.Literal('active'), Type.Literal('used'), Type.Literal('revoked'), Type.Literal('expired')]),
  created_at: Time,
  expires_at: Time,
  used_at: Nullable(Time),
  used_by: Nullable(Id),
  revoked_at: Nullable(Time),
});
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
  },
  { additionalProperties: false },
);
export const UpdateConversationBody = Type.Object({ title: Nullable(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
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
  },
  { additionalProperties: false },
);
export const MessageParams = Type.Object({ id: Id });
export const EditBody = Type.Object({ content: Type.String() }, { additionalProperties: false });
export const ReactionParams = Type.Object({ id: Id, emoji: Emoji });
export const ReadBody = Type.Object({ seq: Type.Optional(Seq) }, { additionalProperties: false });
export const PresenceQuery = Type.Object({ user_ids: Type.String({ pattern: '^\\d+(,\\d+){0,199}$', description: 'Comma-separated ids' }) });
export const PresenceBody = Type.Object({ status: Status }, { additionalProperties: false });
export const UploadOut = Type.Object({
  files: Type.Array(Type.Object({ ...AttachmentOut.properties, key: Type.String({ description: 'Name it in a send: attachments: [key]' }) })),
});

// ---------------------------------------------------------------- socket: client → server

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
    },
    'Send a message. The ack is the `message` frame carrying this local_temp_id, sent after the commit; a failure is an `error` frame carrying it.',
  ),
  edit: frame('edit', { message_id: Id, content: Type.String() }, 'Edit your own text message.'),
  delete: frame('delete', { message_id: Id }, 'Delete a message (yours; in groups, admins and moderators: anyone\'s).'),
  react: frame('react', { message_id: Id, emoji: Emoji, on: Type.Boolean() }, 'Add (on: true) or remove a reaction.'),
  read: frame('read', { conversation_id: Id, seq: Type.Optional(Seq) }, 'Mark read up to seq (default: all).'),
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
  delivered: out('delivered', { conversation_id: Id, user_id: Id, delivered_seq: Seq }, "A participant's device received messages up to delivered_seq."),
  typing: out('typing', { conversation_id: Id, user_id: Id, is_typing: Type.Boolean(), typing_user_ids: Type.Array(Id) }, 'Someone started or stopped typing.'),
  presence: out('presence', { user_id: Id, online: Type.Boolean(), status: Status, last_seen: Nullable(Time) }, 'Presence of someone you share a conversation with.'),
  mention: out('mention', { conversation_id: Id, message: MessageOut }, 'You were mentioned (every device, subscribed or not).'),
  conversation_changed: out(
    'conversation_changed',
    { change: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('deleted')]), conversation: ConversationRefOut, title: Type.Optional(Nullable(Type.String())) },
    'A conversation you are in was created (or you were added), renamed or deleted.',
  ),
  participant_changed: out(
    'participant_changed',
    { change: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('role')]), conversation_id: Id, user: UserOut, role: Type.Optional(Role), by: Id },
    'Someone joined, left or changed role.',
  ),
  snapshot_required: out('snapshot_required', { conversation_id: Id, missed: Type.Integer() }, 'Too much was missed to replay: reload the conversation over REST.'),
  error: out('error', { code: Type.String(), message: Type.String(), local_temp_id: Type.Optional(Type.Union([Type.String(), Type.Number()])) }, 'A frame was refused; nothing changed. The socket stays open.'),
  pong: out('pong', {}, 'Answer to ping.'),
} as const;

export type ClientFrameType = keyof typeof ClientFrames;
export type ServerFrameType = keyof typeof ServerFrames;

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
