import type { Store } from '../../backends/store/store.js';
import { DomainError, refusal } from '../errors.js';
import type { Friendship, Id, Millis, User, UserSummary } from '../model.js';
import type { Users } from '../users.js';

/**
 * Friend requests, the friendship policy that document 004's surfaces apply, and blocks.
 *
 * A block is one person's: `blocker` gets no direct message from `blocked` and sends none to
 * them (either way, so the blocker cannot be answered into a conversation they shut), is never
 * added to a group or channel by them, and their friendship ends. Only the blocker lifts it.
 */
export class Friends {
  constructor(
    readonly store: Store,
    readonly users: Users,
  ) {}

  /** Asks `other` to be friends; accepted at once when they had already asked. */
  async request(actor: User, otherRef: Id | string): Promise<'pending' | 'accepted'> {
    const other = await this.users.resolve(actor, otherRef);
    if (other.id === actor.id) throw refusal('befriend_self');
    if (await this.isBlocked(actor.id, other.id)) throw new DomainError('blocked');
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
    if (!row || row.status === 'blocked') throw refusal('friend_not_found');
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

  /**
   * The actor blocks `other`: their friendship (or request) ends, no direct message passes
   * between them and `other` cannot add the actor anywhere, on every dialect and process,
   * from the moment this resolves. Blocking again changes nothing.
   */
  async block(actor: User, otherRef: Id | string): Promise<UserSummary> {
    const other = await this.users.resolve(actor, otherRef);
    if (other.id === actor.id) throw refusal('block_self');
    await this.store.block(actor.id, other.id, Date.now());
    return { id: other.id, uuid: other.uuid, name: other.name, email: other.email, avatarUrl: other.avatarUrl };
  }

  /** Lifts the actor's own block of `other` (a friendship is not restored); `user_not_found` when there was none. */
  async unblock(actor: User, otherRef: Id | string): Promise<void> {
    const other = await this.users.resolve(actor, otherRef);
    if (!(await this.store.unblock(actor.id, other.id))) throw refusal('block_not_found');
  }

  /** The people the actor blocks, newest first. */
  async blocked(actor: User): Promise<{ user: UserSummary; since: Millis }[]> {
    const rows = await this.store.blocksBy(actor.id);
    const users = await this.store.userSummaries(rows.map((r) => r.userId));
    return rows.filter((r) => users.has(r.userId)).map((r) => ({ user: users.get(r.userId)!, since: r.at }));
  }

  /** Whether either of the two blocks the other: no direct messages between them. */
  async isBlocked(a: Id, b: Id): Promise<boolean> {
    if (a === b) return false;
    return (await this.store.blocksBetween(a, b)).length > 0;
  }

  /** Whether `blocker` blocks `blocked` (one way): `blocked` may not add them anywhere. */
  async blocks(blocker: Id, blocked: Id): Promise<boolean> {
    if (blocker === blocked) return false;
    return (await this.store.blocksBetween(blocker, blocked)).some((r) => r.blocker === blocker);
  }
}
