import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { recordSocketRoutes, swaggerOptions } from './api-docs.js';
import { API_VERSION } from '../version.js';
import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';
import type { Config } from '../config/config.js';
import { redactUrl } from './redact.js';
import { DOCS_POLICY } from './web.js';
import { registerCors, upgradeAllowed, type OriginListed } from './origins.js';
import { capConnections, clientErrorHandler, timeoutOptions, type ConnectionCaps } from './limits.js';

const requireHere = createRequire(import.meta.url);

/**
 * Query strings and paths arrive as text and are coerced; a JSON body's types are taken as sent.
 * Each validator is compiled at its route's first request, not at start: compiling every
 * route's schemas was a quarter of a restart, for routes a process may never serve. Ajv and
 * ajv-formats are loaded, and the two instances built, at the first compile too.
 */
function validators() {
  const newAjv = (coerceTypes: boolean): Ajv => {
    const { Ajv: AjvClass } = requireHere('ajv') as typeof import('ajv');
    const addFormats = requireHere('ajv-formats') as (ajv: Ajv) => Ajv;
    return addFormats(new AjvClass({ allErrors: false, useDefaults: true, removeAdditional: false, strict: false, coerceTypes }));
  };
  let strictBody: Ajv | undefined;
  let coercing: Ajv | undefined;
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => {
    let compiled: ValidateFunction | undefined;
    // Fastify reads `errors` off the function it was given, as off an ajv validator.
    const validate = (data: unknown): boolean => {
      compiled ??=
        httpPart === 'body'
          ? (strictBody ??= newAjv(false)).compile(schema)
          : (coercing ??= newAjv(true)).compile(schema);
      const ok = compiled(data);
      validate.errors = compiled.errors;
      return ok as boolean;
    };
    validate.errors = null as ValidateFunction['errors'];
    return validate;
  };
}

type SerializerFactory = (externalSchemas: unknown, serializerOpts: unknown) => (route: { schema: unknown }) => (data: unknown) => string;

/**
 * Response serializers, likewise compiled at a route's first response rather than at start
 * (fast-json-stringify over every route's response schemas was a fifth of a restart). The
 * compiler is Fastify's own default, required from Fastify's folder (it is Fastify's
 * dependency, not ours) when the first response needs it.
 */
const lazySerializers: SerializerFactory = (externalSchemas, serializerOpts) => {
  let compile: ReturnType<SerializerFactory> | undefined;
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data) => {
      if (!serialize) {
        compile ??= (fromFastify('@fastify/fast-json-stringify-compiler') as () => SerializerFactory)()(externalSchemas, serializerOpts);
        serialize = compile(route);
      }
      return serialize(data);
    };
  };
};
const fromFastify = (id: string): unknown => createRequire(requireHere.resolve('fastify'))(id);

export { redactUrl };

/**
 * The largest frame a socket may send before it is authenticated (an `authenticate` frame with
 * its token fits many times over). Every socket starts with it: the dialect raises a socket's
 * limit once it knows the user (src/dialects/shared/admission.ts).
 */
export const UNAUTHENTICATED_FRAME_BYTES = 16 * 1024;

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

declare module 'fastify' {
  interface FastifyInstance {
    /** Open connections and refusals by HTTP_MAX_CONNECTIONS(_PER_ADDRESS) (src/http/limits.ts). */
    connectionCaps: ConnectionCaps;
  }
}

/** Fastify with what every dialect shares: body parsers, WebSocket, OpenAPI at /docs, health, 404s as `{"detail"}`. */
export async function createHttpServer(config: Config, logger: boolean | object, originListed?: OriginListed): Promise<FastifyInstance> {
  const compileValidator = validators();
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
    // Our compilers, given here so that Fastify does not load its defaults (Ajv and all) only to replace them.
    // One validator compiler (one pair of Ajv instances) for every scope.
    schemaController: { compilersFactory: { buildValidator: (() => compileValidator) as never, buildSerializer: lazySerializers as never } },
    bodyLimit: 1024 * 1024,
    // request.ip, which the login throttle counts per address, is the client's, not the proxy's.
    // A hop count is a function here: Fastify's types leave numbers out.
    trustProxy: typeof config.trustProxy === 'number' ? ((hops: number) => (_addr: string, i: number) => i < hops)(config.trustProxy) : config.trustProxy,
    forceCloseConnections: true,
    ...timeoutOptions(config.http),
    clientErrorHandler,
    // Errors Fastify raises before any route runs (an undecodable path, an overlong
    // parameter) answer in the same `{"detail"}` shape as every other refusal.
    frameworkErrors: (error, _req, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      void (reply as FastifyReply).code(status).send({ detail: error.message });
    },
  });
  // HTTP_MAX_CONNECTIONS(_PER_ADDRESS): told once per interval, not once per refused
  // connection, so a flood does not become a flood of log lines.
  const warned = { at: 0, count: 0 };
  const caps = capConnections(app.server, config.http, (reason, key, open) => {
    warned.count++;
    if (Date.now() - warned.at < 10_000) return;
    const setting = reason === 'total' ? 'HTTP_MAX_CONNECTIONS' : 'HTTP_MAX_CONNECTIONS_PER_ADDRESS';
    app.log.warn({ reason, address: key, open, refused: warned.count }, `connections refused: ${setting} reached`);
    warned.at = Date.now();
    warned.count = 0;
  });
  app.decorate('connectionCaps', caps);
  await app.register(formbody);
  // Read for socket handshakes only (AUTH_COOKIE); REST takes the bearer header, so no CSRF.
  await app.register(cookie);
  // Pages on the origins ALLOWED_ORIGINS names may call REST from the browser.
  await registerCors(app, config, originListed);
  // Parsed only where a route asks (req.parts(), with its document's limits): uploads stream to disk.
  await app.register(multipart);
  await app.register(websocket, {
    options: {
      // The limit of a socket nobody has authenticated yet: an anonymous peer cannot make the
      // server buffer more (before, 80 MiB frames were read, queued and parsed before any token
      // was checked). Were a `ws` upgrade to stop honouring the per-socket raise, big files
      // would be refused, never anonymous frames let in (test/delivery/frame-limits.test.ts).
      maxPayload: Math.min(UNAUTHENTICATED_FRAME_BYTES, config.wsMaxPayloadBytes),
      perMessageDeflate: config.wsCompression,
      // Cross-site WebSocket hijacking: a page on another origin cannot use a visitor's socket.
      // Runs after the route's handshake, which admits the pages its tenant's list names.
      verifyClient: ({ origin, req }, done) => done(upgradeAllowed(req, origin, config.allowedOrigins), 403, 'Origin not allowed'),
    },
  });
  keepAlive(app, config.wsPingIntervalMs);
  recordSocketRoutes(app);
  await app.register(swagger, swaggerOptions(API_VERSION));
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_POLICY,
    uiHooks: {
      onRequest: (_req, reply, done) => {
        reply.header('x-frame-options', 'DENY');
        done();
      },
    },
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ detail: 'Not Found' }));
  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ detail: (err as Error).message });
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal Server Error' });
  });
  return app;
}
