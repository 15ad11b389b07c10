import { refusal } from '../../core/errors.js';
import { NOTIFICATIONS_POLICY } from './file-policy.js';
import type { NamedMessages } from '../../core/messages/messages.js';
import type { Message, User } from '../../core/model.js';
import type { PresenceView } from '../../core/presence/presence-service.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { userKey } from '../shared/auth.js';
import { receiveMultipart } from '../shared/multipart.js';
import { iso, isoOrNull } from '../shared/time.js';
import { renderConversation, renderMessage003, renderParticipant } from './render.js';
import {
  AddParticipantBody,
  ConversationChildParams,
  ConversationParams,
  CreateConversationBody,
  MessageParams,
  MessagesQuery,
  ParticipantParams,
  PresenceBody,
  ReactionBody,
  ReactionParams,
  ReactionQuery,
  SendMessageBody,
  UpdateConversationBody,
  UpdateMessageBody,
  UpdateParticipantBody,
} from './schemas.js';
import { send003 } from './socket.js';
import { TAGS, TEXTS, errorsShown, example, noContent, operation, shown } from '../../http/api-docs.js';
import { CONVERSATION_003, IDS, MESSAGE_003, PARTICIPANT_003, REACTION_003 } from './examples.js';
import { auditOrigin } from '../shared/audit-origin.js';

