import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { api, newUser } from '../helpers/clients.js';

// Document 002's room detail carries "ALL messages" (Parley: the newest 1000, has_more beyond).
// At 5000 characters each that was 5.5 MB in one answer; it now stops before
// MESSAGES_PAGE_MAX_BYTES of messages (the newest that fit, oldest first as documented) and
// says has_more, and the documented pages (…/messages?page=&per_page=) give the rest.

const MAX_BYTES = 50_000;

describe("002's room detail is bounded by bytes", () => {
  const server = useParley({ env: { MESSAGES_PAGE_MAX_BYTES: String(MAX_BYTES) } });

  it('the newest messages that fit, oldest first, has_more; the pages give them all', async () => {
    const [a, b] = [await newUser(server), await newUser(server)];
    const room = (await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } })).body.id as number;
    for (let i = 1; i <= 30; i++) {
      const r = await api(server, 'POST', `/api/parley/conversations/${room}/messages`, { token: i % 2 ? a.token : b.token, json: { content: `${i} `.padEnd(5000, 'x') } });
      expect(r.status).toBe(201);
    }
    const res = await fetch(`${server.url}/api/v1/chat/rooms/${room}`, { headers: { authorization: `Bearer ${a.token}` } });
    const raw = await res.text();
    const detail = JSON.parse(raw);
    const seqs = detail.message_list.messages.map((m: { content: string }) => Number(m.content.split(' ')[0]));
    console.log(`room detail of 30 messages of 5000 characters: ${seqs.length} messages, ${Buffer.byteLength(raw)} bytes (MESSAGES_PAGE_MAX_BYTES=${MAX_BYTES})`);
    expect(seqs.length).toBeGreaterThan(1);
    expect(seqs.length).toBeLessThan(30);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 30 - seqs.length + 1 + i));
    expect(detail.message_list).toMatchObject({ total: 30, has_more: true });
    expect(Buffer.byteLength(JSON.stringify(detail.message_list.messages))).toBeLessThanOrEqual(MAX_BYTES);
    // The rest through the documented pages.
    const all: number[] = [];
    for (let page = 1; ; page++) {
      const p = await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages?page=${page}&per_page=7`, { token: b.token });
      all.push(...p.body.messages.map((m: { content: string }) => Number(m.content.split(' ')[0])));
      if (!p.body.has_more) break;
    }
    expect(all.sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('a small room comes whole, as before', async () => {
    const [a, b] = [await newUser(server), await newUser(server)];
    const room = (await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } })).body.id as number;
    for (let i = 1; i <= 3; i++) await api(server, 'POST', `/api/parley/conversations/${room}/messages`, { token: a.token, json: { content: `m${i}` } });
    const detail = (await api(server, 'GET', `/api/v1/chat/rooms/${room}`, { token: b.token })).body;
    expect(detail.message_list.messages.map((m: { content: string }) => m.content)).toEqual(['m1', 'm2', 'm3']);
    expect(detail.message_list).toMatchObject({ total: 3, has_more: false });
  });
});
