import { UNCOUNTED_MESSAGE } from '../../src/backends/store/sql/unread.js';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TENANT_UUID, type Conversation, type ConversationKind, type Id, type Message, type Tenant, type User } from '../../src/core/model.js';
import { directoryContract } from './directory.contract.js';
import { cacheableReadsContract } from './cacheable-reads.contract.js';
import { searchContract } from './search.contract.js';
import { auditContract, auditFields } from './audit.contract.js';
import { AUDIT_GENESIS } from '../../src/core/audit/ports.js';
import { auditHash } from '../../src/core/audit/audit.js';
import { outboxContract } from './outbox.contract.js';
import { isDeferred, UniqueViolation, type AppendResult, type NewAttachment, type NewInvite, type NewMessage, type Store } from '../../src/backends/store/store.js';

export interface StoreHandle {
  store: Store;
  close(): Promise<void>;
  /** Every SQL text the store ran, recorded by the factory (the "no OFFSET, no COUNT" sentence). */
  statements?: string[];
  /**
   * Runs `fn` and returns the database's plan for every statement it made the store run that
   * reads `messages` (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN with sequential scans
   * priced out, so a plan that still scans the table has no index to use).
   */
  plans?: (fn: () => Promise<unknown>) => Promise<{ sql: string; plan: string }[]>;
}

/** Two store instances on one database, as two processes would open them. */
export interface StorePairHandle {
  stores: [Store, Store];
  close(): Promise<void>;
}

/**
 * `appendMessages` again for what it deferred, until nothing is (what the message writer
 * does): the results in batch order. One store alone never defers; concurrent ones may.
 */
export async function appendAll(store: Store, batch: readonly NewMessage[]): Promise<AppendResult[]> {
  const out: AppendResult[] = new Array(batch.length);
  let todo = batch.map((_, i) => i);
  while (todo.length > 0) {
    const outcomes = await store.appendMessages(todo.map((i) => batch[i]));
    const next: number[] = [];
    outcomes.forEach((o, k) => (isDeferred(o) ? next.push(todo[k]) : (out[todo[k]] = o)));
    todo = next;
  }
  return out;
}

// Far from Date.now(), so a store that used its own clock instead of the caller's shows.
export const T0 = 1_000_000_000_000;

/** The helpers every store test needs; each test works in its own tenant. */
export function fixtures(get: () => Store) {
  let n = 0;
  const f = {
    async tenant(): Promise<Tenant> {
      const uuid = randomUUID();
      return get().ensureTenant(uuid, 'tenant ' + uuid.slice(0, 8));
    },
    async user(tenant: Tenant, email?: string): Promise<User> {
      n++;
      return get().createUser({ tenantId: tenant.id, email: email ?? `user${n}-${randomUUID().slice(0, 8)}@example.com`, name: `User ${n}` });
    },
    async users(tenant: Tenant, count: number): Promise<User[]> {
      const out: User[] = [];
      for (let i = 0; i < count; i++) out.push(await f.user(tenant));
      return out;
    },
    conversation(tenant: Tenant, kind: ConversationKind, members: User[], at = T0): Promise<Conversation> {
      return get().createConversation(
        {
          tenantId: tenant.id,
          kind,
          title: kind === 'direct' ? null : `${kind} ${++n}`,
          createdBy: members[0].id,
          participants: members.map((u, i) => ({ userId: u.id, role: i === 0 && kind !== 'direct' ? 'admin' : 'member' })),
        },
        at,
      );
    },
    msg(conversation: Conversation | Id, sender: User | Id, over: Partial<NewMessage> = {}): NewMessage {
      return {
        conversationId: typeof conversation === 'number' ? conversation : conversation.id,
        senderId: typeof sender === 'number' ? sender : sender.id,
        kind: 'text',
        content: `message ${++n}`,
        replyToId: null,
        clientId: null,
        attachments: [],
        createdAt: T0 + n,
        ...over,
      };
    },
    async send(conversation: Conversation | Id, sender: User | Id, over: Partial<NewMessage> = {}): Promise<Message> {
      const [r] = await appendAll(get(), [f.msg(conversation, sender, over)]);
      return r.message;
    },
    async conv(id: Id): Promise<Conversation> {
      const c = await get().conversationById(id);
      expect(c).toBeDefined();
      return c!;
    },
  };
  return f;
}

function attachment(i: number, over: Partial<NewAttachment> = {}): NewAttachment {
  return {
    kind: 'file',
    fileName: `file-${i}.pdf`,
    storedPath: `files/${i}.pdf`,
    size: 1000 + i,
    mimeType: 'application/pdf',
    durationSeconds: null,
    width: null,
    height: null,
    thumbnailPath: null,
    ...over,
  };
}

/**
 * Checks what concurrent appends must leave behind in each conversation: seqs 1..n with no
 * gap or duplicate, seq order inside each batch, last_seq/change_seq = n, and every returned
 * message stored under the seq it was given.
 */
async function expectGapless(store: Store, conversations: Conversation[], batches: NewMessage[][], results: AppendResult[][]) {
  for (let b = 0; b < batches.length; b++) {
    expect(results[b]).toHaveLength(batches[b].length);
    const lastInBatch = new Map<Id, number>();
    for (const r of results[b]) {
      if (!r.created) continue;
      const prev = lastInBatch.get(r.message.conversationId) ?? 0;
      expect(r.message.seq).toBeGreaterThan(prev);
      lastInBatch.set(r.message.conversationId, r.message.seq);
    }
  }
  const created = results.flat().filter((r) => r.created).map((r) => r.message);
  for (const c of conversations) {
    const mine = created.filter((m) => m.conversationId === c.id);
    const n = mine.length;
    expect(n).toBeGreaterThan(0);
    expect(mine.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(new Set(mine.map((m) => m.changeSeq)).size).toBe(n);
    const now = (await store.conversationById(c.id))!;
    expect(now.lastSeq).toBe(n);
    expect(now.changeSeq).toBe(n);
    const stored = await store.messagesBySeq(c.id, 1, n + 10);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: n }, (_, i) => n - i));
    const bySeq = new Map(stored.map((m) => [m.seq, m]));
    for (const m of mine) {
      expect(bySeq.get(m.seq)).toMatchObject({ id: m.id, content: m.content, changeSeq: m.changeSeq });
    }
    // Each sender's delivered and sent watermarks end on its own highest message, whatever the
    // commit order was; sending reads nothing.
    const top = new Map<Id, number>();
    for (const m of mine) top.set(m.senderId, Math.max(top.get(m.senderId) ?? 0, m.seq));
    for (const [userId, seq] of top) {
      expect(await store.participant(c.id, userId)).toMatchObject({ readSeq: 0, deliveredSeq: seq, sentSeq: seq });
    }
  }
}

/** 60 batches of 1–4 messages spread over the given conversations and senders. */
function concurrentBatches(f: ReturnType<typeof fixtures>, conversations: Conversation[], senders: User[], count = 60): NewMessage[][] {
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: 1 + (i % 4) }, (_, j) =>
      f.msg(conversations[(i + j) % conversations.length], senders[(i * 7 + j) % senders.length], { content: `b${i}m${j}` }),
    ),
  );
}

