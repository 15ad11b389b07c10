// Presence (003, Presence: GET presence/, GET/PUT presence/me/ with status
// online|away|busy|offline and current_conversation; UserPresence model: user_id, status,
// last_seen, current_conversation). Presence is ephemeral and told to conversation partners.
import { describe, expect, it } from 'vitest';
import { api } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, ISO_MS, conversationWith, databases, expectDetail, expectStatus, nextError, settle, socket003, users } from './support.js';

describe.each(databases)('003 presence on %s', (db) => {
  const server = useParley({ db });

  it('GET presence/me/ shows the model\'s fields: offline without a socket, online with one', async () => {
    const [a] = await users(server, 1);
    const off = await api(server, 'GET', `${P}/presence/me/`, { token: a.token });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ user_id: a.user.uuid, status: 'offline', current_conversation: null });
    expect(off.body).toHaveProperty('last_seen');
    await socket003(server, a);
    const on = await api(server, 'GET', `${P}/presence/me/`, { token: a.token });
    expect(on.body).toMatchObject({ user_id: a.user.uuid, status: 'online' });
    expect(on.body.last_seen).toMatch(ISO_MS);
  });

  it('PUT presence/me/ as documented: each status, and current_conversation', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    await socket003(server, a);
    for (const status of ['away', 'busy', 'offline', 'online'] as const) {
      const put = await api(server, 'PUT', `${P}/presence/me/`, { token: a.token, json: { status } });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ user_id: a.user.uuid, status });
      expect((await api(server, 'GET', `${P}/presence/me/`, { token: a.token })).body.status).toBe(status);
    }
    const put = await api(server, 'PUT', `${P}/presence/me/`, { token: a.token, json: { status: 'busy', current_conversation: conv } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ status: 'busy', current_conversation: conv });
    expect((await api(server, 'GET', `${P}/presence/me/`, { token: a.token })).body).toMatchObject({ status: 'busy', current_conversation: conv });
    // Cleared with null.
    const cleared = await api(server, 'PUT', `${P}/presence/me/`, { token: a.token, json: { status: 'online', current_conversation: null } });
    expect(cleared.body).toMatchObject({ status: 'online', current_conversation: null });
    // A conversation the user is not in: 404.
    const [o] = await users(server, 1);
    const foreign = await conversationWith(server, o, []);
    expectDetail(await api(server, 'PUT', `${P}/presence/me/`, { token: a.token, json: { status: 'busy', current_conversation: foreign } }), 404);
  });

  it('PUT presence/me/ by REST alone (no socket) answers with what it set', async () => {
    const [a] = await users(server, 1);
    const conv = await conversationWith(server, a, []);
    const put = await api(server, 'PUT', `${P}/presence/me/`, { token: a.token, json: { status: 'busy', current_conversation: conv } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ user_id: a.user.uuid, status: 'busy', current_conversation: conv });
    expect((await api(server, 'GET', `${P}/presence/me/`, { token: a.token })).body).toMatchObject({ status: 'busy', current_conversation: conv });
  });

  it('update_presence over the socket takes current_conversation too', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const s = await socket003(server, a);
    s.send({ type: 'update_presence', status: 'away', current_conversation: conv });
    await settle(s);
    expect(s.all('error')).toEqual([]);
    expect((await api(server, 'GET', `${P}/presence/me/`, { token: a.token })).body).toMatchObject({ status: 'away', current_conversation: conv });
    // One the user is not in is refused.
    const [o] = await users(server, 1);
    const foreign = await conversationWith(server, o, []);
    s.send({ type: 'update_presence', status: 'busy', current_conversation: foreign });
    await nextError(s, /not found/i);
    expect((await api(server, 'GET', `${P}/presence/me/`, { token: a.token })).body).toMatchObject({ status: 'away', current_conversation: conv });
  });

  it('current_conversation ends with the last socket, like the status', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const sb = await socket003(server, b);
    const s1 = await socket003(server, a);
    const s2 = await socket003(server, a);
    expectStatus(await api(server, 'PUT', `${P}/presence/me/`, { token: a.token, json: { status: 'busy', current_conversation: conv } }), 200);
    s1.close();
    await s1.closed;
    await settle(s2);
    expect((await api(server, 'GET', `${P}/presence/me/`, { token: a.token })).body).toMatchObject({ status: 'busy', current_conversation: conv });
    s2.close();
    await sb.next('presence_update', { where: (f) => f.user_id === a.user.uuid && f.status === 'offline' });
    expect((await api(server, 'GET', `${P}/presence/me/`, { token: a.token })).body).toMatchObject({ status: 'offline', current_conversation: null });
  });

  it('GET presence/ lists the caller\'s conversation partners with their status', async () => {
    const [a, b, c, stranger] = await users(server, 4);
    await conversationWith(server, a, [b, c]);
    await socket003(server, b);
    await socket003(server, stranger);
    expectStatus(await api(server, 'PUT', `${P}/presence/me/`, { token: b.token, json: { status: 'busy' } }), 200);
    const list = await api(server, 'GET', `${P}/presence/`, { token: a.token });
    expect(list.status).toBe(200);
    expect(Array.isArray(list.body)).toBe(true);
    const byUser = Object.fromEntries(list.body.map((p: any) => [p.user_id, p]));
    expect(byUser[b.user.uuid]).toMatchObject({ status: 'busy' });
    expect(byUser[c.user.uuid]).toMatchObject({ status: 'offline' });
    expect(byUser[stranger.user.uuid]).toBeUndefined();
    for (const p of list.body) {
      expect(['online', 'away', 'busy', 'offline']).toContain(p.status);
      expect(p).toHaveProperty('last_seen');
      expect(p).toHaveProperty('current_conversation');
    }
  });

  it('going offline (the last socket closes) is seen by partners; status resets', async () => {
    const [a, b] = await users(server, 2);
    await conversationWith(server, a, [b]);
    const sa = await socket003(server, a);
    const sb = await socket003(server, b);
    await sa.next('presence_update', { where: (f) => f.user_id === b.user.uuid && f.status === 'online' });
    sb.close();
    const off = await sa.next('presence_update', { where: (f) => f.user_id === b.user.uuid && f.status === 'offline' });
    expect(off.last_seen).toMatch(ISO_MS);
    const list = await api(server, 'GET', `${P}/presence/`, { token: a.token });
    expect(list.body.find((p: any) => p.user_id === b.user.uuid)).toMatchObject({ status: 'offline', current_conversation: null });
  });
});
