import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DomainEvent } from '../../core/events.js';
import { closeRedis, defaultOnError, openRedis, type RedisBackendOptions, type RedisErrorListener } from '../redis.js';
import type { Bus, BusHandler } from './bus.js';

/** Echoes kept at most: past this (a subscription that never took effect), they are parsed instead. */
const MAX_ECHOES = 10_000;

const TAG_START = '{"~":"';

/** The event's JSON without its publisher's tag (a payload of an older release has none). */
function untagged(payload: string): string {
  if (!payload.startsWith(TAG_START)) return payload;
  return '{' + payload.slice(payload.indexOf('",', TAG_START.length) + 2);
}

/**
 * Redis pub/sub between the processes of one deployment: one publisher and one subscriber
 * connection per process.
 *
 * Channel layout: one Redis channel per Parley channel (`<prefix>conv:<id>`,
 * `<prefix>user:<id>`), and a process SUBSCRIBEs only to the channels its sockets follow (the
 * hub subscribes at the first local follower, unsubscribes at the last). Redis then sends
 * each event only to the processes that have a follower, so the traffic grows with the
 * rooms' audiences, not with processes × rooms. The alternative, one inbox channel per
 * process, needs the publisher to know which processes follow a room (a registry kept in
 * Redis and kept right across crashes) or to send every event to every inbox; per-room
 * channels let Redis keep that registry, and a dead process's subscriptions vanish with its
 * connection. The cost is one SUBSCRIBE per room a process starts following, which is cheap
 * in Redis (a hash lookup per PUBLISH, independent of the number of channels).
 *
 * Redis delivers a PUBLISH to every subscribed connection, the publisher's own process
 * included (its subscriber connection is another client), and in the order each connection
 * published: one publisher connection per process gives the contract's per-publisher order.
 *
 * While Redis is unreachable, events are lost, not queued: `publish` drops them (the
 * publisher does not use ioredis's offline queue, and never resends a PUBLISH whose reply was
 * lost, which could deliver it twice), and events published by others while this process's
 * subscriber is disconnected never reach it. The messages themselves are committed in the
 * store, so clients recover them by resuming from their last `change_seq` (DESIGN, delivery
 * contract 3). Because a socket that stayed open would not know it missed anything, the bus
 * calls its `onGap` listeners once the connection is back; the hub should then make its
 * sockets resume. After a reconnect the subscriber subscribes again to every channel the
 * process follows (this bus, not ioredis, owns that list).
 *
 * A process's own events come back to it through Redis like everyone's (that keeps the order
 * of its events among the others' on each connection), but are not parsed again: each payload
 * begins with its publisher's tag and a number, `{"~":"<tag>.<n>",` then the event's JSON
 * members, and the publisher keeps the events it sent on channels it follows until their echo
 * is read (JSON.parse of every event, its own included, was 3–5% of a cluster process's time).
 * The payload stays a JSON object, so a process of the previous release reads it too.
 */
export class RedisBus implements Bus {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #onError: RedisErrorListener;
  readonly #channels = new Set<string>();
  readonly #gapListeners: (() => void)[] = [];
  /** Subscriptions sent and not yet confirmed. */
  readonly #subscribing = new Map<string, Promise<void>>();
  /** Callers of `subscribe` while disconnected, resolved by the next #resubscribe. */
  #resubscribed: (() => void)[] = [];
  #handler: BusHandler = () => {};
  /** Events may have been lost since the last gap report (a dropped publish, a lost subscriber). */
  #lost = false;
  /** The subscriber is connected and subscribed to every channel in #channels. */
  #subSynced = false;
  #closed = false;
  /** The start of this process's payloads (see the class comment). */
  readonly #tag = `${TAG_START}${randomBytes(6).toString('base64url')}.`;
  /** Number of the next publish. */
  #published = 0;
  /** Events published on followed channels whose echo was not read yet, by number (ascending). */
  readonly #echoes = new Map<number, DomainEvent>();
  /** Publishes of the current turn, sent together at its end (#sendOutgoing). */
  #outgoing: { channel: string; payload: string; sent: () => void }[] = [];

