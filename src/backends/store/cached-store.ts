import type { CacheChange, ConversationRef } from '../../core/events.js';
import type { Id, Millis, Role, UserSummary } from '../../core/model.js';
import { StoreError, type AuditAppend, type CacheInvalidator, type Sanction, type SanctionKind, type Store } from './store.js';
import { TtlCache } from './ttl-cache.js';

/** One process, no bus: invalidating is telling the local listeners. */
export class LocalInvalidator implements CacheInvalidator {
  readonly #listeners: ((change: CacheChange) => void)[] = [];

  invalidate(change: CacheChange): Promise<void> {
    for (const l of this.#listeners) l(change);
    return Promise.resolve();
  }

  onInvalidate(listener: (change: CacheChange) => void): void {
    this.#listeners.push(listener);
  }
}

type Blocks = { blocker: Id; blocked: Id }[];

const pairKey = (a: Id, b: Id) => (a < b ? `${a}:${b}` : `${b}:${a}`);
const memberKey = (conversationId: Id, userId: Id) => `${conversationId}:${userId}`;

/** CachedStore answers every Store method: those it does not cache go to the store it wraps (see `forwardUncached`). */
export interface CachedStore extends Store {}

/**
 * A Store over another that caches what the send path asks on every message — a conversation's
 * reference, a member's role, the blocks of a pair — and user summaries, so a send costs no
 * query for them. Only reads whose rule (store.ts) allows it are cached: the immutable ones
 * (`conversationRef`, `userSummaries`) as long as the TTL, the changing ones (`memberRole`,
 * `blocksBetween`) until a change evicts them. Every write that changes them goes through here,
 * evicts them in this process and awaits `invalidator.invalidate` (every other process evicts on
 * the bus's control channel) before it resolves. The TTLs only bound what an invalidation lost
 * with the bus could leave (the bus then announces `all` once it is back).
 */
export class CachedStore implements Store {
  readonly #refs = new TtlCache<Id, ConversationRef>(600_000, 100_000);
  readonly #idByUuid = new TtlCache<string, Id>(600_000, 100_000);
  readonly #summaries = new TtlCache<Id, UserSummary>(60_000, 100_000);
  readonly #roles = new TtlCache<string, Role>(5_000, 100_000);
  readonly #blocks = new TtlCache<string, Blocks>(30_000, 100_000);
  readonly #archived = new TtlCache<Id, Millis | null>(30_000, 100_000);
  /** A member's bans and mutes, lapsed ones too: which are in force is decided at each read's `now`. */
  readonly #sanctions = new TtlCache<string, Sanction[]>(30_000, 100_000);
  /**
   * Bumped by every eviction: a read that started before one does not keep what it read (it may
   * have read the database before the change committed).
   */
  #generation = 0;

  constructor(
    readonly inner: Store,
    readonly invalidator: CacheInvalidator = new LocalInvalidator(),
  ) {
    forwardUncached(this, inner);
    invalidator.onInvalidate((change) => this.#forget(change));
  }

  get dialect(): Store['dialect'] {
    return this.inner.dialect;
  }

  get appendPipeline(): number {
    return this.inner.appendPipeline;
  }

  get appendsInCallOrder(): boolean {
    return this.inner.appendsInCallOrder;
  }

  #forget(change: CacheChange): void {
    this.#generation++;
    switch (change.scope) {
      case 'member':
        this.#roles.delete(memberKey(change.conversationId, change.userId));
        this.#sanctions.delete(memberKey(change.conversationId, change.userId));
        break;
      case 'conversation':
        // Every role in it; deletes are rare, so the whole map.
        this.#roles.clear();
        this.#archived.delete(change.conversationId);
        break;
      case 'block':
        this.#blocks.delete(pairKey(change.userIds[0], change.userIds[1]));
        break;
      case 'user':
        this.#summaries.delete(change.userId);
        break;
      case 'all':
        this.#roles.clear();
        this.#blocks.clear();
        this.#summaries.clear();
        this.#refs.clear();
        this.#archived.clear();
        this.#sanctions.clear();
        break;
    }
  }

