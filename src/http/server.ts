import Fastify, { type FastifyInstance } from 'fastify';
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
    forceCloseConnections: true,
  });
  app.setValidatorCompiler(validators());
  await app.register(formbody);
  // Parsed only where a route asks (req.parts(), with its document's limits): uploads stream to disk.
  await app.register(multipart);
  await app.register(websocket, { options: { maxPayload: config.wsMaxPayloadBytes, perMessageDeflate: false } });
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
