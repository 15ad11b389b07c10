import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, newUser, type TestUser } from '../helpers/clients.js';

// Friends (DESIGN.md "Accounts and tokens"): POST /api/friends {user_id} → pending, or
// accepted when the other side had already asked; GET lists; DELETE removes. user_id is the
// integer id or the uuid.

describe.each(databases)('friends on %s', (db) => {
  const server = useParley({ db });

  const ask = (u: TestUser, userId: unknown) => api(server, 'POST', '/api/friends', { token: u.token, json: { user_id: userId } });
  const list = async (u: TestUser) => {
    const res = await api(server, 'GET', '/api/friends', { token: u.token });
    expect(res.status).toBe(200);
    return res.body as { friends: any[]; total: number };
  };
  const unfriend = (u: TestUser, ref: string | number) => api(server, 'DELETE', `/api/friends/${ref}`, { token: u.token });

  it('a request is pending until the other side asks back; the lists show status and direction', async () => {
    const a = await newUser(server, { name: 'Asker' });
    const b = await newUser(server, { name: 'Asked' });

    const req = await ask(a, b.user.id);
    expect(req.status).toBe(200);
    expect(req.body).toMatchObject({ status: 'pending' });
    // Asking again changes nothing.
    expect((await ask(a, b.user.uuid)).body).toMatchObject({ status: 'pending' });

    const la = await list(a);
    expect(la.total).toBe(1);
    expect(la.friends).toEqual([
      expect.objectContaining({ id: b.user.id, uuid: b.user.uuid, name: 'Asked', email: b.user.email, status: 'pending', direction: 'outgoing' }),
    ]);
    const lb = await list(b);
    expect(lb.friends).toEqual([expect.objectContaining({ id: a.user.id, uuid: a.user.uuid, status: 'pending', direction: 'incoming' })]);

    // The other side asks back (by uuid): accepted, for both.
    const back = await ask(b, a.user.uuid);
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ status: 'accepted' });
    for (const [u, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const l = await list(u);
      expect(l.total).toBe(1);
      expect(l.friends[0]).toMatchObject({ id: other.user.id, uuid: other.user.uuid, status: 'accepted', direction: null });
    }
    // Asking a friend is simply accepted.
    expect((await ask(a, b.user.id)).body).toMatchObject({ status: 'accepted' });
    expect((await list(a)).total).toBe(1);
  });

  it('two users asking each other at the same moment become friends (no request is lost)', async () => {
    for (let i = 0; i < 8; i++) {
      const a = await newUser(server);
      const b = await newUser(server);
      const [x, y] = await Promise.all([ask(a, b.user.id), ask(b, a.user.uuid)]);
      expect([x.status, y.status]).toEqual([200, 200]);
      // Whoever came second saw the other's request and accepted it.
      expect([x.body.status, y.body.status], `pair ${i}`).toContain('accepted');
      for (const u of [a, b]) expect((await list(u)).friends, `pair ${i}`).toEqual([expect.objectContaining({ status: 'accepted', direction: null })]);
    }
  });

  it('user_id as a string of digits is the integer id', async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    expect((await ask(a, String(b.user.id))).body).toMatchObject({ status: 'pending' });
    expect((await list(b)).friends).toEqual([expect.objectContaining({ id: a.user.id, direction: 'incoming' })]);
  });

  it('DELETE /api/friends/{user_id} removes a friend or a request, by id or uuid, for both sides', async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    const c = await newUser(server);
    await ask(a, b.user.id);
    await ask(b, a.user.id);
    await ask(a, c.user.id); // still pending

    const del = await unfriend(a, b.user.id);
    expect(del.status).toBe(200);
    expect((await list(a)).friends.map((f) => f.id)).toEqual([c.user.id]);
    expect((await list(b)).total).toBe(0);
    expect((await unfriend(a, b.user.id)).status).toBe(404);

    // A pending request can be withdrawn (by uuid) and asked again from scratch.
    expect((await unfriend(a, c.user.uuid)).status).toBe(200);
    expect((await list(c)).total).toBe(0);
    expect((await ask(a, b.user.uuid)).body).toMatchObject({ status: 'pending' });
    expect((await list(b)).friends).toEqual([expect.objectContaining({ id: a.user.id, status: 'pending', direction: 'incoming' })]);
  });

  it('an unknown user and another tenant\'s user are 404; yourself is 400', async () => {
    const a = await newUser(server);
    const stranger = await newUser(server, { tenantId: randomUUID() });

    for (const ref of [999_999_999, randomUUID(), 'not-a-uuid', stranger.user.id, stranger.user.uuid]) {
      const res = await ask(a, ref);
      expect(res.status, `POST ${ref}`).toBe(404);
      expect(res.body).toEqual({ detail: expect.any(String) });
      const del = await unfriend(a, ref);
      expect(del.status, `DELETE ${ref}`).toBe(404);
      expect(del.body).toEqual({ detail: expect.any(String) });
    }
    // And the other way round: nothing leaks to the stranger either.
    expect((await ask(stranger, a.user.id)).status).toBe(404);
    expect((await list(stranger)).total).toBe(0);
    expect((await list(a)).total).toBe(0);

    for (const ref of [a.user.id, a.user.uuid]) {
      const self = await ask(a, ref);
      expect(self.status).toBe(400);
      expect(self.body).toEqual({ detail: expect.any(String) });
    }
    expect((await list(a)).total).toBe(0);
  });

  it('bad input is 422 {detail}; no token is 401', async () => {
    const a = await newUser(server);
    for (const body of [{}, { user_id: true }, { user_id: 0 }, { user_id: -3 }, { user_id: 1.5 }, { user_id: null }, { user_id: [1] }]) {
      const res = await api(server, 'POST', '/api/friends', { token: a.token, json: body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body).toEqual({ detail: expect.any(String) });
    }
    expect((await api(server, 'GET', '/api/friends')).status).toBe(401);
    expect((await api(server, 'POST', '/api/friends', { json: { user_id: a.user.id } })).status).toBe(401);
    expect((await api(server, 'DELETE', `/api/friends/${a.user.id}`)).status).toBe(401);
  });
});
