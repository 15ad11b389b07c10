// Document 004's socket /api/v1/chat/ws/chat?token=: the greeting (connection_established,
// online_friends), send_message → message_sent / new_message, mark_read → message_read,
// typing → typing_indicator, and a refused upgrade (HTTP 401, 403) for a bad token.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { api, openSocket } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { connectedFriends, databases, expectAccount, friends, friendSocket, history004, ISO_MS, settle, tempId, users, UUID, wsChatUrl } from './support.js';

/** The secret startParley gives the test server. */
const SECRET = new TextEncoder().encode('test-secret-that-is-long-enough-for-hs256');

describe.each(databases)('004 socket on %s', (db) => {
  const server = useParley({ db });

  it('greets with connection_established, then online_friends listing the friends online', async () => {
    const [a, b] = await friends(server);
    const [c] = await users(server, 1);
    await api(server, 'POST', '/api/friends', { token: a.token, json: { user_id: c.user.uuid } });
    await api(server, 'POST', '/api/friends', { token: c.token, json: { user_id: a.user.uuid } });
    await friendSocket(server, c);

    const sa = await openSocket(wsChatUrl(server, a.token));
    const hello = await sa.next('connection_established');
    expect(hello).toEqual({ type: 'connection_established', user_id: a.user.uuid, message: 'Connected to chat server' });
    const online = await sa.next('online_friends');
    expect(online).toEqual({ type: 'online_friends', friends: [c.user.uuid] });
    expect(sa.frames.slice(0, 2).map((f) => f.type)).toEqual(['connection_established', 'online_friends']);

    const sb = await openSocket(wsChatUrl(server, b.token));
    await sb.next('connection_established');
    expect((await sb.next('online_friends')).friends).toEqual([a.user.uuid]);
  });

  it('send_message → message_sent to the sender, new_message (status delivered) to the receiver', async () => {
    const { a, b, sa, sb } = await connectedFriends(server);

    // The document's own client: sendMessage(receiverId, content).
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'Hello from JS!' });
    const ack = await sa.next('message_sent');
    expect(ack).toMatchObject({ type: 'message_sent', status: 'sent' });
    expect(ack.message_id).toMatch(UUID);

    const got = await sb.next('new_message');
    const m = got.message;
    expect(m).toMatchObject({ message_id: ack.message_id, sender_id: a.user.uuid, receiver_id: b.user.uuid, content: 'Hello from JS!', status: 'delivered' });
    expect(m.created_at).toMatch(ISO_MS);
    expectAccount(m.sender, a);
    // The document's client reads data.message.sender.username.
    expect(`New message from ${m.sender.username}: ${m.content}`).toContain(m.sender.username);

    // The sender's socket gets its ack, not a new_message of its own send.
    await settle(sa);
    expect(sa.all('new_message')).toEqual([]);
    expect(sa.all('message_sent')).toHaveLength(1);
    // Stored once.
    expect((await history004(server, a, b)).messages.map((x) => x.message_id)).toEqual([ack.message_id]);

    // The {type, data} envelope and a local_temp_id work too; the ack carries it back.
    const tid = tempId();
    sb.send({ type: 'send_message', data: { receiver_id: a.user.uuid, content: 'enveloped', local_temp_id: tid } });
    const ack2 = await sb.next('message_sent');
    expect(ack2.local_temp_id).toBe(tid);
    expect((await sa.next('new_message')).message).toMatchObject({ message_id: ack2.message_id, content: 'enveloped', sender_id: b.user.uuid });
  });

  it('the sender\'s other devices see its message; a friend without a conversation yet is followed from the first message on', async () => {
    const [a, b] = await friends(server);
    // Both connect before any conversation exists between them.
    const sa1 = await friendSocket(server, a);
    const sa2 = await friendSocket(server, a);
    const sb = await friendSocket(server, b);
    sa1.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'first ever' });
    const ack = await sa1.next('message_sent');
    expect((await sb.next('new_message')).message.message_id).toBe(ack.message_id);
    const mirror = await sa2.next('new_message');
    expect(mirror.message).toMatchObject({ message_id: ack.message_id, sender_id: a.user.uuid, content: 'first ever' });
    await settle(sb);
    expect(sb.all('new_message')).toHaveLength(1);
  });

  it('mark_read → message_read to the sender with read_by; the history shows read', async () => {
    const { a, b, sa, sb } = await connectedFriends(server);
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'read me' });
    const ack = await sa.next('message_sent');
    await sb.next('new_message');

    sb.send({ type: 'mark_read', message_id: ack.message_id });
    const read = await sa.next('message_read');
    expect(read).toMatchObject({ type: 'message_read', message_id: ack.message_id, read_by: b.user.uuid });
    const h = await history004(server, a, b);
    expect(h.messages[0]).toMatchObject({ message_id: ack.message_id, status: 'read' });
    expect(h.messages[0].read_at).toMatch(ISO_MS);

    // The reader is not told about its own read; an unknown message is an error frame.
    await settle(sb);
    expect(sb.all('message_read')).toEqual([]);
    sb.send({ type: 'mark_read', message_id: randomUUID() });
    expect((await sb.next('error')).message).toBe('Message not found');
  });

  it('typing → typing_indicator to the receiver only', async () => {
    const { a, b, sa, sb } = await connectedFriends(server);
    // A conversation exists once they have written.
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'hi' });
    await sb.next('new_message');

    sa.send({ type: 'typing', receiver_id: b.user.uuid, is_typing: true });
    expect(await sb.next('typing_indicator')).toMatchObject({ type: 'typing_indicator', user_id: a.user.uuid, is_typing: true });
    sa.send({ type: 'typing', receiver_id: b.user.uuid, is_typing: false });
    expect(await sb.next('typing_indicator')).toMatchObject({ user_id: a.user.uuid, is_typing: false });
    await settle(sa);
    expect(sa.all('typing_indicator')).toEqual([]);
    // Typing is never stored.
    expect((await history004(server, b, a)).total).toBe(1);
  });

  it('typing to a friend before their first message reaches them too (a client types its first message)', async () => {
    const { a, b, sa, sb } = await connectedFriends(server);
    sa.send({ type: 'typing', receiver_id: b.user.uuid, is_typing: true });
    expect(await sb.next('typing_indicator')).toMatchObject({ user_id: a.user.uuid, is_typing: true });
    await settle(sa);
    expect(sa.all('error')).toEqual([]);
    // Then the message itself, on the same conversation.
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'first' });
    expect((await sb.next('new_message')).message.content).toBe('first');
    expect((await history004(server, b, a)).total).toBe(1);
  });

  it('refuses the upgrade with HTTP 401 for a missing or bad token and 403 for a user that does not exist: no socket', async () => {
    const [a] = await users(server, 1);
    const claims = JSON.parse(Buffer.from(a.token.split('.')[1], 'base64url').toString());
    const expired = await new SignJWT({ ...claims, iat: claims.iat - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(SECRET);
    for (const url of [
      `${server.wsUrl}/api/v1/chat/ws/chat`,
      `${server.wsUrl}/api/v1/chat/ws/chat?token=`,
      `${server.wsUrl}/api/v1/chat/ws/chat?token=nope`,
      `${server.wsUrl}/api/v1/chat/ws/chat?token=${a.token}x`,
      wsChatUrl(server, expired),
    ]) {
      const err = await openSocket(url).then(
        (s) => (s.close(), new Error('opened')),
        (e: Error) => e,
      );
      expect({ url, err: String(err) }).toEqual({ url, err: expect.stringMatching(/unexpected response 401/) });
    }
    const ghost = await new SignJWT({ ...claims, sub: randomUUID() }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(SECRET);
    const err = await openSocket(wsChatUrl(server, ghost)).then(
      (s) => (s.close(), new Error('opened')),
      (e: Error) => e,
    );
    expect(String(err)).toMatch(/unexpected response 403/);
  });
});
