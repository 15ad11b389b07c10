import type { Config } from '../config/config.js';
import type { RateLimiter } from '../backends/ratelimit/rate-limiter.js';
import { DomainError } from './errors.js';
import type { Id } from './model.js';

const REPORTS_BURST = 10;
const REPORT_EVERY_SECONDS = 30;

/** The limits 003 promises ("rate limiting for spam prevention"), applied the same in every dialect. */
export class RateLimits {
  constructor(
    readonly limiter: RateLimiter,
    readonly config: Config,
  ) {}

  async #take(key: string, perSecond: number, burst: number): Promise<void> {
    if (perSecond <= 0) return; // 0 turns a limit off
    const wait = await this.limiter.take(key, perSecond, burst);
    if (wait > 0) throw new DomainError('rate_limited', { retryAfterMs: wait });
  }

  /** One message sent by a user, through any dialect, socket or REST. */
  message(userId: Id): Promise<void> {
    const { userMessagesPerSecond: r, userMessagesBurst: b } = this.config.rateLimits;
    return this.#take(`m:${userId}`, r, b);
  }

  /**
   * One write by a user that is not a message: a REST POST, PUT, PATCH or DELETE, or a socket
   * frame that changes stored state (a reaction, an edit, a read mark...), through any dialect:
   * one bucket, so five sockets write no faster than one REST client (RATE_REST_WRITES_*).
   */
  write(userId: Id): Promise<void> {
    const { restWritesPerSecond: r, restWritesBurst: b } = this.config.rateLimits;
    return this.#take(`w:${userId}`, r, b);
  }

  /**
   * One REST read (GET) by a user, through any dialect: a history page or a catch-up page
   * costs a query and rendering, and a client that asks in a loop should not take the
   * server's CPU from everyone else. Shared across processes through the limiter.
   */
  read(userId: Id): Promise<void> {
    const { userReadsPerSecond: r, userReadsBurst: b } = this.config.rateLimits;
    return this.#take(`r:${userId}`, r, b);
  }

  /** One report of a message: a burst of REPORTS_BURST, then one every REPORT_EVERY_SECONDS (against flooding the queue). */
  report(userId: Id): Promise<void> {
    return this.#take(`rep:${userId}`, 1 / REPORT_EVERY_SECONDS, REPORTS_BURST);
  }

  /** One frame on one connection; stays in this process (a connection lives in one). */
  /** Exports (issue 20): each streams a whole history, so a few a minute per user. */
  export(userId: Id): Promise<void> {
    const perMinute = this.config.retention.exportsPerMinute;
    return this.#take(`x:${userId}`, perMinute / 60, Math.max(1, Math.ceil(perMinute / 2)));
  }

  frame(connectionId: string): number | Promise<number> {
    const { connectionFramesPerSecond: r, connectionFramesBurst: b } = this.config.rateLimits;
    return r <= 0 ? 0 : this.limiter.take(`f:${connectionId}`, r, b);
  }
}
