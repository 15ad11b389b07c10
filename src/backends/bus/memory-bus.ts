import type { DomainEvent } from '../../core/events.js';
import type { Bus, BusHandler } from './bus.js';

/** One process: publish calls the handler synchronously, so delivery order is publish order. */
export class MemoryBus implements Bus {
  #handler: BusHandler = () => {};
  readonly #channels = new Set<string>();

  onEvent(handler: BusHandler): void {
    this.#handler = handler;
  }

  publish(channel: string, event: DomainEvent): Promise<void> {
    if (this.#channels.has(channel)) this.#handler(channel, event);
    return Promise.resolve();
  }

  subscribe(channel: string): void {
    this.#channels.add(channel);
  }

  unsubscribe(channel: string): void {
    this.#channels.delete(channel);
  }

  async close(): Promise<void> {
    this.#channels.clear();
  }
}

export const createMemoryBus = (): Bus => new MemoryBus();
