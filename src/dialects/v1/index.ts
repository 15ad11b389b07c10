import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Dialect, DialectContext } from '../dialect.js';
import { chatRoutes, type RoomsVariant } from '../chat/routes.js';
import { ROOMS_POLICY } from './file-policy.js';
import { requireUser } from '../shared/auth.js';
import { detailErrorHandler } from '../shared/errors.js';
import { FRIENDS_TEXTS } from './codes.js';
import { CHAT_TEXTS } from '../chat/codes.js';
import { friendsRestRoutes, friendsSocketRoute } from './friends.js';
import { AnyMessageParams } from './schemas.js';
import { TAGS, TEXTS, errorsShown, operation, shown } from '../../http/api-docs.js';

/** Document 002's rooms: /api/chat's room API under /api/v1/chat, with 002's `message_updated`. */
export const ROOMS_002: RoomsVariant = {
  prefix: '/api/v1/chat',
  renderer: 'v1-rooms',
  tag: TAGS.rooms,
  operationPrefix: 'rooms',
  documents: 'document 002',
  updateFrame: 'message_updated',
  deleteRoute: false,
  // "ALL messages": every room of a working chat fits; longer ones page (has_more).
  detailMessages: 1000,
  // 002's "File Upload System": voice also M4A, AAC, OGG, up to 20 MB.
  files: ROOMS_POLICY,
};

function v1Routes(ctx: DialectContext): FastifyPluginAsync {
  return async (app) => {
    await app.register(chatRoutes(ctx, ROOMS_002));
    await app.register(async (scope0) => {
      const scope = scope0.withTypeProvider<TypeBoxTypeProvider>();
      scope.setErrorHandler(detailErrorHandler(FRIENDS_TEXTS));
      // As in chatRoutes: an empty body with Content-Type: application/json (fetch wrappers
      // send it on DELETE and PUT …/read) is no body, not a 400; 002's DELETE lives here.
      const json = scope.getDefaultJsonParser('error', 'error');
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
        body === '' ? done(null, undefined) : json(req, body as string, done),
      );
      friendsSocketRoute(ctx, scope);
      await scope.register(async (authed0) => {
        const authed = authed0.withTypeProvider<TypeBoxTypeProvider>();
        authed.addHook('onRequest', requireUser(ctx.core));
        friendsRestRoutes(ctx, authed);
        // 002 and 004 both define it: digits are a 002 message id, a UUID a 004 one; one soft delete.
        const deleteDocs = operation({
          tag: TAGS.rooms,
          id: 'roomsDeleteMessage',
          summary: 'Delete message (002 and 004)',
          description:
            'Soft-deletes my message: an integer message_id is a document 002 message, a UUID a document 004 one (only the sender may delete). ' +
            `The message stays in the history as deleted; the other side's socket is told. ${TEXTS.bearer}`,
          responses: { 200: shown('Deleted', { status: 'success', message: 'Message deleted' }), ...errorsShown(TEXTS.notAuthenticated, TEXTS.messageNotFound) },
        });
        authed.delete('/api/v1/chat/messages/:message_id', { schema: { ...deleteDocs, tags: [TAGS.rooms, TAGS.direct], security: [{ bearer: [] }], params: AnyMessageParams } }, async (req) => {
          const id = req.params.message_id;
          await ctx.core.messages.delete(req.user, /^\d+$/.test(id) ? Number(id) : id);
          return { status: 'success', message: 'Message deleted' };
        });
      });
    });
  };
}

/** Documents 002 (rooms, integer ids) and 004 (friends, message status, UUIDs): /api/v1/chat. */
export const v1Dialect: Dialect = { name: 'v1', texts: { '002': CHAT_TEXTS, '004': FRIENDS_TEXTS }, routes: v1Routes };
