import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ExportTarget } from '../../core/export/export.js';
import type { User } from '../../core/model.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { docs, errors } from './routes.js';
import { auditOrigin } from '../shared/audit-origin.js';
import { ConversationParams } from './schemas.js';

const ExportQuery = Type.Object({
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}-[0-9]{1,16}$', description: 'Resume after this cursor (the `cursor` of the last JSON line received)' })),
});
const ARCHIVE = 'A tar, streamed: profile.json (own data), messages/<cursor>.jsonl (500 messages each, every line with its cursor), files/<uuid>/<name> after the lines that name them.';
const archiveResponse = { 200: { type: 'string', format: 'binary', description: ARCHIVE, examples: ['(tar bytes: profile.json, messages/7-1.jsonl, files/0190a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b/photo.jpg)'] } };

/** Issue 20: exports as one streamed archive, resumable by cursor, under a per-user rate limit. */
export function exportRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  const send = async (req: FastifyRequest & { user: User; query: { after?: string } }, reply: FastifyReply, target: ExportTarget, name: string) => {
    const archive = await core.exports.archive(req.user, target, req.query.after, auditOrigin(req));
    return reply
      .type(core.exports.mediaType)
      .header('content-disposition', `attachment; filename="${name}.${core.exports.extension}"`)
      .send(archive);
  };

  authed.get('/export', { schema: {
    ...docs('exportMyData', 'Export my data', `My profile, every message I sent (tombstones of deleted ones) and my files. ${ARCHIVE}`, archiveResponse),
    querystring: ExportQuery,
    response: { ...errors },
  } }, (req, reply) => send(req, reply, { kind: 'user' }, `parley-export-user-${req.user.id}`));
  authed.get('/conversations/:id/export', { schema: {
    ...docs('exportConversation', "Export a conversation's history", `Members only: the history as I may see it (without what I deleted for myself) and its files. ${ARCHIVE}`, archiveResponse),
    params: ConversationParams,
    querystring: ExportQuery,
    response: { ...errors },
  } }, (req, reply) => send(req, reply, { kind: 'conversation', key: req.params.id }, `parley-export-conversation-${req.params.id}`));
  authed.get('/tenant/export', { schema: {
    ...docs('exportTenant', "Export my tenant's history", `Tenant admins only: every live conversation's messages and files, by conversation then seq. ${ARCHIVE}`, archiveResponse),
    querystring: ExportQuery,
    response: { ...errors },
  } }, (req, reply) => send(req, reply, { kind: 'tenant' }, `parley-export-tenant`));
}
