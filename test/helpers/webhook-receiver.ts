import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request the receiver took: its webhook-id, the event, and when it came. */
export interface Received {
  id: string;
  type: string;
  cursor: number;
  conversationId: number;
  data: any;
  at: number;
}

/**
 * A webhook endpoint on loopback, as a real consumer runs one: it verifies every request's
 * Standard Webhooks signature with the endpoint's secret (a bad one is counted and refused),
 * and can be failing (answers 500) or down (not listening) for a while.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Requests whose signature did not verify. */
  badSignatures = 0;
  /** Answer 500 to everything while true. */
  failing = false;
  secret = '';
  #server: Server | null = null;
  #sockets = new Set<import('node:net').Socket>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let event: any;
        try {
          event = new Webhook(this.secret).verify(body, req.headers as Record<string, string>);
        } catch {
          this.badSignatures++;
          res.writeHead(400).end();
          return;
        }
        if (this.failing) return void res.writeHead(500).end();
        if (event.id !== req.headers['webhook-id']) this.badSignatures++;
        this.received.push({ id: String(req.headers['webhook-id']), type: event.type, cursor: event.cursor, conversationId: event.conversation_id, data: event.data, at: Date.now() });
        res.writeHead(204).end();
      });
    });
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Stops listening: connections are refused until `start()` again (the same port). */
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    for (const socket of this.#sockets) socket.destroy();
    s.close();
    await once(s, 'close');
  }

  /** The distinct webhook-ids received, in first-arrival order. */
  distinct(): Received[] {
    const seen = new Set<string>();
    return this.received.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
  }
}
