// Document 004's friend rule from every side: a stranger, a pending request either way and
// a removed friend are refused (REST 403 {"detail"}, an error frame on the socket) and
// nothing is stored; accepted friends talk. /api/chat and 002's room API still let any two
// users of a tenant talk (DESIGN.md: friendship is a policy of the 004 surfaces).
import { describe, expect, it } from 'vitest';
import { api, chatSocket, newRoom, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { befriend, databases, expectDetail, friendSocket, history004, nextError, room002, roomSocket, send004, sendRoom, settle, tempId, users } from './support.js';

const NOT_FRIENDS = 'You can only send messages to your friends';

type Relation = 'stranger' | 'pending, asked by the sender' | 'pending, asked by the receiver' | 'removed by the sender' | 'removed by the receiver';
const REFUSED: Relation[] = ['stranger', 'pending, asked by the sender', 'pending, asked by the receiver', 'removed by the sender', 'removed by the receiver'];

describe.each(databases)('004 friend rule on %s', (db) => {
  const server = useParley({ db });

  /** Two users in `relation`; a removed friendship leaves one message from when they were friends. */
  async function relate(relation: Relation): Promise<{ a: TestUser; b: TestUser; before: number }> {
    const [a, b] = await users(server, 2);
    let before = 0;
    if (relation === 'pending, asked by the sender') {
      expect((await api(server, 'POST', '/api/friends', { token: a.token, json: { user_id: b.user.uuid } })).body.status).toBe('pending');
    } else if (relation === 'pending, asked by the receiver') {
      expect((await api(server, 'POST', '/api/friends', { token: b.token, json: { user_id: a.user.id } })).body.status).toBe('pending');
    } else if (relation.startsWith('removed')) {
      await befriend(server, a, b);
      await send004(server, a, b, 'while we were friends');
      before = 1;
      const [remover, removed] = relation === 'removed by the sender' ? [a, b] : [b, a];
      const res = await api(server, 'DELETE', `/api/friends/${removed.user.uuid}`, { token: remover.token });
      expect(res.status).toBe(200);
      expect((await api(server, 'GET', '/api/friends', { token: a.token })).body.friends).toEqual([]);
    }
    return { a, b, before };
  }

  it.each(REFUSED)('%s: REST send is 403 {"detail"} both ways and nothing is stored', async (relation) => {
    const { a, b, before } = await relate(relation);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ]) {
      const res = await api(server, 'POST', '/api/v1/chat/messages/', { token: from.token, json: { receiver_id: to.user.uuid, content: 'let me in' } });
      expectDetail(res, 403, NOT_FRIENDS);
      // The integer id names the same user: refused the same way.
      expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: from.token, json: { receiver_id: to.user.id, content: 'let me in' } }), 403, NOT_FRIENDS);
    }
    for (const viewer of [a, b]) {
      const h = await history004(server, viewer, viewer === a ? b : a);
      expect(h.total).toBe(before);
      expect(h.messages.map((m) => m.content)).not.toContain('let me in');
    }
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body.unread_count).toBe(before);
  });

  it.each(REFUSED)('%s: socket send_message gets an error frame, the receiver gets nothing, nothing is stored', async (relation) => {
    const { a, b, before } = await relate(relation);
    const sa = await friendSocket(server, a);
    const sb = await friendSocket(server, b);
    const tid = tempId();
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'over the socket', local_temp_id: tid });
    const err = await nextError(sa, NOT_FRIENDS);
    expect(err.local_temp_id).toBe(tid);
    expect(err.code).toBe('not_friends');
    sb.send({ type: 'send_message', receiver_id: a.user.uuid, content: 'the other way' });
    await nextError(sb, NOT_FRIENDS);

    // The socket stays usable, and nothing went anywhere.
    await settle(sa, 300);
    await settle(sb, 0);
    expect(sa.all('message_sent')).toEqual([]);
    expect(sb.all('new_message')).toEqual([]);
    expect(sa.all('new_message')).toEqual([]);
    expect((await history004(server, a, b)).total).toBe(before);
  });

  it.each(REFUSED)('%s: typing to a non-friend is an error frame and never reaches them', async (relation) => {
    const { a, b } = await relate(relation);
    // They share a room (002 lets anyone talk): the 004 typing frame still needs a friend.
    await room002(server, a, b);
    const sa = await friendSocket(server, a);
    const sb = await friendSocket(server, b);
    sa.send({ type: 'typing', receiver_id: b.user.uuid, is_typing: true });
    await nextError(sa, NOT_FRIENDS);
    await settle(sa, 300);
    expect(sb.all('typing_indicator')).toEqual([]);
  });

  it('accepted friends talk both ways over REST and the socket; removing the friendship stops it; asking again restores it', async () => {
    const [a, b] = await users(server, 2);
    await befriend(server, a, b);
    await send004(server, a, b, 'rest a→b');
    await send004(server, b, a, 'rest b→a');
    const sa = await friendSocket(server, a);
    const sb = await friendSocket(server, b);
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'socket a→b' });
    await sa.next('message_sent');
    expect((await sb.next('new_message')).message.content).toBe('socket a→b');
    expect((await history004(server, a, b)).total).toBe(3);

    expect((await api(server, 'DELETE', `/api/friends/${a.user.id}`, { token: b.token })).status).toBe(200);
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'after removal' });
    await nextError(sa, NOT_FRIENDS);
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: b.token, json: { receiver_id: a.user.uuid, content: 'after removal' } }), 403, NOT_FRIENDS);
    expect((await history004(server, a, b)).total).toBe(3);

    await befriend(server, a, b);
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'friends again' });
    await sa.next('message_sent');
    expect((await history004(server, b, a)).messages[0].content).toBe('friends again');
  });

  it.each(['stranger', 'pending, asked by the sender', 'removed by the receiver'] as Relation[])(
    '%s: /api/chat and 002\'s room API still let them talk',
    async (relation) => {
      const { a, b, before } = await relate(relation);
      const room = await room002(server, a, b);
      expect(await newRoom(server, b, a)).toBe(room);
      const sockets: TestSocket[] = [];
      const sa = await roomSocket(server, a, room);
      const sb = await chatSocket(server, b, room);
      sockets.push(sa, sb);
      const m1 = await sendRoom(sa, room, b, 'via 002');
      expect((await sb.next('new_message', { where: (f) => f.data.id === m1.data.id })).data.content).toBe('via 002');
      sb.send({ type: 'send_message', data: { room_id: room, receiver_id: a.user.id, message_type: 'text', content: 'via /api/chat' } });
      expect((await sa.next('new_message', { where: (f) => f.data.content === 'via /api/chat' })).data.sender_id).toBe(b.user.id);
      // Their conversation is the one direct conversation: 004's history shows it, the rule refuses only 004's sends.
      expect((await history004(server, a, b)).total).toBe(before + 2);
      for (const s of sockets) s.close();
    },
  );
});
