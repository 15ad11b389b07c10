// /api/chat/ws?token=&room_id=: the frames of 000/001 (send_message, typing, join_room,
// leave_room → new_message, typing, presence), and 002's send without room_id.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { chatSocket, newRoom, TestSocket } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { meAndTwoRooms, connectedPair, chatHistory, databases, expectMessageShape, expectNoFiles, expectUserDetails, historyTotal, nextError, pair, send, settle, tempId, textFrame, users } from './support.js';

describe.each(databases)('/api/chat socket frames on %s', (db) => {
  const server = useParley({ db });

  describe('send_message → new_message', () => {
    it('001\'s text frame: new_message to both sides with local_temp_id, files_data, duration and receiver_details', async () => {
      const { a, b, room, sa, sb } = await connectedPair(server);
      sa.send({ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, message_type: 'text', content: 'Hello, how are you?', local_temp_id: 'temp_123' } });
      const ack = await sa.next('new_message');
      const got = await sb.next('new_message');
      for (const f of [ack, got]) {
        expect(Object.keys(f).sort()).toEqual(['data', 'type']);
        expectMessageShape(f.data);
        expectNoFiles(f.data);
        expect(f.data).toMatchObject({ content: 'Hello, how are you?', message_type: 'text', room_id: room, is_deleted: false, is_read: false });
        expectUserDetails(f.data.sender_details, a, true);
        expectUserDetails(f.data.receiver_details, b, true);
      }
      expect(ack.data).toMatchObject({ local_temp_id: 'temp_123', is_sender: true });
      expect(got.data.is_sender).toBe(false);
      expect(got.data.id).toBe(ack.data.id);
    });

    it('000\'s frame without local_temp_id: local_temp_id is present and null', async () => {
      const { b, room, sa, sb } = await connectedPair(server);
      sa.send(textFrame(room, b.user.id, 'no temp id'));
      const ack = await sa.next('new_message');
      const got = await sb.next('new_message');
      for (const f of [ack, got]) {
        expect(f.data).toHaveProperty('local_temp_id', null);
        expect(f.data).toHaveProperty('files_data', null);
        expect(f.data).toHaveProperty('duration', null);
      }
    });

    it('an emoji message is a message too', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const ack = await send(sa, room, b, '🎉', { message_type: 'emoji' });
      expect(ack.data).toMatchObject({ message_type: 'emoji', content: '🎉' });
    });

    it('every device of both users in the room gets it once; the sender\'s other device as a plain new_message', async () => {
      const { a, b, room } = await pair(server);
      const a1 = await chatSocket(server, a, room);
      const a2 = await chatSocket(server, a, room);
      const b1 = await chatSocket(server, b, room);
      const b2 = await chatSocket(server, b, room);
      const ack = await send(a1, room, b, 'to all devices');
      for (const s of [a2, b1, b2]) expect((await s.next('new_message')).data.id).toBe(ack.data.id);
      // A later message proves the first one is not still on its way anywhere.
      await send(a1, room, b, 'marker');
      for (const s of [a2, b1, b2]) await s.next('new_message', { where: (f) => f.data.content === 'marker' });
      for (const s of [a1, a2, b1, b2]) {
        await settle(s, 50);
        expect(s.all('new_message').filter((f) => f.data.id === ack.data.id)).toHaveLength(1);
      }
      for (const s of [a1, a2, b1, b2]) s.close();
    });

    it('a retried local_temp_id is acked with the original message and stored once', async () => {
      const { a, b, room, sa, sb } = await connectedPair(server);
      const id = tempId('retry');
      sa.send(textFrame(room, b.user.id, 'only once', { local_temp_id: id }));
      const first = await sa.next('new_message');
      sa.send(textFrame(room, b.user.id, 'only once', { local_temp_id: id }));
      const second = await sa.next('new_message');
      expect(second.data).toMatchObject({ id: first.data.id, local_temp_id: id, content: 'only once' });
      const marker = await send(sa, room, b, 'after the retry');
      await sb.next('new_message', { where: (f) => f.data.id === marker.data.id });
      expect(sb.all('new_message').filter((f) => f.data.id === first.data.id)).toHaveLength(1);
      expect(await historyTotal(server, a, room)).toBe(2);
    });

    it('messages of one socket arrive in the order sent, with increasing ids', async () => {
      const { b, room, sa, sb } = await connectedPair(server);
      for (let i = 0; i < 30; i++) sa.send(textFrame(room, b.user.id, `n${i}`));
      const got = [];
      for (let i = 0; i < 30; i++) got.push((await sb.next('new_message')).data);
      expect(got.map((m) => m.content)).toEqual(Array.from({ length: 30 }, (_, i) => `n${i}`));
      const ids = got.map((m) => m.id);
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    });
  });

  describe('room_id in the URL, join_room and leave_room', () => {
    it('send_message without room_id uses the URL\'s room (002)', async () => {
      const { b, room, sa, sb } = await connectedPair(server);
      sa.send({ type: 'send_message', data: { receiver_id: b.user.id, message_type: 'text', content: 'Hello there!' } });
      const ack = await sa.next('new_message');
      expect(ack.data).toMatchObject({ room_id: room, content: 'Hello there!' });
      expect((await sb.next('new_message')).data).toMatchObject({ id: ack.data.id, room_id: room });
    });

    it('a socket with no room sends with receiver_id only (002): the direct room is used and the receiver gets it', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a);
      const sb = await chatSocket(server, b, room);
      sa.send({ type: 'send_message', data: { receiver_id: b.user.id, message_type: 'text', content: 'found you' } });
      const ack = await sa.next('new_message');
      expect(ack.data).toMatchObject({ room_id: room, content: 'found you', is_sender: true, receiver_details: { id: b.user.id } });
      expect((await sb.next('new_message')).data.id).toBe(ack.data.id);
    });

    it('a socket with no room and a receiver it never talked to: the room is created on first contact', async () => {
      const [a, b] = await users(server, 2);
      const sa = await chatSocket(server, a);
      sa.send({ type: 'send_message', data: { receiver_id: b.user.id, message_type: 'text', content: 'first contact' } });
      const ack = await sa.next('new_message');
      const room = await newRoom(server, b, a);
      expect(ack.data.room_id).toBe(room);
      expect((await chatHistory(server, b, room)).messages.map((m) => m.content)).toEqual(['first contact']);
    });

    it('join_room then the room\'s messages arrive; leave_room stops them', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const sb = await chatSocket(server, b);
      sb.send({ type: 'join_room', data: { room_id: room } });
      // room_joined also names the history's epoch (issue 15.9): a resume cursor belongs to it.
      expect((await sb.next('room_joined')).data).toEqual({ room_id: room, epoch: expect.any(String) });
      const m1 = await send(sa, room, b, 'while joined');
      expect((await sb.next('new_message')).data.id).toBe(m1.data.id);

      sb.send({ type: 'leave_room' });
      expect((await sb.next('room_left')).data).toEqual({ room_id: room });
      // a's ack is written in the same delivery as b's copy would be; b's pong comes after it.
      await send(sa, room, b, 'after leaving');
      await settle(sb);
      expect(sb.all('new_message').map((f) => f.data.content)).toEqual(['while joined']);

      // Joining again resumes live delivery.
      sb.send({ type: 'join_room', data: { room_id: room } });
      await sb.next('room_joined');
      await send(sa, room, b, 'back again');
      expect((await sb.next('new_message')).data.content).toBe('back again');
    });

    it('frames sent the moment the socket opens are handled after the URL\'s room is joined, in order', async () => {
      const { a, b, room } = await pair(server);
      const sb = await chatSocket(server, b, room);
      const raw = new TestSocket(new WebSocket(`${server.wsUrl}/api/chat/ws?token=${encodeURIComponent(a.token)}&room_id=${room}`));
      raw.ws.once('open', () => {
        for (let i = 0; i < 5; i++) raw.send({ type: 'send_message', data: { receiver_id: b.user.id, message_type: 'text', content: `early ${i}` } });
      });
      for (let i = 0; i < 5; i++) {
        expect((await raw.next('new_message')).data).toMatchObject({ content: `early ${i}`, room_id: room });
        expect((await sb.next('new_message')).data.content).toBe(`early ${i}`);
      }
    });

    it('002\'s leave_room with "data": {} works too', async () => {
      const { b, room } = await pair(server);
      const sb = await chatSocket(server, b, room);
      sb.send({ type: 'leave_room', data: {} });
      expect((await sb.next('room_left')).data).toEqual({ room_id: room });
    });

    it('a socket follows one room: join_room of another leaves the first', async () => {
      const { me, x, y, roomX, roomY } = await meAndTwoRooms(server);
      const mine = await chatSocket(server, me, roomX);
      const sx = await chatSocket(server, x, roomX);
      const sy = await chatSocket(server, y, roomY);
      mine.send({ type: 'join_room', data: { room_id: roomY } });
      await mine.next('room_joined');
      await send(sx, roomX, me, 'from x');
      await send(sy, roomY, me, 'from y');
      expect((await mine.next('new_message')).data.content).toBe('from y');
      await settle(mine);
      expect(mine.all('new_message').map((f) => f.data.content)).toEqual(['from y']);
      // And send_message without room_id now goes to the joined room.
      mine.send({ type: 'send_message', data: { receiver_id: y.user.id, message_type: 'text', content: 'to y' } });
      expect((await sy.next('new_message', { where: (f) => f.data.content === 'to y' })).data.room_id).toBe(roomY);
      for (const s of [mine, sx, sy]) s.close();
    });

    it('messages of a room the socket did not join do not arrive; the sender\'s own send there is still acked to it', async () => {
      const { me, x, y, roomX, roomY } = await meAndTwoRooms(server);
      const mine = await chatSocket(server, me, roomX);
      const otherDevice = await chatSocket(server, me, roomX);
      const sx = await chatSocket(server, x, roomX);
      const sy = await chatSocket(server, y, roomY);

      // me sends to roomY from a socket that follows roomX: acked once to that socket only.
      const ack = await send(mine, roomY, y, 'to y elsewhere');
      expect(ack.data).toMatchObject({ room_id: roomY, is_sender: true });
      expect((await sy.next('new_message')).data.id).toBe(ack.data.id);
      // y writes in roomY: nothing for the sockets that follow roomX.
      const fromY = await send(sy, roomY, me, 'y writes');
      // Then a roomX message, which every roomX socket must get after the others.
      const marker = await send(sx, roomX, me, 'x marker');
      for (const s of [mine, otherDevice]) {
        await s.next('new_message', { where: (f) => f.data.id === marker.data.id });
        await settle(s, 50);
      }
      expect(mine.all('new_message').map((f) => f.data.id)).toEqual([ack.data.id, marker.data.id]);
      expect(otherDevice.all('new_message').map((f) => f.data.id)).toEqual([marker.data.id]);
      expect(sx.all('new_message').map((f) => f.data.id)).toEqual([marker.data.id]);
      expect(fromY.data.room_id).toBe(roomY);
      for (const s of [mine, otherDevice, sx, sy]) s.close();
    });
  });

  describe('typing', () => {
    it('is relayed to the other user with room_id, user_id, user_name, is_typing; never to the typer\'s own socket', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const sa2 = await chatSocket(server, a, room);
      const sb = await chatSocket(server, b, room);
      sa.send({ type: 'typing', data: { room_id: room, is_typing: true } });
      const on = await sb.next('typing');
      expect(on.data).toMatchObject({ room_id: room, user_id: a.user.id, user_name: a.user.name, is_typing: true });
      sa.send({ type: 'typing', data: { room_id: room, is_typing: false } });
      expect((await sb.next('typing')).data).toMatchObject({ user_id: a.user.id, is_typing: false });
      // Without room_id: the URL's room.
      sa.send({ type: 'typing', data: { is_typing: true } });
      expect((await sb.next('typing')).data).toMatchObject({ room_id: room, is_typing: true });
      await settle(sa);
      expect(sa.all('typing')).toEqual([]);
      // The typer's other device is the typer too: it is not told either.
      await settle(sa2, 0);
      expect(sa2.all('typing')).toEqual([]);
      for (const s of [sa, sa2, sb]) s.close();
    });

    it('typing is not a message', async () => {
      const { a, room, sa, sb } = await connectedPair(server);
      sa.send({ type: 'typing', data: { room_id: room, is_typing: true } });
      await sb.next('typing');
      expect(await historyTotal(server, a, room)).toBe(0);
    });
  });

  describe('presence', () => {
    it('is sent when the other user connects and disconnects, to partners only, never to oneself', async () => {
      const { a, b, room } = await pair(server);
      const [stranger] = await users(server, 1);
      const sa = await chatSocket(server, a, room);
      const ss = await chatSocket(server, stranger);

      const sb = await chatSocket(server, b, room);
      const on = await sa.next('presence');
      expect(on.data).toMatchObject({ user_id: b.user.id, is_online: true, user_name: b.user.name });
      expect(on.data.user_id).toBeTypeOf('number');

      // A second device of b is not news.
      const sb2 = await chatSocket(server, b);
      sb2.close();
      sb.close();
      const off = await sa.next('presence');
      expect(off.data).toMatchObject({ user_id: b.user.id, is_online: false, user_name: b.user.name });

      await settle(sa);
      expect(sa.all('presence')).toHaveLength(2);
      await settle(ss);
      expect(ss.all('presence')).toEqual([]);
      expect(sb.all('presence').filter((f) => f.data.user_id === b.user.id)).toEqual([]);
    });

    it('a partner gets presence even on a socket that follows another room', async () => {
      const { me, x, y, roomX } = await meAndTwoRooms(server);
      const sx = await chatSocket(server, x, roomX);
      const sy = await chatSocket(server, y);
      // me comes online: both partners hear it, whatever room they follow.
      const mine = await chatSocket(server, me);
      for (const s of [sx, sy]) expect((await s.next('presence')).data).toMatchObject({ user_id: me.user.id, is_online: true });
      for (const s of [mine, sx, sy]) s.close();
    });
  });

  describe('errors keep the socket open', () => {
    it('an error frame is {"type":"error","message"} and carries the send\'s local_temp_id back', async () => {
      const { a, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      sa.send({ type: 'send_message', data: { room_id: room, message_type: 'text', content: '', local_temp_id: 'temp_fail' } });
      const err = await nextError(sa, 'Message content is required');
      expect(err.local_temp_id).toBe('temp_fail');
      expect(sa.ws.readyState).toBe(sa.ws.OPEN);
    });
  });
});
