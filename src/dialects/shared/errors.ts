import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, type ErrorKind } from '../../core/errors.js';
import { errorText, type Texts } from './texts.js';

export { errorText, type Texts } from './texts.js';

export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unauthenticated: 401,
};

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
