import { Type } from '@sinclair/typebox';
import type { Id, User, UserSummary } from '../../core/model.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { example } from '../../http/api-docs.js';
import { iso, isoOrNull } from '../shared/time.js';
import { EXAMPLE } from './examples.js';
import { renderMessage, renderUser } from './render.js';
import { docs, errors, none } from './routes.js';
import { ConversationParams, MessageParams, PinOut, RevisionsOut, SavedPageOut, SavedQuery } from './schemas.js';

const { message, user, other } = EXAMPLE;
// The core names everyone these render (a deleted account as its placeholder): nothing to fall back on here.
const person = (people: ReadonlyMap<Id, UserSummary>, id: Id) => people.get(id)!;
const named = (people: ReadonlyMap<Id, UserSummary>, id: Id) => renderUser(person(people, id));

/** Issue 18's history and curation: revisions, delete for me, pins, saved messages. */
export function curationRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;

  authed.get('/messages/:id/revisions', { schema: {
    ...docs('getMessageRevisions', 'Read the edit history', "The earlier texts of a message of a conversation I am in, oldest first, each with who wrote it and when; none once it is deleted for everyone. Its `edited_at` says it was edited."),
    params: MessageParams,
    response: {
      200: example(RevisionsOut, 'The message and its earlier texts', {
        message_id: message.id,
        edited_at: '2024-01-01T12:05:00.000Z',
        revisions: [{ content: 'Helo!', editor: user, written_at: '2024-01-01T12:00:00.000Z', replaced_at: '2024-01-01T12:05:00.000Z' }],
      }),
      ...errors,
    },
  } }, async (req) => {
    const { message: m, revisions, editors } = await core.curation.revisions(req.user, req.params.id);
    return {
      message_id: m.id,
      edited_at: isoOrNull(m.editedAt),
      revisions: revisions.map((r) => ({ content: r.content, editor: named(editors, r.editorId), written_at: iso(r.writtenAt), replaced_at: iso(r.replacedAt) })),
    };
  });

  // What one does to a message for oneself or the conversation, answered with 204.
  const actions: { method: 'PUT' | 'DELETE'; url: string; doc: [id: string, summary: string, description: string, done: string]; act(user: User, id: number | string): Promise<unknown> }[] = [
    { method: 'DELETE', url: '/messages/:id/for-me', act: (u, id) => core.curation.hide(u, id),
      doc: ['deleteMessageForMe', 'Delete a message for me', 'Hides a message of a conversation I am in from me only (history, room list preview, catch-up, pins, saved); the others keep it. My devices get message_hidden.', 'Deleted for me'] },
    { method: 'PUT', url: '/messages/:id/pin', act: (u, id) => core.curation.pin(u, id, true),
      doc: ['pinMessage', 'Pin a message', 'In a direct conversation either person pins; in a group or channel admins and moderators. Everyone in it gets pin_changed; pinning twice changes nothing.', 'Pinned'] },
    { method: 'DELETE', url: '/messages/:id/pin', act: (u, id) => core.curation.pin(u, id, false),
      doc: ['unpinMessage', 'Unpin a message', 'Who may pin may unpin; everyone in the conversation gets pin_changed.', 'Unpinned'] },
    { method: 'PUT', url: '/messages/:id/saved', act: (u, id) => core.curation.save(u, id, true),
      doc: ['saveMessage', 'Save a message', 'Bookmarks a message I can see, for me only; saving twice keeps the first time.', 'Saved'] },
    { method: 'DELETE', url: '/messages/:id/saved', act: (u, id) => core.curation.save(u, id, false),
      doc: ['unsaveMessage', 'Unsave a message', 'Removes my bookmark.', 'Not saved any more'] },
  ];
  for (const { method, url, doc: [id, summary, description, done], act } of actions) {
    authed.route({
      method,
      url,
      schema: { ...docs(id, summary, description, { ...none(done), ...errors }), params: MessageParams },
      handler: async (req, reply) => {
        await act(req.user, req.params.id);
        return reply.code(204).send();
      },
    });
  }

  authed.get('/conversations/:id/pins', { schema: {
    ...docs('listPins', 'List the pinned messages', 'The pinned messages of a conversation I am in, newest pin first, with who pinned them and when.'),
    params: ConversationParams,
    response: { 200: example(Type.Array(PinOut), 'The pins', [{ message, pinned_by: other, pinned_at: '2024-01-01T12:06:00.000Z' }]), ...errors },
  } }, async (req) => {
    const { pins, people } = await core.curation.pins(req.user, req.params.id);
    return pins.map((p) => ({ message: renderMessage(ctx, p.message, person(people, p.message.senderId)), pinned_by: named(people, p.pinnedBy), pinned_at: iso(p.pinnedAt) }));
  });

  authed.get('/saved', { schema: {
    ...docs('listSaved', 'List my saved messages', 'Newest save first, a page at a time (`next` is the following page\'s `before`). A message I can no longer see (deleted, deleted for me, or of a conversation I left) is left out.'),
    querystring: SavedQuery,
    response: { 200: example(SavedPageOut, 'A page of saved messages', { items: [{ message, saved_at: '2024-01-01T12:07:00.000Z' }], next: null }), ...errors },
  } }, async (req) => {
    const [at, id] = req.query.before ? req.query.before.split('_').map(Number) : [];
    const page = await core.curation.saved(req.user, req.query.limit ?? 50, at === undefined ? undefined : { at, id });
    return {
      items: page.items.map((s) => ({ message: renderMessage(ctx, s.message, person(page.senders, s.message.senderId)), saved_at: iso(s.savedAt) })),
      next: page.next ? `${page.next.at}_${page.next.id}` : null,
    };
  });
}
