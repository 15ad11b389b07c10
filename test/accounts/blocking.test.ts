// Blocking a user (Parley's addition to the accounts contract, README "Security"): a block
// refuses direct messages both ways in every dialect — opening a direct conversation and
// sending into one that exists — refuses adding the blocker to groups and channels by the
// blocked user, and ends a friendship. Only the blocker lifts it.
import { describe, expect, it } from 'vitest';
import { api, chatSocket, newRoom, newUser, nextError, openSocket, settle, type TestUser } from '../helpers/clients.js';
import { databases } from '../helpers/pg.js';
import { useParley } from '../helpers/parley.js';

const N = '/api/notifications/chat';

describe.each(databases)('blocking on %s', (db) => {
  const server = useParley({ db });

  const block = (by: TestUser, who: TestUser) => api(server, 'POST', `/api/friends/${who.user.id}/block`, { token: by.token });
  const befriend = async (a: TestUser, b: TestUser) => {
    await api(server, 'POST', '/api/friends', { token: a.token, json: { user_id: b.user.id } });
    expect((await api(server, 'POST', '/api/friends', { token: b.token, json: { user_id: a.user.id } })).body.status).toBe('accepted');
  };
  /** Every way each dialect opens a direct conversation from `from` to `to`: the statuses. */
  const openDirect = async (from: TestUser, to: TestUser) => ({
    chat: (await api(server, 'POST', '/api/chat/rooms', { token: from.token, json: { receiver_id: to.user.id } })).status,
    v1: (await api(server, 'POST', '/api/v1/chat/rooms', { token: from.token, json: { receiver_id: to.user.id } })).status,
    n003: (await api(server, 'POST', `${N}/conversations/`, { token: from.token, json: { conversation_type: 'direct', participant_ids: [to.user.uuid] } })).status,
    parley: (await api(server, 'POST', '/api/parley/conversations', { token: from.token, json: { kind: 'direct', user_id: to.user.id } })).status,
    v004: (await api(server, 'POST', '/api/v1/chat/messages/', { token: from.token, json: { receiver_id: to.user.uuid, content: 'hi' } })).status,
  });

  it('refuses direct messages both ways, on every dialect, into a new or an existing conversation', async () => {
    const [alice, bob] = [await newUser(server), await newUser(server)];
    await befriend(alice, bob);
    const room = await newRoom(server, alice, bob);
    const conv = await api(server, 'GET', `${N}/conversations/`, { token: alice.token });
    const uuid = conv.body.find((c: { conversation_type: string }) => c.conversation_type === 'direct').id;
    const sa = await chatSocket(server, alice, room);
    const sb = await chatSocket(server, bob, room);
    sb.send({ type: 'send_message', data: { room_id: room, content: 'before', local_temp_id: 'b0' } });
    await sa.next('new_message');

    const blocked = await block(alice, bob);
    expect(blocked.status).toBe(200);
    expect(blocked.body).toEqual({ status: 'blocked' });

    for (const [from, to] of [
      [bob, alice],
      [alice, bob],
    ] as const) {
      expect(await openDirect(from, to)).toEqual({ chat: 403, v1: 403, n003: 403, parley: 403, v004: 403 });
      const refused = await api(server, 'POST', `/api/parley/conversations/${room}/messages`, { token: from.token, json: { content: 'after' } });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ detail: 'You cannot message this user', code: 'blocked' });
      expect((await api(server, 'POST', `${N}/conversations/${uuid}/messages/`, { token: from.token, json: { content: 'after' } })).body).toEqual({
        detail: 'You cannot message this user',
      });
      const sock = from === bob ? sb : sa;
      sock.send({ type: 'send_message', data: { room_id: room, content: 'after (socket)', local_temp_id: 'x' } });
      expect((await nextError(sock, 'You cannot message this user')).local_temp_id).toBe('x');
      sock.send({ type: 'typing', data: { room_id: room, is_typing: true } });
      await nextError(sock, 'You cannot message this user');
    }
    // 004's socket too.
    const f = await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat?token=${encodeURIComponent(bob.token)}`);
    await f.next('online_friends');
    f.send({ type: 'send_message', receiver_id: alice.user.uuid, content: 'after (004)' });
    await nextError(f);
    await settle(sa);
    expect(sa.all('new_message').map((m) => m.data.content)).toEqual(['before']);
    const history = await api(server, 'GET', `/api/parley/conversations/${room}/messages`, { token: alice.token });
    expect(history.body.messages.map((m) => m.content)).toEqual(['before']);
    for (const s of [sa, sb, f]) s.close();
  });

  it('ends the friendship, refuses a new request either way, and only the blocker lifts it', async () => {
    const [alice, bob] = [await newUser(server), await newUser(server)];
    await befriend(alice, bob);
    expect((await block(bob, alice)).status).toBe(200);
    expect((await api(server, 'GET', '/api/friends', { token: alice.token })).body.friends).toEqual([]);
    expect((await api(server, 'GET', '/api/friends', { token: bob.token })).body.friends).toEqual([]);
    expect((await api(server, 'POST', '/api/friends', { token: alice.token, json: { user_id: bob.user.id } })).status).toBe(403);
    expect((await api(server, 'POST', '/api/friends', { token: bob.token, json: { user_id: alice.user.id } })).status).toBe(403);

    const list = await api(server, 'GET', '/api/friends/blocks', { token: bob.token });
    expect(list.body).toMatchObject({ total: 1, blocked: [{ id: alice.user.id, uuid: alice.user.uuid, name: alice.user.name }] });
    expect((await api(server, 'GET', '/api/parley/blocks', { token: bob.token })).body).toMatchObject([{ user: { id: alice.user.id } }]);
    expect((await api(server, 'GET', '/api/parley/blocks', { token: alice.token })).body).toEqual([]);

    // The blocked one cannot lift it; the blocker can, and direct messages work again.
    expect((await api(server, 'DELETE', `/api/friends/${bob.user.id}/block`, { token: alice.token })).status).toBe(404);
    expect((await api(server, 'POST', '/api/chat/rooms', { token: alice.token, json: { receiver_id: bob.user.id } })).status).toBe(403);
    expect((await api(server, 'DELETE', `/api/parley/blocks/${alice.user.id}`, { token: bob.token })).status).toBe(204);
    expect((await api(server, 'POST', '/api/chat/rooms', { token: alice.token, json: { receiver_id: bob.user.id } })).status).toBe(200);
    // Not friends again by itself.
    expect((await api(server, 'GET', '/api/friends', { token: alice.token })).body.friends).toEqual([]);
  });

  it('two blocks are two: one lifted leaves the other standing', async () => {
    const [alice, bob] = [await newUser(server), await newUser(server)];
    await block(alice, bob);
    await api(server, 'PUT', `/api/parley/blocks/${alice.user.id}`, { token: bob.token });
    expect((await api(server, 'DELETE', `/api/friends/${bob.user.id}/block`, { token: alice.token })).status).toBe(200);
    expect((await api(server, 'POST', '/api/chat/rooms', { token: alice.token, json: { receiver_id: bob.user.id } })).status).toBe(403);
  });

  it('the blocked user cannot add the blocker to a group or a channel; the blocker may add them', async () => {
    const [alice, bob, carol] = [await newUser(server), await newUser(server), await newUser(server)];
    expect((await block(alice, bob)).status).toBe(200);
    const g = await api(server, 'POST', `${N}/conversations/`, { token: bob.token, json: { conversation_type: 'group', title: 'g' } });
    const add = await api(server, 'POST', `${N}/conversations/${g.body.id}/participants/`, { token: bob.token, json: { user_id: alice.user.uuid } });
    expect(add.status).toBe(403);
    expect(add.body).toEqual({ detail: 'You cannot add this user' });
    const c = await api(server, 'POST', '/api/parley/conversations', { token: bob.token, json: { kind: 'channel', title: 'c', member_ids: [carol.user.id, alice.user.id] } });
    expect(c.status).toBe(403);
    expect(c.body.code).toBe('not_addable');
    const withMembers = await api(server, 'POST', `${N}/conversations/`, { token: bob.token, json: { conversation_type: 'group', title: 'g2', participant_ids: [alice.user.uuid] } });
    expect(withMembers.status).toBe(403);
    // Another admin of the group may still add her; and she may add him to hers.
    expect((await api(server, 'POST', `${N}/conversations/${g.body.id}/participants/`, { token: bob.token, json: { user_id: carol.user.uuid, role: 'admin' } })).status).toBe(201);
    expect((await api(server, 'POST', `${N}/conversations/${g.body.id}/participants/`, { token: carol.token, json: { user_id: alice.user.uuid } })).status).toBe(201);
    const mine = await api(server, 'POST', '/api/parley/conversations', { token: alice.token, json: { kind: 'group', title: 'mine', member_ids: [bob.user.id] } });
    expect(mine.status).toBe(201);
  });

  it('someone who left may be re-added, until they block the one who adds them', async () => {
    const [owner, bob] = [await newUser(server), await newUser(server)];
    const g = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'g', member_ids: [bob.user.id] } });
    const leave = () => api(server, 'DELETE', `/api/parley/conversations/${g.body.id}/participants/${bob.user.id}`, { token: bob.token });
    const readd = () => api(server, 'POST', `/api/parley/conversations/${g.body.id}/participants`, { token: owner.token, json: { user_id: bob.user.id } });
    expect((await leave()).status).toBe(204);
    expect((await readd()).status).toBe(201);
    expect((await leave()).status).toBe(204);
    expect((await api(server, 'PUT', `/api/parley/blocks/${owner.user.id}`, { token: bob.token })).status).toBe(200);
    expect((await readd()).status).toBe(403);
    const members = await api(server, 'GET', `/api/parley/conversations/${g.body.id}/participants`, { token: owner.token });
    expect(members.body.map((m: { user: { id: number } }) => m.user.id)).toEqual([owner.user.id]);
  });

  it('blocking yourself, or someone of another tenant, is refused', async () => {
    const alice = await newUser(server);
    const other = await newUser(server, { tenantId: crypto.randomUUID() });
    expect((await block(alice, alice)).status).toBe(400);
    expect((await block(alice, other)).status).toBe(404);
    expect((await api(server, 'PUT', `/api/parley/blocks/${other.user.id}`, { token: alice.token })).status).toBe(404);
  });
});
