import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';

/** `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time (hashes of equal length). */
export function metricsAuthorized(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1].trim()), digest(token));
}

const NOT_AUTHENTICATED = JSON.stringify({ detail: 'Not authenticated' });
const NOT_FOUND = JSON.stringify({ detail: 'Not Found' });

/**
 * `/metrics` on the main listener, only with METRICS_TOKEN: the process and Node metrics and
 * the connection counts are not for whoever can reach the chat port. Without a token the
 * route does not exist (404, like any unknown path).
 */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, token: string | null): void {
  if (token === null) return;
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (!metricsAuthorized(req.headers.authorization, token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').type('application/json').send(NOT_AUTHENTICATED);
    }
    return reply.type(metrics.contentType).send(await metrics.text());
  });
}

export interface MetricsListener {
  /** http://host:port of the listener. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * METRICS_PORT: a plain HTTP listener of its own that serves only `/metrics` (on loopback by
 * default, so only the machine's scraper reaches it), and asks for METRICS_TOKEN when set.
 */
export async function listenMetrics(metrics: Metrics, opts: { host: string; port: number; token: string | null }): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const json = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body);
    };
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return json(404, NOT_FOUND);
    if (opts.token !== null && !metricsAuthorized(req.headers.authorization, opts.token)) return json(401, NOT_AUTHENTICATED, { 'www-authenticate': 'Bearer' });
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => json(500, JSON.stringify({ detail: 'Internal Server Error' })),
    );
  });
  // A scraper asks every few seconds; nothing here waits on a slow peer for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
