import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConversationRef } from '../../src/core/events.js';
import type { Conversation, Id, Role, User, UserSummary } from '../../src/core/model.js';
import { StoreError, type SanctionKind, type Store } from '../../src/backends/store/store.js';

// The reads a CachedStore may cache (store.ts: conversationRef, memberRole, blocksBetween,
// userSummaries, sanctionsOf) and the writes that change them. Every store answers them as its rule says;
// a CachedStore must answer them the same after any sequence of changes.

const T0 = 1_000_000_000_000;
const ROLES: Role[] = ['admin', 'moderator', 'member'];

/** A tenant of four users, two groups (the first user their admin, the next two members, the last not in them) and a direct conversation of the first two. */
export interface CacheWorld {
  users: User[];
  groups: Conversation[];
  direct: Conversation;
}

export async function cacheWorld(store: Store): Promise<CacheWorld> {
  const tenant = await store.ensureTenant(randomUUID(), 'cache');
  const users: User[] = [];
  for (let i = 0; i < 4; i++) users.push(await store.createUser({ tenantId: tenant.id, email: `c${i}-${randomUUID().slice(0, 8)}@example.com`, name: `Cache ${i}` }));
  const group = (title: string) =>
    store.createConversation(
      { tenantId: tenant.id, kind: 'group', title, createdBy: users[0].id, participants: [{ userId: users[0].id, role: 'admin' }, ...[users[1], users[2]].map((u) => ({ userId: u.id, role: 'member' as Role }))] },
      T0,
    );
  const groups = [await group('g0'), await group('g1')];
  const direct = await store.createConversation(
    { tenantId: tenant.id, kind: 'direct', title: null, createdBy: users[0].id, participants: [{ userId: users[0].id, role: 'member' }, { userId: users[1].id, role: 'member' }] },
    T0,
  );
  return { users, groups, direct };
}

/** One change of what the cacheable reads answer; users and groups by index into the world. */
export type CacheChangeOp =
  | { op: 'add'; group: number; user: number; role: Role }
  | { op: 'remove'; group: number; user: number }
  | { op: 'setRole'; group: number; user: number; role: Role }
  | { op: 'delete'; group: number }
  | { op: 'block' | 'unblock'; user: number; other: number }
  | { op: 'sanction'; group: number; user: number; kind: SanctionKind; lapses: boolean }
  | { op: 'lift'; group: number; user: number; kind: SanctionKind };

/** A sanction that lapses ends between the two times the reads ask at. */
const LAPSES_AT = T0 + 1_000;
const ASKED_AT = [T0, T0 + 2_000];
const KINDS: SanctionKind[] = ['ban', 'mute'];

const user = fc.integer({ min: 0, max: 3 });
const group = fc.integer({ min: 0, max: 1 });
const role = fc.constantFrom(...ROLES);

export const cacheChangeOp: fc.Arbitrary<CacheChangeOp> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('add' as const), group, user, role }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('remove' as const), group, user }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('setRole' as const), group, user, role }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), group }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constantFrom('block' as const, 'unblock' as const), user, other: user }).filter((c) => c.user !== c.other), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('sanction' as const), group, user, kind: fc.constantFrom(...KINDS), lapses: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('lift' as const), group, user, kind: fc.constantFrom(...KINDS) }), weight: 2 },
);

/**
 * Makes the change through `store`; a refusal by the store's own rules (last_admin) is an
 * answer, not a failure. Resolves to what the call returned, or the refusal's code.
 */
export async function applyCacheChange(store: Store, w: CacheWorld, c: CacheChangeOp): Promise<unknown> {
  try {
    switch (c.op) {
      case 'add':
        return await store.addParticipants(w.groups[c.group].id, [{ userId: w.users[c.user].id, role: c.role }], T0);
      case 'remove':
        return await store.removeParticipant(w.groups[c.group].id, w.users[c.user].id, T0);
      case 'setRole':
        return await store.setRole(w.groups[c.group].id, w.users[c.user].id, c.role, T0);
      case 'delete':
        return await store.deleteConversation(w.groups[c.group].id, T0);
      case 'block':
        return await store.block(w.users[c.user].id, w.users[c.other].id, T0);
      case 'unblock':
        return await store.unblock(w.users[c.user].id, w.users[c.other].id);
      case 'sanction':
        return await store.putSanction({
          conversationId: w.groups[c.group].id,
          userId: w.users[c.user].id,
          kind: c.kind,
          reason: null,
          until: c.lapses ? LAPSES_AT : null,
          createdBy: w.users[0].id,
          createdAt: T0,
        });
      case 'lift':
        return await store.liftSanction(w.groups[c.group].id, w.users[c.user].id, c.kind, T0);
    }
  } catch (e) {
    if (e instanceof StoreError) return e.code;
    throw e;
  }
}

