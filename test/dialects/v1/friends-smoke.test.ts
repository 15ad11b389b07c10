import { describe, expect, it } from 'vitest';
import { useParley } from '../../helpers/parley.js';
import { api, newUser, openSocket } from '../../helpers/clients.js';

describe('/api/v1/chat (004) smoke', () => {
  const server = useParley();

  it('friends chat with sent → delivered → read; strangers are refused', async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    const refused = await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json: { receiver_id: b.user.uuid, content: 'hi' } });
    expect(refused.status).toBe(403);
    await api(server, 'POST', '/api/friends', { token: a.token, json: { user_id: b.user.uuid } });
    expect((await api(server, 'POST', '/api/friends', { token: b.token, json: { user_id: a.user.id } })).body.status).toBe('accepted');

    const sb = await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat?token=${b.token}`);
    expect((await sb.next('connection_established')).user_id).toBe(b.user.uuid);
    await sb.next('online_friends');
    const sa = await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat?token=${a.token}`);
    expect((await sa.next('online_friends')).friends).toEqual([b.user.uuid]);

    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'hello friend' });
    const sent = await sa.next('message_sent');
    expect(sent.status).toBe('sent');
    const got = await sb.next('new_message');
    expect(got.message).toMatchObject({ message_id: sent.message_id, content: 'hello friend', status: 'delivered', sender: { account_id: a.user.uuid } });

    sb.send({ type: 'mark_read', message_id: sent.message_id });
    const read = await sa.next('message_read');
    expect(read).toMatchObject({ message_id: sent.message_id, read_by: b.user.uuid });

    const history = await api(server, 'GET', `/api/v1/chat/messages/history/${b.user.uuid}?skip=0&limit=50`, { token: a.token });
    expect(history.body.total).toBe(1);
    expect(history.body.messages[0]).toMatchObject({ status: 'read', content: 'hello friend' });
    expect(history.body.messages[0].read_at).toMatch(/Z$/);

    const bad = await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat?token=nope`).catch((e) => e);
    expect(String(bad)).toMatch(/401/);
  });
});
