import { hash } from '@node-rs/argon2';
import { randomUUID } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { pdf } from '../../scripts/crash/client.js';
import { createStore } from '../../src/backends/store/create-store.js';
import { migrationProvider } from '../../src/backends/store/migrations/index.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { api, chatHistory, chatSocket, newRoom, newUser, settle, type TestSocket, type TestUser } from '../helpers/clients.js';
import { useUsers } from '../helpers/dialects.js';
import { useParley, startParley, type TestServer } from '../helpers/parley.js';
import { databases, emptyDatabase } from '../helpers/pg.js';

// Issue 14, item 1: the retry key is (sender, conversation, local_temp_id). The documents'
// own clients build local_temp_id from Date.now(), and many clients number per conversation,
// so one sender reuses an id in another conversation: that is a new message there, never the
// earlier message of the other conversation (a private DM) handed back and published to
// everyone following the second one. The property over every dialect is in
// local-temp-id-property.test.ts; these are the examples that show what went wrong.

/** The answer to a send on `s` that carried `tempId`: its ack (`new_message`) or its error frame. */
const answer = (s: TestSocket, tempId: string) =>
  s.next(null, { where: (f) => (f.type === 'new_message' && f.data?.local_temp_id === tempId) || (f.type === 'error' && f.local_temp_id === tempId) });

describe.each(databases)('local_temp_id is scoped to its conversation on %s', (db) => {
  const server = useParley({ db });
  const [a, b, c] = useUsers(server, 3);

  /** A DM a–b (/api/chat) and a group of a, b, c (/api/parley); c follows the group on /api/chat. */
  async function setup() {
    const dm = await newRoom(server, a, b);
    const g = await api(server, 'POST', '/api/parley/conversations', { token: a.token, json: { kind: 'group', title: 'Team', member_ids: [b.user.id, c.user.id] } });
    expect(g.status, JSON.stringify(g.body)).toBe(201);
    const group: number = g.body.id;
    const sender = await chatSocket(server, a); // follows no room: it hears only its own acks
    const cInGroup = await chatSocket(server, c, group);
    return { dm, group, sender, cInGroup };
  }

  it('the same id in another conversation is a new message there; the DM is not handed back nor published to the group', async () => {
    const { dm, group, sender, cInGroup } = await setup();
    sender.send({ type: 'send_message', data: { room_id: dm, receiver_id: b.user.id, content: 'private to b', local_temp_id: '1' } });
    const private1 = (await answer(sender, '1')).data;
    expect(private1).toMatchObject({ room_id: dm, content: 'private to b' });

    sender.send({ type: 'send_message', data: { room_id: group, content: 'hello team', local_temp_id: '1' } });
    const inGroup = await answer(sender, '1');
    expect(inGroup.type, JSON.stringify(inGroup)).toBe('new_message');
    expect(inGroup.data).toMatchObject({ room_id: group, content: 'hello team', seq: 1 });
    expect(inGroup.data.id).not.toBe(private1.id);

    // The group's follower gets the group's message, never the DM.
    const seen = (await cInGroup.next('new_message', { where: (f) => f.data.content === 'hello team' })).data;
    expect(seen).toMatchObject({ id: inGroup.data.id, room_id: group });
    await settle(cInGroup);
    expect(cInGroup.all('new_message').map((f) => f.data.content)).toEqual(['hello team']);
    expect((await chatHistory(server, c, group)).messages.map((m) => m.content)).toEqual(['hello team']);
    expect((await chatHistory(server, b, dm)).messages.map((m) => m.content)).toEqual(['private to b']);

    // A retry is still a retry, in each conversation: its own original comes back.
    sender.send({ type: 'send_message', data: { room_id: group, content: 'hello team (again)', local_temp_id: '1' } });
    expect((await answer(sender, '1')).data).toMatchObject({ id: inGroup.data.id, seq: 1, room_id: group, content: 'hello team' });
    sender.send({ type: 'send_message', data: { room_id: dm, receiver_id: b.user.id, content: 'private (again)', local_temp_id: '1' } });
    expect((await answer(sender, '1')).data).toMatchObject({ id: private1.id, seq: private1.seq, room_id: dm, content: 'private to b' });
    await settle(cInGroup);
    expect(cInGroup.all('new_message').every((f) => f.data.room_id === group && f.data.id !== private1.id)).toBe(true);
    expect((await chatHistory(server, a, group)).total).toBe(1);
    expect((await chatHistory(server, a, dm)).total).toBe(1);
  });

  it('an uploaded file already sent with an id in one conversation is not attached again by that id in another', async () => {
    const { dm, group, sender, cInGroup } = await setup();
    const form = new FormData();
    form.append('message_type', 'file');
    form.append('files', new Blob([new Uint8Array(pdf('scoped', 3000))], { type: 'application/pdf' }), 'plan.pdf');
    const up = await fetch(server.url + '/api/chat/upload-files', { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: form });
    expect(up.status).toBe(200);
    const filePath = ((await up.json()) as { files: { file_path: string }[] }).files[0].file_path;
    const frame = (room: number) => ({ type: 'send_message', data: { room_id: room, message_type: 'file', content: 'the plan', local_temp_id: 'f1', files_data: [{ file_path: filePath }] } });

    sender.send(frame(dm));
    const first = await answer(sender, 'f1');
    expect(first.type, JSON.stringify(first)).toBe('new_message');
    expect(first.data.room_id).toBe(dm);

    // Into the group with the same id: not a retry, and the upload is claimed already.
    sender.send(frame(group));
    const refused = await answer(sender, 'f1');
    expect(refused, JSON.stringify(refused)).toMatchObject({ type: 'error', code: 'upload_not_found' });
    await settle(cInGroup);
    expect(cInGroup.all('new_message')).toEqual([]);
    expect((await chatHistory(server, c, group)).total).toBe(0);

    // The retry where it was sent still answers with the original, its file included.
    sender.send(frame(dm));
    const again = await answer(sender, 'f1');
    expect(again.data).toMatchObject({ id: first.data.id, seq: first.data.seq, room_id: dm });
    expect(again.data.files_data).toHaveLength(1);
  });
});

