import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CachedStore } from '../../src/backends/store/cached-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import { DomainError } from '../../src/core/errors.js';
import type { User } from '../../src/core/model.js';
import { api, type TestUser } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { tenant } from '../bots/support.js';
import { P } from '../admin/support.js';

// Issue 20: every administrative and moderation action appends its audit entry in its own
// transaction (docs/audit.md, "Appending"). Over the core on the real stores: one entry per
// committed action, none for a refused one, the chain verifies; an append that fails takes the
// action with it; a moderator's ban cannot meet a concurrent promotion of its target.

async function group(server: TestServer, owner: TestUser, others: TestUser[]): Promise<number> {
  const r = await api(server, 'POST', `${P}/conversations`, { token: owner.token, json: { kind: 'group', title: 'Audited', member_ids: others.map((u) => u.user.id) } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return (r.body as { id: number }).id;
}

type Step =
  | { k: 'role'; u: number; role: 'admin' | 'member' }
  | { k: 'suspend'; u: number }
  | { k: 'reactivate'; u: number }
  | { k: 'archive'; on: boolean }
  | { k: 'sanction'; kind: 'ban' | 'mute'; by: number; u: number }
  | { k: 'lift'; kind: 'ban' | 'mute'; by: number; u: number }
  | { k: 'settings'; days: number }
  | { k: 'retention'; days: number }
  | { k: 'transfer'; u: number }
  | { k: 'delete'; by: number };

const who = fc.nat(3);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ k: fc.constant('role' as const), u: who, role: fc.constantFrom('admin' as const, 'member' as const) }),
  fc.record({ k: fc.constant('suspend' as const), u: who }),
  fc.record({ k: fc.constant('reactivate' as const), u: who }),
  fc.record({ k: fc.constant('archive' as const), on: fc.boolean() }),
  fc.record({ k: fc.constant('sanction' as const), kind: fc.constantFrom('ban' as const, 'mute' as const), by: fc.nat(1), u: who }),
  fc.record({ k: fc.constant('lift' as const), kind: fc.constantFrom('ban' as const, 'mute' as const), by: fc.nat(1), u: who }),
  fc.record({ k: fc.constant('settings' as const), days: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ k: fc.constant('retention' as const), days: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ k: fc.constant('transfer' as const), u: who }),
  fc.record({ k: fc.constant('delete' as const), by: fc.nat(1) }),
);

