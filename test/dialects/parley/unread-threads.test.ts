import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { api, expectNoFrame, openSocket, type Frame, type TestSocket } from '../../helpers/clients.js';
import { useUsers } from '../../helpers/dialects.js';
import { useParley, type TestServer } from '../../helpers/parley.js';
import { databases } from '../../helpers/pg.js';
import { befriend } from '../v1/support.js';

// Issue 18, threads and unread, by example: deleted messages are never unread (in every
// dialect that shows a count), "mark as unread" reaches every device of the reader and no one
// else, the first unread seq, and threads (places, following, the Threads list, frames).

/** Every frame seen here, checked against the AsyncAPI document at the end. */
const seen: Frame[] = [];

async function parleySocket(server: TestServer, u: { token: string }): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(u.token)}`);
  s.ws.on('message', (d) => seen.push(JSON.parse(d.toString())));
  await s.next('ready');
  s.send({ type: 'subscribe' });
  await s.next('subscribed');
  return s;
}

describe.each(databases)('threads and unread on %s', (db) => {
  const server = useParley({ db });
  const [a, b, c, outsider] = useUsers(server, 4);
  const P = '/api/parley';

  const group = async () => {
    const r = await api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'group', title: 'Team', member_ids: [b.user.id, c.user.id] } });
    expect(r.status).toBe(201);
    return r.body.id as number;
  };
  const send = async (conv: number, who: { token: string }, content: string, replyTo?: number) => {
    const r = await api(server, 'POST', `${P}/conversations/${conv}/messages`, { token: who.token, json: { content, reply_to_id: replyTo ?? null } });
    expect(r.status).toBe(201);
    return r.body as { id: number; seq: number };
  };
  const view = async (conv: number, who: { token: string }) => (await api(server, 'GET', `${P}/conversations/${conv}`, { token: who.token })).body;

  it('a message deleted before it was read is not unread, in Parley, 002, 003 and 004 alike; first_unread_seq skips it', async () => {
    await befriend(server, a, b);
    const direct = (await api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'direct', user_id: b.user.id } })).body.id as number;
    const m1 = await send(direct, a, 'one');
    await send(direct, a, 'two');
    await send(direct, a, 'three');
    expect((await api(server, 'DELETE', `${P}/messages/${m1.id}`, { token: a.token })).status).toBe(200);
    expect(await view(direct, b)).toMatchObject({ unread_count: 2, first_unread_seq: 2, my_seen_seq: 0 });
    expect((await api(server, 'GET', '/api/chat/unread-count', { token: b.token })).body.unread_counts[String(direct)]).toBe(2);
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 2 });
    const { uuid } = await view(direct, b);
    expect((await api(server, 'GET', `/api/notifications/chat/conversations/${uuid}/`, { token: b.token })).body.unread_count).toBe(2);
    // The room list says the same as the conversation.
    const list = (await api(server, 'GET', `${P}/conversations`, { token: b.token })).body;
    expect(list.find((x: { id: number }) => x.id === direct)).toMatchObject({ unread_count: 2, first_unread_seq: 2 });
  });

  it('mark as unread: every device of the reader gets the count, the others see no read receipt move back', async () => {
    const conv = await group();
    for (const t of ['one', 'two', 'three']) await send(conv, a, t);
    const [phone, laptop, sa] = await Promise.all([parleySocket(server, b), parleySocket(server, b), parleySocket(server, a)]);
    expect((await api(server, 'POST', `${P}/conversations/${conv}/read`, { token: b.token, json: {} })).body).toEqual({ read_seq: 3 });
    await sa.next('read', { where: (f) => f.user_id === b.user.id && f.read_seq === 3 });
    for (const s of [phone, laptop]) expect(await s.next('unread', { where: (f) => f.conversation_id === conv })).toMatchObject({ seen_seq: 3, unread_count: 0, first_unread_seq: null });

    const r = await api(server, 'POST', `${P}/conversations/${conv}/unread`, { token: b.token, json: { seq: 2 } });
    expect(r.body).toEqual({ seen_seq: 1, unread_count: 2, first_unread_seq: 2 });
    for (const s of [phone, laptop]) expect(await s.next('unread', { where: (f) => f.conversation_id === conv })).toEqual({ type: 'unread', conversation_id: conv, seen_seq: 1, unread_count: 2, first_unread_seq: 2 });
    expect(await view(conv, b)).toMatchObject({ unread_count: 2, first_unread_seq: 2, my_seen_seq: 1, my_read_seq: 3 });
    // A still sees B's receipt at 3: no read frame, no member read_seq going back.
    await expectNoFrame(sa, 200, { where: (f) => f.type === 'read' || f.type === 'unread' });
    expect((await view(conv, a)).members.find((m: { user: { id: number } }) => m.user.id === b.user.id)!.read_seq).toBe(3);

    // Reading again moves the place (read_seq is past it already: still no receipt for A).
    await api(server, 'POST', `${P}/conversations/${conv}/read`, { token: b.token, json: { seq: 2 } });
    expect(await laptop.next('unread', { where: (f) => f.conversation_id === conv })).toMatchObject({ seen_seq: 2, unread_count: 1, first_unread_seq: 3 });
    await expectNoFrame(sa, 200, { type: 'read' });

    // A deleted message, someone else's conversation, a seq that is not there: 404.
    const m = await send(conv, a, 'four');
    await api(server, 'DELETE', `${P}/messages/${m.id}`, { token: a.token });
    expect((await api(server, 'POST', `${P}/conversations/${conv}/unread`, { token: b.token, json: { seq: m.seq } })).status).toBe(404);
    expect((await api(server, 'POST', `${P}/conversations/${conv}/unread`, { token: b.token, json: { seq: 99 } })).status).toBe(404);
    const refused = await api(server, 'POST', `${P}/conversations/${conv}/unread`, { token: outsider.token, json: { seq: 1 } });
    expect(refused.status).toBe(404);
    expect(refused.body.detail).toBeTypeOf('string');
    expect((await api(server, 'POST', `${P}/conversations/${conv}/unread`, { token: b.token, json: {} })).status).toBe(422);
  });

  it('threads: repliers and the root author follow; unread replies per thread; read, unfollow; the Threads list; frames to the reader only', async () => {
    const conv = await group();
    const root = await send(conv, a, 'Lunch?');
    const sa = await parleySocket(server, a);
    await send(conv, b, 'Yes', root.id);
    await send(conv, c, 'Me too', root.id);
    const threadOf = async (who: { token: string }) => (await api(server, 'GET', `${P}/messages/${root.id}/thread`, { token: who.token })).body;
    expect(await threadOf(a)).toMatchObject({ conversation_id: conv, root: { id: root.id, reply_count: 2 }, unread_count: 2, following: true, read_seq: root.seq, last_reply_seq: root.seq + 2 });
    expect(await threadOf(b)).toMatchObject({ unread_count: 1, following: true, read_seq: root.seq + 1 });
    expect(await threadOf(c)).toMatchObject({ unread_count: 0, following: true });

    const listA = (await api(server, 'GET', `${P}/threads`, { token: a.token })).body;
    expect(listA.map((t: { root: { id: number } }) => t.root.id)).toContain(root.id);
    const replies = (await api(server, 'GET', `${P}/messages/${root.id}/thread/replies`, { token: a.token })).body;
    expect(replies.replies.map((m) => m.content)).toEqual(['Yes', 'Me too']);
    expect(replies.has_more).toBe(false);

    // A deleted reply is not unread.
    const extra = await send(conv, b, 'Wait', root.id);
    expect((await threadOf(a)).unread_count).toBe(3);
    await api(server, 'DELETE', `${P}/messages/${extra.id}`, { token: b.token });
    expect((await threadOf(a)).unread_count).toBe(2);

    const read = await api(server, 'POST', `${P}/messages/${root.id}/thread/read`, { token: a.token, json: {} });
    expect(read.body).toMatchObject({ unread_count: 0, read_seq: root.seq + 2 });
    expect(await sa.next('thread')).toEqual({ type: 'thread', conversation_id: conv, root_id: root.id, read_seq: root.seq + 2, unread_count: 0, following: true });

    expect((await api(server, 'DELETE', `${P}/messages/${root.id}/thread/follow`, { token: a.token })).body.following).toBe(false);
    expect((await sa.next('thread')).following).toBe(false);
    expect((await api(server, 'GET', `${P}/threads`, { token: a.token })).body.map((t: { root: { id: number } }) => t.root.id)).not.toContain(root.id);
    // Someone else replying does not make the author follow again.
    await send(conv, c, 'Noon', root.id);
    expect(await threadOf(a)).toMatchObject({ following: false, unread_count: 1 });
    expect((await api(server, 'PUT', `${P}/messages/${root.id}/thread/follow`, { token: a.token })).body).toMatchObject({ following: true, unread_count: 1 });

    // Nobody reaches a thread of a conversation that is not theirs.
    for (const [method, path] of [['GET', 'thread'], ['GET', 'thread/replies'], ['POST', 'thread/read'], ['PUT', 'thread/follow']] as const) {
      const r = await api(server, method, `${P}/messages/${root.id}/${path}`, { token: outsider.token, ...(method === 'POST' ? { json: {} } : {}) });
      expect(r.status, path).toBe(404);
    }
    expect((await api(server, 'GET', `${P}/threads`, { token: outsider.token })).body).toEqual([]);
  });

  it('a thread reply counts in its thread, not in the conversation (Slack and Mattermost collapsed threads); replying in a thread leaves my place in the conversation', async () => {
    const conv = await group();
    const root = await send(conv, a, 'Lunch?');
    await send(conv, b, 'Yes', root.id);
    await send(conv, c, 'Me too', root.id);
    // B: the root is unread in the conversation, the reply of C in the thread (B replied after the root).
    expect(await view(conv, b)).toMatchObject({ unread_count: 1, first_unread_seq: root.seq, my_seen_seq: 0 });
    expect((await api(server, 'GET', `${P}/messages/${root.id}/thread`, { token: b.token })).body).toMatchObject({ unread_count: 1 });
    // C's own reply did not move C's place in the conversation either: the root is still unread to C.
    expect(await view(conv, c)).toMatchObject({ unread_count: 1, first_unread_seq: root.seq, my_seen_seq: 0 });
    const later = await send(conv, a, 'Pizza it is');
    await send(conv, c, 'Noon?', root.id);
    expect(await view(conv, b)).toMatchObject({ unread_count: 2, first_unread_seq: root.seq });
    expect((await api(server, 'GET', '/api/chat/unread-count', { token: b.token })).body.unread_counts[String(conv)]).toBe(2);
    // Reading the conversation clears it and leaves the thread's replies unread in the thread.
    expect((await api(server, 'POST', `${P}/conversations/${conv}/read`, { token: b.token, json: {} })).status).toBe(200);
    expect(await view(conv, b)).toMatchObject({ unread_count: 0, first_unread_seq: null });
    expect((await api(server, 'GET', `${P}/messages/${root.id}/thread`, { token: b.token })).body).toMatchObject({ unread_count: 2 });
    // Mark as unread from the later message: it counts, the replies above it do not.
    expect((await api(server, 'POST', `${P}/conversations/${conv}/unread`, { token: b.token, json: { seq: later.seq } })).body).toEqual({ seen_seq: later.seq - 1, unread_count: 1, first_unread_seq: later.seq });
    // Answering in the conversation still clears it.
    await send(conv, b, 'ok');
    expect(await view(conv, b)).toMatchObject({ unread_count: 0 });
  });

  it('a message I deleted for myself is not unread to me, in the conversation or its thread; the others still count it', async () => {
    const conv = await group();
    const m1 = await send(conv, a, 'one');
    const m2 = await send(conv, a, 'two');
    const reply = await send(conv, a, 'aside', m2.id);
    expect(await view(conv, b)).toMatchObject({ unread_count: 2, first_unread_seq: m1.seq });
    const sb = await parleySocket(server, b);
    expect((await api(server, 'DELETE', `${P}/messages/${m1.id}/for-me`, { token: b.token })).status).toBe(204);
    expect(await sb.next('unread', { where: (f) => f.conversation_id === conv })).toEqual({ type: 'unread', conversation_id: conv, seen_seq: 0, unread_count: 1, first_unread_seq: m2.seq });
    expect(await view(conv, b)).toMatchObject({ unread_count: 1, first_unread_seq: m2.seq });
    expect((await api(server, 'GET', '/api/chat/unread-count', { token: b.token })).body.unread_counts[String(conv)]).toBe(1);
    expect(await view(conv, c)).toMatchObject({ unread_count: 2, first_unread_seq: m1.seq });
    // A reply deleted for me leaves the thread's unread.
    expect((await api(server, 'GET', `${P}/messages/${m2.id}/thread`, { token: c.token })).body).toMatchObject({ unread_count: 1 });
    expect((await api(server, 'DELETE', `${P}/messages/${reply.id}/for-me`, { token: c.token })).status).toBe(204);
    expect((await api(server, 'GET', `${P}/messages/${m2.id}/thread`, { token: c.token })).body).toMatchObject({ unread_count: 0 });
    // Deleted for me and then for everyone: counted out once.
    expect((await api(server, 'DELETE', `${P}/messages/${m1.id}`, { token: a.token })).status).toBe(200);
    expect(await view(conv, b)).toMatchObject({ unread_count: 1, first_unread_seq: m2.seq });
  });

  it('the unread and thread frames fit their AsyncAPI payload schemas', async () => {
    const asyncapi = (await api(server, 'GET', '/docs/asyncapi.json')).body;
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const mine = seen.filter((f) => f.type === 'unread' || f.type === 'thread');
    expect(new Set(mine.map((f) => f.type))).toEqual(new Set(['unread', 'thread']));
    for (const f of mine) expect(ajv.validate(asyncapi.channels.parley.messages[`server.${f.type}`].payload, f), ajv.errorsText()).toBe(true);
  });
});