/** The Store contract (src/backends/store/store.ts) against one implementation. */
export function storeContract(make: () => Promise<StoreHandle>): void {
  let h: StoreHandle;
  let s: Store;
  const f = fixtures(() => s);

  beforeAll(async () => {
    h = await make();
    s = h.store;
  });
  afterAll(async () => {
    await h?.close();
  });

  cacheableReadsContract(() => s);
  auditContract(() => s);

  describe('tenants and users', () => {
    it('migrate() again is a no-op that keeps the data', async () => {
      const t = await f.tenant();
      const u = await f.user(t);
      await s.migrate();
      expect(await s.userById(u.id)).toEqual(u);
      expect((await s.defaultTenant()).uuid).toBe(DEFAULT_TENANT_UUID);
    });

    it('ensureTenant creates a tenant once and returns it afterwards', async () => {
      const uuid = randomUUID();
      const a = await s.ensureTenant(uuid, 'Acme');
      const b = await s.ensureTenant(uuid, 'Other name');
      expect(b).toEqual(a);
      expect(a).toMatchObject({ uuid, name: 'Acme' });
      expect(typeof a.id).toBe('number');
      expect(await s.tenantById(a.id)).toEqual(a);
      expect(await s.tenantByUuid(uuid)).toEqual(a);
      expect(await s.tenantByUuid(randomUUID())).toBeUndefined();
    });

    it('setTenantNotifyContent: a tenant starts on the process default (null), takes full or none, and goes back to null; others keep theirs', async () => {
      const [a, b] = [await s.ensureTenant(randomUUID(), 'A'), await s.ensureTenant(randomUUID(), 'B')];
      expect(a.notifyContent).toBeNull();
      for (const content of ['none', 'full', null] as const) {
        await s.setTenantNotifyContent(a.id, content);
        expect((await s.tenantById(a.id))?.notifyContent).toBe(content);
        expect((await s.tenantById(b.id))?.notifyContent).toBeNull();
      }
    });

    it('finds users by id, uuid, email and external subject', async () => {
      const t = await f.tenant();
      const email = `find-${randomUUID()}@example.com`;
      const u = await s.createUser({
        tenantId: t.id,
        email,
        name: 'Finder',
        passwordHash: 'hash!',
        avatarUrl: 'http://x/a.png',
        externalIssuer: 'https://idp.example',
        externalSubject: 'sub-1',
      });
      expect(u).toMatchObject({ tenantId: t.id, tenantUuid: t.uuid, email, name: 'Finder', avatarUrl: 'http://x/a.png', tokenVersion: 0 });
      expect(typeof u.id).toBe('number');
      expect(await s.userById(u.id)).toEqual(u);
      expect(await s.userByUuid(u.uuid)).toEqual(u);
      // An identity provider's user is found by subject; userByEmail finds local accounts only.
      expect(await s.userByEmail(t.id, email)).toBeUndefined();
      expect(await s.userByExternalSubject(t.id, 'https://idp.example', 'sub-1')).toEqual(u);
      expect(await s.userByExternalSubject(t.id, 'https://other.example', 'sub-1')).toBeUndefined();
      expect(await s.passwordHash(u.id)).toBe('hash!');
      const summaries = await s.userSummaries([u.id, u.id]);
      expect([...summaries.values()]).toEqual([{ id: u.id, uuid: u.uuid, name: 'Finder', email, avatarUrl: 'http://x/a.png' }]);
    });

    it('createUser with a taken (tenant, email) throws UniqueViolation; the same email in another tenant works', async () => {
      const t1 = await f.tenant();
      const t2 = await f.tenant();
      const email = `taken-${randomUUID()}@example.com`;
      await f.user(t1, email);
      const err = await s.createUser({ tenantId: t1.id, email, name: 'Again' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UniqueViolation);
      expect((err as UniqueViolation).constraint).toBe('users_tenant_email');
      const other = await f.user(t2, email);
      expect(other).toMatchObject({ tenantId: t2.id, email });
      // The failed insert left nothing behind and did not break the store.
      expect((await s.userByEmail(t1.id, email))!.name).not.toBe('Again');
    });

    it('bumpTokenVersion increments the version and returns it', async () => {
      const u = await f.user(await f.tenant());
      expect(await s.bumpTokenVersion(u.id, T0)).toBe(1);
      expect(await s.bumpTokenVersion(u.id, T0)).toBe(2);
      expect((await s.userById(u.id))!.tokenVersion).toBe(2);
    });

    it('setLastSeen stores the caller clock', async () => {
      const u = await f.user(await f.tenant());
      await s.setLastSeen(u.id, T0 + 42);
      expect((await s.userById(u.id))!.lastSeenAt).toBe(T0 + 42);
    });

    it('searchUsers: per tenant, case-insensitive, without the caller, % and _ taken literally, by email', async () => {
      const t = await f.tenant();
      const other = await f.tenant();
      const tag = randomUUID().slice(0, 6);
      const caller = await f.user(t, `alice.caller-${tag}@example.com`);
      const alice = await f.user(t, `alice-${tag}@example.com`);
      const alicia = await f.user(t, `alicia-${tag}@example.com`);
      await f.user(t, `bob-${tag}@example.com`);
      const under = await f.user(t, `a_b-${tag}@example.com`);
      await f.user(t, `axb-${tag}@example.com`);
      const percent = await f.user(t, `p%q-${tag}@example.com`);
      await f.user(t, `pxq-${tag}@example.com`);
      await f.user(other, `alice-${tag}@example.com`);

      const emails = async (q: string, limit = 50) => (await s.searchUsers(t.id, q, limit, caller.id)).map((u) => u.email);
      expect(await emails(`ALI`)).toEqual([alice.email, alicia.email]);
      expect(await emails(`Alice-${tag.toUpperCase()}`)).toEqual([alice.email]);
      expect(await emails('_')).toEqual([under.email]);
      expect(await emails('a_b')).toEqual([under.email]);
      expect(await emails('%')).toEqual([percent.email]);
      expect(await emails('p%q')).toEqual([percent.email]);
      expect(await emails('nobody-here')).toEqual([]);
      expect(await emails(tag, 3)).toHaveLength(3);
      const all = await emails(tag);
      expect(all).toHaveLength(7);
      // Ordered by email; punctuation is left out of the check as collations place it differently.
      const plain = all.filter((e) => !/[%_]/.test(e));
      expect(plain).toEqual([...plain].sort());
      expect(all).not.toContain(caller.email);
      const hit = (await s.searchUsers(t.id, 'alicia', 5, caller.id))[0];
      expect(hit).toEqual({ id: alicia.id, uuid: alicia.uuid, name: alicia.name, email: alicia.email, avatarUrl: null });
    });
  });

  describe('bots, API keys, incoming webhooks (issue 19)', () => {
    const digest = () => randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
    const bot = (t: Tenant) => s.createUser({ tenantId: t.id, email: `bot-${randomUUID()}@bots.invalid`, name: 'Bot', isBot: true });

    it('a bot is a user marked as one, in its summaries too, and never its new tenant\'s admin by default', async () => {
      const t = await f.tenant();
      const b = await bot(t);
      expect(b).toMatchObject({ isBot: true, tenantRole: 'member' });
      expect((await s.userById(b.id))!.isBot).toBe(true);
      expect((await s.userSummaries([b.id])).get(b.id)).toMatchObject({ isBot: true });
      const [person] = await f.users(t, 1);
      expect(person.isBot).toBe(false);
      expect((await s.userSummaries([person.id])).get(person.id)!.isBot).toBeUndefined();
    });

    it('API keys: created, found by digest, listed newest first per tenant, revoked once, touched at most once per interval', async () => {
      const t = await f.tenant();
      const b = await bot(t);
      const hash = digest();
      const a = await s.createApiKey({ tenantId: t.id, botUserId: b.id, name: 'a', scopes: ['read', 'write'], secretHash: hash, createdBy: null, createdAt: T0 });
      const c = await s.createApiKey({ tenantId: t.id, botUserId: b.id, name: 'c', scopes: ['admin'], secretHash: digest(), createdBy: null, createdAt: T0 + 1 });
      expect(a).toMatchObject({ tenantId: t.id, botUserId: b.id, name: 'a', scopes: ['read', 'write'], createdAt: T0, lastUsedAt: null, revokedAt: null });
      expect(await s.apiKeyBySecretHash(hash)).toMatchObject({ uuid: a.uuid, secretHash: hash });
      expect(await s.apiKeyBySecretHash(digest())).toBeUndefined();
      expect((await s.apiKeys(t.id, 10)).map((k) => k.uuid)).toEqual([c.uuid, a.uuid]);
      expect(await s.apiKeys((await f.tenant()).id, 10)).toEqual([]);
      await s.touchApiKey(a.id, T0 + 100, T0 + 40);
      await s.touchApiKey(a.id, T0 + 120, T0 + 60); // last use T0 + 100 is after T0 + 60: kept
      expect((await s.apiKeyBySecretHash(hash))!.lastUsedAt).toBe(T0 + 100);
      await s.touchApiKey(a.id, T0 + 200, T0 + 140);
      expect((await s.apiKeyBySecretHash(hash))!.lastUsedAt).toBe(T0 + 200);
      expect(await s.revokeApiKey((await f.tenant()).id, a.uuid, T0 + 5)).toBeUndefined();
      expect(await s.revokeApiKey(t.id, a.uuid, T0 + 5)).toMatchObject({ uuid: a.uuid, revokedAt: T0 + 5 });
      expect(await s.revokeApiKey(t.id, a.uuid, T0 + 9)).toMatchObject({ revokedAt: T0 + 5 });
      expect((await s.apiKeyBySecretHash(hash))!.revokedAt).toBe(T0 + 5);
    });

    it('incoming webhooks: created, found by uuid, listed per conversation, revoked once', async () => {
      const t = await f.tenant();
      const [owner] = await f.users(t, 1);
      const b = await bot(t);
      const conv = await f.conversation(t, 'group', [owner, b]);
      const hash = digest();
      const h = await s.createIncomingWebhook({ tenantId: t.id, conversationId: conv.id, botUserId: b.id, name: 'CI', secretHash: hash, createdBy: owner.id, createdAt: T0 });
      expect(h).toMatchObject({ conversationId: conv.id, botUserId: b.id, name: 'CI', createdBy: owner.id, revokedAt: null });
      expect(await s.incomingWebhookByUuid(h.uuid)).toMatchObject({ id: h.id, secretHash: hash });
      expect(await s.incomingWebhookByUuid(randomUUID())).toBeUndefined();
      expect((await s.incomingWebhooks(conv.id, 10)).map((x) => x.uuid)).toEqual([h.uuid]);
      expect(await s.revokeIncomingWebhook(conv.id + 1_000_000, h.uuid, T0 + 1)).toBeUndefined();
      expect(await s.revokeIncomingWebhook(conv.id, h.uuid, T0 + 1)).toMatchObject({ revokedAt: T0 + 1 });
      expect(await s.revokeIncomingWebhook(conv.id, h.uuid, T0 + 2)).toMatchObject({ revokedAt: T0 + 1 });
    });
  });

  describe('tenant roles, local e-mails, invites (issue 14)', () => {
    const digest = () => randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
    const invite = (t: Tenant, over: Partial<NewInvite> = {}): NewInvite => ({
      tenantId: t.id,
      codeHash: digest(),
      email: null,
      createdBy: null,
      createdAt: T0,
      expiresAt: T0 + 60_000,
      ...over,
    });
    const newUser = (t: Tenant, email = `inv-${randomUUID()}@example.com`) => ({ tenantId: t.id, email, name: 'Invited', passwordHash: 'h' });

    it("a tenant's first user is its admin, later ones members, unless a role is given", async () => {
      const t = await f.tenant();
      const [first, second] = await f.users(t, 2);
      expect(first.tenantRole).toBe('admin');
      expect(second.tenantRole).toBe('member');
      expect((await s.userById(first.id))!.tenantRole).toBe('admin');
      const named = await s.createUser({ tenantId: t.id, email: `adm-${randomUUID()}@example.com`, name: 'Made admin', tenantRole: 'admin' });
      expect(named.tenantRole).toBe('admin');
      const t2 = await f.tenant();
      expect((await s.createUser({ tenantId: t2.id, email: `m-${randomUUID()}@example.com`, name: 'Member first', tenantRole: 'member' })).tenantRole).toBe('member');
    });

    it('of users created at once in a new tenant, exactly one is its admin', async () => {
      const t = await f.tenant();
      const users = await Promise.all(Array.from({ length: 8 }, (_, i) => s.createUser({ tenantId: t.id, email: `race${i}-${randomUUID()}@example.com`, name: `R${i}` })));
      expect(users.filter((u) => u.tenantRole === 'admin')).toHaveLength(1);
    });

    it('createTenant creates once: a second call, or a concurrent one, gets undefined', async () => {
      const uuid = randomUUID();
      const results = await Promise.all(Array.from({ length: 5 }, () => s.createTenant(uuid, 'Race')));
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      expect(results.find((r) => r !== undefined)).toMatchObject({ uuid, name: 'Race' });
      expect(await s.createTenant(uuid, 'Again')).toBeUndefined();
    });

    it("e-mail uniqueness binds local accounts only: an identity provider's user may share a local account's e-mail", async () => {
      const t = await f.tenant();
      const email = `bob-${randomUUID()}@acme.example`;
      const local = await s.createUser({ tenantId: t.id, email, name: 'Squatter', passwordHash: 'h' });
      const idp = await s.createUser({ tenantId: t.id, email, name: 'Bob', externalIssuer: 'https://idp.example', externalSubject: `bob-${randomUUID()}` });
      const idp2 = await s.createUser({ tenantId: t.id, email, name: 'Bob 2', externalIssuer: 'https://idp.example', externalSubject: `bob2-${randomUUID()}` });
      expect(new Set([local.id, idp.id, idp2.id]).size).toBe(3);
      expect(await s.userByEmail(t.id, email)).toEqual(local);
      const err = await s.createUser({ tenantId: t.id, email, name: 'Second local' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UniqueViolation);
      expect((err as UniqueViolation).constraint).toBe('users_tenant_email');
    });

    it('setPasswordHash replaces the hash and revokes tokens in one step', async () => {
      const u = await s.createUser({ tenantId: (await f.tenant()).id, email: `pw-${randomUUID()}@example.com`, name: 'P', passwordHash: 'old' });
      expect(await s.setPasswordHash(u.id, 'new', T0)).toBe(1);
      expect(await s.passwordHash(u.id)).toBe('new');
      expect((await s.userById(u.id))!.tokenVersion).toBe(1);
      expect(await s.setPasswordHash(987_654_321, 'x', T0)).toBeUndefined();
    });

    it('invites: created, found by digest, listed newest first, revoked once', async () => {
      const t = await f.tenant();
      const [admin] = await f.users(t, 1);
      const a = await s.createInvite(invite(t, { createdBy: admin.id, email: 'only@example.com' }));
      const b = await s.createInvite(invite(t, { createdAt: T0 + 1 }));
      expect(a).toMatchObject({ tenantId: t.id, tenantUuid: t.uuid, email: 'only@example.com', createdBy: admin.id, createdAt: T0, expiresAt: T0 + 60_000, usedAt: null, usedBy: null, revokedAt: null });
      expect(await s.inviteByCodeHash(digest())).toBeUndefined();
      expect((await s.invites(t.id, 10)).map((i) => i.uuid)).toEqual([b.uuid, a.uuid]);
      expect(await s.invites((await f.tenant()).id, 10)).toEqual([]);
      expect(await s.revokeInvite(t.id, a.uuid, T0 + 5)).toMatchObject({ uuid: a.uuid, revokedAt: T0 + 5 });
      expect(await s.revokeInvite(t.id, a.uuid, T0 + 9)).toMatchObject({ revokedAt: T0 + 5 });
      expect(await s.revokeInvite((await f.tenant()).id, b.uuid, T0 + 5)).toBeUndefined();
      expect((await s.invites(t.id, 10)).find((i) => i.uuid === b.uuid)!.revokedAt).toBeNull();
    });

    it('createUserWithInvite claims an invite once, only in its tenant, before expiry and revocation, for its e-mail', async () => {
      const t = await f.tenant();
      const other = await f.tenant();
      const ok = invite(t);
      await s.createInvite(ok);
      expect(await s.createUserWithInvite(newUser(other), ok.codeHash, T0 + 1)).toBeUndefined();
      expect(await s.createUserWithInvite(newUser(t), ok.codeHash, T0 + 60_000)).toBeUndefined();
      const u = await s.createUserWithInvite(newUser(t), ok.codeHash, T0 + 1);
      // The caller's time, the store's clock nowhere.
      expect(u).toMatchObject({ tenantId: t.id, tenantRole: 'admin', createdAt: T0 + 1 });
      expect(await s.inviteByCodeHash(ok.codeHash)).toMatchObject({ usedAt: T0 + 1, usedBy: u!.id });
      expect(await s.createUserWithInvite(newUser(t), ok.codeHash, T0 + 2)).toBeUndefined();

      const revoked = invite(t);
      const r = await s.createInvite(revoked);
      await s.revokeInvite(t.id, r.uuid, T0 + 3);
      expect(await s.createUserWithInvite(newUser(t), revoked.codeHash, T0 + 4)).toBeUndefined();

      const bound = invite(t, { email: 'carol@acme.example' });
      await s.createInvite(bound);
      expect(await s.createUserWithInvite(newUser(t, 'mallory@acme.example'), bound.codeHash, T0 + 5)).toBeUndefined();
      expect(await s.createUserWithInvite(newUser(t, 'carol@acme.example'), bound.codeHash, T0 + 5)).toMatchObject({ email: 'carol@acme.example', tenantRole: 'member' });
      // Nothing was written by the refused ones: the tenant has the two invited users only.
      expect((await s.userByEmail(t.id, 'mallory@acme.example'))).toBeUndefined();
    });

    it('a taken e-mail throws UniqueViolation and leaves the invite unused', async () => {
      const t = await f.tenant();
      const [taken] = await f.users(t, 1);
      const i = invite(t);
      await s.createInvite(i);
      const err = await s.createUserWithInvite(newUser(t, taken.email), i.codeHash, T0 + 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UniqueViolation);
      expect(await s.inviteByCodeHash(i.codeHash)).toMatchObject({ usedAt: null, usedBy: null });
      expect(await s.createUserWithInvite(newUser(t), i.codeHash, T0 + 1)).toBeDefined();
    });

    it('of many concurrent registrations with one invite, exactly one creates a user', async () => {
      const t = await f.tenant();
      const i = invite(t);
      await s.createInvite(i);
      const emails = Array.from({ length: 10 }, (_, k) => `c${k}-${randomUUID()}@example.com`);
      const results = await Promise.all(emails.map((e) => s.createUserWithInvite(newUser(t, e), i.codeHash, T0 + 1)));
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      for (const [k, e] of emails.entries()) expect(await s.userByEmail(t.id, e), e).toEqual(results[k]);
    });
  });

  describe('administration (issue 20)', () => {
    it('tenantUsers pages by id and searches e-mail and name; tenants page by id', async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      await f.user(await f.tenant());
      expect((await s.tenantUsers(t.id, { after: 0, limit: 2 })).map((u) => u.id)).toEqual([a.id, b.id]);
      expect((await s.tenantUsers(t.id, { after: b.id, limit: 2 })).map((u) => u.id)).toEqual([c.id]);
      expect((await s.tenantUsers(t.id, { after: 0, limit: 10, query: c.name.toUpperCase() })).map((u) => u.id)).toEqual([c.id]);
      expect((await s.tenantUsers(t.id, { after: 0, limit: 10, query: '%' })).map((u) => u.id)).toEqual([]);
      const page = await s.tenants(t.id - 1, 1);
      expect(page.map((x) => x.id)).toEqual([t.id]);
    });

    it('suspendUser revokes tokens, keeps the first suspension; reactivateUser lifts it; the last active admin is kept', async () => {
      const t = await f.tenant();
      const [admin, member] = await f.users(t, 2);
      expect(await s.suspendUser(admin.id, T0, 'x')).toBe('last_admin');
      expect((await s.userById(admin.id))!.suspendedAt).toBeNull();
      const v = await s.suspendUser(member.id, T0, 'spam');
      expect(v).toBe(member.tokenVersion + 1);
      expect(await s.suspendUser(member.id, T0 + 5, 'again')).toBe(member.tokenVersion + 2);
      expect((await s.userById(member.id))!.suspendedAt).toBe(T0);
      expect(await s.reactivateUser(member.id, T0)).toBe(true);
      expect(await s.reactivateUser(member.id, T0)).toBe(false);
      expect((await s.userById(member.id))!.suspendedAt).toBeNull();
      expect(await s.suspendUser(987_654_321, T0, null)).toBeUndefined();
    });

    it('setTenantRole keeps an active admin, also under concurrent demotions', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      expect(await s.setTenantRole(b.id, 'admin', T0)).toBe('changed');
      expect(await s.setTenantRole(b.id, 'admin', T0)).toBe('unchanged');
      const outcomes = await Promise.all([s.setTenantRole(a.id, 'member', T0), s.setTenantRole(b.id, 'member', T0)]);
      expect(outcomes.sort()).toEqual(['changed', 'last_admin']);
      const admins = (await s.tenantUsers(t.id, { after: 0, limit: 10 })).filter((u) => u.tenantRole === 'admin');
      expect(admins).toHaveLength(1);
    });

    it('operators, settings and archiving', async () => {
      const t = await f.tenant();
      const [a] = await f.users(t, 1);
      expect(await s.setOperator(a.id, true, T0)).toBe(true);
      expect((await s.userById(a.id))!.isOperator).toBe(true);
      expect(await s.tenantSettings(t.id)).toEqual({ registration: null, maxUploadBytes: null, retentionDays: null, allowedOrigins: null });
      await s.putTenantSettings(t.id, { retentionDays: 30, allowedOrigins: ['https://a.example'] }, T0);
      expect(await s.putTenantSettings(t.id, { registration: 'invite', retentionDays: undefined }, T0 + 1)).toEqual({
        registration: 'invite',
        maxUploadBytes: null,
        retentionDays: 30,
        allowedOrigins: ['https://a.example'],
      });
      // Whether any tenant lists an origin: the whole entry, not a part of another.
      const own = `https://t${t.id}.example`;
      expect(await s.originListed(own)).toBe(false);
      await s.putTenantSettings(t.id, { allowedOrigins: [`${own}.evil`, own] }, T0 + 2);
      expect(await s.originListed(own)).toBe(true);
      await s.putTenantSettings(t.id, { allowedOrigins: [`${own}.evil`] }, T0 + 3);
      expect(await s.originListed(own)).toBe(false);
      await s.putTenantSettings(t.id, { allowedOrigins: ['https://a.example'] }, T0 + 4);
      const c = await f.conversation(t, 'group', [a]);
      expect(await s.conversationArchivedAt(c.id)).toBeNull();
      expect(await s.setConversationArchived(c.id, T0)).toBe(true);
      expect(await s.conversationArchivedAt(c.id)).toBe(T0);
      expect((await s.tenantConversations(t.id, { after: 0, limit: 10 })).map((x) => [x.id, x.archivedAt])).toEqual([[c.id, T0]]);
      expect(await s.setConversationArchived(c.id, null)).toBe(true);
      expect(await s.conversationArchivedAt(c.id)).toBeNull();
    });

    it("erasure's steps: live messages and reactions to change, then the scrub and the profile", async () => {
      const t = await f.tenant();
      const [b, a] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [b, a]);
      const m1 = await f.send(c, a);
      const m2 = await f.send(c, b);
      await s.setReaction(m2.id, a.id, '👍', true, T0);
      await s.setReaction(m1.id, a.id, '🎉', true, T0);
      expect(await s.liveMessagesOf(a.id, 10)).toEqual([m1.id]);
      await s.deleteMessage(m1.id, T0 + 1);
      expect(await s.liveMessagesOf(a.id, 10)).toEqual([]);
      // A reaction on a deleted message is the scrub's, not a change.
      expect(await s.reactionsOf(a.id, 10)).toEqual([{ messageId: m2.id, emoji: '👍' }]);
      await s.setReaction(m2.id, a.id, '👍', false, T0 + 2);
      expect(await s.scrubErasedContent(a.id)).toEqual([]);
      expect((await s.messageById(m1.id))!.reactions).toEqual([]);
      const v = await s.eraseProfile(a.id, T0 + 3);
      expect(typeof v).toBe('number');
      const erased = (await s.userById(a.id))!;
      expect(erased).toMatchObject({ name: 'Deleted user', suspendedAt: T0 + 3, tokenVersion: v });
      expect(erased.email).not.toBe(a.email);
      expect(await s.passwordHash(a.id)).toBeNull();
      expect((await s.userSummaries([a.id])).get(a.id)!.name).toBe('Deleted user');
      expect(await s.reactivateUser(a.id, T0)).toBe(false);
      // The e-mail is free again.
      await s.createUser({ tenantId: t.id, email: a.email, name: 'New' });
    });
  });

  describe('friendships', () => {
    it('put/get/delete are symmetric for (a, b) and (b, a)', async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      expect(await s.friendship(a.id, b.id)).toBeUndefined();
      await s.putFriendship(b.id, a.id, 'pending', b.id, T0 + 1);
      const row = await s.friendship(a.id, b.id);
      expect(row).toEqual({ userA: a.id, userB: b.id, status: 'pending', requestedBy: b.id, createdAt: T0 + 1, updatedAt: T0 + 1 });
      expect(await s.friendship(b.id, a.id)).toEqual(row);

      await s.putFriendship(a.id, b.id, 'accepted', a.id, T0 + 2);
      expect(await s.friendship(b.id, a.id)).toEqual({ ...row, status: 'accepted', requestedBy: a.id, updatedAt: T0 + 2 });
      await s.putFriendship(c.id, a.id, 'blocked', c.id, T0 + 3);

      expect((await s.friendships(a.id)).map((r) => [r.userA, r.userB, r.status])).toEqual(
        [
          [Math.min(a.id, c.id), Math.max(a.id, c.id), 'blocked'],
          [a.id, b.id, 'accepted'],
        ],
      );
      expect(await s.friendships(b.id)).toHaveLength(1);

      expect(await s.deleteFriendship(b.id, a.id)).toBe(true);
      expect(await s.deleteFriendship(a.id, b.id)).toBe(false);
      expect(await s.friendship(a.id, b.id)).toBeUndefined();
      expect(await s.friendship(a.id, c.id)).toBeDefined();
    });
  });

  describe('conversations', () => {
    it('createConversation stores the caller clock and the participants with zero watermarks', async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      const g = await f.conversation(t, 'group', [a, b, c], T0 + 5);
      expect(g).toMatchObject({ tenantId: t.id, kind: 'group', createdBy: a.id, lastSeq: 0, changeSeq: 0, lastMessageAt: null, createdAt: T0 + 5, updatedAt: T0 + 5 });
      expect(await s.conversationByUuid(g.uuid)).toEqual(g);
      expect(await s.participant(g.id, a.id)).toEqual({ conversationId: g.id, userId: a.id, role: 'admin', joinedAt: T0 + 5, readSeq: 0, deliveredSeq: 0, sentSeq: 0, seenSeq: 0, readAt: null });
      expect(await s.participant(g.id, (await f.user(t)).id)).toBeUndefined();
      const members = await s.members([g.id]);
      expect(members.map((m) => m.user.id).sort()).toEqual([a.id, b.id, c.id].sort());
      expect(members.find((m) => m.user.id === b.id)).toMatchObject({ user: { email: b.email, name: b.name }, participant: { role: 'member' } });
    });

    it('createConversation of kind direct returns the existing conversation for the same pair, in either order', async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      const first = await f.conversation(t, 'direct', [a, b], T0 + 1);
      expect(await f.conversation(t, 'direct', [a, b], T0 + 2)).toEqual(first);
      expect(await f.conversation(t, 'direct', [b, a], T0 + 3)).toEqual(first);
      expect(await s.directConversation(t.id, b.id, a.id)).toEqual(first);
      const other = await f.conversation(t, 'direct', [a, c]);
      expect(other.id).not.toBe(first.id);
      // Groups are never deduplicated.
      const g1 = await f.conversation(t, 'group', [a, b]);
      const g2 = await f.conversation(t, 'group', [a, b]);
      expect(g1.id).not.toBe(g2.id);
      expect(await s.members([first.id])).toHaveLength(2);
    });

    it('createConversation of kind direct called concurrently creates one conversation', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const all = await Promise.all(Array.from({ length: 8 }, (_, i) => f.conversation(t, 'direct', i % 2 ? [a, b] : [b, a], T0 + i)));
      expect(new Set(all.map((c) => c.id)).size).toBe(1);
      expect(await s.members([all[0].id])).toHaveLength(2);
      expect(await s.memberships(a.id)).toHaveLength(1);
    });

    it('addParticipants inserts if absent and brings back who left; a current participant stays as they are', async () => {
      const t = await f.tenant();
      const [a, b, c, d] = await f.users(t, 4);
      const g = await f.conversation(t, 'group', [a, b, c], T0);
      await f.send(g, a);
      // a (admin) and b (member) are there: neither role changes; d is new.
      expect(await s.addParticipants(g.id, [{ userId: a.id, role: 'member' }, { userId: b.id, role: 'admin' }, { userId: d.id, role: 'moderator' }], T0 + 10)).toEqual([d.id]);
      const roles = async () => Object.fromEntries((await s.members([g.id])).map((m) => [m.user.id, m.participant.role]));
      expect(await roles()).toEqual({ [a.id]: 'admin', [b.id]: 'member', [c.id]: 'member', [d.id]: 'moderator' });
      expect(await s.participant(g.id, a.id)).toMatchObject({ joinedAt: T0 });
      expect(await s.participant(g.id, d.id)).toMatchObject({ joinedAt: T0 + 10, readSeq: 1 });
      // One who left comes back with the role given now.
      expect(await s.removeParticipant(g.id, c.id, T0 + 20)).toBe(true);
      expect(await s.addParticipants(g.id, [{ userId: c.id, role: 'moderator' }], T0 + 30)).toEqual([c.id]);
      expect(await s.participant(g.id, c.id)).toMatchObject({ role: 'moderator', joinedAt: T0 + 30 });
    });

    it('removeParticipant and setRole never leave a conversation with participants without an admin', async () => {
      const t = await f.tenant();
      const [a, b, c, outsider] = await f.users(t, 4);
      const g = await f.conversation(t, 'group', [a, b, c]);
      await expect(s.setRole(g.id, a.id, 'member', T0)).rejects.toMatchObject({ code: 'last_admin' });
      await expect(s.removeParticipant(g.id, a.id, T0)).rejects.toMatchObject({ code: 'last_admin' });
      expect(await s.participant(g.id, a.id)).toMatchObject({ role: 'admin' });
      // Hand over, then step down and leave.
      expect(await s.setRole(g.id, b.id, 'admin', T0)).toBe(true);
      expect(await s.setRole(g.id, a.id, 'member', T0)).toBe(true);
      expect(await s.removeParticipant(g.id, a.id, T0)).toBe(true);
      expect(await s.removeParticipant(g.id, c.id, T0)).toBe(true);
      // Alone: still the last admin (cannot step down), but may leave.
      await expect(s.setRole(g.id, b.id, 'moderator', T0)).rejects.toMatchObject({ code: 'last_admin' });
      expect(await s.removeParticipant(g.id, b.id, T0)).toBe(true);
      expect(await s.members([g.id])).toEqual([]);
      expect(await s.setRole(g.id, outsider.id, 'admin', T0)).toBe(false);
      expect(await s.removeParticipant(g.id, outsider.id, T0)).toBe(false);
    });

    it("memberships: the user's conversations only, most recent activity first", async () => {
      const t = await f.tenant();
      const [a, b, c, d] = await f.users(t, 4);
      const c1 = await f.conversation(t, 'direct', [a, b], T0 + 10);
      const c2 = await f.conversation(t, 'group', [a, b, c], T0 + 20);
      const c3 = await f.conversation(t, 'direct', [a, c], T0 + 30);
      const notMine = await f.conversation(t, 'direct', [b, d], T0 + 40);
      const ids = async (u: User) => (await s.memberships(u.id)).map((m) => m.conversation.id);
      expect(await ids(a)).toEqual([c3.id, c2.id, c1.id]);
      await f.send(c1, b, { createdAt: T0 + 50 });
      expect(await ids(a)).toEqual([c1.id, c3.id, c2.id]);
      await f.send(c2, c, { createdAt: T0 + 60 });
      expect(await ids(a)).toEqual([c2.id, c1.id, c3.id]);
      expect(await ids(a)).not.toContain(notMine.id);
      expect(await ids(d)).toEqual([notMine.id]);
      const m = (await s.memberships(a.id))[0];
      expect(m.conversation).toMatchObject({ id: c2.id, lastSeq: 1, lastMessageAt: T0 + 60 });
      expect(m.me).toMatchObject({ conversationId: c2.id, userId: a.id, role: 'admin', readSeq: 0 });
    });

    it('partnerIds: everyone sharing a conversation with the user, once, without the user', async () => {
      const t = await f.tenant();
      const [a, b, c, d, e] = await f.users(t, 5);
      await f.conversation(t, 'direct', [a, b]);
      await f.conversation(t, 'group', [a, b, c]);
      await f.conversation(t, 'direct', [d, e]);
      expect((await s.partnerIds(a.id)).sort((x, y) => x - y)).toEqual([b.id, c.id].sort((x, y) => x - y));
      expect((await s.partnerIds(c.id)).sort((x, y) => x - y)).toEqual([a.id, b.id].sort((x, y) => x - y));
      expect(await s.partnerIds((await f.user(t)).id)).toEqual([]);
    });
  });

  describe('members, blocks and presence peers', () => {
    const sorted = (ids: number[]) => [...ids].sort((x, y) => x - y);

    it('memberships with a page: at most limit, after the cursor, in the same order as without', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const convs = [];
      for (let i = 0; i < 5; i++) convs.push(await f.conversation(t, 'group', [a, b], T0 + 10 * i));
      await f.send(convs[1], b, { createdAt: T0 + 100 });
      const all = (await s.memberships(a.id)).map((m) => m.conversation.id);
      const paged: number[] = [];
      let before: { at: number; id: number } | undefined;
      for (;;) {
        const page = await s.memberships(a.id, { limit: 2, before });
        paged.push(...page.map((m) => m.conversation.id));
        if (page.length < 2) break;
        const last = page[page.length - 1].conversation;
        before = { at: last.lastMessageAt ?? last.createdAt, id: last.id };
      }
      expect(paged).toEqual(all);
      expect(all[0]).toBe(convs[1].id);
    });

    it('member_count is the current participants, kept by create, add (again), leave; past maxMembers an add fails and adds no one', async () => {
      const t = await f.tenant();
      const [a, b, c, d] = await f.users(t, 4);
      const g = await f.conversation(t, 'group', [a, b]);
      expect(g.memberCount).toBe(2);
      await s.addParticipants(g.id, [{ userId: c.id, role: 'member' }], T0 + 1, { maxMembers: 3 });
      expect((await f.conv(g.id)).memberCount).toBe(3);
      await expect(s.addParticipants(g.id, [{ userId: d.id, role: 'member' }], T0 + 2, { maxMembers: 3 })).rejects.toMatchObject({ code: 'conversation_full' });
      expect(await s.participant(g.id, d.id)).toBeUndefined();
      expect((await f.conv(g.id)).memberCount).toBe(3);
      expect(await s.removeParticipant(g.id, b.id, T0 + 3)).toBe(true);
      expect(await s.removeParticipant(g.id, b.id, T0 + 4)).toBe(false);
      expect((await f.conv(g.id)).memberCount).toBe(2);
      await s.addParticipants(g.id, [{ userId: b.id, role: 'member' }, { userId: d.id, role: 'member' }], T0 + 5, { maxMembers: 4 });
      expect((await f.conv(g.id)).memberCount).toBe(4);
      expect((await s.members([g.id])).length).toBe(4);
    });

    it('memberPreview: at most n current participants per conversation, lowest ids first, with summaries', async () => {
      const t = await f.tenant();
      const people = await f.users(t, 6);
      const g = await f.conversation(t, 'group', people);
      const d = await f.conversation(t, 'direct', [people[4], people[5]]);
      // people[0] created the group (its admin, who may not leave first): people[1] leaves.
      await s.removeParticipant(g.id, people[1].id, T0 + 1);
      const preview = await s.memberPreview([g.id, d.id], 3);
      const of = (id: number) => preview.filter((m) => m.participant.conversationId === id).map((m) => m.user.id);
      expect(of(g.id)).toEqual(sorted(people.filter((_, i) => i !== 1).map((u) => u.id)).slice(0, 3));
      expect(sorted(of(d.id))).toEqual(sorted([people[4].id, people[5].id]));
      expect(preview[0].user).toMatchObject({ name: expect.any(String), email: expect.any(String) });
      expect(await s.memberPreview([], 3)).toEqual([]);
    });

    it('blocks are one-way rows: block ends the friendship, each unblock lifts only its own', async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      await s.putFriendship(a.id, b.id, 'accepted', a.id, T0);
      expect(await s.block(a.id, b.id, T0 + 1)).toBe(true);
      expect(await s.block(a.id, b.id, T0 + 2)).toBe(false);
      expect(await s.friendship(a.id, b.id)).toBeUndefined();
      expect(await s.block(b.id, a.id, T0 + 3)).toBe(true);
      expect(sorted((await s.blocksBetween(b.id, a.id)).map((r) => r.blocker))).toEqual(sorted([a.id, b.id]));
      await s.block(a.id, c.id, T0 + 4);
      expect(await s.blocksBy(a.id)).toEqual([{ userId: c.id, at: T0 + 4 }, { userId: b.id, at: T0 + 1 }]);
      expect(sorted(await s.blockedEitherWay(a.id))).toEqual(sorted([b.id, c.id]));
      expect(await s.unblock(a.id, b.id)).toBe(true);
      expect(await s.unblock(a.id, b.id)).toBe(false);
      expect(await s.blocksBetween(a.id, b.id)).toEqual([{ blocker: b.id, blocked: a.id }]);
    });

    it('presencePeers: live groups, live direct conversations and accepted friends, symmetric, filtered by among', async () => {
      const t = await f.tenant();
      const [a, b, c, d, e, g, h] = await f.users(t, 7);
      await f.conversation(t, 'group', [a, b]);
      const gone = await f.conversation(t, 'group', [a, c]);
      await s.deleteConversation(gone.id, T0 + 1);
      const left = await f.conversation(t, 'group', [a, d]);
      await s.removeParticipant(left.id, d.id, T0 + 2);
      await f.conversation(t, 'direct', [a, e]);
      await s.putFriendship(a.id, g.id, 'accepted', a.id, T0);
      await s.putFriendship(a.id, h.id, 'pending', h.id, T0);
      const peers = await s.presencePeers(a.id);
      expect({ shared: sorted(peers.shared), direct: peers.direct, friends: peers.friends }).toEqual({ shared: [b.id], direct: [e.id], friends: [g.id] });
      for (const x of [b, e, g]) {
        const back = await s.presencePeers(x.id);
        expect([...back.shared, ...back.direct, ...back.friends]).toContain(a.id);
      }
      for (const x of [c, d, h]) {
        const back = await s.presencePeers(x.id);
        expect([...back.shared, ...back.direct, ...back.friends]).not.toContain(a.id);
      }
      expect(await s.presencePeers(a.id, [e.id, c.id])).toEqual({ shared: [], direct: [e.id], friends: [] });
      expect(await s.presencePeers(a.id, [])).toEqual({ shared: [], direct: [], friends: [] });
    });
  });

  describe('appendMessages', () => {
    it('assigns seq 1, 2, 3… per conversation, each new message taking the next last_seq and change_seq', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c1 = await f.conversation(t, 'direct', [a, b]);
      const c2 = await f.conversation(t, 'group', [a, b]);
      const rs = await appendAll(s, [f.msg(c1, a), f.msg(c2, a), f.msg(c1, b), f.msg(c1, a, { createdAt: T0 + 777 })]);
      expect(rs.map((r) => [r.created, r.message.conversationId, r.message.seq, r.message.changeSeq])).toEqual([
        [true, c1.id, 1, 1],
        [true, c2.id, 1, 1],
        [true, c1.id, 2, 2],
        [true, c1.id, 3, 3],
      ]);
      expect(await f.conv(c1.id)).toMatchObject({ lastSeq: 3, changeSeq: 3, lastMessageAt: T0 + 777, updatedAt: T0 + 777 });
      expect(await f.conv(c2.id)).toMatchObject({ lastSeq: 1, changeSeq: 1 });
      const next = await f.send(c1, b);
      expect(next).toMatchObject({ seq: 4, changeSeq: 4 });
      const stored = await s.messageById(rs[3].message.id);
      expect(stored).toEqual(rs[3].message);
      expect(stored).toMatchObject({ senderId: a.id, kind: 'text', createdAt: T0 + 777, editedAt: null, deletedAt: null, replyCount: 0, reactions: [] });
      expect(await s.messageByUuid(stored!.uuid)).toEqual(stored);
      expect(await s.appendMessages([])).toEqual([]);
    });

    it('commits the whole batch or nothing', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      await f.send(c, a);
      // The missing conversation sorts after c, so c's counters were already bumped when it fails.
      const missing = 2_000_000_000;
      await expect(s.appendMessages([f.msg(c, a, { clientId: 'atomic' }), f.msg(c, b), f.msg(missing, a)])).rejects.toThrow();
      expect(await f.conv(c.id)).toMatchObject({ lastSeq: 1, changeSeq: 1 });
      expect((await s.messagesBySeq(c.id, 1, 100)).map((m) => m.seq)).toEqual([1]);
      expect(await s.participant(c.id, b.id)).toMatchObject({ readSeq: 0, deliveredSeq: 0 });
      // The failed batch's client_id was not kept either: sending it again creates the message at seq 2.
      const [r] = await appendAll(s, [f.msg(c, a, { clientId: 'atomic' })]);
      expect(r).toMatchObject({ created: true, message: { seq: 2 } });
    });

    it('a new message into a deleted conversation, or from someone who is no longer a participant, fails and commits nothing', async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      const g = await f.conversation(t, 'group', [a, b, c]);
      await f.send(g, a);
      await s.removeParticipant(g.id, b.id, T0 + 1);
      await expect(s.appendMessages([f.msg(g, b)])).rejects.toMatchObject({ code: 'conversation_not_found' });
      expect(await f.conv(g.id)).toMatchObject({ lastSeq: 1, changeSeq: 1 });
      await s.deleteConversation(g.id, T0 + 2);
      await expect(s.appendMessages([f.msg(g, a)])).rejects.toMatchObject({ code: 'conversation_not_found' });
      expect((await s.messagesBySeq(g.id, 1, 100)).map((m) => m.seq)).toEqual([1]);
    });

    it("moves the sender's delivered and sent watermarks to its own message, never a read watermark", async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      const g = await f.conversation(t, 'group', [a, b, c]);
      await f.send(g, a, { createdAt: T0 + 100 });
      expect(await s.participant(g.id, a.id)).toMatchObject({ readSeq: 0, deliveredSeq: 1, sentSeq: 1, readAt: null });
      expect(await s.participant(g.id, b.id)).toMatchObject({ readSeq: 0, deliveredSeq: 0, sentSeq: 0, readAt: null });
      // b and c have not read a's message 1: sending does not read it for them.
      await appendAll(s, [f.msg(g, b), f.msg(g, c), f.msg(g, b)]);
      expect(await s.participant(g.id, b.id)).toMatchObject({ readSeq: 0, deliveredSeq: 4, sentSeq: 4, readAt: null });
      expect(await s.participant(g.id, c.id)).toMatchObject({ readSeq: 0, deliveredSeq: 3, sentSeq: 3 });
      expect(await s.participant(g.id, a.id)).toMatchObject({ readSeq: 0, deliveredSeq: 1, sentSeq: 1 });
      // Reading moves it; sending after does not move it further.
      expect(await s.markRead(g.id, b.id, 4, T0 + 200)).toBe(4);
      await appendAll(s, [f.msg(g, c), f.msg(g, b)]);
      expect(await s.participant(g.id, b.id)).toMatchObject({ readSeq: 4, deliveredSeq: 6, sentSeq: 6, readAt: T0 + 200 });
    });

    it('a retried client_id returns the original with created:false and takes no seq', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const [first] = await appendAll(s, [f.msg(c, a, { clientId: 'tmp-1', content: 'original' })]);
      expect(first.created).toBe(true);
      const [again] = await appendAll(s, [f.msg(c, a, { clientId: 'tmp-1', content: 'retry text' })]);
      expect(again).toEqual({ created: false, message: first.message });
      expect(await f.conv(c.id)).toMatchObject({ lastSeq: 1, changeSeq: 1 });
      // A retry next to new messages: only the new ones take seqs.
      const rs = await appendAll(s, [f.msg(c, b), f.msg(c, a, { clientId: 'tmp-1' }), f.msg(c, a, { clientId: 'tmp-2' })]);
      expect(rs.map((r) => [r.created, r.message.seq])).toEqual([
        [true, 2],
        [false, 1],
        [true, 3],
      ]);
      expect(rs[1].message.content).toBe('original');
      // client_id is unique per sender: another sender's same client_id is a new message.
      const [theirs] = await appendAll(s, [f.msg(c, b, { clientId: 'tmp-1' })]);
      expect(theirs).toMatchObject({ created: true, message: { seq: 4, senderId: b.id } });
      expect(await f.conv(c.id)).toMatchObject({ lastSeq: 4, changeSeq: 4 });
      expect((await s.messagesBySeq(c.id, 1, 10)).map((m) => m.seq)).toEqual([4, 3, 2, 1]);
    });

    it('a retry in a later batch returns the original and takes no seq, beside new sends of the same batch', async () => {
      const own = await make();
      try {
        const g = fixtures(() => own.store);
        const t = await g.tenant();
        const [a, b] = await g.users(t, 2);
        const c = await g.conversation(t, 'direct', [a, b]);
        const [first] = await appendAll(own.store, [g.msg(c, a, { clientId: 'k-1', content: 'original' }), g.msg(c, b, { clientId: 'k-1' })]);
        const rs = await appendAll(own.store, [g.msg(c, a, { clientId: 'k-2' }), g.msg(c, a, { clientId: 'k-1', content: 'retry' }), g.msg(c, b)]);
        expect(rs.map((r) => [r.created, r.message.seq])).toEqual([
          [true, 3],
          [false, 1],
          [true, 4],
        ]);
        expect(rs[1]).toEqual({ created: false, message: first.message });
        expect(await g.conv(c.id)).toMatchObject({ lastSeq: 4, changeSeq: 4 });
      } finally {
        await own.close();
      }
    });

    it('client_id is unique per (sender, conversation): the same one in another conversation is a new message there', async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      const dm = await f.conversation(t, 'direct', [a, b]);
      const g = await f.conversation(t, 'group', [a, b, c]);
      const [inDm] = await appendAll(s, [f.msg(dm, a, { clientId: 'n-1', content: 'private' })]);
      const [inGroup] = await appendAll(s, [f.msg(g, a, { clientId: 'n-1', content: 'public' })]);
      expect(inGroup).toMatchObject({ created: true, message: { conversationId: g.id, seq: 1, content: 'public', clientId: 'n-1' } });
      expect(inGroup.message.id).not.toBe(inDm.message.id);
      // Retries stay retries, each in its own conversation, alone or in one batch with the other.
      const rs = await appendAll(s, [f.msg(g, a, { clientId: 'n-1', content: 'x' }), f.msg(dm, a, { clientId: 'n-1', content: 'y' })]);
      expect(rs).toEqual([
        { created: false, message: inGroup.message },
        { created: false, message: inDm.message },
      ]);
      // New in both at once, in one batch: two messages, one per conversation.
      const both = await appendAll(s, [f.msg(dm, a, { clientId: 'n-2', content: 'dm two' }), f.msg(g, a, { clientId: 'n-2', content: 'group two' })]);
      expect(both.map((r) => [r.created, r.message.conversationId, r.message.content])).toEqual([
        [true, dm.id, 'dm two'],
        [true, g.id, 'group two'],
      ]);
      expect(await f.conv(dm.id)).toMatchObject({ lastSeq: 2, changeSeq: 2 });
      expect(await f.conv(g.id)).toMatchObject({ lastSeq: 2, changeSeq: 2 });
    });

    it('a client_id twice in one batch is stored once; the second is created:false with the same message', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const rs = await appendAll(s, [
        f.msg(c, a, { clientId: 'dup', content: 'one' }),
        f.msg(c, b),
        f.msg(c, a, { clientId: 'dup', content: 'two' }),
      ]);
      expect(rs.map((r) => [r.created, r.message.seq])).toEqual([
        [true, 1],
        [true, 2],
        [false, 1],
      ]);
      expect(rs[2].message).toEqual(rs[0].message);
      expect(rs[2].message.content).toBe('one');
      expect(await f.conv(c.id)).toMatchObject({ lastSeq: 2, changeSeq: 2 });
      const [later] = await appendAll(s, [f.msg(c, a, { clientId: 'dup' })]);
      expect(later).toMatchObject({ created: false, message: { id: rs[0].message.id } });
    });

    it('attachments come back in order from messageById (and from the append)', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const atts = [
        attachment(1, { kind: 'image', fileName: 'z.png', mimeType: 'image/png', width: 640, height: 480, thumbnailPath: 'thumbs/z.png' }),
        attachment(2, { kind: 'voice', fileName: 'a.mp3', mimeType: 'audio/mpeg', durationSeconds: 3.5 }),
        attachment(3),
      ];
      const rs = await appendAll(s, [f.msg(c, a, { kind: 'image', content: null, attachments: atts }), f.msg(c, b, { attachments: [attachment(4)] })]);
      const m = rs[0].message;
      expect(m.attachments.map(({ id: _id, uuid: _uuid, ...rest }) => rest)).toEqual(atts.map((x, i) => ({ position: i, ...x })));
      const stored = await s.messageById(m.id);
      expect(stored!.attachments).toEqual(m.attachments);
      expect((await s.messageById(rs[1].message.id))!.attachments.map((x) => x.fileName)).toEqual(['file-4.pdf']);
      expect((await s.messagesBySeq(c.id, 1, 1))[0].attachments).toEqual(m.attachments);
    });

    it('over any batches, attachments (new ones and claimed uploads mixed) come back and are stored in position order; a claim not the sender\'s, or a second one, fails its batch whole, in one statement per kind', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b]);
      // What each attachment of a message is: new, a pending upload of its sender, one of the
      // other user (refused), or one its sender had claimed already (refused).
      const spec = fc.constantFrom('new', 'new', 'pending', 'pending', 'foreign', 'claimed');
      const message = fc.record({ fromA: fc.boolean(), attachments: fc.array(spec, { maxLength: 4 }) });
      const claimedBy = new Map<Id, Id>(); // a pending attachment claimed already → its owner
      let k = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 5 }), async (specs) => {
          const batch: NewMessage[] = [];
          const expected: NewAttachment[][] = [];
          let refused = false;
          for (const m of specs) {
            const sender = m.fromA ? a : b;
            const other = m.fromA ? b : a;
            const atts: NewAttachment[] = [];
            for (const kind of m.attachments) {
              const file = attachment(++k, { storedPath: `files/prop-${k}-${randomUUID()}.pdf` });
              if (kind === 'new') atts.push(file);
              else if (kind === 'pending' || kind === 'foreign') {
                const [up] = await s.createPendingAttachments(t.id, kind === 'pending' ? sender.id : other.id, [file], T0);
                atts.push({ ...file, pendingId: up.id });
                if (kind === 'foreign') refused = true;
              } else {
                const old = [...claimedBy].find(([, owner]) => owner === sender.id);
                if (!old) continue; // nothing of the sender's claimed yet: leave this one out
                atts.push({ ...file, pendingId: old[0] });
                refused = true;
              }
            }
            batch.push(f.msg(c, sender, { kind: 'file', attachments: atts }));
            expected.push(atts);
          }
          const before = await f.conv(c.id);
          const ran = h.statements?.length ?? 0;
          if (refused) {
            await expect(s.appendMessages(batch)).rejects.toMatchObject({ code: 'upload_not_found' });
            expect((await f.conv(c.id)).lastSeq).toBe(before.lastSeq);
            return;
          }
          const results = await appendAll(s, batch);
          const statements = h.statements?.slice(ran) ?? [];
          expect(statements.filter((q) => /^\s*INSERT INTO attachments/i.test(q)).length).toBeLessThanOrEqual(1);
          expect(statements.filter((q) => /^\s*UPDATE attachments/i.test(q)).length).toBeLessThanOrEqual(1);
          for (let i = 0; i < batch.length; i++) {
            const got = results[i].message;
            expect(got.attachments.map((x) => x.position)).toEqual(expected[i].map((_, p) => p));
            expect(got.attachments.map((x) => x.storedPath)).toEqual(expected[i].map((x) => x.storedPath));
            for (const x of expected[i]) if (x.pendingId !== undefined) expect(got.attachments.find((g) => g.id === x.pendingId)).toBeDefined();
            expect((await s.messageById(got.id))!.attachments).toEqual(got.attachments);
            for (const x of expected[i]) if (x.pendingId !== undefined) claimedBy.set(x.pendingId, batch[i].senderId);
          }
        }),
        { numRuns: 25 },
      );
    });

    it('seq is gapless and strictly increasing per conversation under many concurrent appendMessages calls', async () => {
      const t = await f.tenant();
      const users = await f.users(t, 3);
      const convs = [await f.conversation(t, 'group', users), await f.conversation(t, 'group', users), await f.conversation(t, 'group', users)];
      const batches = concurrentBatches(f, convs, users);
      // Retries of messages in flight in other batches must not take seqs either; each id is
      // used in one conversation (a client id names a send within its conversation).
      batches.forEach((b, i) => b.push(f.msg(convs[(i % 20) % 3], users[0], { clientId: `c${i % 20}` })));
      const results = await Promise.all(batches.map((b) => appendAll(s, b)));
      await expectGapless(s, convs, batches, results);
      const byClient = new Map<string, Id>();
      for (const r of results.flat()) {
        if (r.message.clientId === null) continue;
        const key = `${r.message.conversationId}:${r.message.clientId}`;
        const id = byClient.get(key);
        if (id === undefined) byClient.set(key, r.message.id);
        else expect(r.message.id).toBe(id);
      }
      expect(byClient.size).toBe(20);
      expect(results.flat().filter((r) => r.created && r.message.clientId !== null)).toHaveLength(20);
    });
  });

  describe('reading messages', () => {
    it('messagesBySeq returns exactly [from, to], newest first', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      await appendAll(s, Array.from({ length: 10 }, (_, i) => f.msg(c, i % 2 ? a : b)));
      const seqs = async (from: number, to: number) => (await s.messagesBySeq(c.id, from, to)).map((m) => m.seq);
      expect(await seqs(3, 6)).toEqual([6, 5, 4, 3]);
      expect(await seqs(7, 7)).toEqual([7]);
      expect(await seqs(8, 50)).toEqual([10, 9, 8]);
      expect(await seqs(-5, 2)).toEqual([2, 1]);
      expect(await seqs(6, 5)).toEqual([]);
      expect(await seqs(11, 20)).toEqual([]);
      expect(await s.messagesBySeq((await f.conversation(t, 'group', [a, b])).id, 1, 10)).toEqual([]);
    });

    it('lastMessages returns the message with seq = last_seq of each conversation that has one', async () => {
      const t = await f.tenant();
      const [a, b, c] = await f.users(t, 3);
      const c1 = await f.conversation(t, 'direct', [a, b]);
      const c2 = await f.conversation(t, 'direct', [a, c]);
      const empty = await f.conversation(t, 'group', [a, b, c]);
      await appendAll(s, [f.msg(c1, a), f.msg(c2, a), f.msg(c1, b, { content: 'last of c1' })]);
      const last = await s.lastMessages([await f.conv(c1.id), await f.conv(c2.id), await f.conv(empty.id)]);
      expect([...last.keys()].sort()).toEqual([c1.id, c2.id].sort());
      expect(last.get(c1.id)).toMatchObject({ seq: 2, content: 'last of c1', conversationId: c1.id });
      expect(last.get(c2.id)).toMatchObject({ seq: 1, conversationId: c2.id });
      expect((await s.lastMessages([])).size).toBe(0);
    });
  });

  describe('changes', () => {
    it('editMessage takes the next change_seq, stamps it on the message, stores the caller clock', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const m = await f.send(c, a, { content: 'before', attachments: [attachment(1)] });
      await f.send(c, b);
      const edited = await s.editMessage(m.id, 'after', T0 + 900);
      expect(edited).toMatchObject({ id: m.id, seq: 1, changeSeq: 3, content: 'after', editedAt: T0 + 900, deletedAt: null });
      expect(edited.attachments).toEqual(m.attachments);
      expect(await f.conv(c.id)).toMatchObject({ lastSeq: 2, changeSeq: 3 });
      expect(await s.messageById(m.id)).toEqual(edited);
    });

    it('deleteMessage keeps the row as a tombstone: content cleared, attachments gone, seq still gapless', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const m1 = await f.send(c, a);
      const m2 = await f.send(c, a, { content: 'secret', attachments: [attachment(1), attachment(2)] });
      const m3 = await f.send(c, b);
      const { message: del, changed } = await s.deleteMessage(m2.id, T0 + 901);
      expect(changed).toBe(true);
      expect(del).toMatchObject({ id: m2.id, seq: 2, changeSeq: 4, content: null, deletedAt: T0 + 901, attachments: [] });
      expect(await f.conv(c.id)).toMatchObject({ lastSeq: 3, changeSeq: 4 });
      expect(await s.messageById(m2.id)).toMatchObject({ content: null, attachments: [], deletedAt: T0 + 901 });
      const page = await s.messagesBySeq(c.id, 1, 3);
      expect(page.map((m) => [m.id, m.seq])).toEqual([
        [m3.id, 3],
        [m2.id, 2],
        [m1.id, 1],
      ]);
      expect(page[1]).toMatchObject({ content: null, attachments: [] });
      expect((await s.changesSince(c.id, 3, 10, 3)).map((m) => [m.id, m.content, m.attachments.length])).toEqual([[m2.id, null, 0]]);
      // Deleting the last message: lastMessages shows the tombstone, without content.
      await s.deleteMessage(m3.id, T0 + 902);
      expect((await s.lastMessages([await f.conv(c.id)])).get(c.id)).toMatchObject({ id: m3.id, content: null });
      // The next message still takes the next seq.
      expect(await f.send(c, a)).toMatchObject({ seq: 4, changeSeq: 6 });
    });

    it('a deleted message takes no more changes: an edit or a reaction fails with message_deleted, a second delete changes nothing', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b]);
      const parent = await f.send(c, a);
      const reply = await f.send(c, b, { replyToId: parent.id });
      await f.send(c, a, { replyToId: parent.id });
      expect((await s.messageById(parent.id))!.replyCount).toBe(2);
      const first = await s.deleteMessage(reply.id, T0 + 10);
      expect(first.changed).toBe(true);
      const second = await s.deleteMessage(reply.id, T0 + 11);
      expect(second).toMatchObject({ changed: false, message: { deletedAt: T0 + 10, changeSeq: first.message.changeSeq } });
      // One deleted reply of two: the parent counts one live reply.
      expect((await s.messageById(parent.id))!.replyCount).toBe(1);
      await expect(s.editMessage(reply.id, 'too late', T0 + 12)).rejects.toMatchObject({ code: 'message_deleted' });
      await expect(s.setReaction(reply.id, a.id, '👍', true, T0 + 13)).rejects.toMatchObject({ code: 'message_deleted' });
      expect(await s.messageById(reply.id)).toMatchObject({ content: null, editedAt: null, reactions: [], changeSeq: first.message.changeSeq });
      // Nothing refused took a change_seq.
      expect((await f.conv(c.id)).changeSeq).toBe(first.message.changeSeq);
    });

    it('setReaction adds once (second time changed:false), toggles off, and takes a change_seq only when it changes', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const m = await f.send(c, a);
      const on = await s.setReaction(m.id, b.id, '👍', true, T0 + 1);
      expect(on.changed).toBe(true);
      expect(on.message).toMatchObject({ id: m.id, changeSeq: 2, reactions: [{ emoji: '👍', userIds: [b.id] }] });
      const again = await s.setReaction(m.id, b.id, '👍', true, T0 + 2);
      expect(again.changed).toBe(false);
      expect(again.message).toMatchObject({ changeSeq: 2, reactions: [{ emoji: '👍', userIds: [b.id] }] });
      expect((await f.conv(c.id)).changeSeq).toBe(2);
      const mine = await s.setReaction(m.id, a.id, '👍', true, T0 + 3);
      expect(mine.message.reactions).toEqual([{ emoji: '👍', userIds: [b.id, a.id] }]);
      await s.setReaction(m.id, a.id, '🎉', true, T0 + 4);
      const off = await s.setReaction(m.id, b.id, '👍', false, T0 + 5);
      expect(off.changed).toBe(true);
      expect(off.message.changeSeq).toBe(5);
      expect(off.message.reactions).toEqual([
        { emoji: '👍', userIds: [a.id] },
        { emoji: '🎉', userIds: [a.id] },
      ]);
      const offAgain = await s.setReaction(m.id, b.id, '👍', false, T0 + 6);
      expect(offAgain.changed).toBe(false);
      expect(await f.conv(c.id)).toMatchObject({ lastSeq: 1, changeSeq: 5 });
      expect(await s.messageById(m.id)).toEqual(off.message);
    });

    it('changesSince finds every edit, delete and reaction of the messages up to a seq after the cursor, in change order, at most limit', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const [m1, m2, m3, m4] = (await appendAll(s, [f.msg(c, a), f.msg(c, b), f.msg(c, a), f.msg(c, b)])).map((r) => r.message);
      await s.editMessage(m1.id, 'edited', T0 + 1); // 5
      await s.setReaction(m3.id, b.id, '❤️', true, T0 + 2); // 6
      await s.deleteMessage(m2.id, T0 + 3); // 7
      const m5 = await f.send(c, a); // 8
      await s.editMessage(m1.id, 'edited again', T0 + 4); // 9
      const changes = await s.changesSince(c.id, 4, 100, 5);
      expect(changes.map((m) => [m.id, m.changeSeq])).toEqual([
        [m3.id, 6],
        [m2.id, 7],
        [m1.id, 9],
      ]);
      expect(changes[0].reactions).toEqual([{ emoji: '❤️', userIds: [b.id] }]);
      expect(changes[1]).toMatchObject({ content: null, deletedAt: T0 + 3 });
      expect(changes[2]).toMatchObject({ content: 'edited again', editedAt: T0 + 4 });
      expect((await s.changesSince(c.id, 0, 2, 5)).map((m) => m.id)).toEqual([m3.id, m2.id]);
      expect(await s.changesSince(c.id, 9, 100, 5)).toEqual([]);
      // Only the changes of messages up to a seq (a catch-up's older messages).
      expect((await s.changesSince(c.id, 4, 2, 2)).map((m) => m.id)).toEqual([m2.id, m1.id]);
      // m4 and m5 never changed: their append's change_seq is theirs, but they are read by seq.
      expect(changes.map((m) => m.id)).not.toContain(m5.id);
      expect((await s.changesSince(c.id, 0, 100, 5)).map((m) => m.id)).not.toContain(m4.id);
      expect((await s.messagesBySeq(c.id, 4, 5)).map((m) => [m.id, m.changeSeq])).toEqual([
        [m5.id, 8],
        [m4.id, 4],
      ]);
      // A reaction taken back is a change all the same, and so is a change of a new message.
      await s.setReaction(m4.id, a.id, '👍', true, T0 + 5); // 10
      await s.setReaction(m4.id, a.id, '👍', false, T0 + 6); // 11
      await s.editMessage(m5.id, 'edited new', T0 + 7); // 12
      expect((await s.changesSince(c.id, 9, 100, 5)).map((m) => [m.id, m.changeSeq])).toEqual([
        [m4.id, 11],
        [m5.id, 12],
      ]);
      expect((await f.conv(c.id)).changeSeq).toBe(12);
    });

    it('reply_count counts replies, and goes down when a reply is deleted', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b]);
      const parent = await f.send(c, a);
      const [r1, r2] = (await appendAll(s, [f.msg(c, b, { replyToId: parent.id }), f.msg(c, a, { replyToId: parent.id })])).map((r) => r.message);
      expect(r1.replyToId).toBe(parent.id);
      expect((await s.messageById(parent.id))!.replyCount).toBe(2);
      const r3 = await f.send(c, b, { replyToId: parent.id });
      expect((await s.messageById(parent.id))!.replyCount).toBe(3);
      await s.deleteMessage(r1.id, T0 + 1);
      expect((await s.messageById(parent.id))!.replyCount).toBe(2);
      // Deleting the same reply again changes nothing.
      await s.deleteMessage(r1.id, T0 + 2);
      expect((await s.messageById(parent.id))!.replyCount).toBe(2);
      await s.deleteMessage(r2.id, T0 + 3);
      await s.deleteMessage(r3.id, T0 + 4);
      expect((await s.messageById(parent.id))!.replyCount).toBe(0);
      // A retried reply is not counted twice.
      await f.send(c, b, { replyToId: parent.id, clientId: 'reply-retry' });
      await f.send(c, b, { replyToId: parent.id, clientId: 'reply-retry' });
      expect((await s.messageById(parent.id))!.replyCount).toBe(1);
    });
  });

  describe('snapshot', () => {
    it('every read sees one moment: a send, an edit and a delete committed between two reads are invisible to both', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b]);
      const [m1, m2] = (await appendAll(s, [f.msg(c, a), f.msg(c, b)])).map((r) => r.message);
      const seen = await s.snapshot(async (r) => {
        const before = await r.conversationById(c.id);
        // Committed (awaited) through the store itself while the snapshot is open.
        const m3 = await f.send(c, a);
        await s.editMessage(m1.id, 'edited inside', T0 + 1);
        await s.deleteMessage(m2.id, T0 + 2);
        await s.removeParticipant(c.id, b.id, T0 + 3);
        return {
          m3,
          before,
          after: await r.conversationById(c.id),
          bySeq: await r.messagesBySeq(c.id, 1, 10),
          changes: await r.changesSince(c.id, 0, 10, 10),
          m1: await r.messageById(m1.id),
          b: await r.participant(c.id, b.id),
          members: (await r.members([c.id])).map((m) => m.user.id),
        };
      });
      expect(seen.before).toMatchObject({ lastSeq: 2, changeSeq: 2 });
      expect(seen.after).toEqual(seen.before);
      expect(seen.bySeq.map((m) => [m.seq, m.changeSeq, m.content])).toEqual([
        [2, 2, m2.content],
        [1, 1, m1.content],
      ]);
      // Not changed since their appends: read by seq, not as changes.
      expect(seen.changes).toEqual([]);
      expect(seen.m1).toEqual(m1);
      expect(seen.b).toBeDefined();
      expect(seen.members.sort()).toEqual([a.id, b.id].sort());
      // Committed all the same: the next read sees every write.
      expect(await f.conv(c.id)).toMatchObject({ lastSeq: 3, changeSeq: 5 });
      expect((await s.changesSince(c.id, 2, 10, 10)).map((m) => m.id)).toEqual([m1.id, m2.id]);
      expect(await s.participant(c.id, b.id)).toBeUndefined();
    });

    it('resolves to what fn resolves to, rejects with what it throws, and the store goes on either way', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      expect(await s.snapshot(async (r) => (await r.conversationById(c.id))!.id)).toBe(c.id);
      await expect(s.snapshot(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      const [x, y] = await Promise.all([s.snapshot((r) => r.userSummaries([a.id])), s.snapshot((r) => r.userSummaries([b.id]))]);
      expect([x.get(a.id)?.id, y.get(b.id)?.id]).toEqual([a.id, b.id]);
      expect((await f.send(c, a)).seq).toBe(1);
    });
  });

  describe('watermarks', () => {
    async function withMessages(count: number) {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      await appendAll(s, Array.from({ length: count }, () => f.msg(c, a)));
      return { a, b, c };
    }

    it('markRead moves forward only, caps at last_seq, returns null when nothing moved, moves delivered_seq along', async () => {
      const { b, c } = await withMessages(5);
      expect(await s.markRead(c.id, b.id, 3, T0 + 1)).toBe(3);
      expect(await s.participant(c.id, b.id)).toMatchObject({ readSeq: 3, deliveredSeq: 3, readAt: T0 + 1 });
      expect(await s.markRead(c.id, b.id, 2, T0 + 2)).toBeNull();
      expect(await s.markRead(c.id, b.id, 3, T0 + 3)).toBeNull();
      expect(await s.participant(c.id, b.id)).toMatchObject({ readSeq: 3, deliveredSeq: 3, readAt: T0 + 1 });
      expect(await s.markRead(c.id, b.id, 1000, T0 + 4)).toBe(5);
      expect(await s.participant(c.id, b.id)).toMatchObject({ readSeq: 5, deliveredSeq: 5, readAt: T0 + 4 });
      expect(await s.markRead(c.id, b.id, 1000, T0 + 5)).toBeNull();
      expect((await f.conv(c.id)).lastSeq).toBe(5);
    });

    it('markRead never moves delivered_seq backwards', async () => {
      const { b, c } = await withMessages(5);
      await s.markDelivered([{ conversationId: c.id, userId: b.id, seq: 4 }]);
      expect(await s.markRead(c.id, b.id, 2, T0 + 1)).toBe(2);
      expect(await s.participant(c.id, b.id)).toMatchObject({ readSeq: 2, deliveredSeq: 4 });
    });

    it('markRead by a non-participant moves nothing', async () => {
      const { c } = await withMessages(2);
      const stranger = await f.user(await f.tenant());
      expect(await s.markRead(c.id, stranger.id, 2, T0)).toBeNull();
      expect(await s.participant(c.id, stranger.id)).toBeUndefined();
    });

    it('markDelivered moves forward only, never past last_seq, several conversations at once', async () => {
      const { a, b, c } = await withMessages(5);
      const t2 = await f.tenant();
      const d = await f.conversation(t2, 'direct', [a, b]);
      await appendAll(s, [f.msg(d, a), f.msg(d, a)]);
      await s.markDelivered([
        { conversationId: c.id, userId: b.id, seq: 3 },
        { conversationId: d.id, userId: b.id, seq: 1 },
      ]);
      expect(await s.participant(c.id, b.id)).toMatchObject({ deliveredSeq: 3, readSeq: 0 });
      expect(await s.participant(d.id, b.id)).toMatchObject({ deliveredSeq: 1, readSeq: 0 });
      await s.markDelivered([{ conversationId: c.id, userId: b.id, seq: 2 }]);
      expect((await s.participant(c.id, b.id))!.deliveredSeq).toBe(3);
      await s.markDelivered([
        { conversationId: c.id, userId: b.id, seq: 99 },
        { conversationId: d.id, userId: b.id, seq: 99 },
      ]);
      expect((await s.participant(c.id, b.id))!.deliveredSeq).toBe(5);
      expect((await s.participant(d.id, b.id))!.deliveredSeq).toBe(2);
      await s.markDelivered([]);
    });
  });

  describe('pending attachments and their quota', () => {
    const quota = { maxFiles: 3, maxBytes: 5000 };
    const pending = (i: number, size = 1000) => attachment(i, { storedPath: `chat_files/files/q${i}-${randomUUID()}.pdf`, size });

    it('a quota refuses the call that would go over it, as a whole; claimed attachments no longer count', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const [p1] = await s.createPendingAttachments(t.id, a.id, [pending(1), pending(2)], T0, quota);
      expect(await s.pendingUsage(a.id)).toEqual({ files: 2, bytes: 2000 });
      await expect(s.createPendingAttachments(t.id, a.id, [pending(3), pending(4)], T0, quota)).rejects.toMatchObject({ code: 'upload_quota_exceeded' });
      await expect(s.createPendingAttachments(t.id, a.id, [pending(5, 3001)], T0, quota)).rejects.toMatchObject({ code: 'upload_quota_exceeded' });
      expect(await s.pendingUsage(a.id)).toEqual({ files: 2, bytes: 2000 });
      // Another owner has a quota of their own; without a quota nothing is counted.
      await s.createPendingAttachments(t.id, b.id, [pending(6), pending(7), pending(8)], T0, quota);
      await s.createPendingAttachments(t.id, b.id, [pending(9, 9000)], T0);
      expect(await s.pendingUsage(b.id)).toEqual({ files: 4, bytes: 12000 });
      // Sending one frees its place.
      await f.send(c, a, { kind: 'file', attachments: [{ ...pending(0), pendingId: p1.id }] });
      expect(await s.pendingUsage(a.id)).toEqual({ files: 1, bytes: 1000 });
      await s.createPendingAttachments(t.id, a.id, [pending(10), pending(11)], T0, quota);
      expect(await s.pendingUsage(a.id)).toEqual({ files: 3, bytes: 3000 });
      // Swept ones too.
      await s.deletePendingAttachments(T0 + 1);
      expect(await s.pendingUsage(a.id)).toEqual({ files: 0, bytes: 0 });
    });

    it('calls at once never leave more pending than the quota', async () => {
      const t = await f.tenant();
      const a = await f.user(t);
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.createPendingAttachments(t.id, a.id, [pending(i, 1200)], T0, quota)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'upload_quota_exceeded' });
      expect(await s.pendingUsage(a.id)).toEqual({ files: 3, bytes: 3600 });
    });
  });

  describe('files of deleted conversations', () => {
    it('attachmentByPath tells when the conversation was deleted; deletedConversationFiles lists its files until marked purged; rows stay', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const g = await f.conversation(t, 'group', [a, b]);
      const other = await f.conversation(t, 'group', [a, b]);
      const key = `chat_files/images/${randomUUID()}.png`;
      const thumb = `chat_files/thumbnails/${randomUUID()}.png.webp`;
      const m = await f.send(g, a, { kind: 'image', attachments: [attachment(1, { kind: 'image', storedPath: key, thumbnailPath: thumb }), attachment(2, { storedPath: `chat_files/files/${randomUUID()}.pdf` })] });
      await f.send(other, a, { attachments: [attachment(3, { storedPath: `chat_files/files/${randomUUID()}.pdf` })] });
      expect(await s.attachmentByPath(key)).toMatchObject({ conversationId: g.id, conversationDeletedAt: null });
      const listed = async () => (await s.deletedConversationFiles()).filter((d) => d.conversationId === g.id || d.conversationId === other.id);
      expect(await listed()).toEqual([]);

      await s.deleteConversation(g.id, T0 + 5000);
      expect(await s.attachmentByPath(key)).toMatchObject({ conversationId: g.id, conversationDeletedAt: T0 + 5000 });
      expect(await s.attachmentByPath(thumb)).toMatchObject({ conversationDeletedAt: T0 + 5000 });
      const [d] = await listed();
      expect(d).toMatchObject({ conversationId: g.id, deletedAt: T0 + 5000 });
      expect([...d.keys].sort()).toEqual([key, thumb, m.attachments[1].storedPath].sort());

      await s.markConversationFilesPurged([g.id], T0 + 6000);
      expect(await listed()).toEqual([]);
      // The rows stay: metadata of the tombstones, still telling the conversation is gone.
      expect((await s.messageById(m.id))!.attachments).toHaveLength(2);
      expect(await s.attachmentByPath(key)).toMatchObject({ conversationDeletedAt: T0 + 5000 });
    });
  });

  directoryContract(() => s);
  searchContract(() => s, f);
  outboxContract(() => s, f, T0);

  describe('retention (issue 20)', () => {
    it('purgeMessages deletes the oldest run before the cutoff up to a held sender, in batches, and moves the watermark only up', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b]);
      const sent = await appendAll(s, [1, 2, 3, 4, 5, 6].map((i) => f.msg(c, i === 4 ? b : a, { createdAt: T0 + i * 10, replyToId: null })));
      // A reply (seq 7, new) to seq 1 keeps its place when its root goes.
      await appendAll(s, [f.msg(c, a, { createdAt: T0 + 1000, replyToId: sent[0].message.id })]);
      const seqs = async () => (await s.messagesBySeq(c.id, 1, 100)).map((m) => m.seq).reverse();
      expect(await s.setLegalHold({ tenantId: t.id, targetType: 'user', targetId: b.id, createdBy: a.id, createdAt: T0 }, true)).toBe(true);
      expect(await s.purgeMessages(c.id, T0 + 55, 2)).toMatchObject({ purged: 2, purgedBeforeSeq: 3 });
      expect(await s.purgeMessages(c.id, T0 + 55, 2)).toMatchObject({ purged: 1, purgedBeforeSeq: 4 });
      expect(await s.purgeMessages(c.id, T0 + 55, 2)).toMatchObject({ purged: 0, purgedBeforeSeq: 4 });
      expect(await seqs()).toEqual([4, 5, 6, 7]);
      expect(await s.setLegalHold({ tenantId: t.id, targetType: 'user', targetId: b.id, createdBy: a.id, createdAt: T0 }, false)).toBe(true);
      // The cutoff ends the run: seq 6 (T0 + 60) is not older than T0 + 55.
      expect(await s.purgeMessages(c.id, T0 + 55, 10)).toMatchObject({ purged: 2, purgedBeforeSeq: 6 });
      expect((await s.conversationById(c.id))?.purgedBeforeSeq).toBe(6);
      // An earlier cutoff purges nothing and never moves the watermark back.
      expect(await s.purgeMessages(c.id, T0, 10)).toMatchObject({ purged: 0, purgedBeforeSeq: 6 });
      expect((await s.messagesBySeq(c.id, 7, 7))[0]).toMatchObject({ seq: 7, replyToUuid: null });
    });

    it('a held conversation purges nothing and is no candidate; retention comes from the conversation, else the tenant', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const own = await f.conversation(t, 'group', [a, b]);
      const byTenant = await f.conversation(t, 'group', [a, b]);
      await appendAll(s, [f.msg(own, a), f.msg(byTenant, a)]);
      const candidates = async () => (await s.retentionCandidates(Math.min(own.id, byTenant.id) - 1, 1000)).filter((r) => r.tenantId === t.id);
      expect(await candidates()).toEqual([]);
      await s.setTenantRetention(t.id, 30, T0);
      await s.setConversationRetention(own.id, 2);
      expect(await s.tenantRetention(t.id)).toBe(30);
      expect((await candidates()).map((r) => [r.conversationId, r.retentionDays])).toEqual([[own.id, 2], [byTenant.id, 30]]);
      await s.setLegalHold({ tenantId: t.id, targetType: 'conversation', targetId: own.id, createdBy: a.id, createdAt: T0 }, true);
      expect((await candidates()).map((r) => r.conversationId)).toEqual([byTenant.id]);
      expect(await s.purgeMessages(own.id, T0 + 10_000, 10)).toMatchObject({ purged: 0, purgedBeforeSeq: 1 });
      expect((await s.legalHolds(t.id)).map((h) => [h.targetType, h.targetId])).toEqual([['conversation', own.id]]);
    });

    it('claimJob: one holder at a time until its lease runs out', async () => {
      const name = `job-${randomUUID()}`;
      expect(await s.claimJob(name, 'p1', T0 + 100, T0)).toBe(true);
      expect(await s.claimJob(name, 'p2', T0 + 150, T0 + 50)).toBe(false);
      expect(await s.claimJob(name, 'p1', T0 + 200, T0 + 60)).toBe(true);
      expect(await s.claimJob(name, 'p2', T0 + 300, T0 + 200)).toBe(true);
    });

    it('exportPositions: a scope in (conversation, seq) order after a cursor', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c1 = await f.conversation(t, 'group', [a, b]);
      const c2 = await f.conversation(t, 'group', [a, b]);
      await appendAll(s, [f.msg(c1, a), f.msg(c1, b), f.msg(c2, b), f.msg(c2, a)]);
      const at = (r: { conversationId: number; seq: number }[]) => r.map((p) => `${p.conversationId}-${p.seq}`);
      expect(at(await s.exportPositions({ tenantId: t.id }, { conversationId: 0, seq: 0 }, 10))).toEqual([`${c1.id}-1`, `${c1.id}-2`, `${c2.id}-1`, `${c2.id}-2`]);
      expect(at(await s.exportPositions({ senderId: b.id }, { conversationId: c1.id, seq: 2 }, 10))).toEqual([`${c2.id}-1`]);
      expect(at(await s.exportPositions({ conversationId: c2.id }, { conversationId: 0, seq: 0 }, 1))).toEqual([`${c2.id}-1`]);
    });
  });

  describe('queries', () => {
    it('a history page, the room list and a resume read messages through an index, at any size', async () => {
      expect(h.plans, 'the factory explains the statements the store runs').toBeDefined();
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'direct', [a, b]);
      const g = await f.conversation(t, 'group', [a, b]);
      // Enough rows that a planner with statistics tells the indexes apart.
      for (let i = 0; i < 4; i++) await appendAll(s, Array.from({ length: 500 }, (_, j) => f.msg(j % 10 ? c : g, j % 2 ? a : b)));
      const plans = await h.plans!(async () => {
        await s.messagesBySeq(c.id, 1700, 1750);
        const list = await s.memberships(b.id);
        expect(list.length).toBe(2);
        await s.lastMessages(list.map((m) => m.conversation));
        await s.changesSince(c.id, 1700, 50, 1800);
      });
      expect(plans.length).toBeGreaterThanOrEqual(3);
      // Constant time at 10M rows: every read of messages is an index range bounded by seq or
      // change_seq within one conversation (or a key). A full scan grows with the table; an
      // index on conversation_id alone, filtered afterwards, with the conversation.
      const unbounded = plans.filter((p) => !boundedMessageAccess(p.plan));
      expect(unbounded, plans.map((p) => `${p.sql}\n${p.plan}`).join('\n\n')).toEqual([]);
    });

    // Last on purpose: it inspects every statement the tests above made the store run.
    it('nothing reads messages with OFFSET or COUNT', async () => {
      expect(h.statements, 'the factory records the SQL the store runs').toBeDefined();
      const texts = [...new Set(h.statements)];
      expect(texts.filter((q) => /\bmessages\b/i.test(q)).length).toBeGreaterThan(5);
      // Other tables may count a bounded set (a user's pending uploads, at most the quota). Over
      // messages two counts are bounded: the rows the unread rule leaves out, read through the
      // partial index of those only (sql/unread.ts), and a search walk of at most its LIMIT.
      const bounded = (q: string) => q.includes(UNCOUNTED_MESSAGE('d')) || /count\(\*\) AS walked FROM \([^()]*(\([^()]*\))?[^()]*LIMIT \d+\) AS \w+$/i.test(q);
      // A statement may count the rows its own WITH clauses wrote (the append's one trip checks
      // it moved every sender's row): the batch's rows, not a table's.
      const ownWrites = (q: string) => {
        const written = new Set([...q.matchAll(/\b(\w+) AS \((?:UPDATE|INSERT|DELETE)\b/gi)].map((m) => m[1]));
        return q.replace(/\(SELECT count\(\*\) FROM (\w+)\)/gi, (all, cte: string) => (written.has(cte) ? `(rows written by ${cte})` : all));
      };
      expect(texts.map(ownWrites).filter((q) => /\bmessages\b/i.test(q) && /\boffset\b|\bcount\s*\(/i.test(q) && !bounded(q))).toEqual([]);
    });
  });
}

