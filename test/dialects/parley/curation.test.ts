import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, expectNoFrame, openSocket, type ApiResponse, type Frame, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { users } from '../../helpers/dialects.js';
import { useParley, type TestServer } from '../../helpers/parley.js';
import { databases } from '../../helpers/pg.js';

// Issue 18, history and curation through /api/parley: edit history, delete for me, pins and
// saved messages, and that nobody sees any of them for a message or conversation they cannot.

const P = '/api/parley';

async function parleySocket(server: TestServer, u: TestUser): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(u.token)}`);
  await s.next('ready');
  s.send({ type: 'subscribe' });
  await s.next('subscribed');
  return s;
}

/** A refusal as Parley's API words it: a 4xx with a `detail` text and its `code`. */
function expectDetail(r: ApiResponse, status: number | number[], detail?: string) {
  expect([status].flat(), JSON.stringify(r.body)).toContain(r.status);
  expect(r.body).toEqual({ detail: detail ?? expect.any(String), code: expect.any(String) });
}

describe.each(databases)('curation on %s', (db) => {
  const server = useParley({ db });
  const call = (u: TestUser, method: string, path: string, json?: unknown) => api(server, method, P + path, { token: u.token, json });
  const ok = async (u: TestUser, method: string, path: string, json?: unknown) => {
    const r = await call(u, method, path, json);
    expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    return r.body;
  };
  const group = async (admin: TestUser, members: TestUser[]) => (await ok(admin, 'POST', '/conversations', { kind: 'group', title: 'Team', member_ids: members.map((m) => m.user.id) })).id as number;
  const direct = async (a: TestUser, b: TestUser) => (await ok(a, 'POST', '/conversations', { kind: 'direct', user_id: b.user.id })).id as number;
  const send = async (u: TestUser, conversation: number, content: string) => (await ok(u, 'POST', `/conversations/${conversation}/messages`, { content })).id as number;
  const historyIds = async (u: TestUser, conversation: number) => ((await ok(u, 'GET', `/conversations/${conversation}/messages?limit=100`)).messages as { id: number }[]).map((m) => m.id);

  it('edit history: each edit keeps the earlier text, who wrote it and when; participants only; gone with a delete for everyone', async () => {
    const [a, b, out] = await users(server, 3);
    const conv = await direct(a, b);
    const id = await send(a, conv, 'helo');
    expect(await ok(b, 'GET', `/messages/${id}/revisions`)).toEqual({ message_id: id, edited_at: null, revisions: [] });
    const first = await ok(a, 'PATCH', `/messages/${id}`, { content: 'hello' });
    const second = await ok(a, 'PATCH', `/messages/${id}`, { content: 'hello all' });
    const r = await ok(b, 'GET', `/messages/${id}/revisions`);
    expect(r).toMatchObject({ message_id: id, edited_at: second.edited_at });
    expect(r.revisions).toEqual([
      { content: 'helo', editor: expect.objectContaining({ id: a.user.id }), written_at: expect.any(String), replaced_at: first.edited_at },
      { content: 'hello', editor: expect.objectContaining({ id: a.user.id }), written_at: first.edited_at, replaced_at: second.edited_at },
    ]);
    expectDetail(await call(out, 'GET', `/messages/${id}/revisions`), 404);
    expectDetail(await call(out, 'GET', `/messages/999999999/revisions`), 404);
    await ok(a, 'DELETE', `/messages/${id}`);
    expect((await ok(b, 'GET', `/messages/${id}/revisions`)).revisions).toEqual([]);
    // The documents' dialects keep their shapes: /api/chat's message gains no field.
    const chat = await api(server, 'GET', `/api/chat/rooms/${conv}/messages`, { token: b.token });
    if (chat.status === 200) expect(JSON.stringify(chat.body)).not.toContain('revisions');
  });

  it('delete for me: gone from my history, preview, catch-up and resume, on every device of mine; the others keep it', async () => {
    const [a, b] = await users(server, 2);
    const conv = await direct(a, b);
    const keep = await send(a, conv, 'keep');
    const gone = await send(b, conv, 'gone');
    const [a1, a2, b1] = [await parleySocket(server, a), await parleySocket(server, a), await parleySocket(server, b)];
    expect((await call(a, 'DELETE', `/messages/${gone}/for-me`)).status).toBe(204);
    for (const s of [a1, a2]) expect(await s.next('message_hidden')).toEqual({ type: 'message_hidden', conversation_id: conv, message_id: gone });
    await expectNoFrame(b1, 200, { type: 'message_hidden' });
    expect(await historyIds(a, conv)).toEqual([keep]);
    expect(await historyIds(b, conv)).toEqual([keep, gone]);
    const listA = (await ok(a, 'GET', '/conversations')).find((c: { id: number }) => c.id === conv);
    expect(listA.last_message.id).toBe(keep);
    expect((await ok(b, 'GET', `/conversations/${conv}`)).last_message.id).toBe(gone);
    const changes = await ok(a, 'GET', `/conversations/${conv}/changes?after_seq=0&after_change_seq=0`);
    expect(changes.frames.map((f: { message: { id: number } }) => f.message.id)).toEqual([keep]);
    // A socket resuming from before both messages replays only what is still mine to see.
    const resumed = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(a.token)}`);
    await resumed.next('ready');
    resumed.send({ type: 'subscribe', cursors: [{ conversation_id: conv, last_seq: 0, last_change_seq: 0 }] });
    await resumed.next('subscribed');
    expect(resumed.all('message').map((f) => f.message.id)).toEqual([keep]);
    expectDetail(await call(a, 'GET', `/messages/${gone}/revisions`), 404);
    // A page of only messages deleted for me is not an empty page: it reads on further back.
    const more = [await send(b, conv, 'x1'), await send(b, conv, 'x2'), await send(a, conv, 'last')];
    for (const id of more.slice(0, 2)) await ok(a, 'DELETE', `/messages/${id}/for-me`);
    const page = await ok(a, 'GET', `/conversations/${conv}/messages?limit=1&before_seq=5`);
    expect(page.messages.map((m: { id: number }) => m.id)).toEqual([keep]);
    expect((await ok(a, 'GET', `/conversations/${conv}/messages?limit=2`)).messages.map((m: { id: number }) => m.id)).toEqual([keep, more[2]]);
    // Twice is the same; someone else's message in a conversation I am not in is not found.
    expect((await call(a, 'DELETE', `/messages/${gone}/for-me`)).status).toBe(204);
    const [c] = await users(server, 1);
    expectDetail(await call(c, 'DELETE', `/messages/${keep}/for-me`), 404);
  });

  it("delete for me of a thread reply: each of my devices gets the thread's new unread count and follow state, not the conversation's", async () => {
    const [a, b] = await users(server, 2);
    const conv = await direct(a, b);
    const root = await send(a, conv, 'root');
    const reply = async (content: string) => (await ok(b, 'POST', `/conversations/${conv}/messages`, { content, reply_to_id: root })).id as number;
    const [r1] = [await reply('r1'), await reply('r2')];
    const rootSeq = (await ok(a, 'GET', `/messages/${root}`)).seq as number;
    const [a1, a2, b1] = [await parleySocket(server, a), await parleySocket(server, a), await parleySocket(server, b)];
    await ok(a, 'DELETE', `/messages/${r1}/for-me`);
    // A wrote the root, so follows its thread (Threads); one of the two unread replies is left.
    for (const s of [a1, a2]) expect(await s.next('thread')).toEqual({ type: 'thread', conversation_id: conv, root_id: root, read_seq: rootSeq, unread_count: 1, following: true });
    await ok(a, 'DELETE', `/messages/${root}/thread/follow`);
    for (const s of [a1, a2]) expect(await s.next('thread', { where: (f) => !f.following })).toMatchObject({ root_id: root, unread_count: 1, following: false });
    const r3 = await reply('r3');
    await ok(a, 'DELETE', `/messages/${r3}/for-me`);
    for (const s of [a1, a2]) expect(await s.next('thread', { where: (f) => f.unread_count === 1 && !f.following })).toMatchObject({ root_id: root });
    // A reply never counted in the conversation's unread: hiding one does not announce it; the others hear nothing.
    await expectNoFrame(a1, 200, { type: 'unread' });
    await expectNoFrame(b1, 200, { type: 'thread' });
  });

  it('delete for me: no live frame about that message reaches my sockets any more (edits, reactions, delete); the others get them all', async () => {
    const [a, b, c] = await users(server, 3);
    const conv = await group(a, [b, c]);
    const gone = await send(b, conv, 'gone');
    const marker = await send(b, conv, 'marker');
    const [a1, c1] = [await parleySocket(server, a), await parleySocket(server, c)];
    await ok(a, 'DELETE', `/messages/${gone}/for-me`);
    await ok(b, 'PATCH', `/messages/${gone}`, { content: 'gone, edited' });
    await ok(c, 'PUT', `/messages/${gone}/reactions/${encodeURIComponent('🎉')}`);
    await ok(c, 'DELETE', `/messages/${gone}/reactions/${encodeURIComponent('🎉')}`);
    await ok(b, 'DELETE', `/messages/${gone}`);
    await ok(b, 'PATCH', `/messages/${marker}`, { content: 'marker, edited' });
    // One conversation's changes arrive in order: the first change A hears of is the marker's.
    expect(await a1.next('message_changed')).toMatchObject({ change: 'edited', message: { id: marker } });
    const toC: Frame[] = [];
    for (let i = 0; i < 5; i++) toC.push(await c1.next('message_changed'));
    expect(toC.map((f) => [f.change, f.message.id])).toEqual([['edited', gone], ['reaction_added', gone], ['reaction_removed', gone], ['deleted', gone], ['edited', marker]]);
  });

  it('pins: anyone in a direct conversation, admins and moderators in a group; events to participants; a deleted message unpinned', async () => {
    const [a, b, c, out] = await users(server, 4);
    const d = await direct(a, b);
    const dm = await send(a, d, 'pin me');
    const sb = await parleySocket(server, b);
    expect((await call(b, 'PUT', `/messages/${dm}/pin`)).status).toBe(204);
    expect(await sb.next('pin_changed')).toMatchObject({ conversation_id: d, change: 'pinned', message_id: dm, by: b.user.id });
    const pins = await ok(a, 'GET', `/conversations/${d}/pins`);
    expect(pins).toEqual([{ message: expect.objectContaining({ id: dm, content: 'pin me' }), pinned_by: expect.objectContaining({ id: b.user.id }), pinned_at: expect.any(String) }]);
    expectDetail(await call(out, 'GET', `/conversations/${d}/pins`), 404);
    expectDetail(await call(out, 'PUT', `/messages/${dm}/pin`), 404);

    const g = await group(a, [b, c]);
    const gm = await send(c, g, 'announcement');
    const refused = await call(b, 'PUT', `/messages/${gm}/pin`);
    expectDetail(refused, 403, 'Only admins and moderators pin in a group or channel');
    expect(refused.body.code).toBe('not_permitted');
    await ok(a, 'PATCH', `/conversations/${g}/participants/${b.user.id}`, { role: 'moderator' });
    expect((await call(b, 'PUT', `/messages/${gm}/pin`)).status).toBe(204);
    expect((await ok(c, 'GET', `/conversations/${g}/pins`)).map((p: { message: { id: number } }) => p.message.id)).toEqual([gm]);
    expect((await call(a, 'DELETE', `/messages/${gm}/pin`)).status).toBe(204);
    expect(await sb.next('pin_changed', { where: (f) => f.change === 'unpinned' })).toMatchObject({ conversation_id: g, message_id: gm, by: a.user.id });
    expect(await ok(c, 'GET', `/conversations/${g}/pins`)).toEqual([]);
    await ok(a, 'DELETE', `/messages/${dm}`);
    expect(await ok(b, 'GET', `/conversations/${d}/pins`)).toEqual([]);
    expectDetail(await call(b, 'PUT', `/messages/${dm}/pin`), 400);
  });

  it('saved: any message I can see, newest first in pages; what I lose access to leaves the list', async () => {
    const [a, b, out] = await users(server, 3);
    const g = await group(b, [a]);
    const d = await direct(a, b);
    const ids = [await send(b, g, 'g1'), await send(b, d, 'd1'), await send(a, g, 'g2')];
    for (const id of ids) expect((await call(a, 'PUT', `/messages/${id}/saved`)).status).toBe(204);
    expectDetail(await call(out, 'PUT', `/messages/${ids[0]}/saved`), 404);
    const page1 = await ok(a, 'GET', '/saved?limit=2');
    expect(page1.items.map((s: { message: { id: number } }) => s.message.id)).toEqual([ids[2], ids[1]]);
    expect(page1.next).toMatch(/^\d+_\d+$/);
    const page2 = await ok(a, 'GET', `/saved?limit=2&before=${page1.next}`);
    expect(page2).toEqual({ items: [expect.objectContaining({ message: expect.objectContaining({ id: ids[0] }), saved_at: expect.any(String) })], next: null });
    expect((await ok(b, 'GET', '/saved')).items).toEqual([]);
    expectDetail(await call(a, 'GET', '/saved?before=nope'), [400, 422]);
    // Leaving the group takes its messages off my list; unsaving drops the rest.
    expect((await call(a, 'DELETE', `/conversations/${g}/participants/${a.user.id}`)).status).toBe(204);
    expect((await ok(a, 'GET', '/saved')).items.map((s: { message: { id: number } }) => s.message.id)).toEqual([ids[1]]);
    expect((await call(a, 'DELETE', `/messages/${ids[1]}/saved`)).status).toBe(204);
    expect((await ok(a, 'GET', '/saved')).items).toEqual([]);
  });

  it('after any sequence of edits, pins, saves, deletes, deletes for me and leaves, each user sees exactly what the model says (property)', { timeout: 120_000 }, async () => {
    const N = 3; // users: 0 the group's admin, 1 and 2 members
    const M = 4; // messages, message i sent by user i % N
    const action = fc.oneof(
      fc.record({ kind: fc.constant('edit' as const), m: fc.nat(M - 1), text: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== '') }),
      fc.record({ kind: fc.constantFrom('delete' as const), m: fc.nat(M - 1) }),
      fc.record({ kind: fc.constantFrom('hide' as const, 'pin' as const, 'unpin' as const, 'save' as const), u: fc.nat(N - 1), m: fc.nat(M - 1) }),
      fc.record({ kind: fc.constant('leave' as const), u: fc.integer({ min: 1, max: N - 1 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const people = await users(server, N);
        const g = await group(people[0], people.slice(1));
        const ids: number[] = [];
        for (let i = 0; i < M; i++) ids.push(await send(people[i % N], g, `m${i}`));
        // The model.
        const text = ids.map((_, i) => `m${i}`);
        const revisions: string[][] = ids.map(() => []);
        const deleted = new Set<number>();
        const member = new Set(people.map((_, u) => u));
        const hidden = people.map(() => new Set<number>());
        const pinned = new Set<number>();
        const saved = people.map(() => new Set<number>());
        const sees = (u: number, m: number) => member.has(u) && !hidden[u].has(m);

        for (const a of actions) {
          const u = a.kind === 'edit' || a.kind === 'delete' ? a.m % N : a.u;
          const me = people[u];
          const m = 'm' in a ? a.m : 0;
          const path = `/messages/${ids[m]}`;
          let r;
          switch (a.kind) {
            case 'edit':
              r = await call(me, 'PATCH', path, { content: a.text });
              if (member.has(u) && !deleted.has(m)) {
                revisions[m].push(text[m]);
                text[m] = a.text;
              }
              expect(r.status < 300).toBe(member.has(u) && !deleted.has(m));
              break;
            case 'delete':
              r = await call(me, 'DELETE', path);
              if (member.has(u)) {
                deleted.add(m);
                revisions[m] = [];
                pinned.delete(m);
              }
              expect(r.status < 300).toBe(member.has(u));
              break;
            case 'hide':
              r = await call(me, 'DELETE', `${path}/for-me`);
              if (member.has(u)) hidden[u].add(m);
              expect(r.status < 300).toBe(member.has(u));
              break;
            case 'pin':
            case 'unpin': {
              r = await call(me, a.kind === 'pin' ? 'PUT' : 'DELETE', `${path}/pin`);
              const allowed = sees(u, m) && u === 0 && (a.kind === 'unpin' || !deleted.has(m));
              if (allowed) (a.kind === 'pin' ? pinned.add(m) : pinned.delete(m));
              expect(r.status < 300).toBe(allowed);
              break;
            }
            case 'save':
              r = await call(me, 'PUT', `${path}/saved`);
              if (sees(u, m) && !deleted.has(m)) saved[u].add(m);
              expect(r.status < 300).toBe(sees(u, m) && !deleted.has(m));
              break;
            case 'leave':
              r = await call(me, 'DELETE', `/conversations/${g}/participants/${me.user.id}`);
              expect(r.status < 300).toBe(member.has(u));
              member.delete(u);
              break;
          }
          if (r.status >= 300) expect(r.body.detail).toBeTypeOf('string');
        }

        for (let u = 0; u < N; u++) {
          const me = people[u];
          const savedNow = (await ok(me, 'GET', '/saved?limit=100')).items.map((s: { message: { id: number } }) => s.message.id).sort();
          expect(savedNow, `saved of ${u}`).toEqual(ids.filter((_, m) => saved[u].has(m) && sees(u, m) && !deleted.has(m)).sort());
          const pins = await call(me, 'GET', `/conversations/${g}/pins`);
          if (!member.has(u)) expect(pins.status).toBe(404);
          else expect(pins.body.map((p: { message: { id: number } }) => p.message.id).sort()).toEqual(ids.filter((_, m) => pinned.has(m) && sees(u, m)).sort());
          if (member.has(u)) expect(await historyIds(me, g), `history of ${u}`).toEqual(ids.filter((_, m) => !hidden[u].has(m)));
          for (let m = 0; m < M; m++) {
            const r = await call(me, 'GET', `/messages/${ids[m]}/revisions`);
            if (!sees(u, m)) expect(r.status, `revisions of ${m} for ${u}`).toBe(404);
            else expect(r.body.revisions.map((x: { content: string }) => x.content), `revisions of ${m} for ${u}`).toEqual(revisions[m]);
          }
        }
      }),
      { numRuns: 8, seed: 1818 },
    );
  });
});