  /** Reads `key` from `cache`, else from the store, keeping what it read unless an eviction came meanwhile. */
  async #cached<K, V>(cache: TtlCache<K, V>, key: K, read: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const generation = this.#generation;
    const value = await read();
    if (value !== undefined && generation === this.#generation) cache.set(key, value);
    return value;
  }

  /**
   * Runs a write, then evicts what it made stale in every process before resolving: `stale` of
   * its result; when it threw, `maybe` (it may have committed), unless the store refused it.
   */
  async #write<T>(write: Promise<T>, stale: (result: T) => CacheChange[], maybe: CacheChange[]): Promise<T> {
    let result: T;
    try {
      result = await write;
    } catch (e) {
      if (!(e instanceof StoreError)) await this.#evict(maybe);
      throw e;
    }
    await this.#evict(stale(result));
    return result;
  }

  async #evict(changes: CacheChange[]): Promise<void> {
    await Promise.all(changes.map((c) => this.invalidator.invalidate(c)));
  }

  async conversationRef(key: Id | string): Promise<ConversationRef | undefined> {
    const id = typeof key === 'number' ? key : this.#idByUuid.get(key);
    const hit = id === undefined ? undefined : this.#refs.get(id);
    if (hit) return hit;
    // Immutable: nothing evicts it, so no generation to check.
    const ref = await this.inner.conversationRef(key);
    if (ref) {
      this.#refs.set(ref.id, ref);
      this.#idByUuid.set(ref.uuid, ref.id);
    }
    return ref;
  }

  memberRole(conversationId: Id, userId: Id): Promise<Role | undefined> {
    return this.#cached(this.#roles, memberKey(conversationId, userId), () => this.inner.memberRole(conversationId, userId));
  }

  async blocksBetween(a: Id, b: Id): Promise<Blocks> {
    const rows = await this.#cached(this.#blocks, pairKey(a, b), () => this.inner.blocksBetween(a, b));
    return [...rows!];
  }

  async userSummaries(ids: readonly Id[]): Promise<Map<Id, UserSummary>> {
    const out = new Map<Id, UserSummary>();
    const missing: Id[] = [];
    for (const id of ids) {
      const hit = this.#summaries.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const generation = this.#generation;
      for (const [id, s] of await this.inner.userSummaries(missing)) {
        if (generation === this.#generation) this.#summaries.set(id, s);
        out.set(id, s);
      }
    }
    return out;
  }

  addParticipants(conversationId: Id, participants: readonly { userId: Id; role: Role }[], at: Millis, opts?: Parameters<Store['addParticipants']>[3]): Promise<Id[]> {
    const change = (userId: Id): CacheChange => ({ scope: 'member', conversationId, userId });
    return this.#write(
      this.inner.addParticipants(conversationId, participants, at, opts),
      (added) => added.map(change),
      participants.map((p) => change(p.userId)),
    );
  }

  removeParticipant(conversationId: Id, userId: Id, at: Millis): Promise<boolean> {
    const change: CacheChange = { scope: 'member', conversationId, userId };
    return this.#write(this.inner.removeParticipant(conversationId, userId, at), (removed) => (removed ? [change] : []), [change]);
  }

  setRole(conversationId: Id, userId: Id, role: Role, at: Millis): Promise<boolean> {
    const change: CacheChange = { scope: 'member', conversationId, userId };
    return this.#write(this.inner.setRole(conversationId, userId, role, at), (changed) => (changed ? [change] : []), [change]);
  }

  deleteConversation(conversationId: Id, at: Millis): Promise<void> {
    const change: CacheChange = { scope: 'conversation', conversationId };
    return this.#write(this.inner.deleteConversation(conversationId, at), () => [change], [change]);
  }

  block(blocker: Id, blocked: Id, at: Millis): Promise<boolean> {
    const change: CacheChange = { scope: 'block', userIds: [blocker, blocked] };
    return this.#write(this.inner.block(blocker, blocked, at), (added) => (added ? [change] : []), [change]);
  }

  conversationArchivedAt(conversationId: Id): Promise<Millis | null> {
    return this.#cached(this.#archived, conversationId, () => this.inner.conversationArchivedAt(conversationId)) as Promise<Millis | null>;
  }

  setConversationArchived(conversationId: Id, at: Millis | null): Promise<boolean> {
    const change: CacheChange = { scope: 'conversation', conversationId };
    return this.#write(this.inner.setConversationArchived(conversationId, at), () => [change], [change]);
  }

  /** Every send, edit and reaction asks whether its sender is muted: a cached read, evicted by a ban, mute or lift. */
  async sanctionsOf(conversationId: Id, userId: Id, now: Millis): Promise<Sanction[]> {
    const every = await this.#cached(this.#sanctions, memberKey(conversationId, userId), () => this.inner.sanctionsOf(conversationId, userId, Number.MIN_SAFE_INTEGER));
    return (every ?? []).filter((s) => s.until === null || s.until > now);
  }

  putSanction(sanction: Sanction): Promise<void> {
    const change: CacheChange = { scope: 'member', conversationId: sanction.conversationId, userId: sanction.userId };
    return this.#write(this.inner.putSanction(sanction), () => [change], [change]);
  }

  liftSanction(conversationId: Id, userId: Id, kind: SanctionKind, now: Millis): Promise<boolean> {
    const change: CacheChange = { scope: 'member', conversationId, userId };
    return this.#write(this.inner.liftSanction(conversationId, userId, kind, now), (lifted) => (lifted ? [change] : []), [change]);
  }

  /**
   * The write runs on a CachedStore over the transaction whose evictions are held back and made
   * here once it settled: evicted before the commit, a read meanwhile could cache what the
   * commit is about to change.
   */
  async audited<T>(write: (tx: Store) => Promise<T>, audit: (result: T) => AuditAppend | readonly AuditAppend[] | null): Promise<T> {
    const changes: CacheChange[] = [];
    const held: CacheInvalidator = { invalidate: async (c) => void changes.push(c), onInvalidate: () => {} };
    try {
      return await this.inner.audited((tx) => write(new CachedStore(tx, held)), audit);
    } finally {
      await this.#evict(changes);
    }
  }

  /** The user's summary is read anew everywhere: their name and e-mail are gone. */
  eraseProfile(userId: Id, at: Millis): Promise<number | 'last_admin' | undefined> {
    const change: CacheChange = { scope: 'user', userId };
    return this.#write(this.inner.eraseProfile(userId, at), (r) => (typeof r === 'number' ? [change] : []), [change]);
  }

  unblock(blocker: Id, blocked: Id): Promise<boolean> {
    const change: CacheChange = { scope: 'block', userIds: [blocker, blocked] };
    return this.#write(this.inner.unblock(blocker, blocked), (lifted) => (lifted ? [change] : []), [change]);
  }
}

/**
 * Puts on `cached` every method of `inner` that CachedStore does not answer itself, calling
 * `inner`'s at each call (so a method replaced on `inner` later is the one that runs).
 */
function forwardUncached(cached: CachedStore, inner: Store): void {
  const target = cached as unknown as Record<string, unknown>;
  const source = inner as unknown as Record<string, (...args: unknown[]) => unknown>;
  const answered = new Set(Object.getOwnPropertyNames(CachedStore.prototype));
  for (let o: object | null = inner; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (answered.has(name) || name in target) continue;
      if (typeof Object.getOwnPropertyDescriptor(o, name)?.value !== 'function') continue;
      target[name] = (...args: unknown[]) => source[name](...args);
    }
  }
}
