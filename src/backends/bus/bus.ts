import type { DomainEvent } from '../../core/events.js';

export type BusHandler = (channel: string, event: DomainEvent) => void;

/**
 * Carries domain events between the processes of one Parley deployment.
 * Contract (test/contract/bus.contract.ts):
 * - `publish` delivers the event to the handler of every process that subscribed to the
 *   channel, this process included, at most once per subscribing process.
 * - Events of one channel published by one process arrive in the order they were published.
 * - A process receives nothing on a channel it has not subscribed to (or has unsubscribed from).
 * - Subscriptions are per process, not counted: subscribing twice then unsubscribing once
 *   leaves the channel unsubscribed (the hub keeps the count).
 */
export interface Bus {
  onEvent(handler: BusHandler): void;
  publish(channel: string, event: DomainEvent): void;
  subscribe(channel: string): void;
  unsubscribe(channel: string): void;
  close(): Promise<void>;
}
