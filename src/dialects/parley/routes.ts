import type { FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { refusal } from '../../core/errors.js';
import { PARLEY_POLICY } from './file-policy.js';
import { SNAPSHOT_REQUIRED_TEXT } from './codes.js';
import type { ChangeCursor } from '../../core/messages/catch-up.js';
import { renderInvite } from '../shared/invites.js';
import type { ConversationView, Message, User } from '../../core/model.js';
import type { NamedMessages } from '../../core/messages/messages.js';
import { Users } from '../../core/users.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { checkLoginOrigin } from '../shared/auth.js';
import { receiveMultipart } from '../shared/multipart.js';
import { isoOrNull } from '../shared/time.js';
import { renderAttachment, renderConversation, renderMe, renderMessage, renderUser } from './render.js';
import {
  AddParticipantBody,
  BlockOut,
  BlockParams,
  ChangesOut,
  ChangesQuery,
  ConversationListQuery,
  ConversationOut,
  ConversationParams,
  CreateConversationBody,
  EditBody,
  ErrorOut,
  HistoryOut,
  HistoryQuery,
  InviteBody,
  InviteIssuedOut,
  InviteOut,
  InviteParams,
  LoginBody,
  MemberOut,
  MessageOut,
  MessageParams,
  ParticipantParams,
  PasswordBody,
  PresenceBody,
  PresenceOut,
  PresenceQuery,
  ReactionParams,
  ReadBody,
  AckBody,
  RegisterBody,
  SendBody,
  SessionOut,
  SetRoleBody,
  UpdateConversationBody,
  UploadOut,
  UserOut,
  MeOut,
  UserSearchQuery,
  DeleteQuery,
} from './schemas.js';
import { parleyRenderer, sendParley } from './socket.js';
import { directoryRoutes } from './directory-routes.js';
import { notificationRoutes } from './notification-routes.js';
import { parleyUnreadRoutes } from './unread-routes.js';
import { parleySearch } from './search-routes.js';
import { TAGS, TEXTS, example, noContent, operation } from '../../http/api-docs.js';
import { EXAMPLE, EXAMPLE_CONVERSATION, EXAMPLE_MEMBER, EXAMPLE_SESSION } from './examples.js';
import { auditOrigin } from '../shared/audit-origin.js';

export const errors = { '4xx': example(ErrorOut, 'Refused: the reason in `detail`, its code in `code`.', { detail: 'Not authenticated', code: 'not_authenticated' }, { detail: 'Conversation not found', code: 'conversation_not_found' }) };
/** The documentation of one of Parley's operations (its id is the SDK's method name). */
export const docs = (id: string, summary: string, description: string, responses?: Record<string, object>) =>
  operation({ tag: TAGS.parley, id, summary, description: `${description} ${TEXTS.bearer}`, responses });
const openDocs = (id: string, summary: string, description: string) => operation({ tag: TAGS.parley, id, summary, description });
export const none = (description: string) => ({ 204: noContent(description) });
const { message, user, other, attachment } = EXAMPLE;
/** A signed-in session as the API answers it. */
const session = (s: { user: User; accessToken: string }) => ({ token: s.accessToken, token_type: 'bearer' as const, user: renderUser(s.user) });

/** Parley's sign-up and sign-in: the routes of its API that take no token. */
export function parleyOpen(ctx: DialectContext, app: DialectScope) {
  const { core } = ctx;
  // Parley's API hands out no cookie, but a cross-site page still may not log in through it.
  const originCheck = checkLoginOrigin(ctx.core, ctx.config);
  app.post('/auth/register', { preHandler: originCheck, schema: {
    ...openDocs('register', 'Create an account', 'Registers a user and signs them in (the same accounts as /api/auth). Without tenant_id: the default tenant; a new one is created with its first user as admin; an existing one needs an invite.'),
    body: example(RegisterBody, 'The new account', { email: 'john@example.com', password: 'correct horse battery', name: 'John Doe' }),
    response: { 201: example(SessionOut, 'Registered and signed in: send the token as Authorization: Bearer', EXAMPLE_SESSION), ...errors },
  } }, async (req, reply) => {
    const { email, password, name, tenant_id, invite } = req.body;
    return reply.code(201).send(session(await core.accounts.register({ email, password, name, tenantUuid: tenant_id, invite })));
  });
  app.post('/auth/login', { preHandler: originCheck, schema: {
    ...openDocs('login', 'Sign in', 'Exchanges an e-mail and password for a bearer token; tenant_id picks the tenant when the e-mail exists in several.'),
    body: example(LoginBody, 'Credentials', { email: 'john@example.com', password: 'correct horse battery' }),
    response: { 200: example(SessionOut, 'Signed in', EXAMPLE_SESSION), ...errors },
  } }, async (req) => {
    const { email, password, tenant_id } = req.body;
    return session(await core.accounts.login({ email, password, tenantUuid: tenant_id, address: req.ip }));
  });
}

/** Parley's own API: every core capability in one coherent shape (docs/parley-api.md). */
export function parleyRest(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  // A last message's sender who has left the conversation is still named (ConversationView.people);
  // members' `online` as the core lets the caller see them.
  const conversations = async (user: User, views: ConversationView[]) => {
    const seen = await core.presence.view(user, views.flatMap((v) => v.members.map((m) => m.user.id)));
    const shown = { fileUrl: ctx.fileUrl, isOnline: seen.isOnline };
    return views.map((v) => renderConversation(shown, v));
  };
  const conversation = async (user: User, v: ConversationView) => (await conversations(user, [v]))[0];

  // Senders as the core names them (NamedMessages).
  const messages = (list: Message[], { senders }: Pick<NamedMessages, 'senders'>) => list.map((m) => renderMessage(ctx, m, senders.get(m.senderId)!));
  const one = async (m: Message) => messages([m], await core.messages.named([m]))[0];

  // ------------------------------------------------------------ account and people
  authed.get('/me', { schema: {
    ...docs('getMe', 'Who am I', 'The signed-in user, with their role in their tenant and whether they operate the server (what they may administer).'),
    response: { 200: example(MeOut, 'The user of the token', { ...user, tenant_role: 'member', is_operator: false }), ...errors },
  } }, async (req) => renderMe(req.user));
  authed.post('/auth/password', { schema: {
    ...docs('changePassword', 'Change my password', 'Checks the current password, sets the new one, ends every other session and returns a fresh token.'),
    body: example(PasswordBody, 'The current and the new password', { current_password: 'correct horse battery', new_password: 'a longer passphrase' }),
    response: { 200: example(SessionOut, 'A fresh session', EXAMPLE_SESSION), ...errors },
  } }, async (req) =>
    session(await core.accounts.changePassword(req.user, req.body.current_password, req.body.new_password, req.ip)),
  );
  // Invites into the caller's tenant: its admins only.
  authed.post('/invites', { schema: {
    ...docs('createInvite', 'Invite someone into my tenant', 'Tenant admins only. The code is shown once: the invitee registers with {"invite": code}; with email, only that address may use it.'),
    body: example(InviteBody, 'How long it lasts, and for whom', { ttl_seconds: 604800, email: 'jane@example.com' }),
    response: { 201: example(InviteIssuedOut, 'The invite and its code', { ...EXAMPLE.invite, code: 'inv_7Qk…' }), ...errors },
  } }, async (req, reply) => {
    const issued = await core.invites.create(req.user, { ttlSeconds: req.body.ttl_seconds, email: req.body.email }, auditOrigin(req));
    return reply.code(201).send({ ...renderInvite(issued.invite), code: issued.code });
  });
  authed.get('/invites', { schema: {
    ...docs('listInvites', "List my tenant's invites", 'Tenant admins only: every invite with its status (active, used, revoked, expired); codes are not shown again.'),
    response: { 200: example(Type.Array(InviteOut), 'The invites', [EXAMPLE.invite]), ...errors },
  } }, async (req) => (await core.invites.list(req.user)).map(renderInvite));
  authed.delete('/invites/:id', { schema: { ...docs('revokeInvite', 'Revoke an invite', 'Tenant admins only: the code stops working.', { ...none('Revoked'), ...errors }), params: InviteParams } }, async (req, reply) => {
    await core.invites.revoke(req.user, req.params.id, auditOrigin(req));
    return reply.code(204).send();
  });
  authed.post('/auth/logout', { schema: { ...docs('logout', 'Sign out everywhere', "Revokes the user's tokens (every device) and closes the user's sockets.", { ...none('Signed out'), ...errors }) } }, async (req, reply) => {
    await core.accounts.logout(req.user);
    return reply.code(204).send();
  });
  authed.get('/users', { schema: {
    ...docs('searchUsers', 'Find people', 'People of my tenant whose name or e-mail contains q, to start a conversation with.'),
    querystring: UserSearchQuery,
    response: { 200: example(Type.Array(UserOut), 'Matching users', [other]), ...errors },
  } }, async (req) =>
    (await core.users.search(req.user, req.query.q, req.query.limit ?? 20)).map(renderUser),
  );
  authed.get('/presence', { schema: {
    ...docs('getPresence', 'Who is online', 'Presence of the users asked (user_ids=1,2,3): online, status and last seen. Someone whose presence I may not see (no shared conversation) shows offline.'),
    querystring: PresenceQuery,
    response: { 200: example(Type.Array(PresenceOut), 'One entry per id asked', [{ user_id: 2, online: false, status: 'offline', last_seen: '2024-01-01T12:05:00.000Z' }]), ...errors },
  } }, async (req) => {
    // One entry per id asked (404 for anyone not of the caller's tenant). Someone whose
    // presence the caller may not see (the core's rule) is offline with no last seen.
    const ids = [...new Set(req.query.user_ids.split(',').map(Number))];
    const users = [];
    for (const id of ids) users.push(await core.users.resolve(req.user, id));
    const seen = await core.presence.view(req.user, ids);
    return users.map((u) => {
      const online = seen.isOnline(u.id);
      return { user_id: u.id, online, status: online ? seen.status(u.id) : ('offline' as const), last_seen: isoOrNull(seen.lastSeen(u)) };
    });
  });
  authed.put('/presence', { schema: {
    ...docs('setPresence', 'Set my status', 'online, away, busy or offline; shown to the people I share a conversation with.', { ...none('Set'), ...errors }),
    body: example(PresenceBody, 'My status', { status: 'busy' }),
  } }, async (req, reply) => {
    await core.presence.setStatus(req.user, req.body.status);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ blocks
  authed.get('/blocks', { schema: { ...docs('listBlocks', 'List whom I blocked', 'The users I blocked, and since when.'), response: { 200: example(Type.Array(BlockOut), 'Blocked users', [{ user: other, blocked_at: '2024-01-01T12:00:00.000Z' }]), ...errors } } }, async (req) =>
    (await core.friends.blocked(req.user)).map((b) => ({ user: renderUser(b.user), blocked_at: new Date(b.since).toISOString() })),
  );
  authed.put('/blocks/:user_id', { schema: {
    ...docs('blockUser', 'Block someone', 'No direct messages either way, no adding me to groups or channels; a friendship ends. Blocking again changes nothing.'),
    params: BlockParams,
    response: { 200: example(BlockOut, 'Blocked', { user: other, blocked_at: '2024-01-01T12:00:00.000Z' }), ...errors },
  } }, async (req) => {
    const user = await core.friends.block(req.user, req.params.user_id);
    const mine = (await core.friends.blocked(req.user)).find((b) => b.user.id === user.id);
    return { user: renderUser(user), blocked_at: new Date(mine?.since ?? Date.now()).toISOString() };
  });
  authed.delete('/blocks/:user_id', { schema: { ...docs('unblockUser', 'Unblock someone', 'Lifts the block.', { ...none('Unblocked'), ...errors }), params: BlockParams } }, async (req, reply) => {
    await core.friends.unblock(req.user, req.params.user_id);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ conversations
  // Paged by last activity: a page costs its conversations, a few members each, never every
  // member of every conversation. The next page's cursor is a header, so the body stays the list.
  authed.get(
    '/conversations',
    { schema: {
      ...docs(
        'listConversations',
        'List my conversations',
        'Most recent activity first, a page at a time: the next page\'s cursor is the Parley-Next-Cursor response header (absent on the last page). Each carries its last message, unread count and a few members.',
      ),
      querystring: ConversationListQuery,
      response: {
        200: example(
          { ...Type.Array(ConversationOut), headers: { 'parley-next-cursor': { type: 'string', description: 'The `before` of the next page' } } },
          'A page of conversations',
          [EXAMPLE_CONVERSATION],
        ),
        ...errors,
      },
    } },
    async (req, reply) => {
      const [at, id] = req.query.before ? req.query.before.split('_').map(Number) : [];
      const page = await core.conversations.listPage(req.user, { limit: req.query.limit ?? 50, before: at === undefined ? undefined : { at, id } });
      if (page.next) reply.header('parley-next-cursor', `${page.next.at}_${page.next.id}`);
      return conversations(req.user, page.views);
    },
  );
  authed.post('/conversations', { schema: {
    ...docs(
      'createConversation',
      'Start a conversation',
      'direct (user_id: the other person; asking again returns the existing one), group or channel (title, member_ids: the first members; I am its admin; a channel may be visibility public: listed in the tenant\'s directory, anyone of the tenant joins).',
    ),
    body: example(CreateConversationBody, 'What to create', { kind: 'direct', user_id: 2 }, { kind: 'group', title: 'Project Team Chat', member_ids: [2, 3] }, { kind: 'channel', title: 'announcements', visibility: 'public' }),
    response: { 201: example(ConversationOut, 'The conversation', EXAMPLE_CONVERSATION), ...errors },
  } }, async (req, reply) => {
    const b = req.body;
    if (b.kind === 'direct' && b.user_id === undefined) throw refusal('direct_needs_user_id');
    const view = await core.conversations.create(req.user, {
      kind: b.kind,
      title: b.title ?? null,
      members: b.kind === 'direct' ? [b.user_id!] : (b.member_ids ?? []),
      visibility: b.visibility,
      metadata: b.metadata,
    });
    return reply.code(201).send(await conversation(req.user, view));
  });
  authed.get('/conversations/:id', { schema: {
    ...docs('getConversation', 'Get a conversation', 'One conversation of mine with every member, its last message and my read position.'),
    params: ConversationParams,
    response: { 200: example(ConversationOut, 'The conversation', EXAMPLE_CONVERSATION), ...errors },
  } }, async (req) =>
    conversation(req.user, await core.conversations.view(req.user, req.params.id)),
  );
  authed.patch(
    '/conversations/:id',
    { schema: {
      ...docs('renameConversation', 'Rename a group or channel', 'Admins and moderators; the members get conversation_changed.'),
      params: ConversationParams,
      body: example(UpdateConversationBody, 'The new title', { title: 'Project Team Chat' }),
      response: { 200: example(ConversationOut, 'The conversation', { ...EXAMPLE_CONVERSATION, kind: 'group', title: 'Project Team Chat' }), ...errors },
    } },
    async (req) => {
      const { title, metadata } = req.body;
      // Either or both; neither is the conversation as it is.
      let view = title !== undefined ? await core.conversations.rename(req.user, req.params.id, title) : undefined;
      if (metadata !== undefined) view = await core.conversations.setMetadata(req.user, req.params.id, metadata);
      return conversation(req.user, view ?? (await core.conversations.view(req.user, req.params.id)));
    },
  );
  authed.delete('/conversations/:id', { schema: {
    ...docs('deleteConversation', 'Delete a conversation', 'Admins of a group or channel; either side of a direct conversation. Every member gets conversation_changed.', { ...none('Deleted'), ...errors }),
    params: ConversationParams,
  } }, async (req, reply) => {
    await core.conversations.remove(req.user, req.params.id);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ participants
  type MemberOf = Awaited<ReturnType<typeof core.conversations.participants>>[number];
  const members = async (user: User, list: MemberOf[]) => {
    const seen = await core.presence.view(user, list.map((m) => m.user.id));
    return list.map((m) => ({
      user: renderUser(m.user),
      role: m.participant.role,
      read_seq: m.participant.readSeq,
      delivered_seq: m.participant.deliveredSeq,
      joined_at: new Date(m.participant.joinedAt).toISOString(),
      online: seen.isOnline(m.user.id),
    }));
  };
  authed.get('/conversations/:id/participants', { schema: {
    ...docs('listParticipants', 'List the members', 'Every member with role, read and delivered positions, and presence as I may see it.'),
    params: ConversationParams,
    response: { 200: example(Type.Array(MemberOut), 'The members', [EXAMPLE_MEMBER]), ...errors },
  } }, async (req) =>
    members(req.user, await core.conversations.participants(req.user, req.params.id)),
  );
  authed.post(
    '/conversations/:id/participants',
    { schema: {
      ...docs('addParticipant', 'Add a member', 'Admins and moderators of a group or channel: 201 with the new membership; 200 if they were a member already (nothing changes).'),
      params: ConversationParams,
      body: example(AddParticipantBody, 'Who, and their role', { user_id: 2, role: 'member' }),
      response: { 201: example(MemberOut, 'Added', EXAMPLE_MEMBER), 200: example(MemberOut, 'A member already', EXAMPLE_MEMBER), ...errors },
    } },
    async (req, reply) => {
      // A participant already: 200 with the membership as it is (nothing changed, no event).
      const r = await core.conversations.addParticipant(req.user, req.params.id, req.body.user_id, req.body.role);
      return reply.code(r.added ? 201 : 200).send((await members(req.user, [r.member]))[0]);
    },
  );
  authed.patch(
    '/conversations/:id/participants/:user_id',
    { schema: {
      ...docs('setParticipantRole', "Change a member's role", 'Admins: admin, moderator or member (the last admin cannot step down).'),
      params: ParticipantParams,
      body: example(SetRoleBody, 'The new role', { role: 'moderator' }),
      response: { 200: example(MemberOut, 'The membership', { ...EXAMPLE_MEMBER, role: 'moderator' }), ...errors },
    } },
    async (req) => (await members(req.user, [await core.conversations.setRole(req.user, req.params.id, req.params.user_id, req.body.role, auditOrigin(req))]))[0],
  );
  authed.delete('/conversations/:id/participants/:user_id', { schema: {
    ...docs('removeParticipant', 'Remove a member, or leave', 'My own id: leave. Someone else: admins and moderators of a group or channel.', { ...none('Removed'), ...errors }),
    params: ParticipantParams,
  } }, async (req, reply) => {
    await core.conversations.removeParticipant(req.user, req.params.id, req.params.user_id);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ messages
  authed.get(
    '/conversations/:id/messages',
    { schema: {
      ...docs('getHistory', 'Read the history', 'Messages oldest first, the newest page by default; before_seq pages back (has_more says whether older ones exist). Keep last_seq, change_seq and epoch as the cursor for the socket.'),
      params: ConversationParams,
      querystring: HistoryQuery,
      response: { 200: example(HistoryOut, 'A page of messages', { messages: [message], has_more: true, last_seq: 42, change_seq: 57, epoch: '0192f7a0-1111-7000-8000-00000000e0c4' }), ...errors },
    } },
    async (req) => {
      // A seq range below before_seq: constant time at any depth, no OFFSET.
      const page = await core.messages.before(req.user, req.params.id, req.query.before_seq, req.query.limit ?? 50);
      const list = [...page.messages].reverse();
      return {
        messages: messages(list, page),
        has_more: list.length > 0 && list[0].seq > page.purgedBeforeSeq,
        last_seq: page.total,
        change_seq: page.changeSeq,
        epoch: core.messages.epoch ?? '',
        purged_before_seq: page.purgedBeforeSeq,
      };
    },
  );
  authed.get(
    '/conversations/:id/changes',
    { schema: {
      ...docs(
        'getChanges',
        'Catch up after a cursor',
        'What changed after after_seq (and after_change_seq): the frames a socket resume would send, a page at a time (ask again with `next` while has_more). 409 snapshot_required: too much was missed, reload the history.',
        { 409: { ...ErrorOut, description: 'Too much was missed, or the cursor is of another epoch', examples: [{ detail: 'Too much was missed: reload the conversation', code: 'snapshot_required', missed: 25000 }] } },
      ),
      params: ConversationParams,
      querystring: ChangesQuery,
      response: {
        200: example(ChangesOut, 'A page of changes', {
          frames: [{ type: 'message', conversation_id: 7, message }, { type: 'message_changed', conversation_id: 7, change: 'replayed', message: { ...message, seq: 40, content: 'Edited' } }],
          has_more: false,
          next: { after_seq: 42, after_change_seq: 57, epoch: '0192f7a0-1111-7000-8000-00000000e0c4' },
        }),
      },
    } },
    async (req, reply) => {
      const cursor: ChangeCursor = { afterSeq: req.query.after_seq, afterChangeSeq: req.query.after_change_seq };
      const catchUp = await core.messages.catchUp(req.user, req.params.id, { ...cursor, epoch: req.query.epoch });
      if ('snapshotRequired' in catchUp) {
        return (reply as FastifyReply).code(409).send({ detail: SNAPSHOT_REQUIRED_TEXT, code: 'snapshot_required', missed: catchUp.missed });
      }
      // A page, not the whole backlog: 10,000 missed messages were one 55 MB answer, built
      // in memory at once (four at a time: +840 MB). It stops at `limit` messages or before
      // MESSAGES_PAGE_MAX_BYTES of frames, whichever comes first (at least one message), and
      // only that much is read from the store. The frames are the socket's, as strings.
      const renderer = parleyRenderer(ctx);
      const conn = { user: req.user } as never;
      const limit = req.query.limit ?? 500;
      const maxBytes = ctx.config.messagesPageMaxBytes;
      const frames: string[] = [];
      let bytes = 0;
      let taken = 0;
      let next = cursor;
      let hasMore = false;
      for await (const entry of catchUp.entries()) {
        const rendered = entry.events.map((e) => renderer.frame(e, conn)).filter((f) => f !== '');
        const size = rendered.reduce((n, f) => n + Buffer.byteLength(f) + 1, 0);
        if (taken === limit || (taken > 0 && bytes + size > maxBytes)) {
          hasMore = true;
          break;
        }
        frames.push(...rendered);
        bytes += size;
        taken++;
        next = entry.next;
      }
      const epoch = core.messages.epoch === null ? {} : { epoch: core.messages.epoch };
      const nextOut = next.afterChangeSeq === undefined ? { after_seq: next.afterSeq, ...epoch } : { after_seq: next.afterSeq, after_change_seq: next.afterChangeSeq, ...epoch };
      return (reply as FastifyReply).type('application/json; charset=utf-8').send(`{"frames":[${frames.join(',')}],"has_more":${hasMore},"next":${JSON.stringify(nextOut)}}`);
    },
  );
  authed.post(
    '/conversations/:id/messages',
    { schema: {
      ...docs(
        'sendMessage',
        'Send a message',
        'Stored and acknowledged once committed: 201 with the message. A retry with the same local_temp_id returns the original (200), never a duplicate. Files: upload them first (POST /api/parley/files) and name their keys in attachments.',
        { 200: example(MessageOut, 'A retry: the message sent before', message) },
      ),
      params: ConversationParams,
      body: example(SendBody, 'The message', { kind: 'text', content: 'Hello!', local_temp_id: 'temp_123' }, { kind: 'image', content: 'Photos', local_temp_id: 'temp_124', attachments: ['images/user_1_20240101_120000_0_photo1.jpg'] }),
      response: { 201: example(MessageOut, 'Sent', message), ...errors },
    } },
    async (req, reply) => {
      const r = await sendParley(ctx, req.user, { ...req.body, conversation_id: req.params.id });
      return reply.code(r.created ? 201 : 200).send(renderMessage(ctx, r.message, Users.summaryOf(req.user), r.message.clientId));
    },
  );
  authed.get('/messages/:id', { schema: { ...docs('getMessage', 'Get a message', 'One message of a conversation I am in.'), params: MessageParams, response: { 200: example(MessageOut, 'The message', message), ...errors } } }, async (req) => {
    const { message, sender } = await core.messages.get(req.user, req.params.id);
    return renderMessage(ctx, message, sender);
  });
  authed.patch('/messages/:id', { schema: {
    ...docs('editMessage', 'Edit my message', 'Text messages, by their sender; everyone gets message_changed (edited).'),
    params: MessageParams,
    body: example(EditBody, 'The new text', { content: 'Hello, everyone!' }),
    response: { 200: example(MessageOut, 'The message as edited', { ...message, content: 'Hello, everyone!', edited_at: '2024-01-01T12:05:00.000Z' }), ...errors },
  } }, async (req) =>
    one(await core.messages.edit(req.user, req.params.id, req.body.content, req.body.metadata)),
  );
  authed.delete('/messages/:id', { schema: {
    ...docs('deleteMessage', 'Delete a message', 'Mine; in groups and channels, admins and moderators may delete anyone\'s, with a `reason` shown with the tombstone (`deleted_reason`, `deleted_by`). The message stays as a tombstone (content null) so seqs stay gapless.'),
    params: MessageParams,
    querystring: DeleteQuery,
    response: { 200: example(MessageOut, 'The tombstone', { ...message, content: null, attachments: [], reactions: [], deleted_at: '2024-01-01T12:10:00.000Z' }), ...errors },
  } }, async (req) =>
    one(await core.messages.delete(req.user, req.params.id, req.query.reason)),
  );
  authed.put('/messages/:id/reactions/:emoji', { schema: {
    ...docs('addReaction', 'React to a message', 'Adds my reaction (one emoji, URL-encoded); reacting twice changes nothing.'),
    params: ReactionParams,
    response: { 200: example(MessageOut, 'The message with its reactions', message), ...errors },
  } }, async (req) =>
    one(await core.messages.react(req.user, req.params.id, req.params.emoji, true)),
  );
  authed.delete('/messages/:id/reactions/:emoji', { schema: {
    ...docs('removeReaction', 'Take my reaction back', 'Removes my reaction with that emoji.'),
    params: ReactionParams,
    response: { 200: example(MessageOut, 'The message with its reactions', { ...message, reactions: [] }), ...errors },
  } }, async (req) =>
    one(await core.messages.react(req.user, req.params.id, req.params.emoji, false)),
  );
  authed.post(
    '/conversations/:id/read',
    { schema: {
      ...docs('markRead', 'Mark read', 'Moves my read position to seq (default: the last message); it never moves back. The others get a read frame.'),
      params: ConversationParams,
      body: example(Type.Optional(ReadBody), 'Up to where (optional)', { seq: 42 }),
      response: { 200: example(Type.Object({ read_seq: Type.Integer() }), 'My read position now', { read_seq: 42 }), ...errors },
    } },
    async (req) => ({ read_seq: await core.conversations.markRead(req.user, req.params.id, req.body?.seq) }),
  );
  authed.post(
    '/conversations/:id/delivered',
    { schema: {
      ...docs('markDelivered', 'Acknowledge receipt', "This device holds every message up to seq (the socket's `ack` frame, for a client without a socket): my delivered position is the highest any of my devices acknowledged, and no push is sent for what it covers.", { ...none('Acknowledged'), ...errors }),
      params: ConversationParams,
      body: example(AckBody, 'Up to where this device holds', { seq: 42 }),
    } },
    async (req, reply) => {
      await core.receipts.acknowledge(req.user, req.params.id, req.body.seq);
      return reply.code(204).send();
    },
  );

  // ------------------------------------------------------------ files
  authed.post('/files', { schema: {
    ...docs(
      'uploadFiles',
      'Upload files',
      'multipart/form-data with one or more `file` parts (images 10 MB; files and voice 50 MB). The type is sniffed from the bytes. Send a message naming the returned keys in attachments within 24 hours.',
    ),
    consumes: ['multipart/form-data'],
    response: { 201: example(UploadOut, 'Stored, waiting for a message', { files: [{ ...attachment, key: 'images/user_1_20240101_120000_0_photo1.jpg' }] }), ...errors },
  } }, async (req, reply) => {
    const { files } = await receiveMultipart(req, core, PARLEY_POLICY);
    if (files.length === 0) throw refusal('no_file_part');
    const stored = await core.files.upload(req.user, files, null, PARLEY_POLICY);
    return reply.code(201).send({ files: stored.map((a) => ({ ...renderAttachment(ctx, a), key: a.storedPath })) });
  });

  directoryRoutes(ctx, authed, conversation);
  notificationRoutes(ctx, authed);
  parleyUnreadRoutes(ctx, authed);
  parleySearch(ctx, authed);

}