/**
 * Whether a query plan (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN) reaches the
 * messages table only through index conditions on seq, change_seq or a key.
 */
export function boundedMessageAccess(plan: string): boolean {
  const lines = plan.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    // SQLite: "SEARCH m USING INDEX messages_conversation_seq (conversation_id=? AND seq=?)"
    const sqlite = /^(SCAN|SEARCH) (\w+)(?: USING (?:COVERING )?(?:INDEX (\w+)|INTEGER PRIMARY KEY))?(?: \((.*)\))?/.exec(line.trim());
    if (sqlite && /^(messages|m)$/.test(sqlite[2])) {
      if (sqlite[1] === 'SCAN') return false;
      if (sqlite[3]?.startsWith('messages_conversation') && !/\b(seq|change_seq)\b/.test(sqlite[4] ?? '')) return false;
      continue;
    }
    // PostgreSQL: "Index Scan using messages_conversation_seq on messages m" + "Index Cond: (…)"
    if (/Seq Scan on messages\b/.test(line)) return false;
    const pg = /(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (messages_\w+)/.exec(line);
    if (pg && pg[1].startsWith('messages_conversation')) {
      const cond = lines.slice(i + 1, i + 3).find((l) => l.includes('Index Cond')) ?? '';
      if (!/\b(seq|change_seq)\b/.test(cond)) return false;
    }
  }
  return true;
}

