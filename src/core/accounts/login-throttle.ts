import { createHash } from 'node:crypto';
import type { Config, ThrottleTier } from '../../config/config.js';
import type { RateLimiter } from '../../backends/ratelimit/rate-limiter.js';
import { DomainError, refusal } from '../errors.js';

/** A password check that was let through: `succeeded()` gives back what it counted as a failure. */
export interface LoginTicket {
  succeeded(): Promise<void>;
}

interface Bucket {
  key: string;
  tier: ThrottleTier;
}

const NOTHING: LoginTicket = { succeeded: async () => {} };

/**
 * Login throttling (issue 14 item 8) through the RateLimiter port, so every process on one
 * Redis counts together. Before a password is hashed, one token is taken from each bucket
 * that applies: every attempt per address, and failures per address and per account
 * (tenant + email, whether or not it exists, so the answer does not tell). A right password
 * gives its failure tokens back, so only failures use them up. A bucket without a token
 * refuses the attempt before any hashing: 429 with the wait.
 */
export class LoginThrottle {
  constructor(
    readonly limiter: RateLimiter,
    readonly config: Config['loginThrottle'],
  ) {}

  /** Counts one attempt on `account` from `address` (absent: not a network client), or throws rate_limited. */
  async begin(account: { tenantUuid: string | undefined; email: string }, address: string | undefined): Promise<LoginTicket> {
    const { accountFailures, addressFailures, addressAttempts } = this.config;
    if (address !== undefined) {
      for (const [i, tier] of addressAttempts.entries()) {
        const wait = await this.limiter.take(`login:try:${i}:${address}`, tier.perSecond, tier.burst);
        if (wait > 0) throw refused(wait);
      }
    }
    // Emails are kept out of Redis key names: a digest names the account.
    const who = createHash('sha256').update(`${account.tenantUuid ?? ''}\n${account.email}`).digest('base64url').slice(0, 24);
    const failures: Bucket[] = [
      ...(address === undefined ? [] : addressFailures.map((tier, i) => ({ key: `login:fail:ip:${i}:${address}`, tier }))),
      ...accountFailures.map((tier, i) => ({ key: `login:fail:acct:${i}:${who}`, tier })),
    ];
    if (failures.length === 0) return NOTHING;
    const taken: Bucket[] = [];
    for (const b of failures) {
      const wait = await this.limiter.take(b.key, b.tier.perSecond, b.tier.burst);
      if (wait > 0) {
        // This attempt is not made: what it took from the other buckets goes back.
        await this.#refund(taken);
        throw refused(wait);
      }
      taken.push(b);
    }
    return { succeeded: () => this.#refund(taken) };
  }

  async #refund(buckets: Bucket[]): Promise<void> {
    for (const b of buckets) await this.limiter.refund(b.key, b.tier.perSecond, b.tier.burst);
  }
}

function refused(waitMs: number): DomainError {
  return refusal('login_throttled', {}, { retryAfterMs: waitMs });
}
