import type { FastifyInstance, FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import type { Config } from '../config/config.js';
import { DomainError } from '../core/errors.js';
import { errorText } from '../dialects/shared/texts.js';

/**
 * Which browser pages may use this server, from ALLOWED_ORIGINS: one list decides CORS on
 * REST, socket handshakes and who is trusted with the AUTH_COOKIE cookie.
 */

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

/**
 * CORS on every REST route (@fastify/cors), by `corsGrant`. A preflight from a page that is
 * not allowed is answered 403 `{"detail"}` with no CORS header, so the browser blocks the
 * request it announced and the route never runs.
 */
export async function registerCors(app: FastifyInstance, config: Config): Promise<void> {
  const grant = (req: FastifyRequest) =>
    corsGrant(req.headers.origin, config.allowedOrigins, config.authCookie !== null && COOKIE_ROUTES.has(pathOf(req.url)));
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined && !grant(req)) {
      // The words every dialect uses for this refusal (dialects/shared/texts.ts).
      return reply.code(403).send({ detail: errorText(new DomainError('origin_not_allowed')) });
    }
  });
  await app.register(cors, {
    delegator: (req, done) => {
      const g = grant(req);
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
