// Document 002's socket /api/v1/chat/ws?token=&room_id=: joining by URL or join_room,
// send_message with or without room_id, new_message to everyone in the room, typing with
// typing_users, presence with last_seen, and 4001 for a missing or invalid token.
import { describe, expect, it } from 'vitest';
import { openSocket } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { databases, expect002Message, expectNoFile, ISO_MS, room002, roomSocket, settle, tempId, textFrame, users } from './support.js';

describe.each(databases)('002 socket on %s', (db) => {
  const server = useParley({ db });

  it('with room_id in the URL: no greeting; send_message without room_id goes to the URL\'s room and everyone in it gets new_message', async () => {
    const [alice, john] = await users(server, 2);
    const room = await room002(server, alice, john);
    const sj = await roomSocket(server, john, room);
    const sa = await openSocket(`${server.wsUrl}/api/v1/chat/ws?token=${encodeURIComponent(alice.token)}&room_id=${room}`);
    // "Connection established - no initial response"
    await settle(sa);
    expect(sa.frames.map((f) => f.type)).toEqual(['pong']);

    // Exactly the documented frame: no room_id, the URL's room is used.
    sa.send({ type: 'send_message', data: { receiver_id: john.user.id, message_type: 'text', content: 'Hello there!' } });
    const own = await sa.next('new_message');
    const got = await sj.next('new_message');
    for (const f of [own, got]) {
      expect002Message(f.data, alice, john);
      expectNoFile(f.data);
      expect(f.data).toMatchObject({ room_id: room, message_type: 'text', content: 'Hello there!', is_deleted: false });
      expect(f.data.created_at).toMatch(ISO_MS);
    }
    expect(got.data.id).toBe(own.data.id);
    expect(got.data.is_read).toBe(false);
  });

  it('without room_id: nothing from the room until join_room; then send_message with room_id; leave_room stops it', async () => {
    const [alice, john] = await users(server, 2);
    const room = await room002(server, alice, john);
    const sa = await roomSocket(server, alice, room);
    const sj = await roomSocket(server, john);

    const tid0 = tempId();
    sa.send(textFrame(room, john.user.id, 'before join', { local_temp_id: tid0 }));
    await sa.next('new_message', { where: (f) => f.data.local_temp_id === tid0 });
    await settle(sj);
    expect(sj.all('new_message')).toEqual([]);

    sj.send({ type: 'join_room', data: { room_id: room } });
    await sj.next('room_joined');
    // The documented frame with room_id in the message.
    sj.send({ type: 'send_message', data: { room_id: room, receiver_id: alice.user.id, message_type: 'text', content: 'Hello there!' } });
    const ownReply = await sj.next('new_message');
    expect002Message(ownReply.data, john, alice);
    expect(ownReply.data).toMatchObject({ room_id: room, content: 'Hello there!' });
    const atAlice = await sa.next('new_message', { where: (f) => f.data.id === ownReply.data.id });
    expect(atAlice.data.content).toBe('Hello there!');
    // Joined, John now sends without room_id too.
    sj.send({ type: 'send_message', data: { receiver_id: alice.user.id, message_type: 'text', content: 'no room_id' } });
    expect((await sa.next('new_message', { where: (f) => f.data.content === 'no room_id' })).data.room_id).toBe(room);

    const tid = tempId();
    sa.send(textFrame(room, john.user.id, 'to the joined socket', { local_temp_id: tid }));
    expect((await sj.next('new_message', { where: (f) => f.data.local_temp_id === tid })).data.content).toBe('to the joined socket');

    sj.send({ type: 'leave_room', data: {} });
    await sj.next('room_left');
    const tid2 = tempId();
    sa.send(textFrame(room, john.user.id, 'after leave', { local_temp_id: tid2 }));
    await sa.next('new_message', { where: (f) => f.data.local_temp_id === tid2 });
    await settle(sj, 300);
    expect(sj.all('new_message').map((f) => f.data.content)).not.toContain('after leave');
  });

  it('typing frames reach the other side of the room with user_name and typing_users', async () => {
    const [alice, john] = await users(server, 2);
    const room = await room002(server, alice, john);
    const sa = await roomSocket(server, alice, room);
    const sj = await roomSocket(server, john, room);

    sa.send({ type: 'typing', data: { room_id: room, is_typing: true } });
    const on = await sj.next('typing');
    expect(on.data).toEqual(expect.objectContaining({ room_id: room, user_id: alice.user.id, user_name: alice.user.name, is_typing: true, typing_users: [alice.user.id] }));

    sj.send({ type: 'typing', data: { room_id: room, is_typing: true } });
    const both = await sa.next('typing');
    expect(both.data).toMatchObject({ user_id: john.user.id, is_typing: true });
    expect([...both.data.typing_users].sort()).toEqual([alice.user.id, john.user.id].sort());

    // room_id may be left out: the socket's room.
    sa.send({ type: 'typing', data: { is_typing: false } });
    const off = await sj.next('typing', { where: (f) => f.data.is_typing === false });
    expect(off.data).toMatchObject({ room_id: room, user_id: alice.user.id, typing_users: [john.user.id] });

    // Never echoed to the typist, never stored.
    await settle(sa);
    expect(sa.all('typing').every((f) => f.data.user_id !== alice.user.id)).toBe(true);
    const sj2 = await roomSocket(server, john, room);
    await settle(sj2, 50);
    expect(sj2.all('new_message')).toEqual([]);
  });

  it('presence frames tell a room partner when someone comes and goes, with last_seen', async () => {
    const [alice, john] = await users(server, 2);
    const room = await room002(server, alice, john);
    const sj = await roomSocket(server, john, room);

    const sa = await roomSocket(server, alice);
    const online = await sj.next('presence', { where: (f) => f.data.user_id === alice.user.id && f.data.is_online === true });
    expect(online.data).toMatchObject({ user_id: alice.user.id, user_name: alice.user.name, is_online: true });
    expect(online.data.last_seen).toMatch(ISO_MS);

    sa.close();
    const offline = await sj.next('presence', { where: (f) => f.data.user_id === alice.user.id && f.data.is_online === false });
    expect(offline.data.last_seen).toMatch(ISO_MS);
    expect(Date.parse(offline.data.last_seen)).toBeGreaterThanOrEqual(Date.parse(online.data.last_seen));
  });

  it('closes with 4001 for a missing or invalid token', async () => {
    const [alice, john] = await users(server, 2);
    const room = await room002(server, alice, john);
    for (const q of [`room_id=${room}`, '', `token=&room_id=${room}`, `token=not-a-jwt&room_id=${room}`, `token=${alice.token}x`]) {
      const s = await openSocket(`${server.wsUrl}/api/v1/chat/ws?${q}`);
      const { code } = await s.closed;
      expect({ q, code }).toEqual({ q, code: 4001 });
      expect(s.all('new_message')).toEqual([]);
    }
  });
});
