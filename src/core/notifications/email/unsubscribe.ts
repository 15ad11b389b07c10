import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../errors.js';
import type { Id } from '../../model.js';
import type { EmailDigestStore } from './ports.js';

/**
 * The unsubscribe link of every e-mail: `/api/parley/email/unsubscribe?token=<user id>.<HMAC>`,
 * signed with the server's secret so nobody turns off another user's e-mail. It never
 * expires: a link in an old e-mail still works.
 */
export class EmailUnsubscribe {
  readonly #key: Buffer;

  constructor(
    private readonly store: Pick<EmailDigestStore, 'optOutOfEmail'>,
    secret: string,
    private readonly publicUrl: () => string,
  ) {
    this.#key = createHmac('sha256', secret).update('parley email unsubscribe').digest();
  }

  token(userId: Id): string {
    return `${userId}.${this.#mac(userId)}`;
  }

  url(userId: Id): string {
    return `${this.publicUrl()}/api/parley/email/unsubscribe?token=${this.token(userId)}`;
  }

  /** Turns e-mail off for the token's user; a token this server did not sign is refused. */
  async unsubscribe(token: string, at = Date.now()): Promise<void> {
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
    const userId = m ? Number(m[1]) : NaN;
    if (!m || !timingSafeEqual(Buffer.from(m[2]!), Buffer.from(this.#mac(userId)))) throw new DomainError('not_permitted');
    await this.store.optOutOfEmail(userId, at);
  }

  #mac(userId: Id): string {
    return createHmac('sha256', this.#key).update(String(userId)).digest('base64url');
  }
}
