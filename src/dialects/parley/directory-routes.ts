import type { Static } from '@sinclair/typebox';
import type { ConversationView, User } from '../../core/model.js';
import type { DirectoryEntry } from '../../backends/store/store.js';
import { example } from '../../http/api-docs.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { isoOrNull, iso } from '../shared/time.js';
import { EXAMPLE_CONVERSATION } from './examples.js';
import { docs, errors } from './routes.js';
import { ConversationOut, ConversationParams, DirectoryOut, DirectoryQuery, VisibilityBody } from './schemas.js';

const EXAMPLE_CHANNEL = {
  ...EXAMPLE_CONVERSATION,
  kind: 'channel',
  title: 'announcements',
  my_role: 'member',
  visibility: 'public',
} as const;

const EXAMPLE_LISTED = {
  id: 8,
  uuid: '0192f7a0-9abc-7def-8012-3456789abcdf',
  title: 'announcements',
  member_count: 42,
  is_member: false,
  created_at: '2024-01-01T10:00:00.000Z',
  last_message_at: '2024-01-01T12:00:00.000Z',
};

const renderListed = (e: DirectoryEntry) => ({
  id: e.conversation.id,
  uuid: e.conversation.uuid,
  title: e.conversation.title,
  member_count: e.conversation.memberCount,
  is_member: e.member,
  created_at: iso(e.conversation.createdAt),
  last_message_at: isoOrNull(e.conversation.lastMessageAt),
});

/** The channel directory (issue 18): browse and join the tenant's public channels; admins list or unlist one. */
export function directoryRoutes(ctx: DialectContext, authed: DialectScope, conversation: (user: User, v: ConversationView) => Promise<Static<typeof ConversationOut>>) {
  const { core } = ctx;
  authed.get('/channels', { schema: {
    ...docs(
      'listChannels',
      'Browse public channels',
      "The public channels of my tenant, by name, a page at a time (next_cursor: the next page's cursor), with q: those whose name contains it in any case. Private channels, groups and direct conversations are never listed.",
    ),
    querystring: DirectoryQuery,
    response: { 200: example(DirectoryOut, 'A page of the directory', { channels: [EXAMPLE_LISTED], next_cursor: null }), ...errors },
  } }, async (req) => {
    const page = await core.directory.list(req.user, { q: req.query.q, cursor: req.query.cursor, limit: req.query.limit });
    return { channels: page.channels.map(renderListed), next_cursor: page.next };
  });
  authed.post('/channels/:id/join', { schema: {
    ...docs(
      'joinChannel',
      'Join a public channel',
      'Any user of its tenant joins a public channel as a member (201), also after being removed; a member already gets 200 and nothing changes. A private channel, or one of another tenant, is 404 as if it did not exist. The members get participant_changed.',
    ),
    params: ConversationParams,
    response: { 201: example(ConversationOut, 'Joined', EXAMPLE_CHANNEL), 200: example(ConversationOut, 'A member already', EXAMPLE_CHANNEL), ...errors },
  } }, async (req, reply) => {
    const r = await core.directory.join(req.user, req.params.id);
    return reply.code(r.joined ? 201 : 200).send(await conversation(req.user, r.view));
  });
  authed.put('/conversations/:id/visibility', { schema: {
    ...docs(
      'setVisibility',
      "Change a channel's visibility",
      "A channel's admins: public lists it in the tenant's directory, private takes it out (its members stay). The members get conversation_changed.",
    ),
    params: ConversationParams,
    body: example(VisibilityBody, 'Public or private', { visibility: 'public' }),
    response: { 200: example(ConversationOut, 'The channel', { ...EXAMPLE_CHANNEL, my_role: 'admin' }), ...errors },
  } }, async (req) => conversation(req.user, await core.directory.setVisibility(req.user, req.params.id, req.body.visibility)));
}
