// Threads (003, Send Message: "reply_to": "uuid"; Response: reply_count): reply_to must name a
// message of the same conversation (400 otherwise, on REST and the socket), and reply_count
// stays right through sends and deletes (a deleted reply no longer counts; deleting it twice
// drops the count once).
import { describe, expect, it } from 'vitest';
import { api } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, conversationWith, databases, expectDetail, expectStatus, getMessage, newTenant, nextError, sendMessage, socket003, users } from './support.js';

describe.each(databases)('003 threads on %s', (db) => {
  const server = useParley({ db });

  it('a reply carries reply_to; the parent\'s reply_count counts its replies (REST and socket)', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const parent = await sendMessage(server, a, conv, 'root');
    expect(parent.reply_count).toBe(0);
    const r1 = await sendMessage(server, b, conv, 'reply one', { reply_to: parent.id });
    expect(r1).toMatchObject({ reply_to: parent.id, reply_count: 0 });
    const sa = await socket003(server, a, [conv]);
    sa.send({ type: 'send_message', conversation_id: conv, content: 'reply two', message_type: 'text', reply_to: parent.id });
    const r2 = (await sa.next('new_message')).message;
    expect(r2).toMatchObject({ reply_to: parent.id, content: 'reply two' });
    expect((await getMessage(server, b, conv, parent.id)).reply_count).toBe(2);
    // The list shows the same counts.
    const list = await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: b.token });
    const byId = Object.fromEntries(list.body.results.map((m: any) => [m.id, m]));
    expect(byId[parent.id].reply_count).toBe(2);
    expect(byId[r1.id].reply_to).toBe(parent.id);
    // A reply to a reply counts under its own parent.
    await sendMessage(server, a, conv, 'nested', { reply_to: r1.id });
    expect((await getMessage(server, b, conv, r1.id)).reply_count).toBe(1);
    expect((await getMessage(server, b, conv, parent.id)).reply_count).toBe(2);
  });

  it('reply_to outside the conversation is refused with 400 and stores nothing', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const other = await conversationWith(server, a, [b]);
    const elsewhere = await sendMessage(server, a, other, 'in another conversation');
    // Another tenant's message.
    const [x] = await users(server, 1, { tenantId: newTenant() });
    const xConv = await conversationWith(server, x, []);
    const foreign = await sendMessage(server, x, xConv, 'foreign');

    for (const replyTo of [elsewhere.id, foreign.id, '0192e5b0-0000-7000-8000-000000000042']) {
      const res = await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: b.token, json: { content: 'bad reply', reply_to: replyTo } });
      expectDetail(res, 400);
    }
    const s = await socket003(server, b, [conv]);
    s.send({ type: 'send_message', conversation_id: conv, content: 'bad socket reply', message_type: 'text', reply_to: elsewhere.id });
    await nextError(s);
    expect((await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: a.token })).body.count).toBe(0);
    expect((await getMessage(server, a, other, elsewhere.id)).reply_count).toBe(0);
  });

  it('a message named under another of your conversations is not found there, and nothing changes', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const other = await conversationWith(server, a, [b]);
    const m = await sendMessage(server, a, other, 'lives in other');
    const wrong = `${P}/conversations/${conv}/messages/${m.id}/`;
    expectDetail(await api(server, 'GET', wrong, { token: a.token }), 404);
    expectDetail(await api(server, 'PUT', wrong, { token: a.token, json: { content: 'moved?' } }), 404);
    expectDetail(await api(server, 'DELETE', wrong, { token: a.token }), 404);
    const still = await getMessage(server, a, other, m.id);
    expect(still).toMatchObject({ id: m.id, content: 'lives in other', is_deleted: false });
  });

  it('deleting a reply drops reply_count once; deleting it again does not drop it twice', async () => {
    const [a, b, c] = await users(server, 3);
    const conv = await conversationWith(server, a, [b, c]);
    const parent = await sendMessage(server, a, conv, 'root');
    const r1 = await sendMessage(server, b, conv, 'r1', { reply_to: parent.id });
    const r2 = await sendMessage(server, c, conv, 'r2', { reply_to: parent.id });
    await sendMessage(server, b, conv, 'r3', { reply_to: parent.id });
    expect((await getMessage(server, a, conv, parent.id)).reply_count).toBe(3);

    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${r1.id}/`, { token: b.token }), 204);
    expect((await getMessage(server, a, conv, parent.id)).reply_count).toBe(2);
    // Twice: still 204 (or 404), and the count stays.
    const again = await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${r1.id}/`, { token: b.token });
    expect([204, 404]).toContain(again.status);
    expect((await getMessage(server, a, conv, parent.id)).reply_count).toBe(2);
    // A moderator-style delete (the admin deletes c's reply) counts the same.
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${r2.id}/`, { token: a.token }), 204);
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${r2.id}/`, { token: a.token }), 204);
    const after = await getMessage(server, b, conv, parent.id);
    expect(after.reply_count).toBe(1);
    // The list agrees with the single GET.
    const list = await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: c.token });
    expect(list.body.results.find((m: any) => m.id === parent.id).reply_count).toBe(1);
  });

  it('deleting the parent keeps its replies (and their reply_to)', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const parent = await sendMessage(server, a, conv, 'root');
    const r = await sendMessage(server, b, conv, 'reply', { reply_to: parent.id });
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${parent.id}/`, { token: a.token }), 204);
    const reply = await getMessage(server, b, conv, r.id);
    expect(reply).toMatchObject({ content: 'reply', reply_to: parent.id, is_deleted: false });
  });
});
