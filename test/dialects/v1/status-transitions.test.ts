// Document 004's message status, derived from the receiver's watermarks (DESIGN.md):
// sent while no device of the receiver has it, delivered as soon as one device gets it
// (delivered receipts are batched, ~200 ms), read after mark_read from one device — and
// the sender is told with message_read.
import { describe, expect, it } from 'vitest';
import { api, chatSocket, eventually, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { connectedFriends, databases, friends, friendSocket, history004, ISO_MS, room002, send004, settle } from './support.js';

describe.each(databases)('004 status transitions on %s', (db) => {
  const server = useParley({ db });

  const statusOf = async (viewer: TestUser, other: TestUser, messageId: string) => {
    const h = await history004(server, viewer, other);
    const m = h.messages.find((x) => x.message_id === messageId);
    expect(m).toBeDefined();
    return m;
  };

  it('sent (receiver offline) → delivered when one of two devices gets it → read after mark_read from one device; the sender sees message_read', async () => {
    const [a, b] = await friends(server);
    const sa = await friendSocket(server, a);

    // The receiver has no device: sent, and it stays sent.
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'while you were away' });
    const ack1 = await sa.next('message_sent');
    expect(ack1.status).toBe('sent');
    await settle(sa, 300);
    expect(await statusOf(a, b, ack1.message_id)).toMatchObject({ status: 'sent', read_at: null });
    expect(await statusOf(b, a, ack1.message_id)).toMatchObject({ status: 'sent', read_at: null });

    // One device online: the next message reaches it, delivered — and, by the watermark, the one before too.
    const phone = await friendSocket(server, b);
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'are you there?' });
    const ack2 = await sa.next('message_sent');
    expect(ack2.status).toBe('sent');
    const onPhone = await phone.next('new_message');
    expect(onPhone.message).toMatchObject({ message_id: ack2.message_id, status: 'delivered' });
    await eventually(async () => expect((await statusOf(a, b, ack2.message_id)).status).toBe('delivered'));
    expect(await statusOf(a, b, ack1.message_id)).toMatchObject({ status: 'delivered', read_at: null });
    expect((await statusOf(b, a, ack2.message_id)).status).toBe('delivered');

    // A second device: both get the next message, each once.
    const laptop = await friendSocket(server, b);
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'both of you' });
    const ack3 = await sa.next('message_sent');
    expect((await phone.next('new_message')).message).toMatchObject({ message_id: ack3.message_id, status: 'delivered' });
    expect((await laptop.next('new_message')).message).toMatchObject({ message_id: ack3.message_id, status: 'delivered' });
    await eventually(async () => expect((await statusOf(a, b, ack3.message_id)).status).toBe('delivered'));
    await settle(laptop, 300);
    expect(phone.all('new_message').filter((f) => f.message.message_id === ack3.message_id)).toHaveLength(1);
    expect(laptop.all('new_message').filter((f) => f.message.message_id === ack3.message_id)).toHaveLength(1);
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 3 });

    // Read from one device: the sender is told, every message up to it is read.
    laptop.send({ type: 'mark_read', message_id: ack3.message_id });
    const read = await sa.next('message_read');
    expect(read).toMatchObject({ message_id: ack3.message_id, read_by: b.user.uuid });
    for (const id of [ack1.message_id, ack2.message_id, ack3.message_id]) {
      const m = await statusOf(a, b, id);
      expect(m.status).toBe('read');
      expect(m.read_at).toMatch(ISO_MS);
    }
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 0 });
    // Reading again tells nobody again.
    phone.send({ type: 'mark_read', message_id: ack3.message_id });
    await settle(phone);
    await settle(sa, 300);
    expect(sa.all('message_read')).toHaveLength(1);
  });

  it('a message sent over REST is delivered once a device of the receiver gets it; a device of any dialect counts', async () => {
    const [a, b] = await friends(server);
    const room = await room002(server, a, b);
    // The receiver's only device is an /api/chat socket in their room.
    const sb = await chatSocket(server, b, room);
    const m = await send004(server, a, b, 'over REST');
    expect(m.status).toBe('sent');
    const got = await sb.next('new_message');
    expect(got.data).toMatchObject({ uuid: m.message_id, content: 'over REST' });
    await eventually(async () => expect((await statusOf(a, b, m.message_id)).status).toBe('delivered'));
    // Read through the room API: read in 004 too.
    expect((await api(server, 'POST', `/api/v1/chat/rooms/${room}/read`, { token: b.token })).status).toBe(200);
    const after = await statusOf(a, b, m.message_id);
    expect(after.status).toBe('read');
    expect(after.read_at).toMatch(ISO_MS);
  });

  it('the sender\'s own devices never make its message delivered', async () => {
    const [a, b] = await friends(server);
    const sa1 = await friendSocket(server, a);
    const sa2 = await friendSocket(server, a);
    sa1.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'only me online' });
    const ack = await sa1.next('message_sent');
    await sa2.next('new_message');
    await settle(sa2, 300);
    expect((await statusOf(a, b, ack.message_id)).status).toBe('sent');
  });

  // Issue 15.8: a reply that crosses a message does not read it. Bob's device has Alice's
  // message (delivered) but Bob never marks it read; his own send must not make it "read".
  it('a message that crossed the receiver\'s reply stays delivered, not read, until the receiver reads', async () => {
    const { a, b, sa, sb } = await connectedFriends(server);
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'did you see this?' });
    const ack = await sa.next('message_sent');
    await sb.next('new_message');
    sb.send({ type: 'send_message', receiver_id: a.user.uuid, content: 'typed before I saw yours' });
    await sb.next('message_sent');
    await eventually(async () => expect((await statusOf(a, b, ack.message_id)).status).toBe('delivered'));
    await settle(sa, 300);
    expect(await statusOf(a, b, ack.message_id)).toMatchObject({ status: 'delivered', read_at: null });
    expect(sa.all('message_read')).toHaveLength(0);
    // Bob's reply cleared his unread count (what came before it was answered) without reading it.
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 0 });
    sb.send({ type: 'mark_read', message_id: ack.message_id });
    await sa.next('message_read');
    expect((await statusOf(a, b, ack.message_id)).status).toBe('read');
  });
});
