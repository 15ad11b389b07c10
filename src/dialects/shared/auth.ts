import type {} from '@fastify/websocket';
import type {} from '@fastify/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Core } from '../../core/core.js';
import type { ApiKeyScope, Id, User } from '../../core/model.js';
import { DomainError } from '../../core/errors.js';
import { isApiKeySecret, scopeAllows, type ApiKeyAccess } from '../../core/accounts/api-keys.js';
import { corsGrant, originAllowed, originTrusted, withdrawCors } from '../../http/origins.js';

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

/** The AUTH_COOKIE token of a handshake from a page this server trusts (see originTrusted). */
export function cookieToken(request: FastifyRequest, config: Config): string | undefined {
  if (!config.authCookie || !originTrusted(request.headers.origin, request.headers.host, config.allowedOrigins)) return undefined;
  return request.cookies?.[config.authCookie] || undefined;
}

/**
 * What a socket's handshake says about its user, decided before the upgrade so that no frame
 * of the socket is read first: its user, a refusal, or `pending` (no token, or only a stale
 * cookie, on a socket whose document lets the first frame carry the token).
 */
export type Handshake = ({ kind: 'user' } & Caller) | { kind: 'refused'; error: unknown } | { kind: 'pending' };

/** Who a request or socket speaks as: a person (no scopes), or an API key's bot within its key's scopes. */
export interface Caller {
  user: User;
  scopes: readonly ApiKeyScope[] | null;
}

/** A token's caller: an API key (`pk_…`) where `apiKeys` lets keys in, else a JWT's user; or a DomainError. */
export async function callerOf(core: Core, token: string | undefined, apiKeys: boolean): Promise<Caller> {
  if (apiKeys && token !== undefined && isApiKeySecret(token)) {
    const holder = await core.apiKeys.authenticate(token);
    return { user: holder.user, scopes: holder.key.scopes };
  }
  return { user: await core.accounts.authenticate(token), scopes: null };
}

/** `X-Api-Key`, when given. */
const apiKeyHeader = (request: FastifyRequest): string | undefined => {
  const header = request.headers['x-api-key'];
  return typeof header === 'string' && header !== '' ? header : undefined;
};

/**
 * The handshake's token from `?token=`, `Authorization: Bearer`, (where `apiKeys`) `X-Api-Key`,
 * or the AUTH_COOKIE cookie, in that order, verified. Documents that authenticate with a first
 * frame pass `firstFrame`: then no token, or a cookie that is no longer valid (a stale cookie
 * must not hide a fresh token in the first frame), is `pending` rather than refused.
 */
export async function handshakeUser(core: Core, config: Config, request: FastifyRequest, firstFrame: boolean, apiKeys = false): Promise<Handshake> {
  const q = (request.query as { token?: unknown } | undefined)?.token;
  const given = (typeof q === 'string' && q !== '' ? q : undefined) ?? bearer(request) ?? (apiKeys ? apiKeyHeader(request) : undefined);
  const token = given ?? cookieToken(request, config);
  if (token === undefined && firstFrame) return { kind: 'pending' };
  try {
    return { kind: 'user', ...(await callerOf(core, token, apiKeys)) };
  } catch (error) {
    if (firstFrame && given === undefined) return { kind: 'pending' };
    return { kind: 'refused', error };
  }
}

/** The origin of PUBLIC_URL: the server's own, also when a proxy in front rewrites Host. */
function publicOrigin(config: Config): string | null {
  try {
    return new URL(config.publicUrl).origin.toLowerCase();
  } catch {
    return null;
  }
}

/** Whether the request's page is the server's own (PUBLIC_URL's origin or its Host): never a tenant's to refuse. */
function ownPage(config: Config, request: FastifyRequest, origin: string): boolean {
  return origin.toLowerCase() === publicOrigin(config) || originTrusted(origin, request.headers.host, []);
}

/**
 * The rule of `tenant`'s origins (see http/origins.ts) for a browser request: `list` is its
 * admins' list (null: ALLOWED_ORIGINS decide), `allowed` whether the page may act for its users.
 * No Origin (not a browser) and the server's own pages are allowed without a read.
 */
