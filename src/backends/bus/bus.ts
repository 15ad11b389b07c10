import type { DomainEvent } from '../../core/events.js';

export type BusHandler = (channel: string, event: DomainEvent) => void;

/**
 * Carries domain events between the processes of one Parley deployment.
 * Contract (test/contract/bus.contract.ts):
 * - `publish` delivers the event to the handler of every process that subscribed to the
 *   channel, this process included, at most once per subscribing process.
 * - Events of one channel published by one process arrive in the order they were published.
 * - The handler gets the channel as published and an event equal to the one published, as a
 *   plain object: events are JSON-serialisable and may cross processes as JSON.
 * - A process receives nothing on a channel it has not subscribed to (or has unsubscribed from).
 * - Subscriptions are per process, not counted: subscribing twice then unsubscribing once
 *   leaves the channel unsubscribed (the hub keeps the count).
 * - `subscribe` may take effect later (a round trip to a shared server); when it returns a
 *   promise, every event published on the channel after that promise resolved is delivered.
 *   A replay (read the store, then go live) must wait for it before reading, or it can miss
 *   what is published in between.
 * - `publish` resolves once the event is on its way to every subscribed process: an
 *   in-process bus has run the handler; a bus through a server has had the server accept it
 *   (Redis: PUBLISH answered, so it is queued to every subscribed connection, and anything
 *   those connections are sent afterwards arrives after it). It never rejects: a publish the
 *   server did not take is a lost event (see onGap). A caller that must not acknowledge a
 *   change before every process knows of it (cache invalidation) awaits it.
 * - A bus shared through a server may lose events while that server is unreachable (never
 *   deliver one twice); such a bus has `onGap`, called once it is reachable again, so the
 *   sockets that may have missed events resume from their cursor. A bus without `onGap`
 *   loses nothing.
 */
export interface Bus {
  onEvent(handler: BusHandler): void;
  publish(channel: string, event: DomainEvent): Promise<void>;
  subscribe(channel: string): void | Promise<void>;
  unsubscribe(channel: string): void;
  /** Optional: events may have been lost (see above); called when delivery works again. */
  onGap?(listener: () => void): void;
  /** Optional: resolves once what this process published so far has reached its own subscribers (graceful shutdown). */
  flush?(): Promise<void>;
  close(): Promise<void>;
}
