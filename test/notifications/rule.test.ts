import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { useUsers } from '../helpers/dialects.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { Device, dispatch, PushService } from './support.js';

// Issue 19, the rule: a push is due for (user, message) when the user's setting at the
// message's time asks for it (all; mentions: a mention or a direct message; none; not muted)
// and, when the dispatcher handles it, no device of theirs acknowledged it, they did not read
// it, and the setting in force then still asks for it. Each is sent once, never twice. Only
// to a user with a device both when the message was sent (else no outbox row is written) and
// when it is dispatched.

const P = '/api/parley';
const service = new PushService();
beforeAll(() => service.start());
afterAll(() => service.close());

type Level = 'all' | 'mentions' | 'none';
const HOUR = 3600_000;

describe.each(databases)('who gets a push on %s', (db) => {
  const server = useParley({ db, env: { NOTIFY_POLL_MS: '0', NOTIFY_DELAY_MS: '1000' } });
  const [a, b, c] = useUsers(server, 3, { names: ['Ada', 'Bo', 'Cat'] });
  const recipients = () => [b, c];
  const devices = new Map<number, Device>();
  // What the dispatcher reports (a push it could not send, a failed read): none is expected,
  // and one explains a push missing below.
  const reported: string[] = [];
  beforeAll(async () => {
    server.parley.core.notifications.onError = (e) => reported.push(String((e as Error)?.stack ?? e));
    for (const u of [b, c]) devices.set(u.user.id, await new Device().subscribe(server, service, u));
  });

  const group = async () => (await api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'group', title: 'Team', member_ids: [b.user.id, c.user.id] } })).body.id as number;
  const send = async (conv: number, content: string) => (await api(server, 'POST', `${P}/conversations/${conv}/messages`, { token: a.token, json: { content } })).body as { id: number; seq: number };
  /** The (user, message) pairs pushed so far (not the "clear" pushes of a read). */
  const pushed = () => {
    const out: string[] = [];
    for (const [userId, d] of devices) for (const r of service.to(d)) {
      const p = d.decrypt(r.body);
      if (p.message_id !== null) out.push(`${userId}:${p.message_id}`);
    }
    return out.sort();
  };

  it('in a group: mentions only by default, every message with `all`, nothing with `none` or while muted', async () => {
    const conv = await group();
    const before = pushed();
    const plain = await send(conv, 'hello all');
    const toBo = await send(conv, 'look @Bo');
    await api(server, 'PUT', `${P}/conversations/${conv}/notification-settings`, { token: c.token, json: { level: 'all' } });
    const toAll = await send(conv, 'and again');
    await dispatch(server);
    await api(server, 'PUT', `${P}/me/notification-settings`, { token: b.token, json: { mute_until: new Date(Date.now() + HOUR).toISOString() } });
    const muted = await send(conv, '@Bo while muted');
    await dispatch(server);
    const now = pushed().filter((x) => !before.includes(x));
    expect(reported).toEqual([]);
    expect(now).toEqual([`${b.user.id}:${toBo.id}`, `${c.user.id}:${toAll.id}`, `${c.user.id}:${muted.id}`].sort());
    expect(plain.seq).toBe(1);
    expect((await api(server, 'GET', `${P}/me/notification-settings`, { token: b.token })).body).toMatchObject({ level: 'mentions', mute_until: expect.any(String) });
    expect((await api(server, 'GET', `${P}/conversations/${conv}/notification-settings`, { token: c.token })).body).toEqual({ level: 'all', mute_until: null });
    await api(server, 'PUT', `${P}/me/notification-settings`, { token: b.token, json: { mute_until: null } });
  });

  it('property: after any sends, acks, reads, setting changes and dispatches, the pushes sent are exactly the due pairs, each once', async () => {
    const action = fc.oneof(
      fc.record({ t: fc.constant('send' as const), mention: fc.subarray([0, 1]) }),
      fc.record({ t: fc.constant('ack' as const), who: fc.integer({ min: 0, max: 1 }) }),
      fc.record({ t: fc.constant('read' as const), who: fc.integer({ min: 0, max: 1 }) }),
      fc.record({ t: fc.constant('level' as const), who: fc.integer({ min: 0, max: 1 }), conv: fc.boolean(), level: fc.constantFrom<Level | null>('all', 'mentions', 'none', null) }),
      fc.record({ t: fc.constant('mute' as const), who: fc.integer({ min: 0, max: 1 }), on: fc.boolean() }),
      fc.record({ t: fc.constant('tick' as const) }),
      fc.record({ t: fc.constant('device' as const), who: fc.integer({ min: 0, max: 1 }), on: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const conv = await group();
        const users = recipients();
        // The model: settings, watermarks, and the outbox rows written.
        const model = users.map(() => ({ own: 'mentions' as Level, conv: null as Level | null, muted: false, acked: 0, read: 0, device: true }));
        // Every run starts with each user's one device subscribed (subscribing again replaces it).
        for (const u of users) await devices.get(u.user.id)!.subscribe(server, service, u);
        for (const u of users) await api(server, 'PUT', `${P}/me/notification-settings`, { token: u.token, json: { level: 'mentions', mute_until: null } });
        const level = (i: number) => model[i].conv ?? model[i].own;
        let rows: { i: number; id: number; seq: number }[] = [];
        const expected: string[] = [];
        let lastSeq = 0;
        const before = pushed();
        const tick = async () => {
          await dispatch(server);
          for (const r of rows) {
            const m = model[r.i];
            if (m.read >= r.seq || m.acked >= r.seq || level(r.i) === 'none' || m.muted || !m.device) continue;
            expected.push(`${users[r.i].user.id}:${r.id}`);
          }
          rows = [];
        };
        for (const act of actions) {
          switch (act.t) {
            case 'send': {
              const names = act.mention.map((i) => '@' + users[i].user.name).join(' ');
              const m = await send(conv, `msg ${names}`);
              lastSeq = m.seq;
              users.forEach((_, i) => {
                const wanted = level(i) === 'all' || (level(i) === 'mentions' && act.mention.includes(i));
                if (wanted && !model[i].muted && model[i].device) rows.push({ i, id: m.id, seq: m.seq });
              });
              break;
            }
            case 'ack':
              if (lastSeq === 0) break;
              await api(server, 'POST', `${P}/conversations/${conv}/delivered`, { token: users[act.who].token, json: { seq: lastSeq } });
              await server.parley.core.receipts.flush();
              model[act.who].acked = lastSeq;
              break;
            case 'read':
              await api(server, 'POST', `${P}/conversations/${conv}/read`, { token: users[act.who].token, json: {} });
              model[act.who].read = lastSeq;
              break;
            case 'level':
              if (act.conv) {
                await api(server, 'PUT', `${P}/conversations/${conv}/notification-settings`, { token: users[act.who].token, json: { level: act.level } });
                model[act.who].conv = act.level;
              } else {
                await api(server, 'PUT', `${P}/me/notification-settings`, { token: users[act.who].token, json: { level: act.level ?? 'mentions' } });
                model[act.who].own = act.level ?? 'mentions';
              }
              break;
            case 'mute':
              await api(server, 'PUT', `${P}/me/notification-settings`, { token: users[act.who].token, json: { mute_until: act.on ? new Date(Date.now() + HOUR).toISOString() : null } });
              model[act.who].muted = act.on;
              break;
            case 'tick':
              await tick();
              break;
            case 'device': {
              const u = users[act.who];
              const d = devices.get(u.user.id)!;
              if (act.on && !model[act.who].device) await d.subscribe(server, service, u);
              if (!act.on && model[act.who].device) expect((await api(server, 'DELETE', `${P}/push/subscriptions/${d.id}`, { token: u.token })).status).toBeLessThan(300);
              model[act.who].device = act.on;
              break;
            }
          }
        }
        await tick();
        const sent = pushed().filter((x) => !before.includes(x));
        expect(reported).toEqual([]);
        expect(sent).toEqual(expected.sort());
        expect(await server.parley.store.pendingNotifications()).toBe(0);
      }),
      { numRuns: 8, seed: 1919 },
    );
  });
});
