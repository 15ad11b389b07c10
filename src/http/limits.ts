import { isIPv4 } from 'node:net';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpLimits } from '../config/config.js';

/**
 * Node's and Fastify's timeouts from HTTP_*_TIMEOUT_MS. Fastify turns Node's own request
 * timeout off (0) and never sets the header timeout, so without these a peer held a
 * connection as long as it sent a byte now and then (a dribbled body was still open after
 * 150 s). Node checks the header and request timeouts every `connectionsCheckingInterval`
 * (30 s by default): a quarter of the shorter one, so a timeout is kept to within 25 %.
 */
export function timeoutOptions(limits: HttpLimits) {
  // Headers are part of the request: Node refuses a header timeout longer than the request's.
  const headersTimeout = limits.requestTimeoutMs > 0 ? Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) : limits.headersTimeoutMs;
  const shortest = Math.min(...[headersTimeout, limits.requestTimeoutMs].filter((t) => t > 0), 120_000);
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(shortest / 4))),
    },
  };
}

/**
 * Answers what Node refuses before Fastify sees a request (a timeout, oversized headers, a
 * malformed request) in the same `{"detail"}` shape as every other refusal, then closes
 * the connection, as Fastify's own handler does.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : [400, 'Bad Request'];
  if (socket.writable) {
    const body = JSON.stringify({ detail });
    socket.write(`HTTP/1.1 ${status} ${detail}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/**
 * The key a connection counts under: an IPv4 address (IPv4-mapped IPv6 included) as itself,
 * an IPv6 address by its /64, since one subscriber is routinely handed a whole /64.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (isIPv4(address)) return address;
  const [head, tail = ''] = address.toLowerCase().split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

export type RefusalReason = 'per_address' | 'total';

export interface ConnectionCaps {
  /** Connections open now (HTTP and WebSocket; a socket is an upgraded HTTP connection). */
  readonly open: number;
  /** Connections closed at once because a cap was reached, by cap. */
  readonly refused: Readonly<Record<RefusalReason, number>>;
}

/**
 * Caps the TCP connections of `server`, counted when accepted, so a WebSocket (an upgraded
 * HTTP connection) counts as what it is: one more connection. One past HTTP_MAX_CONNECTIONS,
 * or past HTTP_MAX_CONNECTIONS_PER_ADDRESS from one address, is destroyed before it is read:
 * it costs no parser work, no buffer and no handler. `onRefused` hears of each.
 */
export function capConnections(server: Server, limits: HttpLimits, onRefused: (reason: RefusalReason, key: string, open: number) => void): ConnectionCaps {
  const byAddress = new Map<string, number>();
  const refused: Record<RefusalReason, number> = { per_address: 0, total: 0 };
  let open = 0;
  server.on('connection', (socket: Socket) => {
    const key = addressKey(socket.remoteAddress);
    const mine = byAddress.get(key) ?? 0;
    let reason: RefusalReason | null = null;
    if (limits.maxConnections > 0 && open >= limits.maxConnections) reason = 'total';
    else if (limits.maxConnectionsPerAddress > 0 && mine >= limits.maxConnectionsPerAddress) reason = 'per_address';
    if (reason) {
      refused[reason]++;
      socket.destroy();
      onRefused(reason, key, reason === 'total' ? open : mine);
      return;
    }
    open++;
    byAddress.set(key, mine + 1);
    socket.once('close', () => {
      open--;
      const n = (byAddress.get(key) ?? 1) - 1;
      if (n <= 0) byAddress.delete(key);
      else byAddress.set(key, n);
    });
  });
  return {
    get open() {
      return open;
    },
    refused,
  };
}