export async function tenantOriginRule(core: Core, config: Config, request: FastifyRequest, tenant: Id | string | undefined) {
  const origin = request.headers.origin;
  if (origin === undefined || ownPage(config, request, origin)) return { list: null, allowed: true };
  const list = await core.accounts.tenantOrigins(tenant);
  return { list, allowed: originAllowed(origin, request.headers.host, list ?? config.allowedOrigins) };
}

/**
 * A REST request for `tenant` (the token's, once authenticated): refused with 403 when its
 * tenant lists origins and not the page's; the CORS answer given before the tenant was known
 * (to a page some tenant lists) is taken back where the origins that decide for it do not grant
 * it. Returns whether the tenant's own list decided.
 */
export async function checkTenantOrigin(core: Core, config: Config, request: FastifyRequest, reply: FastifyReply, tenant: Id | string | undefined): Promise<boolean> {
  const { list, allowed } = await tenantOriginRule(core, config, request, tenant);
  if (!allowed && (list !== null || !corsGrant(request.headers.origin, config.allowedOrigins, false))) withdrawCors(reply);
  if (!allowed && list !== null) throw new DomainError('origin_not_allowed');
  return list !== null;
}

/**
 * Whether a login or registration comes from a page this server trusts with its cookie: no
 * Origin (not a browser), its own origin, or one ALLOWED_ORIGINS names (`*` does not count).
 */
export function loginOriginTrusted(config: Config, request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin !== undefined && origin.toLowerCase() === publicOrigin(config)) return true;
  return originTrusted(origin, request.headers.host, config.allowedOrigins);
}

/**
 * A preHandler for login and registration: a browser request from a page on another origin
 * than the server's own or the allowed ones (ALLOWED_ORIGINS; `*` allows any, but such a
 * page never gets the cookie) is refused with 403. A cross-site form posting credentials
 * would otherwise log the visitor into the attacker's account (login CSRF): the cookie it
 * sets is what the visitor's sockets then use.
 */
export function checkLoginOrigin(core: Core, config: Config) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    // The tenant the body names (none: the default one, the only tenant a login naming none looks
    // its e-mail up in, core.accounts.login): the caller's tenant, whose list decides.
    const named = (request.body as { tenant_id?: unknown } | undefined)?.tenant_id;
    if (await checkTenantOrigin(core, config, request, reply, typeof named === 'string' ? named : undefined)) return;
    if (loginOriginTrusted(config, request)) return;
    if (!originAllowed(origin, request.headers.host, config.allowedOrigins)) throw new DomainError('origin_not_allowed');
  };
}

/**
 * A hook that authenticates every route of the plugin it is added to, and takes the request
 * from the user's read budget (GET, HEAD) or write budget (anything else): 429 past either.
 */
export function requireUser(core: Core, config: Config) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    request.user = await authenticateRequest(core, request);
    await checkTenantOrigin(core, config, request, reply, request.user.tenantId);
    if (accessOf(request.method) === 'read') await core.rateLimits.read(request.user.id);
    else await core.rateLimits.write(request.user.id);
  };
}

/** What an HTTP method does: GET and HEAD read, anything else changes. */
export const accessOf = (method: string): ApiKeyAccess => (method === 'GET' || method === 'HEAD' ? 'read' : 'write');

/**
 * The caller of a REST request: an API key's bot (`X-Api-Key`, or a bearer token that is an
 * API key, `pk_…`), refused with 403 where the key's scopes do not allow the method, or the
 * user of a bearer JWT.
 */
export async function authenticateRequest(core: Core, request: FastifyRequest): Promise<User> {
  const caller = await callerOf(core, apiKeyHeader(request) ?? bearer(request), true);
  checkScope(caller, accessOf(request.method));
  return caller.user;
}

/** Refuses (403 `api_key_scope`) an API key's caller whose scopes do not permit this access; a person passes. */
export function checkScope(caller: Caller, access: ApiKeyAccess): void {
  if (caller.scopes !== null && !scopeAllows(caller.scopes, access)) throw new DomainError('api_key_scope');
}

/** A path or body user reference: digits are an integer id, anything else a uuid. */
export const userKey = (v: string | number): number | string =>
  typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : v;
