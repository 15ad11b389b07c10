import { Rounds } from '../rounds.js';
import type { ClaimedDelivery, Store } from '../../backends/store/store.js';
import type { LoggedEvent } from '../model.js';
import type { WebhookSender } from './ports.js';

export interface DispatcherOptions {
  pollMs: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  disableAfterMs: number;
  /** Delivered events and deliveries older than this are pruned. */
  retentionMs: number;
  /** Deliveries leased at once by this process. */
  batch?: number;
  onError?: (e: unknown) => void;
}

/** Rows a prune deletes at once (of each table): short transactions beside the sends. */
const PRUNE_BATCH = 1000;
const PRUNE_EVERY_MS = 60_000;

/** The delay before attempt `attempts + 1`: exponential, capped, with jitter (half to all of it) so retries of many endpoints spread. */
export const retryDelay = (attempts: number, baseMs: number, maxMs: number, random = Math.random) => {
  const full = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 40));
  return Math.round(full / 2 + (random() * full) / 2);
};

/**
 * Delivers the events log to the endpoints, one per process: fans new events out into
 * deliveries, leases the due ones (each the oldest undelivered of its endpoint and
 * conversation, so a conversation's events arrive in order), posts them signed and settles
 * them. A process killed mid-delivery leaves a lease that expires: another process (or this
 * one restarted) delivers it again, with the same webhook-id.
 */
export class WebhookDispatcher {
  readonly #rounds: Rounds;
  /** When the next prune is due: once a minute (or a retention, if shorter), at once again while a prune fills its batch. */
  #pruneAt = 0;

  constructor(
    readonly store: Store,
    readonly sender: WebhookSender,
    /** The event as the endpoint receives it (Parley's own API's shape). */
    readonly render: (events: LoggedEvent[]) => Promise<unknown[]>,
    readonly opts: DispatcherOptions,
  ) {
    this.#rounds = new Rounds(() => this.tick(), opts.pollMs, (e) => opts.onError?.(e));
  }

  start(): void {
    this.#rounds.start();
  }

  stop(): Promise<void> {
    return this.#rounds.stop();
  }

  /** One round; true when it found work (the next round starts at once). */
  async tick(): Promise<boolean> {
    const now = Date.now();
    if (now >= this.#pruneAt) {
      const pruned = await this.store.pruneWebhookEvents(now - this.opts.retentionMs, PRUNE_BATCH);
      this.#pruneAt = pruned >= PRUNE_BATCH ? now : now + Math.min(PRUNE_EVERY_MS, this.opts.retentionMs);
    }
    const fanned = await this.store.fanOutWebhooks(500, now);
    // The lease outlives the request's timeout: a live process always settles before another takes it.
    const claimed = await this.store.claimWebhookDeliveries(this.opts.batch ?? 50, now, now + this.opts.timeoutMs * 2 + 5000);
    if (claimed.length === 0) return fanned > 0;
    const bodies = await this.render(claimed.map((d) => d.event));
    await Promise.all(claimed.map((d, i) => this.#deliver(d, JSON.stringify(bodies[i]))));
    return true;
  }

  async #deliver(d: ClaimedDelivery, body: string): Promise<void> {
    const outcome = await this.sender.send({ url: d.endpoint.url, secret: d.endpoint.secret, id: d.event.uuid, timestamp: new Date(), body });
    const at = Date.now();
    if (outcome.ok) return this.store.webhookDelivered(d.id, at);
    const retryAt = at + retryDelay(d.attempts, this.opts.retryBaseMs, this.opts.retryMaxMs);
    await this.store.webhookFailed(d.id, outcome.error, at, retryAt, at - this.opts.disableAfterMs);
  }
}
