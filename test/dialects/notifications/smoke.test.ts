import { describe, expect, it } from 'vitest';
import { useParley } from '../../helpers/parley.js';
import { api, newUser, openSocket } from '../../helpers/clients.js';

describe('/api/notifications/chat (003) smoke', () => {
  const server = useParley();

  it('a group: create, add members, chat over the socket with replies, reactions and mentions', async () => {
    const owner = await newUser(server, { name: 'Olga' });
    const bob = await newUser(server, { name: 'Bob' });
    const carol = await newUser(server, { name: 'Carol' });
    const P = '/api/notifications/chat';
    const conv = await api(server, 'POST', `${P}/conversations/`, { token: owner.token, json: { title: 'Team', conversation_type: 'group' } });
    expect(conv.status).toBe(201);
    expect(conv.body).toMatchObject({ title: 'Team', conversation_type: 'group', participant_count: 1, last_message: null });
    for (const u of [bob, carol]) {
      const p = await api(server, 'POST', `${P}/conversations/${conv.body.id}/participants/`, { token: owner.token, json: { user_id: u.user.uuid, role: 'member' } });
      expect(p.status).toBe(201);
    }
    const ws = (u: typeof owner) => openSocket(`${server.wsUrl}/ws/chat/${u.user.tenant_id}/?token=${u.token}`);
    const so = await ws(owner);
    expect((await so.next('connection_established')).tenant_id).toBe(owner.user.tenant_id);
    const sb = await ws(bob);
    const sc = await ws(carol); // not joined: still gets its mention
    await sc.next('connection_established');
    for (const s of [so, sb]) {
      s.send({ type: 'join_conversation', conversation_id: conv.body.id });
      const j = await s.next(null, { where: (f) => f.type === 'conversation_joined' || f.type === 'error' });
      expect(j.type, JSON.stringify(j)).toBe('conversation_joined');
    }
    so.send({ type: 'send_message', conversation_id: conv.body.id, content: 'hello @Carol', message_type: 'text', local_temp_id: 'x1' });
    const mine = await so.next('new_message');
    expect(mine.message).toMatchObject({ content: 'hello @Carol', local_temp_id: 'x1', reactions: [], reply_count: 0 });
    expect((await sb.next('new_message')).message.id).toBe(mine.message.id);
    expect((await sc.next('mention')).message.id).toBe(mine.message.id);

    sb.send({ type: 'add_reaction', message_id: mine.message.id, emoji: '👍' });
    expect((await so.next('reaction_added')).reaction).toMatchObject({ message_id: mine.message.id, user_id: bob.user.uuid, emoji: '👍' });

    const reply = await api(server, 'POST', `${P}/conversations/${conv.body.id}/messages/`, { token: bob.token, json: { content: 'a reply', reply_to: mine.message.id } });
    expect(reply.status).toBe(201);
    expect(reply.body.reply_to).toBe(mine.message.id);
    const parent = await api(server, 'GET', `${P}/conversations/${conv.body.id}/messages/${mine.message.id}/`, { token: owner.token });
    expect(parent.body).toMatchObject({ reply_count: 1, reactions: [{ emoji: '👍', user_id: bob.user.uuid }] });

    // A member cannot rename; the admin can. Another tenant's token is refused on this tenant's socket.
    expect((await api(server, 'PUT', `${P}/conversations/${conv.body.id}/`, { token: bob.token, json: { title: 'x' } })).status).toBe(403);
    expect((await api(server, 'PUT', `${P}/conversations/${conv.body.id}/`, { token: owner.token, json: { title: 'Team 2' } })).body.title).toBe('Team 2');
    const other = await newUser(server, { tenantId: '0192e5b0-0000-7000-8000-00000000abcd' });
    const refused = await openSocket(`${server.wsUrl}/ws/chat/${owner.user.tenant_id}/?token=${other.token}`);
    expect((await refused.closed).code).toBe(4003);
    expect((await api(server, 'GET', `${P}/conversations/${conv.body.id}/`, { token: other.token })).status).toBe(404);
    for (const s of [so, sb, sc]) s.close();
  });
});