/** Document 003 under /api/notifications/chat: conversations of every kind, roles, threads, reactions, presence. */
export function notificationsRest(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  // Bodies are rendered by hand (a rendering may add fields): shown in /docs, never filtered by a schema.
  const docs = (id: string, summary: string, description: string, ok: Record<string, object>, ...errors: { detail: string }[]) =>
    operation({
      tag: TAGS.notifications,
      id: `notifications${id}`,
      summary,
      description: `${description} As in document 003. ${TEXTS.bearer}`,
      responses: { ...ok, ...errorsShown(TEXTS.notAuthenticated, ...errors) },
    });
  const notFound = { detail: 'Conversation not found' };
  const presence = { user_id: IDS.other, status: 'busy', is_online: true, last_seen: '2024-01-01T12:00:00Z', current_conversation: IDS.conversation };

  // Senders and reactors as the core names them (NamedMessages).
  const messages003 = (conversationUuid: string, { messages, senders, reactors }: NamedMessages) =>
    messages.map((m) => renderMessage003(ctx, m, conversationUuid, senders.get(m.senderId)!, (id) => reactors.get(id)));
  const one = async (conversationUuid: string, m: Message) => messages003(conversationUuid, await core.messages.named([m]))[0];
  const inConversation = async (user: User, conversationUuid: string, messageUuid: string) => {
    const { message } = await core.messages.get(user, messageUuid, { in: conversationUuid });
    return message;
  };

  // ------------------------------------------------------------ conversations
  authed.get('/conversations/', { schema: {
    ...docs('ListConversations', 'List conversations', 'The conversations I am in (direct, group, channel), most recent activity first, with my role, last message and unread count.', { 200: shown('My conversations', [CONVERSATION_003]) }),
  } }, async (req) => {
    const list = await core.conversations.list(req.user);
    return list.map((v) => renderConversation(ctx, v, req.user.tenantUuid));
  });

  authed.post('/conversations/', { schema: {
    ...docs(
      'CreateConversation',
      'Create conversation',
      'A group or channel (I am its admin; participant_ids: the first members), or a direct conversation with one participant (the existing one if there is).',
      { 201: shown('The conversation', CONVERSATION_003) },
    ),
    body: example(CreateConversationBody, 'What to create', { title: 'Project Team Chat', conversation_type: 'group' }, { conversation_type: 'direct', participant_ids: [IDS.other] }),
  } }, async (req, reply) => {
    const view = await core.conversations.create(req.user, {
      kind: req.body.conversation_type,
      title: req.body.title ?? null,
      members: (req.body.participant_ids ?? []).map(userKey),
    });
    return reply.code(201).send(renderConversation(ctx, view, req.user.tenantUuid));
  });

  authed.get('/conversations/:id/', { schema: { ...docs('GetConversation', 'Get conversation', 'One conversation I am in.', { 200: shown('The conversation', CONVERSATION_003) }, notFound), params: ConversationParams } }, async (req) =>
    renderConversation(ctx, await core.conversations.view(req.user, req.params.id), req.user.tenantUuid),
  );

  authed.put('/conversations/:id/', { schema: {
    ...docs('UpdateConversation', 'Update conversation', 'Renames a group or channel (admins and moderators); the members get conversation_updated.', { 200: shown('The conversation', CONVERSATION_003) }, notFound),
    params: ConversationParams,
    body: example(UpdateConversationBody, 'The new title', { title: 'Project Discussion' }),
  } }, async (req) =>
    renderConversation(ctx, await core.conversations.rename(req.user, req.params.id, req.body.title ?? null), req.user.tenantUuid),
  );

  authed.delete('/conversations/:id/', { schema: {
    ...docs('DeleteConversation', 'Delete conversation', 'Deletes a group or channel (its admins) or a direct conversation; the members get conversation_deleted.', { 204: noContent() }, notFound),
    params: ConversationParams,
  } }, async (req, reply) => {
    await core.conversations.remove(req.user, req.params.id);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ participants
  authed.get('/conversations/:conversation_id/participants/', { schema: {
    ...docs('ListParticipants', 'List participants', 'Everyone in the conversation, with role and when they were last seen.', { 200: shown('The participants', [PARTICIPANT_003]) }, notFound),
    params: ConversationChildParams,
  } }, async (req) => {
    const members = await core.conversations.participants(req.user, req.params.conversation_id);
    const seen = await core.presence.view(req.user, members.map((m) => m.user.id));
    return members.map((m) => renderParticipant(req.params.conversation_id, m, seen.lastSeen({ id: m.user.id })));
  });

  authed.post(
    '/conversations/:conversation_id/participants/',
    { schema: {
      ...docs(
        'AddParticipant',
        'Add participant',
        'Adds someone of my tenant to a group or channel (admins and moderators): 201; 200 when they were in it already (nothing changes).',
        { 201: shown('The participant', PARTICIPANT_003), 200: shown('A participant already', PARTICIPANT_003) },
        notFound,
      ),
      params: ConversationChildParams,
      body: example(AddParticipantBody, 'Who, and their role', { user_id: IDS.other, role: 'member' }),
    } },
    async (req, reply) => {
      const { member: m, added } = await core.conversations.addParticipant(req.user, req.params.conversation_id, userKey(req.body.user_id), req.body.role ?? 'member');
      const seen = await core.presence.view(req.user, [m.user.id]);
      // A participant already: 200 with the membership as it is (nothing was created).
      return reply.code(added ? 201 : 200).send(renderParticipant(req.params.conversation_id, m, seen.lastSeen({ id: m.user.id })));
    },
  );

  // Parley's: change a role; remove someone (or leave, with your own id).
  authed.put(
    '/conversations/:conversation_id/participants/:user_id/',
    { schema: {
      ...docs('UpdateParticipant', "Change a participant's role", "Parley's addition: admins set admin, moderator or member.", { 200: shown('The participant', { ...PARTICIPANT_003, role: 'moderator' }) }, notFound),
      params: ParticipantParams,
      body: example(UpdateParticipantBody, 'The new role', { role: 'moderator' }),
    } },
    async (req) => {
      const m = await core.conversations.setRole(req.user, req.params.conversation_id, userKey(req.params.user_id), req.body.role, auditOrigin(req));
      const seen = await core.presence.view(req.user, [m.user.id]);
      return renderParticipant(req.params.conversation_id, m, seen.lastSeen({ id: m.user.id }));
    },
  );

  authed.delete('/conversations/:conversation_id/participants/:user_id/', { schema: {
    ...docs('RemoveParticipant', 'Remove a participant, or leave', "Parley's addition: my own id leaves; someone else's removes them (admins and moderators).", { 204: noContent('Removed: no body.') }, notFound),
    params: ParticipantParams,
  } }, async (req, reply) => {
    await core.conversations.removeParticipant(req.user, req.params.conversation_id, userKey(req.params.user_id));
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ messages
  authed.get(
    '/conversations/:conversation_id/messages/',
    { schema: {
      ...docs(
        'ListMessages',
        'List messages',
        'Messages newest first, `limit` at a time; next_before_seq (null on the last page) is the before_seq of the next page.',
        { 200: shown('A page of messages', { count: 1, next_before_seq: null, results: [MESSAGE_003] }) },
        notFound,
      ),
      params: ConversationChildParams,
      querystring: MessagesQuery,
    } },
    async (req) => {
      const limit = req.query.limit ?? 50;
      // Newest first; before_seq pages back (a seq range, never OFFSET).
      const page = await core.messages.before(req.user, req.params.conversation_id, req.query.before_seq, limit);
      const results = messages003(req.params.conversation_id, page);
      const oldest = page.messages.at(-1)?.seq ?? 1;
      return { count: page.total, next_before_seq: oldest > 1 ? oldest : null, results };
    },
  );

  authed.post(
    '/conversations/:conversation_id/messages/',
    { schema: {
      ...docs(
        'SendMessage',
        'Send message',
        'Sends a message (text, emoji, or a file uploaded first: file_url from upload/). reply_to makes it a reply; a retry with the same local_temp_id returns the original.',
        { 201: shown('The message', MESSAGE_003) },
        notFound,
      ),
      params: ConversationChildParams,
      body: example(
        SendMessageBody,
        'The message',
        { message_type: 'text', content: 'Hello everyone! 👋', reply_to: IDS.message },
        { message_type: 'file', content: 'Check out this document', file_url: '/media/chat-files/doc.pdf', file_name: 'project_plan.pdf', file_size: 2048000 },
      ),
    } },
    async (req, reply) => {
      const { message } = await send003(ctx, req.user, req.params.conversation_id, { ...req.body, message_type: req.body.message_type as string | undefined });
      return reply.code(201).send(await one(req.params.conversation_id, message));
    },
  );

  authed.get('/conversations/:conversation_id/messages/:id/', { schema: {
    ...docs('GetMessage', 'Get message', 'One message of the conversation, with its reactions and reply count.', { 200: shown('The message', MESSAGE_003) }, TEXTS.messageNotFound),
    params: MessageParams,
  } }, async (req) =>
    messages003(req.params.conversation_id, await core.messages.get(req.user, req.params.id, { in: req.params.conversation_id }))[0],
  );

  authed.put('/conversations/:conversation_id/messages/:id/', { schema: {
    ...docs('UpdateMessage', 'Edit message', 'Edits my text message; the conversation gets message_updated.', { 200: shown('The message as edited', { ...MESSAGE_003, content: 'Hello world!', edited_at: '2024-01-01T12:05:00Z' }) }, TEXTS.messageNotFound),
    params: MessageParams,
    body: example(UpdateMessageBody, 'The new text', { content: 'Hello world!' }),
  } }, async (req) => {
    await inConversation(req.user, req.params.conversation_id, req.params.id);
    return one(req.params.conversation_id, await core.messages.edit(req.user, req.params.id, req.body.content));
  });

  authed.delete('/conversations/:conversation_id/messages/:id/', { schema: {
    ...docs('DeleteMessage', 'Delete message', 'Soft-deletes a message (mine; admins and moderators: anyone\'s in a group or channel); the conversation gets message_deleted.', { 204: noContent() }, TEXTS.messageNotFound),
    params: MessageParams,
  } }, async (req, reply) => {
    await inConversation(req.user, req.params.conversation_id, req.params.id);
    await core.messages.delete(req.user, req.params.id);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ reactions
  authed.get('/messages/:message_id/reactions/', { schema: {
    ...docs('ListReactions', 'List reactions', 'Every reaction to the message: who reacted with which emoji.', { 200: shown('The reactions', [{ message_id: IDS.message, user_id: IDS.other, emoji: '👍' }]) }, TEXTS.messageNotFound),
    params: ReactionParams,
  } }, async (req) => {
    const { message, reactors } = await core.messages.get(req.user, req.params.message_id);
    return message.reactions.flatMap((r) => r.userIds.map((u) => ({ message_id: message.uuid, user_id: reactors.get(u)?.uuid ?? null, emoji: r.emoji })));
  });

  authed.post('/messages/:message_id/reactions/', { schema: {
    ...docs('AddReaction', 'Add reaction', 'Reacts to a message with an emoji; the conversation gets reaction_added.', { 201: shown('The reaction', REACTION_003) }, TEXTS.messageNotFound),
    params: ReactionParams,
    body: example(ReactionBody, 'The emoji', { emoji: '👍' }),
  } }, async (req, reply) => {
    const m = await core.messages.react(req.user, req.params.message_id, req.body.emoji, true);
    return reply.code(201).send({ message_id: m.uuid, user_id: req.user.uuid, emoji: req.body.emoji, created_at: iso(Date.now()) });
  });

  authed.delete('/messages/:message_id/reactions/', { schema: {
    ...docs('RemoveReaction', 'Remove reaction', 'Takes my reaction back: the emoji in ?emoji= (or a JSON body {"emoji"}); the conversation gets reaction_removed.', { 204: noContent('Removed: no body.') }, TEXTS.messageNotFound),
    params: ReactionParams,
    querystring: ReactionQuery,
  } }, async (req, reply) => {
    const emoji = req.query.emoji ?? (req.body as { emoji?: unknown } | undefined)?.emoji;
    if (typeof emoji !== 'string') throw refusal('emoji_required');
    await core.messages.react(req.user, req.params.message_id, emoji, false);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ presence
  const presenceOf = (seen: PresenceView, id: number, uuid: string) => ({
    user_id: uuid,
    status: seen.status(id),
    is_online: seen.isOnline(id),
    last_seen: isoOrNull(seen.lastSeen({ id })),
    current_conversation: seen.visible(id) ? core.presence.currentConversation(id) : null,
  });
  const own = async (user: User) => presenceOf(await core.presence.view(user, [user.id]), user.id, user.uuid);

  // The people whose presence the caller may see (the core's rule), each with their status.
  authed.get('/presence/', { schema: {
    ...docs('ListPresence', 'List user presence', 'Presence of the people I share a conversation with: status, online, last seen, and the conversation they are in when I am in it too.', { 200: shown('Their presence', [presence]) }),
  } }, async (req) => {
    const partners = await core.presence.partners(req.user);
    const users = await core.users.summaries(partners);
    const seen = await core.presence.view(req.user, partners);
    const out = [];
    for (const u of users.values()) {
      const p = presenceOf(seen, u.id, u.uuid);
      // Where a partner is is shown only to those who are in that conversation too.
      if (p.current_conversation) {
        const shared = await core.conversations.access(req.user, p.current_conversation).then(() => true, () => false);
        if (!shared) p.current_conversation = null;
      }
      out.push(p);
    }
    return out;
  });

  authed.get('/presence/me/', { schema: {
    ...docs('GetMyPresence', 'Get my presence', 'My status and where I am.', { 200: shown('My presence', { ...presence, user_id: IDS.me }) }),
  } }, async (req) => own(req.user));

  authed.put('/presence/me/', { schema: {
    ...docs('UpdateMyPresence', 'Update my presence', 'Sets my status (online, away, busy, offline) and the conversation I am looking at; my partners get presence_update.', { 200: shown('My presence', { ...presence, user_id: IDS.me }) }),
    body: example(PresenceBody, 'Status, and where I am', { status: 'busy', current_conversation: IDS.conversation }),
  } }, async (req) => {
    if (req.body.current_conversation !== undefined) await core.presence.setCurrentConversation(req.user, req.body.current_conversation);
    await core.presence.setStatus(req.user, req.body.status);
    return own(req.user);
  });

  // ------------------------------------------------------------ files
  authed.post('/upload/', { schema: {
    ...docs(
      'UploadFile',
      'Upload file',
      'multipart/form-data with one `file` (types sniffed from the bytes). Send it in a message with file_url within 24 hours.',
      { 200: shown('The stored file', { file_url: 'https://chat.example.com/static/chat_files/files/document.pdf?exp=1704110400&sig=…', file_name: 'document.pdf', file_size: 2048000, content_type: 'application/pdf' }) },
    ),
    consumes: ['multipart/form-data'],
  } }, async (req) => {
    const { files } = await receiveMultipart(req, core, NOTIFICATIONS_POLICY);
    if (files.length !== 1) {
      await core.files.discard(files);
      throw refusal('one_file_field');
    }
    const [a] = await core.files.upload(req.user, files, null, NOTIFICATIONS_POLICY);
    return { file_url: ctx.fileUrl(a), file_name: a.fileName, file_size: a.size, content_type: a.mimeType };
  });

}