describe.each(databases)('audit entries in their actions\' transactions, on %s', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });
  const core = () => server.parley.core;
  const sqlStore = () => (core().deps.store as CachedStore).inner as SqlStore;
  const user = async (t: TestUser): Promise<User> => (await core().deps.store.userById(t.user.id))!;

  /** A tenant: its admin, a conversation moderator, the conversation's admin (its owner), a member; and the group. */
  async function world() {
    const t = await tenant(server, 3);
    const [mod, owner, plain] = t.members;
    const conversation = await group(server, owner, [mod, plain]);
    const people = await Promise.all([t.admin, mod, owner, plain].map(user));
    await core().conversations.setRole(people[2], conversation, people[1].id, 'moderator');
    const tenantId = people[0].tenantId;
    return { people, conversation, tenantId, plainUser: plain };
  }

  it('after any sequence of admin and moderation actions, some refused, the log holds one entry per committed action, in commit order, and verifies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        const { people, conversation, tenantId, plainUser } = await world();
        const [admin, mod] = people;
        const c = core();
        const entries = async () => c.deps.store.auditEntries(tenantId, { order: 'asc', limit: 1000 });
        let seen = (await entries()).length;
        for (const s of steps) {
          const target = people[(s as { u?: number }).u ?? 0];
          const sanctionsBefore = JSON.stringify(await c.deps.store.sanctionsOf(conversation, target.id, 0));
          let expected: string[];
          try {
            switch (s.k) {
              case 'role': {
                const before = (await c.deps.store.userById(target.id))!.tenantRole;
                await c.admin.setTenantRole(admin, target.id, s.role);
                expected = before === s.role ? [] : ['user.role'];
                break;
              }
              case 'suspend':
                await c.accounts.suspend(admin, target.id, 'because');
                expected = ['user.suspend'];
                break;
              case 'reactivate': {
                const before = (await c.deps.store.userById(target.id))!.suspendedAt;
                await c.accounts.reactivate(admin, target.id);
                expected = before === null ? [] : ['user.reactivate'];
                break;
              }
              case 'archive':
                await c.admin.archive(admin, conversation, s.on);
                expected = [s.on ? 'conversation.archive' : 'conversation.unarchive'];
                break;
              case 'sanction':
                await c.moderation[s.kind](s.by ? mod : admin, conversation, target.id, { reason: 'spam' });
                expected = [`conversation.${s.kind}`];
                break;
              case 'lift':
                expected = (await c.moderation.lift(s.by ? mod : admin, conversation, target.id, s.kind)) ? [`conversation.un${s.kind}`] : [];
                break;
              case 'settings':
                await c.admin.setSettings(admin, { retentionDays: s.days });
                expected = ['tenant.settings'];
                break;
              case 'retention':
                await c.retention.setTenantRetention(admin, s.days);
                expected = ['retention.set'];
                break;
              case 'transfer':
                await c.admin.transfer(admin, conversation, target.id);
                expected = ['conversation.transfer'];
                break;
              case 'delete': {
                // Someone else's message deleted by a moderator (or the tenant admin).
                const sent = await api(server, 'POST', `${P}/conversations/${conversation}/messages`, { token: plainUser.token, json: { content: 'spam' } });
                if (sent.status !== 201) {
                  expected = [];
                  break;
                }
                await c.messages.delete(s.by ? mod : admin, (sent.body as { id: number }).id, 'spam');
                expected = ['message.delete'];
                break;
              }
            }
          } catch (e) {
            if (!(e instanceof DomainError)) throw e;
            expected = [];
            // Refused: nothing of it committed (a ban of the last admin used to stand until lifted).
            expect(JSON.stringify(await c.deps.store.sanctionsOf(conversation, target.id, 0)), `${JSON.stringify(s)} refused (${e.code})`).toBe(sanctionsBefore);
          }
          const all = await entries();
          expect(all.slice(seen).map((e) => e.action), JSON.stringify(s)).toEqual(expected);
          seen = all.length;
        }
        const all = await entries();
        expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
        expect(await c.audit.verify(tenantId)).toEqual({ ok: true, checked: all.length });
      }),
      { numRuns: db === 'sqlite' ? 6 : 4 },
    );
  });

  it('an append that fails inside the transaction leaves the action uncommitted (a role change, a suspension, a ban, the settings)', async () => {
    const { people, conversation, tenantId } = await world();
    const [admin, mod, , plain] = people;
    const c = core();
    const head = (await c.deps.store.auditHead(tenantId))!;
    // The next seq taken already: the append's INSERT breaks the (tenant, seq) unique index,
    // inside the action's transaction, as a crash between the two would have.
    const sql = (text: string, params: unknown[]) => sqlStore().runner.run(raw(text, params));
    await sql(
      `INSERT INTO audit_log (tenant_id, seq, at, actor_id, action, target_type, target_id, reason, origin, details, prev_hash, hash) VALUES (?, ?, 0, NULL, 'x.blocker', 'user', 'x', NULL, NULL, NULL, ?, ?)`,
      [tenantId, head.lastSeq + 1, head.lastHash, 'b'.repeat(64)],
    );
    await expect(c.admin.setTenantRole(admin, plain.id, 'admin')).rejects.toThrow();
    await expect(c.accounts.suspend(admin, plain.id, 'no')).rejects.toThrow();
    await expect(c.moderation.ban(mod, conversation, plain.id, {})).rejects.toThrow();
    await expect(c.admin.setSettings(admin, { retentionDays: 9 })).rejects.toThrow();
    const after = (await c.deps.store.userById(plain.id))!;
    expect(after.tenantRole).toBe('member');
    expect(after.suspendedAt).toBeNull();
    expect(await c.deps.store.sanctionsOf(conversation, plain.id, 0)).toEqual([]);
    expect(await c.deps.store.memberRole(conversation, plain.id)).toBe('member');
    expect((await c.deps.store.tenantSettings(tenantId)).retentionDays).toBeNull();
    expect(await c.deps.store.auditHead(tenantId)).toEqual(head);
    // The log back as it was: the chain verifies, and the next action appends after it.
    await sql('DELETE FROM audit_log WHERE tenant_id = ? AND seq = ?', [tenantId, head.lastSeq + 1]);
    await c.admin.setTenantRole(admin, plain.id, 'admin');
    expect(await c.audit.verify(tenantId)).toEqual({ ok: true, checked: head.lastSeq + 1 });
  });

  // PostgreSQL only: SQLite runs one writer at a time, so the two cannot race there.
  if (db === 'postgres') it('a moderator\'s ban racing a promotion of its target to admin: never both (the check and the ban are one transaction)', async () => {
    const c = core();
    try {
      for (let i = 0; i < 3; i++) {
        const { people, conversation } = await world();
        const [, mod, owner, plain] = people;
        let promotion: Promise<boolean> | undefined;
        // Between the moderator's check of the target's role and the ban's write, the target is
        // promoted (the store's write, as another process's would be); unguarded, the promotion
        // commits meanwhile and the ban then removes an admin. Guarded, it waits for the ban's
        // transaction and finds no member to promote.
        c.hooks.sanctionChecked = async () => {
          c.hooks.sanctionChecked = undefined;
          promotion = c.deps.store.setRole(conversation, plain.id, 'admin', Date.now());
          await new Promise((r) => setTimeout(r, 500));
        };
        const ban = await c.moderation.ban(mod, conversation, plain.id, { reason: 'race' }).then(() => 'banned', (e: DomainError) => e.code);
        const promoted = await promotion;
        expect({ ban, promoted }).toEqual({ ban: 'banned', promoted: false });
        expect(await c.deps.store.memberRole(conversation, plain.id)).toBeUndefined();
        void owner;
      }
    } finally {
      c.hooks.sanctionChecked = undefined;
    }
  });
});
