import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ClientFrames } from '../../../src/dialects/parley/schemas.js';
import { api, eventually, expectNoFrame, openSocket, settle, type TestSocket } from '../../helpers/clients.js';
import { useParley, type TestServer } from '../../helpers/parley.js';
import { databases } from '../../helpers/pg.js';

// Parley's own API (/api/parley): every capability through REST and the socket, and the
// AsyncAPI document in step with the frames actually sent.

interface U {
  token: string;
  user: { id: number; name: string; email: string };
}

/** Every socket of this file: the frames they got are checked against the AsyncAPI document at the end. */
const sockets: TestSocket[] = [];

/** Resumes when given cursors; the replay is allowed at most RESUME_MAX_MESSAGES (3) messages. */
async function parleySocket(server: TestServer, u: U, cursors?: unknown[]): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(u.token)}`);
  sockets.push(s);
  await s.next('ready');
  s.send({ type: 'subscribe', ...(cursors ? { cursors } : {}) });
  await s.next('subscribed');
  return s;
}

describe.each(databases)('/api/parley on %s', (db) => {
  const server = useParley({ db, env: { RESUME_MAX_MESSAGES: '3' } });
  let n = 0;

  const register = async (name: string): Promise<U> => {
    const r = await api(server, 'POST', '/api/parley/auth/register', { json: { email: `${name.toLowerCase()}${++n}-${Date.now()}@example.com`, password: 'correct horse', name } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  };
  const direct = async (a: U, b: U) => (await api(server, 'POST', '/api/parley/conversations', { token: a.token, json: { kind: 'direct', user_id: b.user.id } })).body.id as number;

  it('accounts: register, login, me, search by email, logout revokes the token', async () => {
    const a = await register('Ada');
    const login = await api(server, 'POST', '/api/parley/auth/login', { json: { email: a.user.email, password: 'correct horse' } });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ token_type: 'bearer', user: { id: a.user.id, name: 'Ada' } });
    expect((await api(server, 'POST', '/api/parley/auth/login', { json: { email: a.user.email, password: 'wrong' } })).status).toBe(401);
    expect((await api(server, 'GET', '/api/parley/me', { token: login.body.token })).body).toMatchObject({ id: a.user.id, email: a.user.email });
    const b = await register('Bea');
    const found = await api(server, 'GET', `/api/parley/users?q=${encodeURIComponent(b.user.email)}`, { token: a.token });
    expect(found.body.map((u: { id: number }) => u.id)).toContain(b.user.id);
    expect((await api(server, 'POST', '/api/parley/auth/logout', { token: login.body.token })).status).toBe(204);
    const after = await api(server, 'GET', '/api/parley/me', { token: login.body.token });
    expect(after.status).toBe(401);
    expect(after.body.detail).toBeTypeOf('string');
  });

  it('moderation: a report resolved is told to the reporter as report_resolved (issue 20)', async () => {
    const [a, b] = [await register('Rae'), await register('Rob')];
    const g = (await api(server, 'POST', '/api/parley/conversations', { token: a.token, json: { kind: 'group', title: 'r', member_ids: [b.user.id] } })).body.id as number;
    const m = (await api(server, 'POST', `/api/parley/conversations/${g}/messages`, { token: a.token, json: { content: 'hm' } })).body.id as number;
    const report = (await api(server, 'POST', `/api/parley/messages/${m}/reports`, { token: b.token, json: { reason: 'odd' } })).body.id as number;
    const sb = await parleySocket(server, b);
    expect((await api(server, 'POST', `/api/parley/reports/${report}/resolve`, { token: a.token, json: { action: 'dismiss' } })).status).toBe(200);
    expect((await sb.next('report_resolved')).report).toMatchObject({ id: report, state: 'dismissed', resolved_by: a.user.id });
  });

  it('conversations: direct (opened once), groups with roles, rename, participants, delete; outsiders get 404', async () => {
    const [a, b, c, out] = [await register('Ann'), await register('Ben'), await register('Cat'), await register('Out')];
    const d1 = await direct(a, b);
    expect(await direct(b, a)).toBe(d1);
    const g = await api(server, 'POST', '/api/parley/conversations', { token: a.token, json: { kind: 'group', title: 'Team', member_ids: [b.user.id] } });
    expect(g.status).toBe(201);
    expect(g.body).toMatchObject({ kind: 'group', title: 'Team', my_role: 'admin', unread_count: 0, last_seq: 0 });
    expect(g.body.members.map((m: { user: { id: number }; role: string }) => [m.user.id, m.role])).toEqual(
      expect.arrayContaining([
        [a.user.id, 'admin'],
        [b.user.id, 'member'],
      ]),
    );
    const id = g.body.id;
    expect((await api(server, 'POST', `/api/parley/conversations/${id}/participants`, { token: a.token, json: { user_id: c.user.id, role: 'moderator' } })).body).toMatchObject({ user: { id: c.user.id }, role: 'moderator' });
    // A member may not add people or rename; an admin may.
    expect((await api(server, 'POST', `/api/parley/conversations/${id}/participants`, { token: b.token, json: { user_id: out.user.id } })).status).toBe(403);
    expect((await api(server, 'PATCH', `/api/parley/conversations/${id}`, { token: a.token, json: { title: 'Core team' } })).body.title).toBe('Core team');
    expect((await api(server, 'PATCH', `/api/parley/conversations/${id}/participants/${b.user.id}`, { token: a.token, json: { role: 'moderator' } })).body.role).toBe('moderator');
    expect((await api(server, 'GET', `/api/parley/conversations/${id}/participants`, { token: c.token })).body).toHaveLength(3);
    for (const path of [`/api/parley/conversations/${id}`, `/api/parley/conversations/${id}/messages`, `/api/parley/conversations/${id}/participants`]) {
      const r = await api(server, 'GET', path, { token: out.token });
      expect(r.status, path).toBe(404);
      expect(r.body.detail).toBeTypeOf('string');
    }
    expect((await api(server, 'DELETE', `/api/parley/conversations/${id}/participants/${c.user.id}`, { token: a.token })).status).toBe(204);
    expect((await api(server, 'GET', `/api/parley/conversations/${id}`, { token: c.token })).status).toBe(404);
    const list = await api(server, 'GET', '/api/parley/conversations', { token: a.token });
    expect(list.body.map((x: { id: number }) => x.id)).toEqual(expect.arrayContaining([d1, id]));
    expect((await api(server, 'DELETE', `/api/parley/conversations/${id}`, { token: a.token })).status).toBe(204);
    expect((await api(server, 'GET', `/api/parley/conversations/${id}`, { token: a.token })).status).toBe(404);
  });

  it('socket: send is acked after commit with its local_temp_id, retries store nothing new, others get it once; edits, deletes, reactions, reads, typing', async () => {
    const [a, b] = [await register('Amy'), await register('Bob')];
    const conv = await direct(a, b);
    const sa = await parleySocket(server, a);
    const sb = await parleySocket(server, b);
    sa.send({ type: 'send', conversation_id: conv, content: 'hello', local_temp_id: 't1' });
    const ack = await sa.next('message', { where: (f) => f.message.local_temp_id === 't1' });
    expect(ack.message).toMatchObject({ seq: 1, content: 'hello', sender: { id: a.user.id } });
    const got = await sb.next('message');
    expect(got.message).toMatchObject({ id: ack.message.id, seq: 1 });
    expect(got.message).not.toHaveProperty('local_temp_id');
    // Bob's device acknowledges it (as the SDK does on receipt): Amy sees it delivered.
    sb.send({ type: 'ack', conversation_id: conv, seq: 1 });
    expect(await sa.next('delivered')).toMatchObject({ conversation_id: conv, user_id: b.user.id, delivered_seq: 1 });
    sa.send({ type: 'send', conversation_id: conv, content: 'hello', local_temp_id: 't1' });
    expect((await sa.next('message', { where: (f) => f.message.local_temp_id === 't1' })).message.id).toBe(ack.message.id);

    sa.send({ type: 'edit', message_id: ack.message.id, content: 'hello!' });
    expect((await sb.next('message_changed')).message).toMatchObject({ content: 'hello!', change_seq: 2 });
    sb.send({ type: 'react', message_id: ack.message.id, emoji: '🎉', on: true });
    expect(await sa.next('message_changed', { where: (f) => f.change === 'reaction_added' })).toMatchObject({ emoji: '🎉', user_id: b.user.id, message: { reactions: [{ emoji: '🎉', user_ids: [b.user.id], count: 1 }] } });
    sb.send({ type: 'read', conversation_id: conv });
    expect(await sa.next('read')).toMatchObject({ conversation_id: conv, user_id: b.user.id, read_seq: 1 });
    sb.send({ type: 'typing', conversation_id: conv, is_typing: true });
    expect(await sa.next('typing')).toMatchObject({ conversation_id: conv, user_id: b.user.id, is_typing: true });
    sa.send({ type: 'delete', message_id: ack.message.id });
    expect((await sb.next('message_changed', { where: (f) => f.change === 'deleted' })).message).toMatchObject({ content: null, deleted_at: expect.any(String) });
    await settle(sb);
    expect(sb.all('message')).toHaveLength(1);

    // Refused frames: an error frame (with the local_temp_id), nothing stored, the socket kept.
    sb.send({ type: 'send', conversation_id: conv, content: '', local_temp_id: 'empty' });
    expect(await sb.next('error')).toMatchObject({ code: 'empty_message', local_temp_id: 'empty' });
    sb.send({ type: 'edit', message_id: ack.message.id, content: 'not mine' });
    expect((await sb.next('error')).code).toBe('not_message_sender');
    sb.send('{"type":"send","conversation_id":"1"}');
    expect((await sb.next('error')).code).toBe('invalid_frame');
    sb.send({ type: 'nope' });
    expect((await sb.next('error')).code).toBe('unknown_type');
    sb.send({ type: 'ping' });
    await sb.next('pong');
    const h = await api(server, 'GET', `/api/parley/conversations/${conv}/messages`, { token: b.token });
    expect(h.body.last_seq).toBe(1);
    // REST errors carry the machine-readable code beside the text.
    const notMine = await api(server, 'PATCH', `/api/parley/messages/${ack.message.id}`, { token: b.token, json: { content: 'x' } });
    expect(notMine.status).toBe(403);
    expect(notMine.body).toEqual({ detail: expect.any(String), code: 'not_message_sender' });
    const bad = await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: b.token, json: { content: 1 } });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('invalid_input');
    sa.close();
    sb.close();
  });

  it('history pages upward with before_seq (a seq range), has_more tells when to stop', async () => {
    const [a, b] = [await register('Hal'), await register('Ivy')];
    const conv = await direct(a, b);
    for (let i = 1; i <= 7; i++) await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: a.token, json: { content: `m${i}`, local_temp_id: `h${i}` } });
    const p1 = await api(server, 'GET', `/api/parley/conversations/${conv}/messages?limit=3`, { token: b.token });
    expect(p1.body.messages.map((m: { seq: number }) => m.seq)).toEqual([5, 6, 7]);
    expect(p1.body).toMatchObject({ has_more: true, last_seq: 7 });
    const p2 = await api(server, 'GET', `/api/parley/conversations/${conv}/messages?limit=3&before_seq=5`, { token: b.token });
    expect(p2.body.messages.map((m: { seq: number }) => m.seq)).toEqual([2, 3, 4]);
    const p3 = await api(server, 'GET', `/api/parley/conversations/${conv}/messages?limit=3&before_seq=2`, { token: b.token });
    expect(p3.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1]);
    expect(p3.body.has_more).toBe(false);
    const list = await api(server, 'GET', '/api/parley/conversations', { token: b.token });
    expect(list.body.find((c: { id: number }) => c.id === conv)).toMatchObject({ unread_count: 7, last_message: { seq: 7, content: 'm7' } });
    expect((await api(server, 'POST', `/api/parley/conversations/${conv}/read`, { token: b.token, json: { seq: 5 } })).body).toEqual({ read_seq: 5 });
    expect((await api(server, 'GET', `/api/parley/conversations/${conv}`, { token: b.token })).body).toMatchObject({ unread_count: 2, my_read_seq: 5 });
  });

  it('resume: subscribe with cursors replays new messages, then changes of older ones; /changes gives the same frames, in pages', async () => {
    const [a, b] = [await register('Rae'), await register('Sid')];
    const conv = await direct(a, b);
    const sa = await parleySocket(server, a);
    let sb = await parleySocket(server, b);
    const ids: number[] = [];
    for (let i = 1; i <= 3; i++) {
      sa.send({ type: 'send', conversation_id: conv, content: `m${i}`, local_temp_id: `r${i}` });
      ids.push((await sa.next('message', { where: (f) => f.message.local_temp_id === `r${i}` })).message.id);
    }
    await sb.next('message', { where: (f) => f.message.seq === 3 });
    sb.close();
    await api(server, 'PATCH', `/api/parley/messages/${ids[0]}`, { token: a.token, json: { content: 'm1 edited' } });
    await api(server, 'PUT', `/api/parley/messages/${ids[1]}/reactions/${encodeURIComponent('👍')}`, { token: a.token });
    await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: a.token, json: { content: 'm4' } });
    const cursor = { conversation_id: conv, last_seq: 3, last_change_seq: 3 };
    sb = await parleySocket(server, b, [cursor]);
    const replay = sb.frames.filter((f) => f.type === 'message' || f.type === 'message_changed');
    expect(replay.map((f) => [f.type, f.message.seq, f.change ?? null])).toEqual([
      ['message', 4, null],
      ['message_changed', 1, 'replayed'],
      ['message_changed', 2, 'replayed'],
    ]);
    const changes = await api(server, 'GET', `/api/parley/conversations/${conv}/changes?after_seq=3&after_change_seq=3`, { token: b.token });
    // The same frames. REST pages them (test/http/changes-pages.test.ts), so the older ones'
    // changes come first: a page can then stop anywhere and its cursor says where.
    expect(changes.body.frames).toEqual([replay[1], replay[2], replay[0]]);
    expect(changes.body).toMatchObject({ has_more: false, next: { after_seq: 4, after_change_seq: 6 } });
    sa.close();
    sb.close();
  });

  it('socket: conversations and participants change live, a mention reaches its user, a cursor too far back gets snapshot_required', async () => {
    const [a, b, c] = [await register('Ann'), await register('Ben'), await register('Cyd')];
    const sb = await parleySocket(server, b);
    const sc = await parleySocket(server, c);
    const group = await api(server, 'POST', '/api/parley/conversations', { token: a.token, json: { kind: 'group', member_ids: [b.user.id], title: 'Plans' } });
    expect(group.status, JSON.stringify(group.body)).toBe(201);
    const conv: number = group.body.id;
    expect(await sb.next('conversation_changed', { where: (f) => f.change === 'created' })).toMatchObject({ conversation: { id: conv } });
    await api(server, 'PATCH', `/api/parley/conversations/${conv}`, { token: a.token, json: { title: 'New plans' } });
    expect(await sb.next('conversation_changed', { where: (f) => f.change === 'updated' })).toMatchObject({ conversation: { id: conv }, title: 'New plans' });
    await api(server, 'POST', `/api/parley/conversations/${conv}/participants`, { token: a.token, json: { user_id: c.user.id } });
    expect(await sb.next('participant_changed', { where: (f) => f.change === 'added' })).toMatchObject({ conversation_id: conv });
    await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: a.token, json: { content: 'hi @Cyd' } });
    expect(await sc.next('mention')).toMatchObject({ conversation_id: conv, message: { seq: 1, content: 'hi @Cyd' } });
    for (let i = 2; i <= 5; i++) await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: a.token, json: { content: `m${i}` } });
    // Four missed, three replayed at most: a snapshot instead of a partial replay.
    const behind = await parleySocket(server, b, [{ conversation_id: conv, last_seq: 1, last_change_seq: 1 }]);
    expect(await behind.next('snapshot_required')).toEqual({ type: 'snapshot_required', conversation_id: conv, missed: 4 });
  });

  it('socket: pins reach every member, a delete for me and a thread place reach only my own devices', async () => {
    const [a, b] = [await register('Pia'), await register('Quin')];
    const conv = await direct(a, b);
    const [sa, sb] = [await parleySocket(server, a), await parleySocket(server, b)];
    const root = await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: a.token, json: { content: 'root' } });
    expect(root.status).toBe(201);
    const id: number = root.body.id;
    expect((await api(server, 'PUT', `/api/parley/messages/${id}/pin`, { token: b.token })).status).toBe(204);
    for (const s of [sa, sb]) expect(await s.next('pin_changed')).toMatchObject({ conversation_id: conv, message_id: id, change: 'pinned', by: b.user.id });
    expect((await api(server, 'PUT', `/api/parley/messages/${id}/thread/follow`, { token: b.token })).status).toBe(200);
    expect(await sb.next('thread')).toMatchObject({ conversation_id: conv, root_id: id, following: true });
    expect((await api(server, 'DELETE', `/api/parley/messages/${id}/for-me`, { token: b.token })).status).toBe(204);
    expect(await sb.next('message_hidden')).toMatchObject({ conversation_id: conv, message_id: id });
    await expectNoFrame(sa, 200, { where: (f) => f.type === 'message_hidden' || f.type === 'thread' });
  });

  it('files: upload, then send naming the key; the message carries a signed URL and an image thumbnail', async () => {
    const [a, b] = [await register('Fay'), await register('Gus')];
    const conv = await direct(a, b);
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366ff' } }).png().toBuffer();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'pic.png');
    const up = await fetch(`${server.url}/api/parley/files`, { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: form });
    const files = (await up.json()) as { files: { key: string; kind: string; width: number }[] };
    expect(up.status).toBe(201);
    expect(files.files[0]).toMatchObject({ kind: 'image', width: 40, height: 30, mime_type: 'image/png' });
    const sent = await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: a.token, json: { kind: 'image', attachments: [files.files[0].key] } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const att = sent.body.attachments[0];
    expect(att).toMatchObject({ name: 'pic.png', kind: 'image', thumbnail_url: expect.any(String) });
    const local = (url: string) => server.url + new URL(url).pathname + new URL(url).search;
    const img = await fetch(local(att.url));
    expect(img.status).toBe(200);
    expect(Buffer.from(await img.arrayBuffer()).equals(png)).toBe(true);
    expect((await fetch(local(att.thumbnail_url!))).status).toBe(200);
    // The key is the uploader's: another user cannot claim it.
    const stolen = await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: b.token, json: { kind: 'image', attachments: [files.files[0].key] } });
    expect(stolen.status).toBeGreaterThanOrEqual(400);
    expect(stolen.status).toBeLessThan(500);
    // Without a kind, the file decides it: an image is an image message.
    const form2 = new FormData();
    form2.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'again.png');
    const up2 = (await (await fetch(`${server.url}/api/parley/files`, { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: form2 })).json()) as { files: { key: string }[] };
    const kindless = await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: a.token, json: { attachments: [up2.files[0].key] } });
    expect(kindless.status, JSON.stringify(kindless.body)).toBe(201);
    expect(kindless.body).toMatchObject({ kind: 'image', attachments: [{ kind: 'image', name: 'again.png' }] });
  });

  it('presence: online while a socket is open, with the status set', async () => {
    const [a, b] = [await register('Pia'), await register('Quin')];
    await direct(a, b);
    const sa = await parleySocket(server, a);
    const sb = await parleySocket(server, b);
    sb.send({ type: 'presence', status: 'busy' });
    expect(await sa.next('presence', { where: (f) => f.user_id === b.user.id && f.status === 'busy' })).toMatchObject({ online: true });
    const p = await api(server, 'GET', `/api/parley/presence?user_ids=${b.user.id}`, { token: a.token });
    expect(p.body).toEqual([{ user_id: b.user.id, online: true, status: 'busy', last_seen: expect.anything() }]);
    sb.close();
    await eventually(async () => expect((await api(server, 'GET', `/api/parley/presence?user_ids=${b.user.id}`, { token: a.token })).body[0].online).toBe(false));
    sa.close();
  });
});

describe('/api/parley documents', () => {
  const server = useParley();

  it('OpenAPI at /docs/json lists every /api/parley route; AsyncAPI 3 at /docs/asyncapi.json lists every frame, both ways', async () => {
    const openapi = (await api(server, 'GET', '/docs/json')).body;
    for (const path of ['/api/parley/conversations', '/api/parley/conversations/{id}/messages', '/api/parley/messages/{id}/reactions/{emoji}', '/api/parley/files', '/api/parley/auth/login']) {
      expect(openapi.paths, path).toHaveProperty([path]);
    }
    const asyncapi = (await api(server, 'GET', '/docs/asyncapi.json')).body;
    expect(asyncapi.asyncapi).toBe('3.0.0');
    const msgs = asyncapi.channels.parley.messages;
    for (const type of Object.keys(ClientFrames)) expect(msgs, type).toHaveProperty([`client.${type}`]);
    expect(asyncapi.operations.receive_send.action).toBe('receive');
    expect(asyncapi.operations.send_message.action).toBe('send');
  });

  it('every frame type the AsyncAPI lists for the socket was sent in these tests, and each sent frame fits its payload schema', async () => {
    const asyncapi = (await api(server, 'GET', '/docs/asyncapi.json')).body;
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const types = new Set<string>();
    for (const f of sockets.flatMap((s) => s.frames)) {
      const m = asyncapi.channels.parley.messages[`server.${f.type}`];
      expect(m, `undocumented frame ${f.type}`).toBeDefined();
      const ok = ajv.validate(m.payload, f);
      expect(ok, `${f.type}: ${ajv.errorsText()} in ${JSON.stringify(f).slice(0, 300)}`).toBe(true);
      types.add(f.type);
    }
    const listed = Object.keys(asyncapi.channels.parley.messages).filter((k) => k.startsWith('server.')).map((k) => k.slice('server.'.length));
    expect(listed).toContain('ready');
    expect(listed.filter((t) => !types.has(t))).toEqual([]);
  });
});
