import { DomainError } from '../errors.js';
import type { PasswordHasher } from './ports.js';

/**
 * Password hashing (argon2id, through the PasswordHasher port) with a bound on how many
 * hashes run at once. Each hash occupies a thread of libuv's pool (4 by default) for tens of milliseconds; SQLite's WAL flush, which every
 * acknowledged send waits for, runs on the same pool. Unbounded, 120 logins/s queued
 * hundreds of hashes ahead of the flush and acks took seconds (scripts/stall/logins.ts).
 * Bounded, the flush always finds a free thread and extra logins wait here instead, in
 * JavaScript, where they hold no thread; past `maxQueued` they are turned away (429).
 */
export class Passwords {
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** Called as each hash starts (metrics: a throttled login must cost none). */
  onHash: () => void = () => {};

  constructor(
    readonly hasher: PasswordHasher,
    readonly concurrency: number,
    readonly maxQueued: number,
  ) {}

  /** Hashes waiting for a turn. */
  get queued(): number {
    return this.#waiting.length;
  }

  hash(password: string): Promise<string> {
    return this.#turn(() => this.hasher.hash(password));
  }

  /** False for a wrong password or a hash that is not argon2's. */
  verify(stored: string, password: string): Promise<boolean> {
    return this.#turn(() => this.hasher.verify(stored, password));
  }

  async #turn<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.maxQueued) throw new DomainError('rate_limited', { retryAfterMs: 1000 });
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#running++;
    try {
      this.onHash();
      return await work();
    } finally {
      // The turn passes straight to the next waiter, so `#running` never drops below the bound while some wait.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
