import { describe, expect, it } from 'vitest';
import { useParley } from '../../helpers/parley.js';
import { hasPostgres } from '../../helpers/pg.js';
import { api, connectedPair } from '../../helpers/clients.js';

describe.each(['sqlite', ...(hasPostgres ? ['postgres' as const] : [])] as const)('/api/chat smoke on %s', (db) => {
  const server = useParley({ db });

  it('a message sent over the socket reaches the other user and is acked to the sender', async () => {
    const { a, b, room, sa, sb } = await connectedPair(server);
    sa.send({ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, message_type: 'text', content: 'hi', local_temp_id: 't1' } });
    const ack = await sa.next('new_message');
    const got = await sb.next('new_message');
    expect(ack.data).toMatchObject({ content: 'hi', local_temp_id: 't1', is_sender: true, seq: 1 });
    expect(got.data).toMatchObject({ content: 'hi', is_sender: false, sender_details: { id: a.user.id }, receiver_details: { id: b.user.id } });
    const page = await api(server, 'GET', `/api/chat/rooms/${room}/messages`, { token: b.token });
    expect(page.body).toMatchObject({ total: 1, page: 1, per_page: 50, total_pages: 1, has_more: false });
  });
});
