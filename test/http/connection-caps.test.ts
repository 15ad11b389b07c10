import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey } from '../../src/http/limits.js';
import { useParley, startParley, type TestServer } from '../helpers/parley.js';
import { api, eventually, openSocket, type TestSocket } from '../helpers/clients.js';

// One address cannot hold more than HTTP_MAX_CONNECTIONS_PER_ADDRESS connections, HTTP and
// WebSocket together, and the process no more than HTTP_MAX_CONNECTIONS: one more is closed
// before it is read. Closing one frees its place.

/** A keep-alive HTTP connection that has been answered once, or null when the server closed it unanswered. */
async function httpConnection(url: string): Promise<net.Socket | null> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => {});
  return new Promise((resolve) => {
    let data = '';
    socket.once('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n\r\n') && data.includes('"ok"')) resolve(socket);
    });
    socket.once('close', () => resolve(null));
  });
}

/** An authenticated socket, or null when the connection was refused. */
async function wsConnection(server: TestServer, token: string): Promise<TestSocket | null> {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${token}`).catch(() => null);
  if (!s) return null;
  const first = await Promise.race([s.next('ready').then(() => 'ready'), s.closed.then(() => 'closed')]);
  return first === 'ready' ? s : null;
}

describe('connection caps', () => {
  describe('HTTP_MAX_CONNECTIONS_PER_ADDRESS', () => {
    const CAP = 4;
    const server = useParley({ env: { HTTP_MAX_CONNECTIONS_PER_ADDRESS: String(CAP) } });
    let token: string;
    beforeAll(async () => {
      // Registered through the core: a fetch would leave a keep-alive connection counted.
      const session = await server.parley.core.accounts.register({ email: `caps-${Date.now()}@example.com`, password: 'correct horse', name: 'Caps' });
      token = session.accessToken;
    });

    it('the one past the cap is refused, HTTP and WebSocket counted together; closing one frees a place', async () => {
      const held = [await httpConnection(server.url), await httpConnection(server.url), await wsConnection(server, token), await wsConnection(server, token)];
      expect(held.every((c) => c !== null)).toBe(true);
      expect(await httpConnection(server.url)).toBeNull();
      expect(await wsConnection(server, token)).toBeNull();
      expect(server.parley.app.connectionCaps.refused.per_address).toBe(2);
      (held[0] as net.Socket).destroy();
      await eventually(() => expect(server.parley.app.connectionCaps.open).toBe(CAP - 1));
      const again = await httpConnection(server.url);
      expect(again).not.toBeNull();
      again!.destroy();
      (held[1] as net.Socket).destroy();
      (held[2] as TestSocket).close();
      (held[3] as TestSocket).close();
      await eventually(() => expect(server.parley.app.connectionCaps.open).toBe(0));
    });

    it('property: after any sequence of opens and closes, a connection is accepted exactly when fewer than the cap are open', async () => {
      type Cmd = { op: 'open'; ws: boolean } | { op: 'close'; pick: number };
      const command = fc.oneof(
        fc.record({ op: fc.constant('open' as const), ws: fc.boolean() }),
        fc.record({ op: fc.constant('close' as const), pick: fc.nat() }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), async (cmds: Cmd[]) => {
          const open: (net.Socket | TestSocket)[] = [];
          const close = async (c: net.Socket | TestSocket) => {
            const before = server.parley.app.connectionCaps.open;
            if (c instanceof net.Socket) c.destroy();
            else c.close();
            await eventually(() => expect(server.parley.app.connectionCaps.open).toBe(before - 1));
          };
          try {
            for (const cmd of cmds) {
              if (cmd.op === 'close') {
                if (open.length === 0) continue;
                await close(open.splice(cmd.pick % open.length, 1)[0]);
                continue;
              }
              const c = cmd.ws ? await wsConnection(server, token) : await httpConnection(server.url);
              // The invariant: accepted exactly when there was room.
              expect(c !== null).toBe(open.length < CAP);
              if (c) open.push(c);
              expect(server.parley.app.connectionCaps.open).toBe(open.length);
            }
          } finally {
            for (const c of open) await close(c);
          }
        }),
        { numRuns: 12 },
      );
    }, 120_000);

    it('an IPv6 client counts by its /64; an IPv4-mapped address as the IPv4 address', () => {
      expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe(addressKey('2001:0db8:0001:0002:ffff::1'));
      expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
      expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
      expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
      expect(addressKey('::1')).toBe('0:0:0:0::/64');
    });
  });

  describe('HTTP_MAX_CONNECTIONS', () => {
    let server: TestServer;
    beforeAll(async () => {
      // /metrics on a listener of its own: it does not count against the cap.
      server = await startParley({ env: { HTTP_MAX_CONNECTIONS: '3', METRICS_PORT: '0' } });
    });
    afterAll(() => server.close());

    it('the process takes no more than the cap from all addresses together; a refused peer gets no answer', async () => {
      const held = await Promise.all([httpConnection(server.url), httpConnection(server.url), httpConnection(server.url)]);
      expect(held.every((c) => c !== null)).toBe(true);
      expect(await httpConnection(server.url)).toBeNull();
      await expect(api(server, 'GET', '/healthz')).rejects.toThrow();
      expect(server.parley.app.connectionCaps.refused.total).toBe(2);
      // Told to the operator: a metric (and a rate-limited warning in the log).
      const metrics = await fetch(`${server.parley.metricsUrl}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/^parley_connections_refused_total\{reason="total"\} 2$/m);
      for (const c of held) c!.destroy();
      await eventually(() => expect(server.parley.app.connectionCaps.open).toBe(0));
      expect((await api(server, 'GET', '/healthz')).status).toBe(200);
    });
  });
});
