import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { users } from '../helpers/dialects.js';
import { useTwoProcesses } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';
import { Device, PushService } from './support.js';

// Issue 19: two processes on one PostgreSQL dispatch the same outbox at once; each claims
// rows under a lease with FOR UPDATE SKIP LOCKED, so every notification is sent exactly once.

const redisUrl = process.env.REDIS_URL;
const service = new PushService();
beforeAll(() => service.start());
afterAll(() => service.close());

describe.skipIf(!hasPostgres || !redisUrl)('two dispatchers on one PostgreSQL', () => {
  const [one, two] = useTwoProcesses({ NOTIFY_POLL_MS: '0', NOTIFY_DELAY_MS: '0' });

  it('every due notification is sent exactly once, whichever process claims it', async () => {
    const [sender, ...people] = await users(one, 6);
    const devices = await Promise.all(people.map((u) => new Device().subscribe(one, service, u)));
    const conv = (await api(one, 'POST', '/api/parley/conversations', { token: sender.token, json: { kind: 'group', title: 'Many', member_ids: people.map((u) => u.user.id) } })).body.id;
    await api(one, 'PUT', `/api/parley/conversations/${conv}/notification-settings`, { token: sender.token, json: { level: 'all' } });
    for (const u of people) await api(two, 'PUT', `/api/parley/me/notification-settings`, { token: u.token, json: { level: 'all' } });
    const sent: number[] = [];
    for (let i = 0; i < 20; i++) sent.push((await api(i % 2 ? one : two, 'POST', `/api/parley/conversations/${conv}/messages`, { token: sender.token, json: { content: `m${i}` } })).body.id);
    // Both processes dispatch at once, several times over.
    const now = Date.now() + 60_000;
    await Promise.all([one, two, one, two].map((s) => s.parley.core.notifications.tick(now)));
    const got = devices.flatMap((d, i) => service.to(d).map((r) => `${people[i].user.id}:${d.decrypt(r.body).message_id}`));
    const expected = people.flatMap((u) => sent.map((id) => `${u.user.id}:${id}`));
    expect(got.length).toBe(expected.length);
    expect(new Set(got)).toEqual(new Set(expected));
    const counted = one.parley.core.notifications.counts.sent + two.parley.core.notifications.counts.sent;
    expect(counted).toBe(expected.length);
    expect(await one.parley.store.pendingNotifications()).toBe(0);
  });
});
