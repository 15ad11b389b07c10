import { describe, expect, it } from 'vitest';
import { useTwoProcesses } from '../helpers/parley.js';
import { api, chatSocket, eventually, expectNoFrame, newRoom, newUser, pair } from '../helpers/clients.js';
import { hasPostgres } from '../helpers/pg.js';

const redisUrl = process.env.REDIS_URL;

// Two Parley servers on one PostgreSQL database and one Redis act as one server.
describe.skipIf(!hasPostgres || !redisUrl)('two processes on one PostgreSQL and one Redis', () => {
  const [a, b] = useTwoProcesses({ PRESENCE_TTL_MS: '3000' });

  it('users on different processes chat, see presence, typing, read receipts and edits', async () => {
    const alice = await newUser(a);
    const bob = await newUser(b);
    const room = await newRoom(a, alice, bob);
    const sa = await chatSocket(a, alice, room);
    const sb = await chatSocket(b, bob, room);
    // Bob came online on B: Alice's socket on A hears it.
    expect((await sa.next('presence', { where: (f) => f.data.user_id === bob.user.id })).data.is_online).toBe(true);

    sa.send({ type: 'send_message', data: { room_id: room, content: 'from A', local_temp_id: 'a1' } });
    expect((await sa.next('new_message')).data).toMatchObject({ content: 'from A', local_temp_id: 'a1', seq: 1 });
    expect((await sb.next('new_message')).data).toMatchObject({ content: 'from A', seq: 1, is_sender: false });

    sb.send({ type: 'send_message', data: { room_id: room, content: 'from B' } });
    const fromB = await sa.next('new_message');
    expect(fromB.data).toMatchObject({ content: 'from B', seq: 2 });
    await sb.next('new_message');

    sb.send({ type: 'typing', data: { room_id: room, is_typing: true } });
    expect((await sa.next('typing')).data).toMatchObject({ user_id: bob.user.id, is_typing: true });

    // Alice (on A) reads Bob's message; Bob (on B) gets the receipt.
    await api(a, 'POST', `/api/chat/rooms/${room}/read`, { token: alice.token });
    expect((await sb.next('message_read')).data).toMatchObject({ room_id: room, user_id: alice.user.id });

    const edited = await api(b, 'PUT', `/api/chat/messages/${fromB.data.id}`, { token: bob.token, form: { content: 'edited on B' } });
    expect(edited.status).toBe(200);
    expect((await sa.next('message_update')).data).toMatchObject({ id: fromB.data.id, content: 'edited on B', is_edited: true });

    // Both processes agree on the history: one database, gapless seqs.
    const history = await api(a, 'GET', `/api/chat/rooms/${room}/messages`, { token: alice.token });
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).toEqual([2, 1]);

    sb.close();
    await eventually(async () => {
      const f = sa.all('presence').find((p) => p.data.user_id === bob.user.id && p.data.is_online === false);
      expect(f).toBeDefined();
    });
  });

  it('a user with a device on each process is online until both are gone', async () => {
    const { a: carol, b: dave, room } = await pair(a);
    const watcher = await chatSocket(a, dave, room);
    const onA = await chatSocket(a, carol, room);
    const onB = await chatSocket(b, carol, room);
    const online = await api(b, 'GET', '/api/chat/online-users', { token: dave.token });
    expect(online.body.online_users.map((u: { user_id: number }) => u.user_id)).toContain(carol.user.id);
    onA.close();
    await expectNoFrame(watcher, 300, { type: 'presence', where: (p) => p.data.user_id === carol.user.id && p.data.is_online === false });
    onB.close();
    await eventually(() => expect(watcher.all('presence').some((p) => p.data.user_id === carol.user.id && p.data.is_online === false)).toBe(true));
  });
});