describe.each(databases)('a database of before the per-conversation key (migration 0003) on %s', (db) => {
  let server: TestServer | undefined;
  afterAll(() => server?.close());

  it('migrates with its messages, and a retry of a stored send still finds its original; the id elsewhere is new', async () => {
    // A database migrated up to 0002 only, with a message sent with a local_temp_id.
    const data = await emptyDatabase(db, '0003');
    const old = createStore(data.databaseUrl) as SqlStore;
    const password = 'before-0003-password';
    let a: TestUser['user'] | undefined;
    let room = 0;
    let original = 0;
    try {
      const { error } = await new Migrator({ db: old.db, provider: migrationProvider(old.dialect) }).migrateTo('0002-attachment-paths');
      expect(error).toBeUndefined();
      const tenant = await old.defaultTenant();
      const passwordHash = await hash(password);
      // Every row written as 0002's schema holds it: today's store methods write columns of later migrations.
      const at = Date.now();
      const user = async (email: string, name: string) => {
        await sql`INSERT INTO users (uuid, tenant_id, email, name, password_hash, token_version, created_at, updated_at)
                  VALUES (${randomUUID()}, ${tenant.id}, ${email}, ${name}, ${passwordHash}, 0, ${at}, ${at})`.execute(old.db);
        const row = (await sql<{ id: number; uuid: string }>`SELECT id, uuid FROM users WHERE tenant_id = ${tenant.id} AND email = ${email}`.execute(old.db)).rows[0];
        return { id: Number(row.id), uuid: row.uuid, name, email };
      };
      const [ua, ub] = [await user('ann-0002@example.com', 'Ann'), await user('bob-0002@example.com', 'Bob')];
      await sql`INSERT INTO conversations (uuid, tenant_id, kind, title, created_by, direct_key, last_seq, change_seq, last_message_at, created_at, updated_at)
                VALUES (${randomUUID()}, ${tenant.id}, 'direct', NULL, ${ua.id}, ${`${Math.min(ua.id, ub.id)}:${Math.max(ua.id, ub.id)}`}, 1, 1, ${at}, ${at}, ${at})`.execute(old.db);
      const dm = (await sql<{ id: number }>`SELECT id FROM conversations WHERE created_by = ${ua.id}`.execute(old.db)).rows[0];
      dm.id = Number(dm.id);
      for (const u of [ua, ub]) {
        await sql`INSERT INTO participants (conversation_id, user_id, role, joined_at, muted, read_seq, delivered_seq)
                  VALUES (${dm.id}, ${u.id}, 'member', ${at}, 0, 0, 0)`.execute(old.db);
      }
      await sql`INSERT INTO messages (uuid, conversation_id, seq, change_seq, sender_id, kind, content, client_id, created_at, reply_count)
                VALUES (${randomUUID()}, ${dm.id}, 1, 1, ${ua.id}, 'text', 'sent before 0003', 'old-1', ${at}, 0)`.execute(old.db);
      const r = (await sql<{ id: number }>`SELECT id FROM messages WHERE conversation_id = ${dm.id} AND seq = 1`.execute(old.db)).rows[0];
      room = dm.id;
      original = Number(r.id);
      a = { id: ua.id, uuid: ua.uuid, name: ua.name, email: ua.email, avatar_url: null, tenant_id: tenant.uuid };
    } finally {
      await old.close();
    }

    // Started normally: 0003 runs.
    server = await startParley({ data });
    const login = await api(server, 'POST', '/api/auth/login', { json: { email: a!.email, password } });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const ann: TestUser = { token: login.body.access_token, user: login.body.user, password };
    const b = await newUser(server);
    const g = await api(server, 'POST', '/api/parley/conversations', { token: ann.token, json: { kind: 'group', title: 'After', member_ids: [b.user.id] } });
    expect(g.status).toBe(201);

    const s = await chatSocket(server, ann);
    s.send({ type: 'send_message', data: { room_id: room, content: 'retried after 0003', local_temp_id: 'old-1' } });
    expect((await answer(s, 'old-1')).data).toMatchObject({ id: original, room_id: room, seq: 1, content: 'sent before 0003' });
    s.send({ type: 'send_message', data: { room_id: g.body.id, content: 'new in the group', local_temp_id: 'old-1' } });
    const fresh = (await answer(s, 'old-1')).data;
    expect(fresh).toMatchObject({ room_id: g.body.id, seq: 1, content: 'new in the group' });
    expect(fresh.id).not.toBe(original);
    expect((await chatHistory(server, ann, room)).total).toBe(1);
  });
});

