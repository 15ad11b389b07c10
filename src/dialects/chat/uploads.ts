import type { FastifyPluginAsync } from 'fastify';
import { refusal } from '../../core/errors.js';
import { CHAT_POLICY } from './file-policy.js';
import type { MessageKind } from '../../core/model.js';
import type { DialectContext } from '../dialect.js';
import { requireUser } from '../shared/auth.js';
import { detailErrorHandler } from '../shared/errors.js';
import { receiveMultipart } from '../shared/multipart.js';
import { CHAT_TEXTS } from './codes.js';
import { renderUploadedFile } from './render.js';

const KINDS = ['image', 'file', 'voice'];

/**
 * Document 000's "Multiple File Upload": `POST /api/chat/upload-files`, multipart `files`
 * (up to 10) and `message_type`. The files are streamed to disk, validated like any file,
 * and kept pending for the uploader until a `send_message` names them.
 */
export function chatUploadRoutes(ctx: DialectContext): FastifyPluginAsync {
  const { core } = ctx;
  return async (app) => {
    app.setErrorHandler(detailErrorHandler(CHAT_TEXTS));
    // Before the body is read: an anonymous caller is refused without streaming anything.
    app.addHook('onRequest', requireUser(core));

    app.post(
      '/api/chat/upload-files',
      { schema: { tags: ['/api/chat (000, 001)'], security: [{ bearer: [] }], consumes: ['multipart/form-data'] } },
      async (req) => {
        const { files, fields } = await receiveMultipart(req, core, CHAT_POLICY);
        const kind = fields.message_type;
        if (kind !== undefined && kind !== '' && !KINDS.includes(kind)) {
          await core.files.discard(files);
          throw refusal('upload_message_type');
        }
        const stored = await core.files.upload(req.user, files, (kind || null) as MessageKind | null, CHAT_POLICY);
        return {
          files: stored.map((a) => renderUploadedFile(ctx, a)),
          total_files: stored.length,
          total_size: stored.reduce((n, a) => n + a.size, 0),
        };
      },
    );
  };
}
