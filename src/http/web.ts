import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Where `vite build` puts the web client (web/dist), from src/ or dist/ alike. */
export const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

// A Host header as a browser sends it (name or address, optional port): anything else is
// left out of the policy rather than written into a header.
const HOST = /^[a-z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-f:.]+\](?::\d{1,5})?$/i;

/**
 * The page's Content-Security-Policy. Vite emits only files (no inline script or style; the
 * page sets styles through the DOM, which a policy does not restrict), so scripts come from
 * the server alone and an injected `<script>` or `onerror=` does not run. Sockets and fetches
 * go to this host only; attachments are signed links on PUBLIC_URL (another origin when the
 * page is reached by another name), previews of files being sent `blob:` URLs. The page may
 * not be framed (clickjacking), and has no plugins, no `<base>`, no forms posting elsewhere.
 */
export function webPagePolicy(host: string | undefined, publicUrl: string): string {
  let files = '';
  try {
    files = ' ' + new URL(publicUrl).origin;
  } catch {
    // An unparsable PUBLIC_URL hands out links the page cannot load anyway.
  }
  const sockets = host && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self'${files} blob: data:`,
    `media-src 'self'${files} blob:`,
    `connect-src 'self'${sockets}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * /docs (Swagger UI): its files and the OpenAPI document from the server; its bundle adds
 * `<style>` elements, so inline styles are allowed there (the page shows only Parley's own
 * schemas, no user content). Not framed either.
 */
export const DOCS_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The web client at `/`: the built page and its hashed assets (cached for a year; the page
 * itself never, so a deploy is picked up at once). Without a build, `/` says how to make one.
 */
export async function webRoutes(app: FastifyInstance, root = WEB_ROOT, publicUrl: () => string = () => ''): Promise<void> {
  if (!existsSync(path.join(root, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.type('text/plain; charset=utf-8').send('Parley is running. The web client is not built: run `npm run build` (or `npm start`).\nAPI: /docs\n'),
    );
    return;
  }
  await app.register(async (scope) => {
    scope.addHook('onSend', async (req, reply) => {
      reply.header('content-security-policy', webPagePolicy(req.headers.host, publicUrl()));
      // For browsers that predate CSP's frame-ancestors.
      reply.header('x-frame-options', 'DENY');
    });
    await scope.register(fastifyStatic, {
      root,
      prefix: '/',
      index: ['index.html'],
      wildcard: false,
      decorateReply: false,
      setHeaders(res, file) {
        res.setHeader('x-content-type-options', 'nosniff');
        // The web client's files are for its own page: no other site loads them (unlike files).
        res.setHeader('cross-origin-resource-policy', 'same-origin');
        res.setHeader('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  });
}
