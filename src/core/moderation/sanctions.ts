import type { SanctionKind, Store } from '../../backends/store/store.js';
import type { Id } from '../model.js';
import { refusal } from '../errors.js';

/**
 * The checks the other services make against bans and mutes (issue 20). A sanction is in
 * force while its `until` is null or later than now: at `until` it is lifted, with nothing to run.
 */
export class Sanctions {
  constructor(readonly store: Store) {}

  async inForce(conversationId: Id, userId: Id, kind: SanctionKind): Promise<boolean> {
    return (await this.store.sanctionsOf(conversationId, userId, Date.now())).some((s) => s.kind === kind);
  }

  /** A muted member reads but does not send, edit or react. */
  async refuseMuted(conversationId: Id, userId: Id): Promise<void> {
    if (await this.inForce(conversationId, userId, 'mute')) throw refusal('muted');
  }

  /** A banned user does not come back: neither by joining nor by being added (`as`: who is told). */
  async refuseBanned(conversationId: Id, userId: Id, as: 'self' | 'adder' = 'self'): Promise<void> {
    if (await this.inForce(conversationId, userId, 'ban')) throw refusal(as === 'self' ? 'banned' : 'user_banned');
  }
}
