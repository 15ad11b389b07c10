import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Webhook as StandardWebhook } from 'standardwebhooks';

// standardwebhooks is loaded with the first delivery, not at start (as sharp is with the
// first image): most servers have no webhook.
let webhookLoaded: Promise<typeof StandardWebhook> | null = null;
const loadWebhook = (): Promise<typeof StandardWebhook> => (webhookLoaded ??= import('standardwebhooks').then((m) => m.Webhook));
import type { WebhookOutcome, WebhookRequest, WebhookSender } from '../../core/webhooks/ports.js';

/** Loopback, private, link-local, carrier-grade NAT, unspecified and unique-local ranges. */
const PRIVATE = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) PRIVATE.addSubnet(net, bits, 'ipv6');

const isPrivate = (address: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  return PRIVATE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
};

/** A resolver of host names: every address of `host` (tests give one of their own). */
export type HostLookup = (host: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: HostLookup = (host) => lookup(host, { all: true });

/** Where a URL's request goes: the one address checked, or why not. */
type Destination = { address: string; family: number } | { refused: string };

/**
 * Webhooks over node:http(s), signed with the `standardwebhooks` library; no redirects followed
 * (a 3xx is a failure). The host is resolved once per send, every address checked, and the
 * connection made to the checked address: a DNS answer that changes between the check and the
 * connection (DNS rebinding) cannot reach a private or loopback address. TLS still names and
 * verifies the URL's host.
 */
export class HttpWebhookSender implements WebhookSender {
  constructor(readonly opts: { timeoutMs: number; allowPrivate: boolean; lookup?: HostLookup }) {}

  async refusesAddress(url: string): Promise<boolean> {
    const to = await this.#destination(url);
    return 'refused' in to && to.refused === REFUSED;
  }

  async #destination(url: string): Promise<Destination> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const family = isIP(host);
    const addresses = family ? [{ address: host, family }] : await (this.opts.lookup ?? systemLookup)(host).catch(() => []);
    if (addresses.length === 0) return { refused: 'host not found' };
    if (!this.opts.allowPrivate && addresses.some((a) => isPrivate(a.address))) return { refused: REFUSED };
    return addresses[0];
  }

  async send(r: WebhookRequest): Promise<WebhookOutcome> {
    const to = await this.#destination(r.url);
    if ('refused' in to) return { ok: false, error: to.refused };
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      const Webhook = await loadWebhook();
      const status = await post(r.url, to, signal, r.body, {
        'content-type': 'application/json',
        'user-agent': 'Parley-Webhooks',
        'webhook-id': r.id,
        'webhook-timestamp': String(Math.floor(r.timestamp.getTime() / 1000)),
        'webhook-signature': new Webhook(r.secret).sign(r.id, r.timestamp, r.body),
      });
      return status >= 200 && status < 300 ? { ok: true, status } : { ok: false, error: `HTTP ${status}` };
    } catch (e) {
      const err = e as Error & { code?: string };
      return { ok: false, error: signal.aborted ? 'timeout' : (err.code ?? err.message).slice(0, 200) };
    }
  }
}

const REFUSED = 'address refused: private or loopback';

/** POSTs `body` to `url` over a connection to `to` (no lookup of its own); the response's status, its body dropped. */
function post(url: string, to: { address: string; family: number }, signal: AbortSignal, body: string, headers: Record<string, string>): Promise<number> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  // net.connect asks with `all` when it may try several families; either way, only the checked address.
  const pinned = ((_host: string, options: { all?: boolean }, done: (...args: unknown[]) => void) =>
    options.all ? done(null, [{ address: to.address, family: to.family }]) : done(null, to.address, to.family)) as unknown as LookupFunction;
  return new Promise((resolve, reject) => {
    const req = request(u, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: pinned, signal, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}
