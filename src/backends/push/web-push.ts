import type { default as WebPush } from 'web-push';
import type { PushMessage, PushOutcome, PushProvider, PushTarget } from '../../core/notifications/ports.js';

// web-push is loaded with the first push, not at start (as sharp is with the first image):
// a server without subscribers never needs it.
let webPushLoaded: Promise<typeof WebPush> | null = null;
const loadWebPush = (): Promise<typeof WebPush> => (webPushLoaded ??= import('web-push').then((m) => m.default));

export interface VapidKeys {
  subject: string;
  publicKey: string;
  privateKey: string;
}

/** What a Web Push payload holds (the service worker, web/public/sw.js, reads it). */
export function webPushPayload(m: PushMessage): string {
  return JSON.stringify({ title: m.title, body: m.body, badge: m.badge, conversation_id: m.conversationId, message_id: m.messageId, tag: m.tag });
}

/**
 * Web Push (RFC 8030) with the payload encrypted for the subscription (RFC 8291, aes128gcm)
 * and the request signed with the server's VAPID key (RFC 8292), by the web-push package.
 * The request is sent with fetch rather than web-push's own https-only client, so a push
 * service on plain http (a local one in the tests) is reached the same way.
 */
export class WebPushProvider implements PushProvider {
  readonly kind = 'web';

  constructor(
    readonly vapid: VapidKeys,
    readonly timeoutMs = 10_000,
  ) {}

  async send(target: PushTarget, message: PushMessage): Promise<PushOutcome> {
    if (target.kind !== 'web') return { ok: false, gone: true };
    const webpush = await loadWebPush();
    const request = webpush.generateRequestDetails({ endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } }, webPushPayload(message), {
      vapidDetails: this.vapid,
      // A push the device could not get within a day is no longer news.
      TTL: 86_400,
      // Replaces a pending push of the same conversation at the push service (RFC 8030 §5.4).
      topic: message.tag.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32),
      urgency: message.messageId === null ? 'low' : 'high',
      contentEncoding: 'aes128gcm',
    });
    let res: Response;
    try {
      res = await fetch(request.endpoint, {
        method: request.method,
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)])),
        body: request.body ? new Uint8Array(request.body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
    } catch (e) {
      return { ok: false, gone: false, failure: `${new URL(request.endpoint).host}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause?: Error }).cause!.message})` : ''}` };
    }
    if (res.status >= 200 && res.status < 300) return { ok: true };
    // The subscription expired or was unsubscribed (RFC 8030 §7.3).
    if (res.status === 404 || res.status === 410) return { ok: false, gone: true };
    const after = Number(res.headers.get('retry-after'));
    return { ok: false, gone: false, ...(Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {}) };
  }
}
