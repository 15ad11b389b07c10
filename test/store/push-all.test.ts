// participants.push_all picks the push outbox's candidates for a message without mentions in
// a group (sql/notifications.ts): only members whose level in force is `all`, through an
// index, instead of a probe per member of the group. A member left out of it would miss a
// push their setting asks for, so the rule is tested as an invariant on SQLite and PostgreSQL:
// after any sequence of setting changes (a conversation's or the user's own), joins, leaves,
// rejoins, new conversations and erasures, every membership's push_all is 1 exactly where
// the level in force there is `all`; and the outbox rows a plain message and a mention write
// are the ones the settings ask for (a device, not muted, not the sender, a current member).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import type { NewMessage } from '../../src/backends/store/store.js';
import type { Id, User } from '../../src/core/model.js';
import { databases } from '../helpers/pg.js';
import { openScratchStore } from '../helpers/store-scene.js';

const RUNS = Number(process.env.PUSH_ALL_RUNS ?? 60);
const SEED = Number(process.env.PUSH_ALL_SEED ?? 20261207);
type Level = 'all' | 'mentions' | 'none';
const USERS = 4;

const start = fc.record({ level: fc.constantFrom<Level>('all', 'mentions', 'none'), device: fc.boolean() });
const action = fc.oneof(
  fc.record({ t: fc.constant('conv' as const), u: fc.nat(USERS - 1), c: fc.nat(3), level: fc.constantFrom<Level | null>('all', 'mentions', 'none', null) }),
  fc.record({ t: fc.constant('own' as const), u: fc.nat(USERS - 1), level: fc.constantFrom<Level>('all', 'mentions', 'none') }),
  fc.record({ t: fc.constant('mute' as const), u: fc.nat(USERS - 1), c: fc.option(fc.nat(3), { nil: null }), on: fc.boolean() }),
  // Joins and leaves are where a membership's candidacy is set: drawn three times as often.
  { arbitrary: fc.record({ t: fc.constant('add' as const), u: fc.nat(USERS - 1), c: fc.nat(3) }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('remove' as const), u: fc.nat(USERS - 1), c: fc.nat(3) }), weight: 3 },
  fc.record({ t: fc.constant('create' as const), members: fc.subarray([0, 1, 2, 3], { minLength: 1 }) }),
  fc.record({ t: fc.constant('erase' as const), u: fc.nat(USERS - 1) }),
  fc.record({ t: fc.constant('device' as const), u: fc.nat(USERS - 1) }),
);

