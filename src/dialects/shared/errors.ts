import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, type DomainError, type ErrorCode, type ErrorKind } from '../../core/errors.js';

export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unauthenticated: 401,
};

/** Texts every dialect shares; a dialect overrides the ones its document words differently. */
export const DEFAULT_TEXTS: Record<ErrorCode, string> = {
  not_authenticated: 'Not authenticated',
  invalid_credentials: 'Incorrect email or password',
  account_unavailable: 'Not authenticated',
  email_taken: 'Email already registered',
  registration_closed: 'Registration is closed',
  tenant_not_found: 'Tenant not found',
  user_not_found: 'User not found',
  invite_required: 'Registration into this tenant needs an invite',
  invite_invalid: 'Invalid or expired invite',
  invite_not_found: 'Invite not found',
  wrong_password: 'Current password is incorrect',
  origin_not_allowed: 'Origin not allowed',
  conversation_not_found: 'Conversation not found',
  cannot_chat_with_self: 'You cannot start a chat with yourself',
  blocked: 'You cannot message this user',
  not_friends: 'You can only message your friends',
  not_permitted: 'You do not have permission to perform this action',
  last_admin: 'The last admin cannot leave; make someone else admin first',
  not_a_group: 'Direct conversations have fixed participants',
  conversation_full: 'This conversation has reached its member limit',
  too_many_members: 'Too many people added at once',
  not_addable: 'You cannot add this user',
  message_not_found: 'Message not found',
  reply_not_found: 'The message replied to is not in this conversation',
  not_message_sender: 'Only the sender can change this message',
  only_text_editable: 'Only text messages can be edited',
  message_deleted: 'Message has been deleted',
  empty_message: 'Message content is required',
  message_too_long: 'Message too long',
  invalid_message_type: 'Invalid message type',
  invalid_emoji: 'Invalid emoji',
  receiver_mismatch: 'receiver_id is not the other participant of this room',
  file_too_large: 'File too large',
  file_type_not_allowed: 'File type not allowed',
  invalid_file: 'Invalid file',
  too_many_files: 'Too many files. Maximum 10 files per message',
  upload_not_found: 'Uploaded file not found: upload it again',
  upload_quota_exceeded: 'Upload quota exceeded: send the files you uploaded first',
  file_not_found: 'File not found',
  file_access_denied: 'Not allowed to access this file',
  rate_limited: 'Too many requests; slow down',
  invalid_input: 'Invalid input',
};

export type Texts = Partial<Record<ErrorCode, string>>;

/** The words a dialect uses for a domain error: a specific message from the core wins. */
export function errorText(e: DomainError, texts: Texts = {}): string {
  if (e.message && e.message !== e.code) return e.message;
  return texts[e.code] ?? DEFAULT_TEXTS[e.code];
}

/** A Fastify error handler that answers every error as `{"detail": "..."}` with a 4xx (or a logged 500). */
/**
 * Errors as `{"detail": …}` with the documented status. `withCode` (Parley's own API) adds the
 * machine-readable `code` of docs/codes.md; the documents' dialects keep their exact bodies.
 */
export function detailErrorHandler(texts: Texts = {}, opts: { withCode?: boolean } = {}) {
  const body = (detail: string, code: string) => (opts.withCode ? { detail, code } : { detail });
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (isDomainError(err)) {
      if (err.kind === 'unauthenticated') reply.header('www-authenticate', 'Bearer');
      if (err.details.retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.details.retryAfterMs / 1000))));
      return reply.code(STATUS_BY_KIND[err.kind]).send(body(errorText(err, texts), err.code));
    }
    const fe = err as FastifyError;
    if (fe.validation) return reply.code(422).send(body(validationText(fe), 'invalid_input'));
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      return reply.code(422).send(body('Invalid JSON body', 'invalid_input'));
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ detail: fe.message });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal Server Error' });
  };
}

function validationText(e: FastifyError): string {
  const v = e.validation?.[0];
  if (!v) return e.message;
  const where = e.validationContext ?? 'body';
  const field = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
  const missing = (v.params as { missingProperty?: string })?.missingProperty;
  if (missing) return `${where}.${field ? field + '.' : ''}${missing}: field required`;
  return `${where}${field ? '.' + field : ''}: ${v.message ?? 'invalid'}`;
}
