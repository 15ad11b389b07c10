import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import type { Config } from '../config/config.js';
import { DomainError } from '../core/errors.js';
import { errorText } from '../dialects/shared/texts.js';

/**
 * Which browser pages may use this server, from ALLOWED_ORIGINS: one list decides CORS on
 * REST, socket handshakes and who is trusted with the AUTH_COOKIE cookie.
 *
 * A tenant's admins may name their own (tenant_settings.allowed_origins, issue 20). That list
 * replaces ALLOWED_ORIGINS for the tenant's users rather than adding to it: a page the operator
 * or another tenant trusts does not reach a tenant that named its own. The tenant is known only
 * once a request is authenticated (a preflight carries no credentials, a socket's upgrade may
 * precede its first frame), so until then a page is let in when ALLOWED_ORIGINS or any tenant's
 * list allows it (`OriginListed`); the tenant's rule is applied as soon as the token's user (or
 * the tenant a login or registration names) is known: `checkTenantOrigin` in dialects/shared/auth.ts.
 * Cookie trust stays with ALLOWED_ORIGINS: the cookie is the whole server's, not a tenant's.
 */

/** Whether some tenant's list holds this origin (the core's answer, through createHttpServer). */
export type OriginListed = (origin: string) => Promise<boolean>;

/** Upgrades whose origin the socket route's handshake admitted for its tenant (see socketHandshake). */
const admittedUpgrades = new WeakSet<IncomingMessage>();

/** Lets this upgrade's page in at `verifyClient`, whatever ALLOWED_ORIGINS says: its tenant's rule admitted it. */
export function admitOrigin(req: IncomingMessage): void {
  admittedUpgrades.add(req);
}

/** Whether a socket's upgrade may proceed: ALLOWED_ORIGINS allows its page, or its handshake admitted it. */
export function upgradeAllowed(req: IncomingMessage, origin: string | undefined, allowed: readonly string[]): boolean {
  return admittedUpgrades.has(req) || originAllowed(origin, req.headers.host, allowed);
}

/**
 * Whether a socket handshake from a browser page on `origin` is allowed: no Origin (not a
 * browser), the server's own host, or one listed in ALLOWED_ORIGINS (`*`: any).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  return allowed.includes('*') || originTrusted(origin, host, allowed);
}

/**
 * Whether a request may be authenticated by the visitor's cookie: a browser attaches it to
 * requests from every page of the same site, so only from no Origin (not a browser), the
 * server's own host, or an origin ALLOWED_ORIGINS names (`*` lets a page connect, not borrow
 * the cookie).
 */
export function originTrusted(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (!origin) return true;
  const o = origin.toLowerCase();
  if (allowed.includes(o)) return true;
  try {
    return host !== undefined && new URL(o).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * The routes that set or clear the AUTH_COOKIE cookie. Only their answers may carry
 * `Access-Control-Allow-Credentials`: everything else takes the bearer token, so a page never
 * needs to send or receive cookies there, and a credentialed request gets no answer it can read.
 */
export const COOKIE_ROUTES: ReadonlySet<string> = new Set(['/api/auth/login', '/api/auth/register', '/api/auth/password', '/api/auth/logout']);

/** The CORS answer to a request from `origin`: null adds no header (a same-origin or refused page). */
export interface CorsGrant {
  /** `Access-Control-Allow-Origin`: the page's origin as sent, or `*` (never with credentials). */
  allowOrigin: string;
  /** `Access-Control-Allow-Credentials: true`: only for an origin named in the list, on a cookie route. */
  credentials: boolean;
}

/**
 * A page on a listed origin gets its own origin back, with credentials where the cookie is used;
 * with `*` listed any other page gets `*` and never credentials (a wildcard cannot carry them,
 * and `*` is not trust: AUTH_COOKIE is not handed to any site). Anything else: no CORS at all.
 */
export function corsGrant(origin: string | undefined, allowed: readonly string[], cookieRoute: boolean): CorsGrant | null {
  if (!origin) return null;
  if (allowed.includes(origin.toLowerCase())) return { allowOrigin: origin, credentials: cookieRoute };
  if (allowed.includes('*')) return { allowOrigin: '*', credentials: false };
  return null;
}

/** Browsers cache a preflight at most this long (Chromium's cap; Firefox allows a day). */
export const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/** What a page may send beyond the CORS-safelisted headers, and read beyond the safelisted ones. */
const REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Range'];
const EXPOSED_HEADERS = ['Retry-After', 'Parley-Next-Cursor', 'Content-Disposition', 'Content-Range', 'Accept-Ranges', 'WWW-Authenticate'];

const pathOf = (url: string) => url.split('?', 1)[0];

/** The CORS headers a grant adds, taken back from a request whose tenant does not allow its page. */
const GRANTED_HEADERS = ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers'];

export function withdrawCors(reply: FastifyReply): void {
  for (const h of GRANTED_HEADERS) reply.removeHeader(h);
}

/**
 * CORS on every REST route (@fastify/cors), by `corsGrant` over ALLOWED_ORIGINS, or to a page
 * some tenant lists (never with credentials: cookie trust is ALLOWED_ORIGINS'): the tenant is
 * not known yet, and the request's tenant rule takes the grant back (`withdrawCors`). A
 * preflight from a page that is not allowed is answered 403 `{"detail"}` with no CORS header,
 * so the browser blocks the request it announced and the route never runs.
 */
export async function registerCors(app: FastifyInstance, config: Config, listed?: OriginListed): Promise<void> {
  const grant = async (req: FastifyRequest): Promise<CorsGrant | null> => {
    const origin = req.headers.origin;
    const byProcess = corsGrant(origin, config.allowedOrigins, config.authCookie !== null && COOKIE_ROUTES.has(pathOf(req.url)));
    if (byProcess || !origin || !listed || originTrusted(origin, req.headers.host, [])) return byProcess;
    return (await listed(origin)) ? { allowOrigin: origin, credentials: false } : null;
  };
  // Decided once per request: the preflight's refusal and the plugin's headers read the same grant.
  const grants = new WeakMap<FastifyRequest, CorsGrant | null>();
  app.addHook('onRequest', async (req, reply) => {
    const g = await grant(req);
    grants.set(req, g);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined && !g) {
      // The words every dialect uses for this refusal (dialects/shared/texts.ts).
      return reply.code(403).send({ detail: errorText(new DomainError('origin_not_allowed')) });
    }
  });
  await app.register(cors, {
    delegator: (req, done) => {
      const g = grants.get(req) ?? null;
      if (!g) return done(null, { origin: false });
      done(null, {
        origin: g.allowOrigin,
        credentials: g.credentials,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowedHeaders: REQUEST_HEADERS,
        exposedHeaders: EXPOSED_HEADERS,
        maxAge: PREFLIGHT_MAX_AGE_SECONDS,
        // An OPTIONS without Access-Control-Request-Method from an allowed page is answered
        // like a preflight, not with the plugin's text/plain 400.
        strictPreflight: false,
      });
    },
  });
}