  constructor(pub: Redis, sub: Redis, opts: RedisBackendOptions = {}) {
    this.#pub = pub;
    this.#sub = sub;
    this.#prefix = opts.prefix ?? '';
    const onError = opts.onError ?? defaultOnError;
    // After close, failures of calls still in flight are expected, not news.
    this.#onError = (e) => {
      if (!this.#closed) onError(e);
    };
    sub.on('message', (channel: string, payload: string) => this.#receive(channel, payload));
    sub.on('ready', () => this.#resubscribe());
    sub.on('close', () => {
      // A new connection starts with no subscription: whatever was published meanwhile is gone.
      if (this.#subSynced) this.#lost = true;
      this.#subSynced = false;
      // Echoes not read by now are lost with the connection.
      this.#echoes.clear();
    });
    pub.on('ready', () => this.#maybeRecovered());
    this.#subSynced = sub.status === 'ready';
  }

  onEvent(handler: BusHandler): void {
    this.#handler = handler;
  }

  /**
   * Called once per outage, when both connections are back and every followed channel is
   * subscribed again, if events may have been lost meanwhile.
   */
  onGap(listener: () => void): void {
    this.#gapListeners.push(listener);
  }

  /** Resolves when Redis answered the PUBLISH (or it was lost: never rejects, see Bus). */
  publish(channel: string, event: DomainEvent): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#pub.status !== 'ready') {
      this.#lost = true;
      return Promise.resolve();
    }
    const n = this.#published++;
    const json = JSON.stringify(event);
    // Its echo is read only on a channel this process follows; kept until then (or until a later one's echo shows it will not come).
    if (this.#channels.has(channel)) {
      if (this.#echoes.size >= MAX_ECHOES) this.#echoes.clear();
      this.#echoes.set(n, event);
    }
    return new Promise((resolve) => {
      if (this.#outgoing.length === 0) queueMicrotask(this.#sendOutgoing);
      this.#outgoing.push({ channel: this.#prefix + channel, payload: `${this.#tag}${n.toString(36)}",${json.slice(1)}`, sent: resolve });
    });
  }

  /**
   * Sends this turn's publishes as one pipeline: one write to Redis for a batch's events
   * instead of one each (a write was 10% of a cluster process's time), in publish order.
   */
  readonly #sendOutgoing = (): void => {
    const outgoing = this.#outgoing;
    if (outgoing.length === 0) return;
    this.#outgoing = [];
    const failed = (e: Error) => {
      this.#lost = true;
      this.#onError(e);
    };
    let sent: Promise<[Error | null, unknown][] | null>;
    try {
      const pipeline = this.#pub.pipeline();
      for (const o of outgoing) pipeline.publish(o.channel, o.payload);
      sent = pipeline.exec();
    } catch (e) {
      // Run from a microtask: a throw here would end the process.
      sent = Promise.reject(e);
    }
    sent.then(
      (results) => {
        const error = results?.find(([e]) => e)?.[0];
        if (error) failed(error);
        for (const o of outgoing) o.sent();
      },
      (e: Error) => {
        failed(e);
        for (const o of outgoing) o.sent();
      },
    );
  };

  /** Resolves once Redis has the subscription (see Bus): at once if it had it already. */
  subscribe(channel: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const pending = this.#subscribing.get(channel);
    if (pending) return pending;
    if (this.#channels.has(channel)) return Promise.resolve();
    this.#channels.add(channel);
    // Not ready: #resubscribe sends the whole set when the connection is back.
    const done =
      this.#sub.status === 'ready'
        ? this.#sub.subscribe(this.#prefix + channel).then(() => {}, this.#onError)
        : new Promise<void>((resolve) => this.#resubscribed.push(resolve));
    this.#subscribing.set(channel, done);
    void done.finally(() => {
      if (this.#subscribing.get(channel) === done) this.#subscribing.delete(channel);
    });
    return done;
  }

  unsubscribe(channel: string): void {
    if (!this.#channels.delete(channel)) return;
    this.#subscribing.delete(channel);
    // Events already on their way are dropped by #receive, so nothing arrives after this call.
    if (this.#sub.status === 'ready') this.#sub.unsubscribe(this.#prefix + channel).catch(this.#onError);
  }

  /**
   * Resolves once what this process published so far has been handled by Redis and what Redis
   * sent to this process so far has been delivered to the handler (each connection answers in
   * order). For tests and draining; over several processes, flush all of them twice.
   */
  async flush(): Promise<void> {
    this.#sendOutgoing();
    await this.#pub.ping();
    await this.#sub.ping();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // This turn's publishes go out before the QUIT.
    this.#sendOutgoing();
    this.#closed = true;
    this.#channels.clear();
    for (const resolve of this.#resubscribed.splice(0)) resolve();
    await Promise.all([closeRedis(this.#pub), closeRedis(this.#sub)]);
  }

  #resubscribe(): void {
    if (this.#closed) return;
    const channels = [...this.#channels].map((c) => this.#prefix + c);
    const done = channels.length > 0 ? this.#sub.subscribe(...channels) : Promise.resolve();
    const release = () => {
      // Never leave a join waiting: on failure the next reconnection subscribes again anyway.
      const waiting = this.#resubscribed;
      this.#resubscribed = [];
      for (const resolve of waiting) resolve();
    };
    done.then(
      () => {
        this.#subSynced = this.#sub.status === 'ready';
        release();
        this.#maybeRecovered();
      },
      (e: Error) => {
        release();
        this.#onError(e);
      },
    );
  }

  #maybeRecovered(): void {
    if (this.#closed || !this.#lost || !this.#subSynced || this.#pub.status !== 'ready') return;
    this.#lost = false;
    for (const l of this.#gapListeners) {
      try {
        l();
      } catch (e) {
        this.#onError(e as Error);
      }
    }
  }

  /**
   * This process's own event, when the payload is one whose echo it kept. Echoes come in
   * publish order (one publisher connection), so the ones numbered lower never will.
   */
  #own(payload: string): DomainEvent | undefined {
    if (!payload.startsWith(this.#tag)) return undefined;
    const n = Number.parseInt(payload.slice(this.#tag.length, payload.indexOf('"', this.#tag.length)), 36);
    for (const k of this.#echoes.keys()) {
      if (k >= n) break;
      this.#echoes.delete(k);
    }
    const event = this.#echoes.get(n);
    this.#echoes.delete(n);
    return event;
  }

  #receive(redisChannel: string, payload: string): void {
    if (!redisChannel.startsWith(this.#prefix)) return;
    const channel = redisChannel.slice(this.#prefix.length);
    if (!this.#channels.has(channel)) return;
    let event: DomainEvent | undefined;
    try {
      event = this.#own(payload) ?? (JSON.parse(untagged(payload)) as DomainEvent);
    } catch (e) {
      this.#onError(new Error(`bus: unreadable event on ${redisChannel}: ${(e as Error).message}`));
      return;
    }
    // A throwing handler must not break the connection's reply parser.
    try {
      this.#handler(channel, event);
    } catch (e) {
      this.#onError(e as Error);
    }
  }
}

/**
 * Opens the two connections (rejects when Redis does not answer). `prefix` goes before every
 * channel, so deployments and tests sharing a Redis do not hear each other.
 */
export async function createRedisBus(url: string, opts: RedisBackendOptions = {}): Promise<RedisBus> {
  // The publisher never queues nor resends (see the class comment); the subscriber's own
  // SUBSCRIBEs are only sent while it is ready, and it resubscribes itself after a reconnect.
  const [pub, sub] = await Promise.all([
    openRedis(url, 'parley-bus-pub', opts.onError, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false }),
    openRedis(url, 'parley-bus-sub', opts.onError, { enableOfflineQueue: false, autoResubscribe: false }),
  ]);
  return new RedisBus(pub, sub, opts);
}
