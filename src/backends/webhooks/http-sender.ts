import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Webhook as StandardWebhook } from 'standardwebhooks';
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

// standardwebhooks is loaded with the first delivery, not at start (as sharp is with the
// first image): most servers have no webhook.
let webhookLoaded: Promise<typeof StandardWebhook> | null = null;
const loadWebhook = (): Promise<typeof StandardWebhook> => (webhookLoaded ??= import('standardwebhooks').then((m) => m.Webhook));

/** Webhooks over fetch, signed with the `standardwebhooks` library; no redirects followed (a 3xx is a failure). */
export class HttpWebhookSender implements WebhookSender {
  constructor(readonly opts: { timeoutMs: number; allowPrivate: boolean }) {}

  async refusesAddress(url: string): Promise<boolean> {
    if (this.opts.allowPrivate) return false;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
    return addresses.some(isPrivate);
  }

  async send(r: WebhookRequest): Promise<WebhookOutcome> {
    try {
      if (await this.refusesAddress(r.url)) return { ok: false, error: 'address refused: private or loopback' };
      const Webhook = await loadWebhook();
      const signature = new Webhook(r.secret).sign(r.id, r.timestamp, r.body);
      const res = await fetch(r.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Parley-Webhooks',
          'webhook-id': r.id,
          'webhook-timestamp': String(Math.floor(r.timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body: r.body,
      });
      // The body is not read past what the timeout allows: drop it.
      await res.body?.cancel().catch(() => {});
      return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, error: `HTTP ${res.status}` };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return { ok: false, error: err.name === 'TimeoutError' ? 'timeout' : (err.cause?.code ?? err.message).slice(0, 200) };
    }
  }
}