/**
 * Several processes on one database (PostgreSQL): two store instances appending to the same
 * conversations at once still produce gapless seqs, and a retry racing its original across
 * processes still yields one message.
 */
export function multiProcessStoreContract(make: () => Promise<StorePairHandle>): void {
  let h: StorePairHandle;
  const f = fixtures(() => h.stores[0]);

  beforeAll(async () => {
    h = await make();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('seq stays gapless and strictly increasing with two instances appending to the same conversations', async () => {
    const [s1, s2] = h.stores;
    const t = await f.tenant();
    const users = await f.users(t, 3);
    const convs = [await f.conversation(t, 'group', users), await f.conversation(t, 'group', users), await f.conversation(t, 'group', users)];
    const batches = concurrentBatches(f, convs, users, 80);
    const results = await Promise.all(batches.map((b, i) => appendAll(i % 2 ? s1 : s2, b)));
    await expectGapless(s1, convs, batches, results);
    await expectGapless(s2, convs, batches, results);
  });

  it('two admins demoting or removing each other at once on the two instances: one admin is left', async () => {
    const [s1, s2] = h.stores;
    const t = await f.tenant();
    const [a, b, c] = await f.users(t, 3);
    for (let i = 0; i < 10; i++) {
      const g = await f.conversation(t, 'group', [a, b, c]);
      await s1.setRole(g.id, b.id, 'admin', T0);
      const [x, y] = i % 2 ? [s1.setRole(g.id, a.id, 'member', T0), s2.setRole(g.id, b.id, 'member', T0)] : [s1.removeParticipant(g.id, a.id, T0), s2.removeParticipant(g.id, b.id, T0)];
      const settled = await Promise.allSettled([x, y]);
      expect(settled.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((settled.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'last_admin' });
      expect((await s2.members([g.id])).filter((m) => m.participant.role === 'admin')).toHaveLength(1);
    }
  });

  it("a snapshot on one instance does not see what the other commits while it reads", async () => {
    const [s1, s2] = h.stores;
    const t = await f.tenant();
    const [a, b] = await f.users(t, 2);
    const c = await f.conversation(t, 'direct', [a, b]);
    const first = (await appendAll(s2, [f.msg(c, a)]))[0].message;
    await s2.setReaction(first.id, b.id, '👍', true, T0);
    const seen = await s1.snapshot(async (r) => {
      const before = await r.changesSince(c.id, 0, 10, 10);
      await appendAll(s2, [f.msg(c, b)]);
      await s2.editMessage(first.id, 'edited by the other process', T0 + 1);
      return { before, after: await r.changesSince(c.id, 0, 10, 10), bySeq: await r.messagesBySeq(c.id, 1, 10), conv: await r.conversationById(c.id) };
    });
    expect(seen.before.map((m) => [m.seq, m.changeSeq])).toEqual([[1, 2]]);
    expect(seen.after).toEqual(seen.before);
    expect(seen.bySeq).toEqual(seen.before);
    expect(seen.conv).toMatchObject({ lastSeq: 1, changeSeq: 2 });
    expect(await s1.conversationById(c.id)).toMatchObject({ lastSeq: 2, changeSeq: 4 });
  });

  it("two instances appending to one tenant's audit log at once keep one gapless chain", async () => {
    const t = await f.tenant();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const fields = auditFields(t.id, i);
        return h.stores[i % 2].appendAudit(fields, (link) => auditHash({ ...fields, ...link }));
      }),
    );
    const stored = await h.stores[1].auditEntries(t.id, { order: 'asc', limit: 100 });
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    stored.forEach((e, i) => expect([e.prevHash, auditHash(e)]).toEqual([i === 0 ? AUDIT_GENESIS : stored[i - 1].hash, e.hash]));
  });

  it('an invite claimed through both instances at once admits one user', async () => {
    const [s1, s2] = h.stores;
    const t = await f.tenant();
    const codeHash = randomUUID().replace(/-/g, '').repeat(2);
    await s1.createInvite({ tenantId: t.id, codeHash, email: null, createdBy: null, createdAt: T0, expiresAt: T0 + 60_000 });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, k) => (k % 2 ? s1 : s2).createUserWithInvite({ tenantId: t.id, email: `mp${k}-${randomUUID()}@example.com`, name: `M${k}` }, codeHash, T0 + 1)),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('users created through both instances at once in a new tenant: exactly one admin', async () => {
    const [s1, s2] = h.stores;
    const t = await f.tenant();
    const users = await Promise.all(Array.from({ length: 10 }, (_, k) => (k % 2 ? s1 : s2).createUser({ tenantId: t.id, email: `mpa${k}-${randomUUID()}@example.com`, name: `A${k}` })));
    expect(users.filter((u) => u.tenantRole === 'admin')).toHaveLength(1);
  });

  it('a retry racing its original on the other instance returns the original with created:false', async () => {
    const [s1, s2] = h.stores;
    const t = await f.tenant();
    const [a, b] = await f.users(t, 2);
    const c = await f.conversation(t, 'direct', [a, b]);
    const pairs = Array.from({ length: 20 }, (_, i) => f.msg(c, a, { clientId: `race-${i}` }));
    const results = await Promise.all(pairs.flatMap((m) => [appendAll(s1, [m]), appendAll(s2, [{ ...m }])]));
    for (let i = 0; i < pairs.length; i++) {
      const [x, y] = [results[2 * i][0], results[2 * i + 1][0]];
      expect([x.created, y.created].sort()).toEqual([false, true]);
      expect(x.message.id).toBe(y.message.id);
    }
    expect(await s2.conversationById(c.id)).toMatchObject({ lastSeq: 20, changeSeq: 20 });
  });

  it('a pending quota holds with uploads of one user through both instances at once', async () => {
    const [s1, s2] = h.stores;
    const t = await f.tenant();
    const a = await f.user(t);
    const quota = { maxFiles: 0, maxBytes: 5000 };
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? s1 : s2).createPendingAttachments(t.id, a.id, [attachment(i, { storedPath: `chat_files/files/mp${i}-${randomUUID()}.pdf`, size: 1200 })], T0, quota)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    expect(await s1.pendingUsage(a.id)).toEqual({ files: 4, bytes: 4800 });
  });
}