describe.each(databases)('push_all on %s', (dialect) => {
  let store: SqlStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, close } = await openScratchStore(dialect, 'push-all'));
  });
  afterAll(() => close());

  it("a user's own level reaches every membership, past a thousand of them (set in chunks)", async () => {
    const tenant = await store.ensureTenant(randomUUID(), 't');
    const u = await store.createUser({ tenantId: tenant.id, email: `many-${randomUUID()}@example.test`, name: 'many' });
    // A uuid holds 36 characters: a short tag and the number.
    const tag = randomUUID().slice(0, 8);
    const upTo = `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1050)`;
    await store.runner.run(
      raw(`INSERT INTO conversations (uuid, tenant_id, kind, created_at, updated_at) ${upTo} SELECT ? || '-' || CAST(n AS TEXT), ?, 'group', 0, 0 FROM g`, [tag, tenant.id]),
    );
    await store.runner.run(
      raw(`INSERT INTO participants (conversation_id, user_id, role, joined_at) SELECT id, ?, 'member', 0 FROM conversations WHERE uuid LIKE ?`, [u.id, `${tag}-%`]),
    );
    const count = async (flag: number) =>
      Number((await store.runner.all<{ n: number }>(raw('SELECT COUNT(*) AS n FROM participants WHERE user_id = ? AND push_all = ?', [u.id, flag])))[0].n);
    expect(await count(0)).toBe(1050);
    await store.setNotificationSetting(u.id, 0, { level: 'all', muteUntil: 0 });
    expect(await count(1)).toBe(1050);
    await store.scrubErasedContent(u.id);
    expect(await count(0)).toBe(1050);
  });

  it('property: every membership is a candidate exactly where its level in force is `all`, and the outbox holds what the settings ask for', async () => {
    const NOW = 1_000_000;
    await fc.assert(
      fc.asyncProperty(fc.array(start, { minLength: USERS, maxLength: USERS }), fc.array(action, { minLength: 1, maxLength: 14 }), async (initial, actions) => {
        const tenant = await store.ensureTenant(randomUUID(), 't');
        const users: User[] = [];
        for (let i = 0; i < USERS; i++) users.push(await store.createUser({ tenantId: tenant.id, email: `u${i}-${randomUUID()}@example.test`, name: `u${i}` }));
        // The model: each user's own level, conversation levels and mutes; memberships; devices.
        const own = new Map<number, Level>();
        const convLevel = new Map<string, Level | null>();
        const muted = new Set<string>();
        const members = new Map<Id, Set<number>>();
        const devices = new Set<number>();
        const conversations: Id[] = [];
        const at = (c: number) => conversations[c % conversations.length];
        const levelIn = (u: number, c: Id): Level => convLevel.get(`${u}:${c}`) ?? own.get(u) ?? 'mentions';
        const setting = (u: number, c: Id) => ({ level: c === 0 ? (own.get(u) ?? 'mentions') : (convLevel.get(`${u}:${c}`) ?? null), muteUntil: muted.has(`${u}:${c}`) ? NOW + 3600_000 : 0 });
        const device = async (u: number) => {
          await store.addPushSubscription({ userId: users[u].id, kind: 'web', deviceId: randomUUID(), endpoint: `https://push.example/${randomUUID()}`, p256dh: 'k', auth: 'a' }, NOW);
          devices.add(u);
        };
        const create = async (who: readonly number[]) => {
          const c = await store.createConversation(
            { tenantId: tenant.id, kind: 'group', title: 'g', createdBy: users[who[0]].id, participants: who.map((i) => ({ userId: users[i].id, role: i === who[0] ? ('admin' as const) : ('member' as const) })) },
            NOW,
          );
          conversations.push(c.id);
          members.set(c.id, new Set(who));
        };
        // Each user's own level and device as the run starts (most have a device, as on a phone).
        for (const [i, u] of initial.entries()) {
          own.set(i, u.level);
          await store.setNotificationSetting(users[i].id, 0, setting(i, 0));
          if (u.device) await device(i);
        }
        await create([0, 1, 2]);

        for (const act of actions) {
          switch (act.t) {
            case 'conv': {
              const c = at(act.c);
              convLevel.set(`${act.u}:${c}`, act.level);
              await store.setNotificationSetting(users[act.u].id, c, setting(act.u, c));
              break;
            }
            case 'own':
              own.set(act.u, act.level);
              await store.setNotificationSetting(users[act.u].id, 0, setting(act.u, 0));
              break;
            case 'mute': {
              const c = act.c === null ? 0 : at(act.c);
              if (act.on) muted.add(`${act.u}:${c}`);
              else muted.delete(`${act.u}:${c}`);
              await store.setNotificationSetting(users[act.u].id, c, setting(act.u, c));
              break;
            }
            case 'add': {
              const c = at(act.c);
              await store.addParticipants(c, [{ userId: users[act.u].id, role: 'member' }], NOW);
              members.get(c)!.add(act.u);
              break;
            }
            case 'remove': {
              const c = at(act.c);
              // The last admin of a group with others stays (Store contract): the model follows.
              try {
                if (await store.removeParticipant(c, users[act.u].id, NOW)) members.get(c)!.delete(act.u);
              } catch (e) {
                expect(String((e as Error).message)).toContain('last_admin');
              }
              break;
            }
            case 'create':
              await create(act.members);
              break;
            case 'erase':
              await store.scrubErasedContent(users[act.u].id);
              own.delete(act.u);
              for (const k of [...convLevel.keys()]) if (k.startsWith(`${act.u}:`)) convLevel.delete(k);
              for (const k of [...muted]) if (k.startsWith(`${act.u}:`)) muted.delete(k);
              devices.delete(act.u);
              break;
            case 'device':
              await device(act.u);
              break;
          }
        }

        // The invariant, on every membership row (left ones too: a rejoin must find it right).
        const ids = users.map((u) => u.id);
        const rows = await store.runner.all<{ conversation_id: number; user_id: number; push_all: number }>(
          raw(`SELECT conversation_id, user_id, push_all FROM participants WHERE user_id IN (${ids.map(() => '?').join(', ')})`, ids),
        );
        for (const r of rows) {
          const u = ids.indexOf(Number(r.user_id));
          expect({ c: Number(r.conversation_id), u, pushAll: Number(r.push_all) }).toEqual({ c: Number(r.conversation_id), u, pushAll: levelIn(u, Number(r.conversation_id)) === 'all' ? 1 : 0 });
        }

        // The outbox: in each conversation, one plain message and one mentioning user 3, from a current member.
        const sends: NewMessage[] = [];
        const expected: string[] = [];
        for (const c of conversations) {
          const current = [...members.get(c)!].sort();
          if (current.length === 0) continue;
          const sender = current[0];
          for (const mention of [null, 3]) {
            const mentionIds = mention === null ? [] : [users[mention].id];
            sends.push({
              conversationId: c, senderId: users[sender].id, kind: 'text', content: 'hi', replyToId: null, clientId: randomUUID(), attachments: [], createdAt: NOW,
              notify: { dueAt: NOW + 1000, direct: false, mentionIds },
            });
            for (const u of current) {
              if (u === sender || !devices.has(u)) continue;
              if (muted.has(`${u}:${c}`) || muted.has(`${u}:0`)) continue;
              const level = levelIn(u, c);
              if (level === 'all' || (level === 'mentions' && u === mention)) expected.push(`${c}:${u}:${mention ?? '-'}`);
            }
          }
        }
        const appended = await store.appendMessages(sends);
        const byMessage = new Map<number, string>();
        appended.forEach((r, i) => {
          if (!('message' in r)) throw new Error('deferred');
          byMessage.set(r.message.id, `${sends[i].conversationId}:${sends[i].notify!.mentionIds.length ? 3 : '-'}`);
        });
        const messageIds = [...byMessage.keys()];
        const outbox = messageIds.length
          ? await store.runner.all<{ user_id: number; message_id: number }>(raw(`SELECT user_id, message_id FROM notification_outbox WHERE message_id IN (${messageIds.map(() => '?').join(', ')})`, messageIds))
          : [];
        const got = outbox.map((o) => {
          const [c, m] = byMessage.get(Number(o.message_id))!.split(':');
          return `${c}:${ids.indexOf(Number(o.user_id))}:${m}`;
        });
        expect(got.sort()).toEqual(expected.sort());
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
