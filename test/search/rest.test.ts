import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { api, type ApiResponse } from '../helpers/clients.js';
import { useUsers } from '../helpers/dialects.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { group, marked, say, search } from './support.js';

// GET /api/parley/search over real HTTP: filters, paging, what an edit, a delete and a leave
// change at once, file names, and every refusal a 4xx with its detail.
/** Parley's refusals: a 4xx with its detail and its code. */
function expectRefused(res: ApiResponse, status: number[], code?: string) {
  expect(status, `${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
  expect(res.body).toMatchObject({ detail: expect.stringMatching(/./), ...(code ? { code } : {}) });
}

describe.each(databases)('GET /api/parley/search on %s', (db) => {
  const server = useParley({ db });
  const [me, friend, stranger] = useUsers(server, 3);

  it('pages newest first with next_cursor until null, each message once', async () => {
    const room = await group(server, me, [friend]);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push((await say(server, friend, room, `paging probe number ${i}`)).id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof search>> = await search(server, me, { q: 'probe', limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.results.length).toBeLessThanOrEqual(2);
      seen.push(...page.results.map((r) => r.message.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(sent.reverse());
    const relevance = await search(server, me, { q: 'probe', order: 'relevance', limit: 50 });
    expect(relevance.results.map((r) => r.message.id).sort()).toEqual([...seen].sort());
  });

  it('a message that is one very long word is stored, edited and found by its beginning', async () => {
    const room = await group(server, me, [friend]);
    const m = await say(server, me, room, 'x'.repeat(4990) + 'yy');
    expect((await api(server, 'PATCH', `/api/parley/messages/${m.id}`, { token: me.token, json: { content: 'q'.repeat(5000) } })).status).toBe(200);
    expect((await search(server, friend, { q: 'qqqq' })).results.map((r) => r.message.id)).toEqual([m.id]);
    expect((await search(server, friend, { q: 'q'.repeat(150) })).results.map((r) => r.message.id)).toEqual([m.id]);
  });

  it('an edit, a delete, a delete for me and a leave change what is found at once', async () => {
    const room = await group(server, me, [friend]);
    const m = await say(server, me, room, 'the quokka meeting');
    expect((await api(server, 'PATCH', `/api/parley/messages/${m.id}`, { token: me.token, json: { content: 'the wombat meeting' } })).status).toBe(200);
    expect((await search(server, friend, { q: 'quokka' })).results).toEqual([]);
    expect((await search(server, friend, { q: 'wombat' })).results.map((r) => r.message.id)).toEqual([m.id]);
    const gone = await say(server, me, room, 'wombat to delete');
    expect((await api(server, 'DELETE', `/api/parley/messages/${gone.id}`, { token: me.token })).status).toBeLessThan(300);
    expect((await search(server, friend, { q: 'wombat' })).results.map((r) => r.message.id)).toEqual([m.id]);
    // Deleted for me: gone from my search, still found by the others.
    expect((await api(server, 'DELETE', `/api/parley/messages/${m.id}/for-me`, { token: me.token })).status).toBe(204);
    expect((await search(server, me, { q: 'wombat' })).results).toEqual([]);
    expect((await search(server, friend, { q: 'wombat' })).results.map((r) => r.message.id)).toEqual([m.id]);
    expect((await api(server, 'DELETE', `/api/parley/conversations/${room}/participants/${friend.user.id}`, { token: friend.token })).status).toBe(204);
    expect((await search(server, friend, { q: 'wombat' })).results).toEqual([]);
  });

  it('finds a file by its name, and filters by kind of attachment, sender and thread', async () => {
    const room = await group(server, me, [friend]);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#228844' } }).png().toBuffer();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'Übersicht_Plan.png');
    const up = await fetch(`${server.url}/api/parley/files`, { method: 'POST', headers: { authorization: `Bearer ${friend.token}` }, body: form });
    expect(up.status).toBe(201);
    const key = ((await up.json()) as { files: { key: string }[] }).files[0].key;
    const image = await say(server, friend, room, '', { kind: 'image', content: null, attachments: [key] });
    const root = await say(server, me, room, 'plan for the week');
    const reply = await say(server, friend, room, 'plan looks fine', { reply_to_id: root.id });
    const byName = await search(server, me, { q: 'ubersicht' });
    expect(byName.results.map((r) => r.message.id)).toEqual([image.id]);
    expect(byName.results[0].highlight?.field).toBe('file');
    expect(marked(byName.results[0])).toEqual(['Übersicht_Plan.png']);
    expect((await search(server, me, { q: 'plan', has: 'image' })).results.map((r) => r.message.id)).toEqual([image.id]);
    expect((await search(server, me, { q: 'plan', sender_id: me.user.id })).results.map((r) => r.message.id)).toEqual([root.id]);
    expect((await search(server, me, { q: 'plan', thread_id: root.id })).results.map((r) => r.message.id)).toEqual([reply.id, root.id]);
    expect((await search(server, me, { q: 'plan', conversation_id: room, after: new Date(Date.now() + 60_000).toISOString() })).results).toEqual([]);
  });

  it("refuses bad input with a 4xx and a detail, and someone else's conversation or thread as not found", async () => {
    const theirs = await group(server, friend, [stranger]);
    const hidden = await say(server, stranger, theirs, 'secret plan');
    for (const qs of ['', 'q=', `q=${'x'.repeat(201)}`, 'q=a&limit=0', 'q=a&limit=51', 'q=a&has=pdf', 'q=a&order=oldest', 'q=a&cursor=%3Cx%3E', 'q=a&before=yesterday', 'q=a&conversation_id=abc']) {
      expectRefused(await api(server, 'GET', `/api/parley/search?${qs}`, { token: me.token }), [400, 422]);
    }
    expectRefused(await api(server, 'GET', '/api/parley/search?q=plan'), [401], 'not_authenticated');
    expectRefused(await api(server, 'GET', `/api/parley/search?q=plan&conversation_id=${theirs}`, { token: me.token }), [404], 'conversation_not_found');
    expectRefused(await api(server, 'GET', `/api/parley/search?q=plan&thread_id=${hidden.id}`, { token: me.token }), [404], 'message_not_found');
    // A cursor that is no page's position reads as the end, never as an error or another's page.
    expect((await search(server, me, { q: 'plan', cursor: '1e400' })).results).toEqual([]);
  });
});
