// GET /api/chat/search-users?email=&limit= and GET /api/chat/online-users (002's body).
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, chatSocket, eventually, newRoom, newUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { ISO_MS, databases, expectDetail, expectUserDetails, users } from './support.js';

describe.each(databases)('/api/chat search and online users on %s', (db) => {
  const server = useParley({ db });

  describe('GET /api/chat/search-users', () => {
    it('the documented request answers {users, total} with id, name, email, avatar_url, is_online', async () => {
      const tag = `srch${Date.now()}`;
      const [me, john] = await Promise.all([newUser(server), newUser(server, { name: 'John Doe', email: `john.${tag}@example.com` })]);
      const res = await api(server, 'GET', `/api/chat/search-users?email=${encodeURIComponent(`john.${tag}@example.com`)}&limit=20`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        users: [{ id: john.user.id, name: 'John Doe', email: `john.${tag}@example.com`, avatar_url: null, is_online: false }],
        total: 1,
      });
    });

    it('finds by part of the email, case-insensitively, and honours limit', async () => {
      const tag = `part${Date.now()}`;
      const [me, ...found] = await Promise.all([
        newUser(server),
        newUser(server, { email: `ann.${tag}@example.com` }),
        newUser(server, { email: `bob.${tag}@example.com` }),
        newUser(server, { email: `cy.${tag}@example.com` }),
      ]);
      const all = await api(server, 'GET', `/api/chat/search-users?email=${tag.toUpperCase()}`, { token: me.token });
      expect(all.status).toBe(200);
      expect(all.body.total).toBe(3);
      expect(all.body.users.map((u: any) => u.id).sort()).toEqual(found.map((u) => u.user.id).sort());
      for (const u of all.body.users) expectUserDetails(u, found.find((f) => f.user.id === u.id)!, false);

      const two = await api(server, 'GET', `/api/chat/search-users?email=${tag}&limit=2`, { token: me.token });
      expect(two.body.users).toHaveLength(2);
      expect(two.body.total).toBe(two.body.users.length);

      const none = await api(server, 'GET', `/api/chat/search-users?email=nobody.${tag}`, { token: me.token });
      expect(none.body).toEqual({ users: [], total: 0 });
    });

    it('LIKE wildcards in the query are literal', async () => {
      const tag = `wild${Date.now()}`;
      const [me] = await Promise.all([newUser(server), newUser(server, { email: `x.${tag}@example.com` })]);
      for (const q of ['%', '_', `${tag}%`, `x_${tag}`]) {
        const res = await api(server, 'GET', `/api/chat/search-users?email=${encodeURIComponent(q)}`, { token: me.token });
        expect(res.status).toBe(200);
        expect(res.body.users.filter((u: any) => u.email.includes(tag))).toEqual([]);
      }
    });

    it('is_online is true for a conversation partner with an open socket, never for a stranger', async () => {
      const tag = `onl${Date.now()}`;
      const [me, on, off, stranger] = await Promise.all([
        newUser(server),
        newUser(server, { email: `on.${tag}@example.com` }),
        newUser(server, { email: `off.${tag}@example.com` }),
        newUser(server, { email: `stranger.${tag}@example.com` }),
      ]);
      await newRoom(server, me, on);
      await newRoom(server, me, off);
      const s = await chatSocket(server, on);
      const s2 = await chatSocket(server, stranger);
      const res = await api(server, 'GET', `/api/chat/search-users?email=${tag}`, { token: me.token });
      const byId = new Map(res.body.users.map((u: any) => [u.id, u.is_online]));
      expect(byId.get(on.user.id)).toBe(true);
      expect(byId.get(off.user.id)).toBe(false);
      // Presence is not tenant-wide: someone the searcher shares nothing with shows offline.
      expect(byId.get(stranger.user.id)).toBe(false);
      s2.close();
      s.close();
      await eventually(async () => {
        const again = await api(server, 'GET', `/api/chat/search-users?email=on.${tag}`, { token: me.token });
        expect(again.body.users[0].is_online).toBe(false);
      });
    });

    it('users of another tenant are never found', async () => {
      const tag = `ten${Date.now()}`;
      const tenant = randomUUID();
      const [me, elsewhere] = await Promise.all([newUser(server), newUser(server, { tenantId: tenant, email: `far.${tag}@example.com` })]);
      const res = await api(server, 'GET', `/api/chat/search-users?email=${tag}`, { token: me.token });
      expect(res.body).toEqual({ users: [], total: 0 });
      // …and they find only their own tenant too.
      const back = await api(server, 'GET', `/api/chat/search-users?email=${encodeURIComponent(me.user.email)}`, { token: elsewhere.token });
      expect(back.body).toEqual({ users: [], total: 0 });
    });

    it('a missing email or a limit out of range is 422 {"detail"}', async () => {
      const [me] = await users(server, 1);
      expectDetail(await api(server, 'GET', '/api/chat/search-users', { token: me.token }), 422, /email/);
      expectDetail(await api(server, 'GET', '/api/chat/search-users?email=a&limit=0', { token: me.token }), 422, /limit/);
      expectDetail(await api(server, 'GET', '/api/chat/search-users?email=a&limit=abc', { token: me.token }), 422, /limit/);
      expectDetail(await api(server, 'GET', '/api/chat/search-users?email=a&limit=1000', { token: me.token }), 422, /limit/);
    });
  });

  describe('GET /api/chat/online-users', () => {
    it('answers 002\'s {"online_users": [{user_id, last_seen, is_online}]} with the user\'s online partners', async () => {
      const [me, partner, idle, stranger] = await users(server, 4);
      await newRoom(server, me, partner);
      await newRoom(server, idle, me);
      const sp = await chatSocket(server, partner);
      await chatSocket(server, stranger);

      const res = await api(server, 'GET', '/api/chat/online-users', { token: me.token });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toContain('online_users');
      expect(res.body.online_users).toHaveLength(1);
      const [u] = res.body.online_users;
      expect(u).toMatchObject({ user_id: partner.user.id, is_online: true });
      expect(u.last_seen).toMatch(ISO_MS);

      sp.close();
      await eventually(async () => {
        const after = await api(server, 'GET', '/api/chat/online-users', { token: me.token });
        expect(after.body.online_users).toEqual([]);
      });
    });

    it('a user with no rooms sees nobody', async () => {
      const [me, other] = await users(server, 2);
      await chatSocket(server, other);
      const res = await api(server, 'GET', '/api/chat/online-users', { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.online_users).toEqual([]);
    });
  });
});
