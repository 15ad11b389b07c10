/** One signed POST of an event (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature). */
export interface WebhookRequest {
  url: string;
  /** `whsec_…` */
  secret: string;
  /** The event's id (`evt_…`): the same on every attempt, so a receiver drops duplicates by it. */
  id: string;
  timestamp: Date;
  body: string;
}

export type WebhookOutcome = { ok: true; status: number } | { ok: false; error: string };

/** Where the webhooks' HTTP goes (src/backends/webhooks/http-sender.ts). */
export interface WebhookSender {
  /** A 2xx within the timeout is ok; anything else (a refused address too) is an error. Never throws. */
  send(request: WebhookRequest): Promise<WebhookOutcome>;
  /** Whether the URL's host is a private or loopback address this server refuses (SSRF); false when allowed. */
  refusesAddress(url: string): Promise<boolean>;
}
