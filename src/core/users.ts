import type { Store } from '../backends/store/store.js';
import { DomainError } from './errors.js';
import type { Id, User, UserSummary } from './model.js';

/** How every rendering names someone whose account is gone: one placeholder for every dialect. */
export const deletedUser = (id: Id): UserSummary => ({ id, uuid: '', name: 'Deleted user', email: '', avatarUrl: null });

/** User lookups scoped to the actor's tenant, and the summaries renderings name (cacheable: Store.userSummaries). */
export class Users {
  constructor(readonly store: Store) {}

  /** A user of the actor's tenant by integer id or uuid; anyone else is "not found". */
  async resolve(actor: User, ref: Id | string): Promise<User> {
    const user = typeof ref === 'number' ? await this.store.userById(ref) : await this.store.userByUuid(ref);
    if (!user || user.tenantId !== actor.tenantId) throw new DomainError('user_not_found');
    return user;
  }

  async search(actor: User, query: string, limit: number): Promise<UserSummary[]> {
    return this.store.searchUsers(actor.tenantId, query.trim(), Math.min(Math.max(limit, 1), 100), actor.id);
  }

  summaries(ids: readonly Id[]): Promise<Map<Id, UserSummary>> {
    return this.store.userSummaries(ids);
  }

  /** A summary for every id, a deleted account as `deletedUser`: what a rendering of messages names. */
  async named(ids: readonly Id[]): Promise<Map<Id, UserSummary>> {
    const found = await this.summaries(ids);
    for (const id of ids) if (!found.has(id)) found.set(id, deletedUser(id));
    return found;
  }

  async summary(id: Id): Promise<UserSummary> {
    const s = (await this.summaries([id])).get(id);
    if (!s) throw new DomainError('user_not_found');
    return s;
  }

  static summaryOf(u: User): UserSummary {
    return { id: u.id, uuid: u.uuid, name: u.name, email: u.email, avatarUrl: u.avatarUrl, ...(u.isBot ? { isBot: true } : {}) };
  }
}
