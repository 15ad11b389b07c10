// Document 003, Messages: GET/POST conversations/{id}/messages/ (newest first; count, results,
// next_before_seq paging with before_seq; 201 with reactions [] and reply_count 0),
// GET/PUT/DELETE conversations/{id}/messages/{id}/ (edited_at; 204), and the socket frames
// those changes produce (new_message, message_updated, message_deleted).
import { describe, expect, it } from 'vitest';
import { api } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, ISO_MS, conversationWith, databases, expectDetail, expectMessage003, expectStatus, getMessage, sendMessage, socket003, users } from './support.js';

describe.each(databases)('003 messages on %s', (db) => {
  const server = useParley({ db });

  it('POST messages/ as documented: 201 with sender_id, message_type, content, reactions [], reply_count 0', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const res = await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: a.token, json: { message_type: 'text', content: 'Hello everyone! 👋' } });
    expect(res.status).toBe(201);
    expectMessage003(res.body, a);
    expect(res.body).toMatchObject({ message_type: 'text', content: 'Hello everyone! 👋', reactions: [], reply_count: 0, reply_to: null, edited_at: null, is_deleted: false });
    // message_type defaults to text.
    const plain = await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: b.token, json: { content: 'no type' } });
    expect(plain.status).toBe(201);
    expect(plain.body).toMatchObject({ message_type: 'text', content: 'no type', sender_id: b.user.uuid });
    // An emoji message.
    const emoji = await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: b.token, json: { message_type: 'emoji', content: '🎉' } });
    expect(emoji.status).toBe(201);
    expect(emoji.body.message_type).toBe('emoji');
  });

  it('GET messages/ is newest first with count, results and next_before_seq; before_seq pages back to the start', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const sent: any[] = [];
    for (let i = 1; i <= 7; i++) sent.push(await sendMessage(server, i % 2 ? a : b, conv, `m${i}`));

    const first = await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: b.token });
    expect(first.status).toBe(200);
    expect(first.body.count).toBe(7);
    expect(first.body.results.map((m: any) => m.content)).toEqual(['m7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1']);
    expect(first.body.next_before_seq).toBeNull();
    for (const m of first.body.results) expectMessage003(m);

    const seen: string[] = [];
    let before: number | null | undefined;
    let pages = 0;
    do {
      const q = before ? `?limit=3&before_seq=${before}` : '?limit=3';
      const page = await api(server, 'GET', `${P}/conversations/${conv}/messages/${q}`, { token: a.token });
      expect(page.status).toBe(200);
      expect(page.body.count).toBe(7);
      expect(page.body.results.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.results.map((m: any) => m.content));
      before = page.body.next_before_seq;
      pages++;
    } while (before != null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(['m7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1']);
    expect(sent.map((m) => m.id)).toEqual([...new Set(sent.map((m) => m.id))]);
  });

  it('GET messages/{id}/ returns one message; PUT edits it (edited_at); DELETE soft-deletes it (204)', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const m = await sendMessage(server, a, conv, 'first draft');

    const got = await getMessage(server, b, conv, m.id);
    expectMessage003(got, a);
    expect(got).toMatchObject({ id: m.id, content: 'first draft', edited_at: null });

    const put = await api(server, 'PUT', `${P}/conversations/${conv}/messages/${m.id}/`, { token: a.token, json: { content: 'final words' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: m.id, content: 'final words' });
    expect(put.body.edited_at).toMatch(ISO_MS);
    expect((await getMessage(server, b, conv, m.id)).content).toBe('final words');

    // Only the sender edits.
    expectDetail(await api(server, 'PUT', `${P}/conversations/${conv}/messages/${m.id}/`, { token: b.token, json: { content: 'hijack' } }), 403);
    // A member deletes only their own.
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${m.id}/`, { token: b.token }), 403);

    const del = await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${m.id}/`, { token: a.token });
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    const tomb = await getMessage(server, b, conv, m.id);
    expect(tomb.is_deleted).toBe(true);
    expect(tomb.content === null || tomb.content === '').toBe(true);
    // The list keeps the tombstone (seq stays gapless) without its text.
    const list = await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: b.token });
    expect(list.body.count).toBe(1);
    expect(JSON.stringify(list.body)).not.toContain('final words');
    // A deleted message cannot be edited.
    expectDetail(await api(server, 'PUT', `${P}/conversations/${conv}/messages/${m.id}/`, { token: a.token, json: { content: 'again' } }), [400, 404, 409]);
  });

  it('a message is only found under its own conversation', async () => {
    const [a, b] = await users(server, 2);
    const one = await conversationWith(server, a, [b]);
    const two = await conversationWith(server, a, [b]);
    const m = await sendMessage(server, a, one, 'in one');
    expectDetail(await api(server, 'GET', `${P}/conversations/${two}/messages/${m.id}/`, { token: a.token }), 404);
    expectDetail(await api(server, 'PUT', `${P}/conversations/${two}/messages/${m.id}/`, { token: a.token, json: { content: 'x' } }), 404);
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${two}/messages/${m.id}/`, { token: a.token }), 404);
    expect((await getMessage(server, a, one, m.id)).content).toBe('in one');
  });

  it('REST sends, edits and deletes reach joined sockets as new_message, message_updated and message_deleted', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const sb = await socket003(server, b, [conv]);
    const sa = await socket003(server, a, [conv]);

    const m = await sendMessage(server, a, conv, 'Hello!');
    for (const s of [sa, sb]) {
      const f = await s.next('new_message');
      expect(f.message).toMatchObject({ id: m.id, sender_id: a.user.uuid, content: 'Hello!', message_type: 'text', reactions: [] });
      expect(f.message.created_at).toMatch(ISO_MS);
    }

    expectStatus(await api(server, 'PUT', `${P}/conversations/${conv}/messages/${m.id}/`, { token: a.token, json: { content: 'Hello world!' } }), 200);
    const upd = await sb.next('message_updated');
    expect(upd.message).toMatchObject({ id: m.id, content: 'Hello world!' });
    expect(upd.message.edited_at).toMatch(ISO_MS);

    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${m.id}/`, { token: a.token }), 204);
    const del = await sb.next('message_deleted');
    expect(del.message_id).toBe(m.id);
    expect((await sa.next('message_deleted')).message_id).toBe(m.id);
  });
});
