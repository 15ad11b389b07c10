// Document 003, WebSocket API: /ws/chat/{tenant_id}/ authenticated by the Authorization
// header, ?token= or a first {"type":"authenticate","token":…} frame; connection_established;
// every client frame (join_conversation, send_message, start_typing/stop_typing,
// add_reaction/remove_reaction, mark_read, update_presence), flat as in the examples or in the
// {type, data} envelope, and the server frames they produce.
import { describe, expect, it } from 'vitest';
import { api, openSocket, type TestSocket } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, ISO_MS, conversationWith, databases, expectMessage003, join, joinedPair, sendMessage, settle, socket003, tempId, users, wsUrl } from './support.js';

describe.each(databases)('003 socket frames on %s', (db) => {
  const server = useParley({ db });

  const expectEstablished = async (s: TestSocket, user: { user: { uuid: string; tenant_id: string } }) => {
    const hello = await s.next('connection_established');
    expect(hello).toMatchObject({ type: 'connection_established', message: 'Connected to chat service', user_id: user.user.uuid, tenant_id: user.user.tenant_id });
    expect(hello.timestamp).toMatch(ISO_MS);
  };

  it('authenticates by ?token=, by the Authorization header and by a first authenticate frame', async () => {
    const [a] = await users(server, 1);
    const byQuery = await openSocket(wsUrl(server, a));
    await expectEstablished(byQuery, a);

    const byHeader = await openSocket(wsUrl(server, a, a.user.tenant_id, null), { headers: { authorization: `Bearer ${a.token}` } });
    await expectEstablished(byHeader, a);

    const byFrame = await openSocket(wsUrl(server, a, a.user.tenant_id, null));
    byFrame.send({ type: 'authenticate', token: a.token });
    await expectEstablished(byFrame, a);
    // The socket works afterwards.
    const conv = await conversationWith(server, a, []);
    await join(byFrame, conv);
    for (const s of [byQuery, byHeader, byFrame]) s.close();
  });

  it('refuses a missing or bad token with 4001', async () => {
    const [a] = await users(server, 1);
    const bad = await openSocket(wsUrl(server, a, a.user.tenant_id, 'not-a-jwt'));
    expect((await bad.closed).code).toBe(4001);
    const badHeader = await openSocket(wsUrl(server, a, a.user.tenant_id, null), { headers: { authorization: 'Bearer nope' } });
    expect((await badHeader.closed).code).toBe(4001);
    // No token in the URL or header, and a first frame that is not authenticate.
    const none = await openSocket(wsUrl(server, a, a.user.tenant_id, null));
    none.send({ type: 'join_conversation', conversation_id: '0192e5b0-0000-7000-8000-000000000001' });
    expect((await none.closed).code).toBe(4001);
    const badFrame = await openSocket(wsUrl(server, a, a.user.tenant_id, null));
    badFrame.send({ type: 'authenticate', token: 'garbage' });
    expect((await badFrame.closed).code).toBe(4001);
    expect(bad.all('connection_established')).toHaveLength(0);
  });

  it('join_conversation then send_message: every joined socket gets new_message, the sender\'s own is its ack', async () => {
    const [a, b, c] = await users(server, 3);
    const conv = await conversationWith(server, a, [b, c]);
    const sa = await socket003(server, a, [conv]);
    const sb = await socket003(server, b, [conv]);
    const sc = await socket003(server, c); // not joined: no new_message

    const tid = tempId();
    sa.send({ type: 'send_message', conversation_id: conv, content: 'Hello world!', message_type: 'text', local_temp_id: tid });
    const own = await sa.next('new_message');
    expectMessage003(own.message, a);
    expect(own.message).toMatchObject({ content: 'Hello world!', message_type: 'text', reactions: [], reply_count: 0, local_temp_id: tid });
    const got = await sb.next('new_message');
    expect(got.message).toMatchObject({ id: own.message.id, sender_id: a.user.uuid, content: 'Hello world!', message_type: 'text', reactions: [] });
    expect(got.message.created_at).toMatch(ISO_MS);

    await settle(sc);
    expect(sc.all('new_message')).toHaveLength(0);
    // Stored: REST shows it.
    const list = await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: c.token });
    expect(list.body.results[0]).toMatchObject({ id: own.message.id, content: 'Hello world!' });
    for (const s of [sa, sb, sc]) s.close();
  });

  it('accepts the {type, data} envelope as well as flat frames', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const sa = await socket003(server, a);
    sa.send({ type: 'join_conversation', data: { conversation_id: conv } });
    expect((await sa.next('conversation_joined')).conversation_id).toBe(conv);
    sa.send({ type: 'send_message', data: { conversation_id: conv, content: 'enveloped', message_type: 'text' } });
    const own = await sa.next('new_message');
    expect(own.message.content).toBe('enveloped');
    sa.send({ type: 'add_reaction', data: { message_id: own.message.id, emoji: '👍' } });
    expect((await sa.next('reaction_added')).reaction).toMatchObject({ message_id: own.message.id, emoji: '👍', user_id: a.user.uuid });
    sa.send({ type: 'start_typing', data: { conversation_id: conv } });
    sa.send({ type: 'mark_read', data: { conversation_id: conv } });
    sa.send({ type: 'update_presence', data: { status: 'busy' } });
    await settle(sa);
    expect(sa.all('error')).toEqual([]);
    expect((await api(server, 'GET', `${P}/presence/me/`, { token: a.token })).body.status).toBe('busy');
  });

  it('start_typing / stop_typing reach the others as typing_indicator', async () => {
    const { a, conv, sa, sb } = await joinedPair(server);
    sa.send({ type: 'start_typing', conversation_id: conv });
    expect(await sb.next('typing_indicator')).toMatchObject({ user_id: a.user.uuid, is_typing: true });
    sa.send({ type: 'stop_typing', conversation_id: conv });
    expect(await sb.next('typing_indicator')).toMatchObject({ user_id: a.user.uuid, is_typing: false });
    // The typer does not hear itself; nothing is stored as a message.
    await settle(sa);
    expect(sa.all('typing_indicator')).toHaveLength(0);
    expect((await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: a.token })).body.count).toBe(0);
  });

  it('add_reaction / remove_reaction reach joined sockets as reaction_added / reaction_removed', async () => {
    const { a, b, conv, sa, sb } = await joinedPair(server);
    const m = await sendMessage(server, a, conv, 'react to me');
    sb.send({ type: 'add_reaction', message_id: m.id, emoji: '👍' });
    for (const s of [sa, sb]) {
      const f = await s.next('reaction_added');
      expect(f.reaction).toMatchObject({ message_id: m.id, user_id: b.user.uuid, emoji: '👍' });
      expect(f.reaction.created_at).toMatch(ISO_MS);
    }
    sb.send({ type: 'remove_reaction', message_id: m.id, emoji: '👍' });
    for (const s of [sa, sb]) expect((await s.next('reaction_removed')).reaction).toMatchObject({ message_id: m.id, user_id: b.user.uuid, emoji: '👍' });
  });

  it('mark_read moves the reader\'s unread count to 0', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    await sendMessage(server, a, conv, 'one');
    await sendMessage(server, a, conv, 'two');
    expect((await api(server, 'GET', `${P}/conversations/${conv}/`, { token: b.token })).body.unread_count).toBe(2);
    const sa = await socket003(server, a, [conv]);
    const sb = await socket003(server, b, [conv]);
    sb.send({ type: 'mark_read', conversation_id: conv });
    const read = await sa.next('message_read');
    expect(read).toMatchObject({ conversation_id: conv, user_id: b.user.uuid });
    await settle(sb);
    expect(sb.all('error')).toEqual([]);
    expect((await api(server, 'GET', `${P}/conversations/${conv}/`, { token: b.token })).body.unread_count).toBe(0);
  });

  it('update_presence sets the status (GET presence/me/) and tells conversation partners', async () => {
    const [a, b] = await users(server, 2);
    await conversationWith(server, a, [b]);
    const sa = await socket003(server, a);
    const sb = await socket003(server, b);
    sb.send({ type: 'update_presence', status: 'away' });
    const upd = await sa.next('presence_update', { where: (f) => f.user_id === b.user.uuid && f.status === 'away' });
    expect(upd).toMatchObject({ user_id: b.user.uuid, status: 'away' });
    const me = await api(server, 'GET', `${P}/presence/me/`, { token: b.token });
    expect(me.body).toMatchObject({ user_id: b.user.uuid, status: 'away' });
  });

  it('concurrent sends from several sockets arrive everywhere once each, in seq order', async () => {
    const [a, b, c] = await users(server, 3);
    const conv = await conversationWith(server, a, [b, c]);
    const socks = [await socket003(server, a, [conv]), await socket003(server, b, [conv]), await socket003(server, c, [conv])];
    const N = 15;
    for (let i = 0; i < N; i++) socks.forEach((s, k) => s.send({ type: 'send_message', conversation_id: conv, content: `s${k}-${i}`, message_type: 'text' }));
    for (const s of socks) {
      for (let i = 0; i < N * socks.length; i++) await s.next('new_message');
      const seqs = s.all('new_message').map((f) => f.message.seq);
      expect(seqs).toEqual(Array.from({ length: N * socks.length }, (_, i) => i + 1));
    }
    await settle(socks[0]);
    for (const s of socks) expect(s.all('new_message')).toHaveLength(N * socks.length);
    // Each sender's own messages keep their order.
    const list = await api(server, 'GET', `${P}/conversations/${conv}/messages/?limit=100`, { token: a.token });
    expect(list.body.count).toBe(N * socks.length);
    for (let k = 0; k < socks.length; k++) {
      const mine = list.body.results.filter((m: any) => m.content.startsWith(`s${k}-`)).reverse();
      expect(mine.map((m: any) => m.content)).toEqual(Array.from({ length: N }, (_, i) => `s${k}-${i}`));
    }
    for (const s of socks) s.close();
  });

  it('a retried send with the same local_temp_id is acknowledged with the original message, not stored twice', async () => {
    const { b, conv, sa, sb } = await joinedPair(server);
    const tid = tempId();
    sa.send({ type: 'send_message', conversation_id: conv, content: 'once', message_type: 'text', local_temp_id: tid });
    const first = await sa.next('new_message');
    sa.send({ type: 'send_message', conversation_id: conv, content: 'once', message_type: 'text', local_temp_id: tid });
    const second = await sa.next('new_message');
    expect(second.message.id).toBe(first.message.id);
    expect(second.message.local_temp_id).toBe(tid);
    await sb.next('new_message');
    await settle(sb);
    expect(sb.all('new_message')).toHaveLength(1);
    expect((await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: b.token })).body.count).toBe(1);
  });

  it('every socket of a user (several devices) gets each event once', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const b1 = await socket003(server, b, [conv]);
    const b2 = await socket003(server, b, [conv]);
    const m = await sendMessage(server, a, conv, 'to both devices');
    for (const s of [b1, b2]) expect((await s.next('new_message')).message.id).toBe(m.id);
    await settle(b1);
    for (const s of [b1, b2]) expect(s.all('new_message')).toHaveLength(1);
  });
});
