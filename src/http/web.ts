import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Where `vite build` puts the web client (web/dist), from src/ or dist/ alike. */
export const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

/**
 * The web client at `/`: the built page and its hashed assets (cached for a year; the page
 * itself never, so a deploy is picked up at once). Without a build, `/` says how to make one.
 */
export async function webRoutes(app: FastifyInstance, root = WEB_ROOT): Promise<void> {
  if (!existsSync(path.join(root, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.type('text/plain; charset=utf-8').send('Parley is running. The web client is not built: run `npm run build` (or `npm start`).\nAPI: /docs\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: ['index.html'],
    wildcard: false,
    decorateReply: false,
    setHeaders(res, file) {
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