/** Everything the cacheable reads answer about the world, in a form `toEqual` compares. */
export interface CacheableAnswers {
  roles: (Role | null)[][];
  blocks: string[][];
  refs: (ConversationRef | undefined)[];
  summaries: [Id, UserSummary][];
  /** Per group, user and time asked: the kinds in force, sorted. */
  sanctions: string[][][][];
}

export async function readCacheable(store: Store, w: CacheWorld): Promise<CacheableAnswers> {
  const roles = await Promise.all(w.groups.map((g) => Promise.all(w.users.map(async (u) => (await store.memberRole(g.id, u.id)) ?? null))));
  const blocks: string[][] = [];
  for (let i = 0; i < w.users.length; i++) {
    for (let j = i + 1; j < w.users.length; j++) {
      const rows = await store.blocksBetween(w.users[i].id, w.users[j].id);
      blocks.push(rows.map((r) => `${r.blocker}>${r.blocked}`).sort());
    }
  }
  const conversations = [...w.groups, w.direct];
  const refs = [...(await Promise.all(conversations.map((c) => store.conversationRef(c.id)))), ...(await Promise.all(conversations.map((c) => store.conversationRef(c.uuid))))];
  const summaries = [...(await store.userSummaries(w.users.map((u) => u.id)))].sort((a, b) => a[0] - b[0]);
  const sanctions = await Promise.all(
    w.groups.map((g) => Promise.all(w.users.map((u) => Promise.all(ASKED_AT.map(async (now) => (await store.sanctionsOf(g.id, u.id, now)).map((x) => x.kind).sort()))))),
  );
  return { roles, blocks, refs, summaries, sanctions };
}

/** The simplest account of the rules behind the cacheable reads: what each change leaves and returns. */
export class CacheModel {
  readonly roles: Map<Id, Role>[];
  readonly deleted = new Set<number>();
  readonly blocks = new Set<string>();
  readonly refs: ConversationRef[];
  readonly summaries: [Id, UserSummary][];
  /** `group:user:kind` → until (null: until lifted). */
  readonly sanctions = new Map<string, number | null>();

  constructor(readonly w: CacheWorld) {
    this.roles = w.groups.map(() => new Map<Id, Role>([[w.users[0].id, 'admin'], [w.users[1].id, 'member'], [w.users[2].id, 'member']]));
    const summary = (u: User): UserSummary => ({ id: u.id, uuid: u.uuid, name: u.name, email: u.email, avatarUrl: u.avatarUrl });
    const ref = (c: Conversation): ConversationRef => ({
      id: c.id,
      uuid: c.uuid,
      tenantId: c.tenantId,
      kind: c.kind,
      pair: c.kind === 'direct' ? [summary(w.users[0]), summary(w.users[1])] : null,
    });
    this.refs = [...w.groups, w.direct].map(ref);
    this.summaries = w.users.map((u) => [u.id, summary(u)]);
  }

  apply(c: CacheChangeOp): unknown {
    if (c.op === 'sanction' || c.op === 'lift') {
      const key = `${c.group}:${c.user}:${c.kind}`;
      if (c.op === 'sanction') return void this.sanctions.set(key, c.lapses ? LAPSES_AT : null);
      const until = this.sanctions.get(key);
      const inForce = until === null || (until !== undefined && until > T0);
      if (inForce) this.sanctions.delete(key);
      return inForce;
    }
    if ('other' in c) {
      const key = `${this.w.users[c.user].id}>${this.w.users[c.other].id}`;
      const had = this.blocks.has(key);
      if (c.op === 'block') this.blocks.add(key);
      else this.blocks.delete(key);
      return c.op === 'block' ? !had : had;
    }
    if (c.op === 'delete') {
      this.deleted.add(c.group);
      return undefined;
    }
    const roles = this.roles[c.group];
    const id = this.w.users[c.user].id;
    const current = roles.get(id);
    const admins = [...roles.values()].filter((r) => r === 'admin').length;
    if (c.op === 'add') {
      if (current) return [];
      roles.set(id, c.role);
      return [id];
    }
    if (!current) return false;
    if (c.op === 'remove') {
      if (current === 'admin' && admins === 1 && roles.size > 1) return 'last_admin';
      roles.delete(id);
      return true;
    }
    if (current === 'admin' && c.role !== 'admin' && admins === 1) return 'last_admin';
    roles.set(id, c.role);
    return true;
  }

