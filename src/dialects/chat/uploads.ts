import { refusal } from '../../core/errors.js';
import { CHAT_POLICY } from './file-policy.js';
import type { MessageKind } from '../../core/model.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { receiveMultipart } from '../shared/multipart.js';
import { renderUploadedFile } from './render.js';
import { TAGS, TEXTS, errorsShown, operation, shown } from '../../http/api-docs.js';

const KINDS = ['image', 'file', 'voice'];

/**
 * Document 000's "Multiple File Upload": `POST /api/chat/upload-files`, multipart `files`
 * (up to 10) and `message_type`. The files are streamed to disk, validated like any file,
 * and kept pending for the uploader until a `send_message` names them. Authenticated before
 * the body is read (defineDialect's onRequest hook): an anonymous caller streams nothing.
 */
export function chatUploadRoutes(ctx: DialectContext, app: DialectScope) {
  const { core } = ctx;
  app.post(
    '/upload-files',
    {
      schema: {
        ...operation({
          tag: TAGS.chat,
          id: 'chatUploadFiles',
          summary: 'Multiple file upload',
          description:
            'multipart/form-data: `files` (up to 10) and message_type ("image", "file" or "voice"). The files are validated (images 10 MB, files and voice 50 MB, ' +
            'types sniffed from the bytes) and kept for me until a send_message names them by file_path in files_data (within 24 hours). As in document 000. ' +
            TEXTS.bearer,
          responses: {
            200: shown('The stored files', {
              files: [{ file_name: 'image1.jpg', file_path: 'chat_files/images/uuid_image1.jpg', file_size: 1024000, mime_type: 'image/jpeg' }],
              total_files: 1,
              total_size: 1024000,
            }),
            ...errorsShown({ detail: 'File too large. Maximum size: 10.0MB' }, { detail: 'File type not allowed. Allowed types: image/jpeg, image/png, image/gif, image/webp' }),
          },
        }),
        consumes: ['multipart/form-data'],
      },
    },
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
}
