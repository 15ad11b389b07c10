import type { FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart';
import type { Core } from '../../core/core.js';
import { DomainError, refusal } from '../../core/errors.js';
import type { IncomingFile } from '../../core/files/files.js';
import { policyMaxBytes, type FilePolicy } from '../../core/files/policy.js';

/**
 * Receives a multipart upload (000's `upload-files`, 003's `upload/`): every file part is
 * streamed to a staging file as it arrives, so memory holds a few chunks whatever the
 * size, and within the authenticated uploader's pending quota (core.files.intake); text
 * fields are collected. On any error the staged files are removed.
 */
export async function receiveMultipart(
  req: FastifyRequest,
  core: Core,
  policy: FilePolicy,
): Promise<{ files: IncomingFile[]; fields: Record<string, string> }> {
  const files: IncomingFile[] = [];
  const fields: Record<string, string> = {};
  try {
    const intake = await core.files.intake(req.user, policy);
    const parts = req.parts({
      // The name as sent: a path in it is refused (checkFileName), not quietly cut off.
      preservePath: true,
      // One more byte than the largest file: the staging counter refuses it with the document's text.
      limits: { files: policy.maxFiles, fileSize: policyMaxBytes(policy) + 1, fields: 20, fieldSize: 4096, parts: policy.maxFiles + 20, headerPairs: 100 },
    });
    for await (const part of parts) {
      if (part.type === 'file') {
        const staged = await intake.stage(part.file);
        files.push({ staged, name: part.filename || null, mimeType: part.mimetype || null });
      } else if (typeof part.value === 'string') {
        fields[part.fieldname] = part.value;
      }
    }
    return { files, fields };
  } catch (e) {
    await core.files.discard(files);
    throw multipartError(e, policy);
  }
}

function multipartError(e: unknown, policy: FilePolicy): unknown {
  const code = (e as { code?: string })?.code;
  switch (code) {
    case 'FST_FILES_LIMIT':
      return new DomainError('too_many_files', { params: { max: policy.maxFiles } });
    case 'FST_REQ_FILE_TOO_LARGE':
      return new DomainError('file_too_large', { params: { max_bytes: policyMaxBytes(policy) } });
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return refusal('not_multipart');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PROTO_VIOLATION':
      return refusal('bad_form_fields');
    default:
      if (e instanceof Error && /multipart|boundary|terminated early/i.test(e.message)) return refusal('malformed_multipart', { error: e.message });
      return e;
  }
}