  answers(): CacheableAnswers {
    const ids = this.w.users.map((u) => u.id);
    const blocks: string[][] = [];
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) blocks.push([`${ids[i]}>${ids[j]}`, `${ids[j]}>${ids[i]}`].filter((k) => this.blocks.has(k)).sort());
    }
    return {
      roles: this.roles.map((roles, g) => ids.map((id) => (this.deleted.has(g) ? null : (roles.get(id) ?? null)))),
      blocks,
      refs: [...this.refs, ...this.refs],
      summaries: this.summaries,
      sanctions: this.w.groups.map((_, g) =>
        this.w.users.map((_, u) =>
          ASKED_AT.map((now) =>
            KINDS.filter((k) => {
              const until = this.sanctions.get(`${g}:${u}:${k}`);
              return until === null || (until !== undefined && until > now);
            }),
          ),
        ),
      ),
    };
  }
}

/** What every Store answers through its cacheable reads (a CachedStore included: the same, after any changes). */
export function cacheableReadsContract(get: () => Store): void {
  describe('cacheable reads (conversationRef, memberRole, blocksBetween, userSummaries, sanctionsOf)', () => {
    it('conversationRef: by id or uuid, a direct pair by user id, deleted or not; nothing for an unknown key', async () => {
      const s = get();
      const w = await cacheWorld(s);
      const model = new CacheModel(w);
      const ref = await s.conversationRef(w.direct.uuid);
      expect(ref).toEqual(model.refs[2]);
      expect(ref!.pair!.map((u) => u.id)).toEqual([w.users[0].id, w.users[1].id].sort((a, b) => a - b));
      await s.deleteConversation(w.groups[0].id, T0);
      expect(await s.conversationById(w.groups[0].id)).toBeUndefined();
      expect(await s.conversationRef(w.groups[0].id)).toEqual(model.refs[0]);
      expect(await s.conversationRef(2 ** 40)).toBeUndefined();
      expect(await s.conversationRef(randomUUID())).toBeUndefined();
    });

    it('memberRole: the role of a current participant of a live conversation only', async () => {
      const s = get();
      const w = await cacheWorld(s);
      const [g] = w.groups;
      const [a, b, , outsider] = w.users;
      expect(await s.memberRole(g.id, a.id)).toBe('admin');
      expect(await s.memberRole(g.id, outsider.id)).toBeUndefined();
      expect(await s.setRole(g.id, b.id, 'moderator', T0)).toBe(true);
      expect(await s.memberRole(g.id, b.id)).toBe('moderator');
      expect(await s.removeParticipant(g.id, b.id, T0)).toBe(true);
      expect(await s.memberRole(g.id, b.id)).toBeUndefined();
      expect(await s.addParticipants(g.id, [{ userId: b.id, role: 'member' }], T0)).toEqual([b.id]);
      expect(await s.memberRole(g.id, b.id)).toBe('member');
      await s.deleteConversation(g.id, T0);
      expect(await s.memberRole(g.id, a.id)).toBeUndefined();
      expect(await s.participant(g.id, a.id)).toBeDefined();
    });

    it('after any sequence of changes each read answers as the rules say (a read before every change, so a cache holds the old answer)', async () => {
      const s = get();
      await fc.assert(
        fc.asyncProperty(fc.array(cacheChangeOp, { minLength: 1, maxLength: 20 }), async (changes) => {
          const w = await cacheWorld(s);
          const model = new CacheModel(w);
          for (const c of changes) {
            expect(await readCacheable(s, w)).toEqual(model.answers());
            // A deleted group takes no more membership changes in the product.
            if ('group' in c && model.deleted.has(c.group)) continue;
            expect(await applyCacheChange(s, w, c)).toEqual(model.apply(c));
          }
          expect(await readCacheable(s, w)).toEqual(model.answers());
        }),
        { seed: 16, numRuns: 12 },
      );
    });
  });
}
