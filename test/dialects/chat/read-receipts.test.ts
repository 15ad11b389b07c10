// POST /api/chat/rooms/{room_id}/read, unread counts, is_read, and the message_read frame.
import { describe, expect, it } from 'vitest';
import { api, chatSocket } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { connectedPair, databases, pair, send, settle } from './support.js';

describe.each(databases)('/api/chat read receipts on %s', (db) => {
  const server = useParley({ db });

  const unread = async (token: string, room: number) => {
    const rooms = await api(server, 'GET', '/api/chat/rooms', { token });
    const counts = await api(server, 'GET', '/api/chat/unread-count', { token });
    const one = await api(server, 'GET', `/api/chat/rooms/${room}`, { token });
    const fromList = rooms.body.rooms.find((r: any) => r.id === room).unread_count;
    // Every place that shows the count agrees.
    expect(counts.body.unread_counts[String(room)]).toBe(fromList);
    expect(one.body.unread_count).toBe(fromList);
    return fromList as number;
  };
  const readFlags = async (token: string, room: number) => {
    const res = await api(server, 'GET', `/api/chat/rooms/${room}/messages?page=1&per_page=50`, { token });
    return Object.fromEntries(res.body.messages.map((m: any) => [m.content, m.is_read]));
  };

  it('marks the room read: the documented body, unread_count 0, message_read to the other side, is_read true', async () => {
    const { a, b, room } = await pair(server);
    const sa = await chatSocket(server, a, room);
    await chatSocket(server, b, room);
    await send(sa, room, b, 'one');
    await send(sa, room, b, 'two');
    await send(sa, room, b, 'three');
    expect(await unread(b.token, room)).toBe(3);
    expect(await unread(a.token, room)).toBe(0);
    expect(await readFlags(a.token, room)).toEqual({ one: false, two: false, three: false });

    const res = await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: 'Room marked as read' });

    const read = await sa.next('message_read');
    expect(read.data).toMatchObject({ room_id: room, user_id: b.user.id, user_name: b.user.name });
    expect(read.data.room_id).toBeTypeOf('number');
    expect(read.data.user_id).toBeTypeOf('number');

    expect(await unread(b.token, room)).toBe(0);
    // The sender sees its messages read; so does the reader.
    expect(await readFlags(a.token, room)).toEqual({ one: true, two: true, three: true });
    expect(await readFlags(b.token, room)).toEqual({ one: true, two: true, three: true });
  });

  it('a new message after the read is unread again, the older ones stay read', async () => {
    const { a, b, room } = await pair(server);
    const sa = await chatSocket(server, a, room);
    await send(sa, room, b, 'old');
    await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token });
    await send(sa, room, b, 'new');
    expect(await unread(b.token, room)).toBe(1);
    expect(await readFlags(a.token, room)).toEqual({ old: true, new: false });
  });

  it('marking read twice answers the same and tells nobody twice', async () => {
    const { a, b, room } = await pair(server);
    const sa = await chatSocket(server, a, room);
    await send(sa, room, b, 'hello');
    const first = await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token });
    await sa.next('message_read');
    const again = await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    // The event (if any) was written before the REST answer; a ping answered after it proves it is not on its way.
    await settle(sa);
    expect(sa.all('message_read')).toHaveLength(1);
  });

  it('marking an empty room read is fine', async () => {
    const { b, room } = await pair(server);
    const res = await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: 'Room marked as read' });
    expect(await unread(b.token, room)).toBe(0);
  });

  it('one\'s own messages are never unread; answering clears the count but marks nothing read', async () => {
    const { a, b, room, sa, sb } = await connectedPair(server);
    await send(sa, room, b, 'a1');
    await send(sb, room, a, 'b1');
    await send(sa, room, b, 'a2');
    // b answered after a1, a after b1: only a2 counts for b. But nobody read anything: a
    // message that crossed a reply is not "read" (issue 15.8) until its reader marks it.
    expect(await unread(b.token, room)).toBe(1);
    expect(await unread(a.token, room)).toBe(0);
    expect(await readFlags(a.token, room)).toEqual({ a1: false, b1: false, a2: false });
    await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token });
    expect(await readFlags(a.token, room)).toEqual({ a1: true, b1: false, a2: true });
  });

  it('the reader\'s message_read reaches every socket of the other side in the room', async () => {
    const { a, b, room } = await pair(server);
    const phone = await chatSocket(server, a, room);
    const laptop = await chatSocket(server, a, room);
    await send(phone, room, b, 'hi');
    await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token });
    for (const s of [phone, laptop]) expect((await s.next('message_read')).data).toMatchObject({ room_id: room, user_id: b.user.id });
  });
});
