// GET /api/chat/rooms/{room_id}/messages?page=&per_page= exactly as 001 documents it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, chatSocket, type Frame, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { databases, expectMessageShape, expectNoFiles, expectUserDetails, pair, tempId, textFrame } from './support.js';

const N = 120;

describe.each(databases)('/api/chat history paging on %s', (db) => {
  const server = useParley({ db });
  let a: TestUser;
  let b: TestUser;
  let room: number;
  let sa: TestSocket;
  /** The acks of the 120 messages, in send order (seq 1..120). */
  let acks: Frame[];

  beforeAll(async () => {
    ({ a, b, room } = await pair(server));
    sa = await chatSocket(server, a, room);
    const sb = await chatSocket(server, b, room);
    // 120 messages, every tenth from b, all with a local_temp_id. Nine of a's go at once
    // (one socket keeps its order); b's tenth waits for them, so seq i holds "m<i>".
    const pending: Promise<Frame>[] = [];
    for (let i = 1; i <= N; i++) {
      const id = tempId('h');
      const [s, to] = i % 10 === 0 ? [sb, a] : [sa, b];
      s.send(textFrame(room, to.user.id, `m${i}`, { local_temp_id: id }));
      pending.push(s.next('new_message', { where: (f) => f.data.local_temp_id === id, timeoutMs: 10_000 }));
      if (i % 10 === 9 || i % 10 === 0) await pending[i - 1];
    }
    acks = await Promise.all(pending);
    expect(acks.map((f) => f.data.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    sb.close();
  });
  afterAll(async () => {
    sa?.close();
  });

  const page = (user: TestUser, query: string) => api(server, 'GET', `/api/chat/rooms/${room}/messages${query}`, { token: user.token });
  const contents = (res: { body: any }) => res.body.messages.map((m: any) => m.content);
  const range = (from: number, to: number) => {
    const out: string[] = [];
    for (let i = from; from <= to ? i <= to : i >= to; from <= to ? i++ : i--) out.push(`m${i}`);
    return out;
  };

  it('the documented request answers page 1 newest first with total, has_more, page, per_page, total_pages', async () => {
    const res = await page(a, '?page=1&per_page=50');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: N, has_more: true, page: 1, per_page: 50, total_pages: 3 });
    expect(res.body.messages).toHaveLength(50);
    expect(contents(res)).toEqual(range(120, 71));
    for (const key of ['total', 'page', 'per_page', 'total_pages']) expect(Number.isInteger(res.body[key])).toBe(true);
    expect(res.body.has_more).toBeTypeOf('boolean');
  });

  it('without a query it is page 1 of 50', async () => {
    const res = await page(a, '');
    expect(res.body).toMatchObject({ total: N, has_more: true, page: 1, per_page: 50, total_pages: 3 });
    expect(contents(res)).toEqual(range(120, 71));
  });

  it('the middle page, the last page and a page past the end', async () => {
    const p2 = await page(a, '?page=2&per_page=50');
    expect(p2.body).toMatchObject({ total: N, has_more: true, page: 2, per_page: 50, total_pages: 3 });
    expect(contents(p2)).toEqual(range(70, 21));

    const last = await page(a, '?page=3&per_page=50');
    expect(last.body).toMatchObject({ total: N, has_more: false, page: 3, per_page: 50, total_pages: 3 });
    expect(contents(last)).toEqual(range(20, 1));

    const past = await page(a, '?page=4&per_page=50');
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ messages: [], total: N, has_more: false, page: 4, per_page: 50, total_pages: 3 });
    const far = await page(a, '?page=1000&per_page=50');
    expect(far.body).toMatchObject({ messages: [], total: N, has_more: false });
  });

  it('pages of any size cover every message exactly once, and an exact fit has no more', async () => {
    const seen: string[] = [];
    for (let p = 1; ; p++) {
      const res = await page(b, `?page=${p}&per_page=7`);
      expect(res.body).toMatchObject({ total: N, page: p, per_page: 7, total_pages: Math.ceil(N / 7) });
      seen.push(...contents(res));
      if (!res.body.has_more) break;
    }
    expect(seen).toEqual(range(120, 1));

    const exact = await page(a, '?page=2&per_page=60');
    expect(exact.body).toMatchObject({ has_more: false, total_pages: 2 });
    expect(exact.body.messages).toHaveLength(60);
    const all = await page(a, '?page=1&per_page=100');
    expect(all.body).toMatchObject({ has_more: true, total_pages: 2 });
    expect(all.body.messages).toHaveLength(100);
  });

  it('every message has 001\'s fields: local_temp_id always null on GET, files_data present (null), sender and receiver details', async () => {
    const res = await page(a, '?page=1&per_page=20');
    for (const m of res.body.messages) {
      expectMessageShape(m);
      expectNoFiles(m);
      // Sent with a local_temp_id, yet GET always shows null (001).
      expect(m.local_temp_id).toBeNull();
      expect(m).toMatchObject({ is_deleted: false, is_liked: false, like_count: 0, room_id: room });
    }
    const fromA = res.body.messages.find((m: any) => m.content === 'm119');
    const fromB = res.body.messages.find((m: any) => m.content === 'm120');
    expect(fromA).toMatchObject({ id: acks[118].data.id, is_sender: true, sender_id: a.user.id, receiver_id: b.user.id });
    expectUserDetails(fromA.sender_details, a, true);
    expectUserDetails(fromA.receiver_details, b, false);
    expect(fromB).toMatchObject({ id: acks[119].data.id, is_sender: false, sender_id: b.user.id, receiver_id: a.user.id });
    expectUserDetails(fromB.sender_details, b, false);
    expectUserDetails(fromB.receiver_details, a, true);
  });

  it('is_sender follows the viewer', async () => {
    const asA = await page(a, '?page=1&per_page=10');
    const asB = await page(b, '?page=1&per_page=10');
    expect(asA.body.messages.map((m: any) => m.is_sender)).toEqual(asB.body.messages.map((m: any) => !m.is_sender));
    expect(asA.body.messages.map((m: any) => m.id)).toEqual(asB.body.messages.map((m: any) => m.id));
  });

  it('GET /rooms/{id} carries the newest 50 in message_list, oldest first, with total and has_more', async () => {
    // 002 says "all messages"; Parley bounds the list and says there is more (the history
    // endpoint pages through the rest), so opening a big room stays one small response.
    const res = await api(server, 'GET', `/api/chat/rooms/${room}`, { token: a.token });
    expect(res.status).toBe(200);
    expect(res.body.message_list).toMatchObject({ total: N, has_more: true });
    expect(res.body.message_list.messages.map((m: any) => m.content)).toEqual(range(71, 120));
    expect(res.body.last_message).toMatchObject({ id: acks[N - 1].data.id, content: `m${N}` });
  });

  it('ids and created_at agree with the acks', async () => {
    const res = await page(a, '?page=3&per_page=50');
    const byContent = new Map(res.body.messages.map((m: any) => [m.content, m]));
    for (let i = 1; i <= 20; i++) {
      const m: any = byContent.get(`m${i}`);
      expect(m.id).toBe(acks[i - 1].data.id);
      expect(m.created_at).toBe(acks[i - 1].data.created_at);
    }
  });
});
