import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, chatSocket, newRoom, newUser, type Frame, type TestSocket, connectedPair, sleep } from '../helpers/clients.js';

// Delivery contract 2: every subscribed socket of every participant (all devices) receives
// each event once; order per conversation is seq order.

const EVENT_TYPES = new Set(['new_message', 'message_update', 'message_read', 'typing']);

/** A socket's conversation events, compactly: what it saw, in the order it saw it. */
function seen(s: TestSocket): string[] {
  return s.frames
    .filter((f) => EVENT_TYPES.has(f.type))
    .map((f: Frame) => {
      const d = f.data;
      switch (f.type) {
        case 'new_message':
          return `new:${d.content}:${d.is_sender ? 'mine' : 'theirs'}`;
        case 'message_update':
          return `update:${d.content}:likes=${d.like_count}`;
        case 'message_read':
          return `read:${d.user_id}:${d.read_seq}`;
        default:
          return `typing:${d.user_id}:${d.is_typing}`;
      }
    });
}

const quiet = (ms = 300) => sleep(ms);

describe.each(databases)('two devices of one user on %s', (db) => {
  const server = useParley({ db });

  it('each socket of each user gets every event exactly once, in seq order', async () => {
    const a = await newUser(server, { name: 'Alice' });
    const b = await newUser(server, { name: 'Bob' });
    const room = await newRoom(server, a, b);
    const [a1, a2, b1, b2] = [await chatSocket(server, a, room), await chatSocket(server, a, room), await chatSocket(server, b, room), await chatSocket(server, b, room)];
    const all = [a1, a2, b1, b2];
    const onAll = (type: string, where: (f: Frame) => boolean, sockets = all) => Promise.all(sockets.map((s) => s.next(type, { where })));

    // 1. Bob's first device sends.
    b1.send({ type: 'send_message', data: { room_id: room, receiver_id: a.user.id, content: 'm1 from bob', local_temp_id: 'b-1' } });
    const m1 = await onAll('new_message', (f) => f.data.content === 'm1 from bob');
    expect(m1.map((f) => f.data.is_sender)).toEqual([false, false, true, true]);
    expect(new Set(m1.map((f) => f.data.id)).size).toBe(1);
    expect(m1[2].data.local_temp_id).toBe('b-1');

    // 2. Alice's first device sends: her second device shows it as hers.
    a1.send({ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, content: 'm2 from alice', local_temp_id: 'a-1' } });
    const m2 = await onAll('new_message', (f) => f.data.content === 'm2 from alice');
    expect(m2.map((f) => f.data.is_sender)).toEqual([true, true, false, false]);
    expect(m2.map((f) => f.data.seq)).toEqual([2, 2, 2, 2]);
    expect(m2[0].data.local_temp_id).toBe('a-1');
    expect(m2[1].data).toMatchObject({ id: m2[0].data.id, sender_id: a.user.id, receiver_id: b.user.id, content: 'm2 from alice' });

    // 3. Bob types: both of Alice's devices see it; Bob's own devices do not.
    b1.send({ type: 'typing', data: { room_id: room, is_typing: true } });
    await onAll('typing', (f) => f.data.user_id === b.user.id && f.data.is_typing === true, [a1, a2]);

    // 4. Alice edits m2 (REST): every socket gets one message_update.
    const edit = await api(server, 'PUT', `/api/chat/messages/${m2[0].data.id}`, { token: a.token, form: { content: 'm2 edited' } });
    expect(edit.status).toBe(200);
    const upd = await onAll('message_update', (f) => f.data.content === 'm2 edited');
    expect(upd.map((f) => f.data.is_edited)).toEqual([true, true, true, true]);

    // 5. Alice's second device likes m1.
    a2.send({ type: 'like_message', data: { message_id: m1[0].data.id } });
    const liked = await onAll('message_update', (f) => f.data.id === m1[0].data.id && f.data.like_count === 1);
    expect(liked.map((f) => f.data.is_liked)).toEqual([true, true, false, false]);

    // 6. Bob reads the room: every socket is told, once.
    expect((await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token })).status).toBe(200);
    await onAll('message_read', (f) => f.data.user_id === b.user.id && f.data.read_seq === 2);

    // 7. Bob stops typing; 8. Bob's second device sends a last message.
    b1.send({ type: 'typing', data: { room_id: room, is_typing: false } });
    await onAll('typing', (f) => f.data.user_id === b.user.id && f.data.is_typing === false, [a1, a2]);
    b2.send({ type: 'send_message', data: { room_id: room, receiver_id: a.user.id, content: 'm3 from bob', local_temp_id: 'b-2' } });
    const m3 = await onAll('new_message', (f) => f.data.content === 'm3 from bob');
    expect(m3.map((f) => f.data.is_sender)).toEqual([false, false, true, true]);
    expect(m3.map((f) => f.data.seq)).toEqual([3, 3, 3, 3]);

    await quiet(); // anything sent twice would have arrived by now
    const forAlice = [
      'new:m1 from bob:theirs',
      'new:m2 from alice:mine',
      `typing:${b.user.id}:true`,
      'update:m2 edited:likes=0',
      'update:m1 from bob:likes=1',
      `read:${b.user.id}:2`,
      `typing:${b.user.id}:false`,
      'new:m3 from bob:theirs',
    ];
    const forBob = [
      'new:m1 from bob:mine',
      'new:m2 from alice:theirs',
      'update:m2 edited:likes=0',
      'update:m1 from bob:likes=1',
      `read:${b.user.id}:2`,
      'new:m3 from bob:mine',
    ];
    expect(seen(a1)).toEqual(forAlice);
    expect(seen(a2)).toEqual(forAlice);
    expect(seen(b1)).toEqual(forBob);
    expect(seen(b2)).toEqual(forBob);
    for (const s of all) {
      expect(s.all('new_message').map((f) => f.data.seq)).toEqual([1, 2, 3]);
      expect(s.all('error')).toEqual([]);
    }
    for (const s of all) s.close();
  });

  it('a device that joins later gets the next events once, and a device that leaves gets none', async () => {
    const { a, room, sa: a1, sb: b1 } = await connectedPair(server);
    const a2 = await chatSocket(server, a); // no room yet
    a2.send({ type: 'join_room', data: { room_id: room } });
    await a2.next('room_joined');
    // Joining the same room twice does not double the delivery.
    a2.send({ type: 'join_room', data: { room_id: room } });
    await a2.next('room_joined');

    b1.send({ type: 'send_message', data: { room_id: room, content: 'one', local_temp_id: 'x1' } });
    await Promise.all([a1, a2].map((s) => s.next('new_message', { where: (f) => f.data.content === 'one' })));

    a1.send({ type: 'leave_room' });
    await a1.next('room_left');
    b1.send({ type: 'send_message', data: { room_id: room, content: 'two', local_temp_id: 'x2' } });
    await a2.next('new_message', { where: (f) => f.data.content === 'two' });
    await b1.next('new_message', { where: (f) => f.data.content === 'two' });
    await quiet();
    expect(a1.all('new_message').map((f) => f.data.content)).toEqual(['one']);
    expect(a2.all('new_message').map((f) => f.data.content)).toEqual(['one', 'two']);
    for (const s of [a1, a2, b1]) s.close();
  });
});
