import type { Store } from '../../backends/store/store.js';
import { DomainError } from '../errors.js';
import type { Friendship, Id, User } from '../model.js';
import type { Users } from '../users.js';

/** Friend requests and the friendship policy that document 004's surfaces apply. */
export class Friends {
  constructor(
    readonly store: Store,
    readonly users: Users,
  ) {}

  /** Asks `other` to be friends; accepted at once when they had already asked. */
  async request(actor: User, otherRef: Id | string): Promise<'pending' | 'accepted'> {
    const other = await this.users.resolve(actor, otherRef);
    if (other.id === actor.id) throw new DomainError('cannot_chat_with_self', 'You cannot befriend yourself');
    const row = await this.store.friendship(actor.id, other.id);
    if (row?.status === 'blocked') throw new DomainError('blocked');
    if (row?.status === 'accepted') return 'accepted';
    // Decided by the store in one statement: the other side may be asking this very moment.
    const status = await this.store.requestFriendship(actor.id, other.id, Date.now());
    if (status === 'blocked') throw new DomainError('blocked');
    return status;
  }

  async remove(actor: User, otherRef: Id | string): Promise<void> {
    const other = await this.users.resolve(actor, otherRef);
    const row = await this.store.friendship(actor.id, other.id);
    if (!row || row.status === 'blocked') throw new DomainError('user_not_found', 'Friend not found');
    await this.store.deleteFriendship(actor.id, other.id);
  }

  async list(actor: User): Promise<Friendship[]> {
    const rows = (await this.store.friendships(actor.id)).filter((r) => r.status !== 'blocked');
    const others = rows.map((r) => (r.userA === actor.id ? r.userB : r.userA));
    const summaries = await this.store.userSummaries(others);
    return rows.map((r, i) => ({
      user: summaries.get(others[i])!,
      status: r.status,
      incoming: r.status === 'pending' && r.requestedBy !== actor.id,
      since: r.updatedAt,
    }));
  }

  async areFriends(a: Id, b: Id): Promise<boolean> {
    return (await this.store.friendship(a, b))?.status === 'accepted';
  }

  /** Document 004's rule: only accepted friends message each other. */
  async requireFriends(a: Id, b: Id): Promise<void> {
    if (!(await this.areFriends(a, b))) throw new DomainError('not_friends');
  }

  async isBlocked(a: Id, b: Id): Promise<boolean> {
    return (await this.store.friendship(a, b))?.status === 'blocked';
  }
}
