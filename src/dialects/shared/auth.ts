import type {} from '@fastify/websocket';
import type {} from '@fastify/swagger';
import type { FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import type { User } from '../../core/model.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: User;
  }
}

/** `Authorization: Bearer <jwt>` → the user, or a `not_authenticated` domain error. */
export function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m ? m[1].trim() : undefined;
}

/** A preHandler that authenticates every route of the plugin it is added to. */
export function requireUser(core: Core) {
  return async (request: FastifyRequest) => {
    request.user = await core.accounts.authenticate(bearer(request));
    if (request.method !== 'GET' && request.method !== 'HEAD') await core.rateLimits.restWrite(request.user.id);
  };
}

/** A path or body user reference: digits are an integer id, anything else a uuid. */
export const userKey = (v: string | number): number | string =>
  typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : v;
