import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { allEvents, newGroup, newTenant, send } from './support.js';

// Issue 19: every change is logged in its own transaction, and the events API reads the log
// by cursor: the same ids every time, in order, paged without offsets.

describe.each(databases)('the events log on %s', (db) => {
  // No WEBHOOKS: the log is on by default.
  const server = useParley({ db });

  it('logs messages, edits, deletes, reactions, membership and conversation changes in order, read by cursor', async () => {
    const { admin, member } = await newTenant(server);
    const other = await newTenant(server);
    const c = await newGroup(server, admin, []);
    expect((await api(server, 'POST', `/api/parley/conversations/${c}/participants`, { token: admin.token, json: { user_id: member.user.id } })).status).toBe(201);
    const m1 = await send(server, member, c, 'hello');
    await send(server, admin, c, 'hi');
    expect((await api(server, 'PATCH', `/api/parley/messages/${m1}`, { token: member.token, json: { content: 'hello!' } })).status).toBe(200);
    expect((await api(server, 'PUT', `/api/parley/messages/${m1}/reactions/${encodeURIComponent('👍')}`, { token: admin.token })).status).toBeLessThan(300);
    expect((await api(server, 'DELETE', `/api/parley/messages/${m1}/reactions/${encodeURIComponent('👍')}`, { token: admin.token })).status).toBeLessThan(300);
    expect((await api(server, 'PATCH', `/api/parley/conversations/${c}/participants/${member.user.id}`, { token: admin.token, json: { role: 'moderator' } })).status).toBeLessThan(300);
    expect((await api(server, 'DELETE', `/api/parley/messages/${m1}`, { token: member.token })).status).toBeLessThan(300);
    expect((await api(server, 'PATCH', `/api/parley/conversations/${c}`, { token: admin.token, json: { title: 'Renamed' } })).status).toBe(200);
    expect((await api(server, 'DELETE', `/api/parley/conversations/${c}/participants/${member.user.id}`, { token: admin.token })).status).toBe(204);
    expect((await api(server, 'DELETE', `/api/parley/conversations/${c}`, { token: admin.token })).status).toBe(204);

    const events = await allEvents(server, admin);
    expect(events.map((e) => e.type)).toEqual([
      'conversation.created',
      'member.joined',
      'message.created',
      'message.created',
      'message.updated',
      'reaction.added',
      'reaction.removed',
      'member.role_changed',
      'message.deleted',
      'conversation.updated',
      'member.left',
      'conversation.deleted',
    ]);
    // Cursors increase, ids are evt_… and unique; every event names its conversation.
    expect(events.map((e) => e.cursor)).toEqual([...events.map((e) => e.cursor)].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const e of events) expect(e.id).toMatch(/^evt_/), expect(e.conversation_id).toBe(c);
    // Parley's own shapes.
    expect(events[2].data.message).toMatchObject({ id: m1, content: 'hello', sender: { id: member.user.id } });
    expect(events[4].data.message).toMatchObject({ id: m1, content: 'hello!' });
    expect(events[5].data).toMatchObject({ emoji: '👍', user: { id: admin.user.id }, message: { id: m1 } });
    expect(events[7].data).toMatchObject({ user: { id: member.user.id }, role: 'moderator' });
    expect(events[9].data.conversation).toMatchObject({ id: c, title: 'Renamed' });
    // The same ids read again, from any cursor.
    expect((await allEvents(server, admin, events[5].cursor, 100)).map((e) => e.id)).toEqual(events.slice(6).map((e) => e.id));
    // Another tenant's log is its own.
    expect(await allEvents(server, other.admin)).toEqual([]);
  });

  it('is for tenant admins only', async () => {
    const { member } = await newTenant(server);
    const r = await api(server, 'GET', '/api/parley/events', { token: member.token });
    expect([r.status, r.body]).toEqual([403, { detail: expect.any(String), code: 'not_permitted' }]);
    expect((await api(server, 'GET', '/api/parley/events')).status).toBe(401);
  });
});
