import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Config } from '../config/config.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Query strings and paths arrive as text and are coerced; a JSON body's types are taken as sent. */
function validators() {
  const base = { allErrors: false, useDefaults: true, removeAdditional: false, strict: false } as const;
  const strictBody = addFormats(new Ajv({ ...base, coerceTypes: false }));
  const coercing = addFormats(new Ajv({ ...base, coerceTypes: true }));
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? strictBody : coercing).compile(schema);
}

/** Drops `token=` from logged URLs: tokens in query strings (WebSocket) never reach the logs. */
export const redactUrl = (url: string) => url.replace(/([?&](?:token|access_token)=)[^&]*/gi, '$1[redacted]');

/**
 * Whether a socket handshake from a browser page on `origin` is allowed: no Origin (not a
 * browser), the server's own host, or one listed in WS_ALLOWED_ORIGINS (`*`: any).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  return allowed.includes('*') || originTrusted(origin, host, allowed);
}

/**
 * Whether a handshake may be authenticated by the visitor's cookie: a browser attaches it to
 * requests from every site, so only from no Origin (not a browser), the server's own host, or
 * an origin WS_ALLOWED_ORIGINS names (`*` lets a page connect, not borrow the cookie).
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

/** Pings every socket each interval; one that did not answer the last ping is cut off (a dead peer frees its memory). */
function keepAlive(app: FastifyInstance, intervalMs: number) {
  if (intervalMs <= 0) return;
  const answered = new WeakSet<object>();
  let timer: NodeJS.Timeout | null = null;
  app.addHook('onReady', async () => {
    const wss = app.websocketServer;
    wss.on('connection', (ws) => {
      answered.add(ws);
      ws.on('pong', () => answered.add(ws));
    });
    timer = setInterval(() => {
      for (const ws of wss.clients) {
        if (!answered.delete(ws)) {
          ws.terminate();
          continue;
        }
        ws.ping();
      }
    }, intervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
  });
}

/** Fastify with what every dialect shares: body parsers, WebSocket, OpenAPI at /docs, health, 404s as `{"detail"}`. */
export async function createHttpServer(config: Config, logger: boolean | object): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      logger === false
        ? false
        : {
            level: config.logLevel,
            serializers: {
              req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), remote: req.ip }),
            },
            ...(typeof logger === 'object' ? logger : {}),
          },
    bodyLimit: 1024 * 1024,
    // request.ip, which the login throttle counts per address, is the client's, not the proxy's.
    // A hop count is a function here: Fastify's types leave numbers out.
    trustProxy: typeof config.trustProxy === 'number' ? ((hops: number) => (_addr: string, i: number) => i < hops)(config.trustProxy) : config.trustProxy,
    forceCloseConnections: true,
    // Errors Fastify raises before any route runs (an undecodable path, an overlong
    // parameter) answer in the same `{"detail"}` shape as every other refusal.
    frameworkErrors: (error, _req, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      void (reply as FastifyReply).code(status).send({ detail: error.message });
    },
  });
  app.setValidatorCompiler(validators());
  await app.register(formbody);
  // Read for socket handshakes only (AUTH_COOKIE); REST takes the bearer header, so no CSRF.
  await app.register(cookie);
  // Parsed only where a route asks (req.parts(), with its document's limits): uploads stream to disk.
  await app.register(multipart);
  await app.register(websocket, {
    options: {
      maxPayload: config.wsMaxPayloadBytes,
      perMessageDeflate: config.wsCompression,
      // Cross-site WebSocket hijacking: a page on another origin cannot use a visitor's socket.
      verifyClient: ({ origin, req }, done) => done(originAllowed(origin, req.headers.host, config.wsAllowedOrigins), 403, 'Origin not allowed'),
    },
  });
  keepAlive(app, config.wsPingIntervalMs);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Parley', version: '0.1.0', description: 'Every chat API of the documents in one server.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ detail: 'Not Found' }));
  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ detail: (err as Error).message });
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal Server Error' });
  });
  return app;
}
