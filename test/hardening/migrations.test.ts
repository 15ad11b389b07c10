import { hash } from '@node-rs/argon2';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/backends/store/create-store.js';
import { MIGRATIONS, migrationProvider } from '../../src/backends/store/migrations/index.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { DEFAULT_TENANT_UUID } from '../../src/backends/store/migrations/0001-initial.js';
import { LIKE_EMOJI } from '../../src/core/model.js';
import { pdf } from '../../scripts/crash/client.js';
import { api, chatHistory, chatSocket } from '../helpers/clients.js';
import { sqlStoreOf, startParley } from '../helpers/parley.js';
import { databases, emptyDatabase } from '../helpers/pg.js';

// Migrations on populated databases (issue 9, item 7). For every migration but the last, on
// SQLite and (DATABASE_URL) PostgreSQL: a fresh database migrated only up to that one, filled
// with realistic rows of that version, then started normally (which runs the remaining
// migrations); the rows, their checksums and the history the server serves must be what they
// were. The list is MIGRATIONS itself, so a new migration is covered without editing this
// file; the rows are written through the schema of the version under test (introspected), so
// a new column with a default needs nothing here either, and a new NOT NULL column without
// one fails with a message naming it.

/**
 * Tables a migration is meant to rewrite (a backfill): their rows may change; the others, and
 * the messages checksum, must not. Empty: no migration rewrites data so far.
 */
const REWRITES: Record<string, string[]> = {
  // Issue 19: the events log renumbered by one sequence; the deliveries and endpoints follow.
  '0020-events-sequence': ['events', 'webhook_deliveries', 'webhook_endpoints'],
};

/** Tables a migration drops: not there to compare afterwards. */
const DROPS: Record<string, string[]> = { '0020-events-sequence': ['event_counters'] };

/**
 * Columns the start-up sweep writes, whatever migrated: bookkeeping, not data. The sweep marks a
 * deleted conversation's files removed (files_purged_at, migration 0005).
 */
const SWEPT_AT_START: Record<string, string[]> = { conversations: ['files_purged_at'] };

type Db = Kysely<any>;

interface Column {
  name: string;
  isNullable: boolean;
  hasDefaultValue: boolean;
  isAutoIncrementing: boolean;
}

async function schemaOf(db: Db): Promise<Map<string, Column[]>> {
  const tables = await db.introspection.getTables();
  return new Map(tables.filter((t) => !t.name.startsWith('kysely_') && !t.isView).map((t) => [t.name, t.columns as Column[]]));
}

/** Inserts `row` into `table` keeping the columns this version has; returns the new id (tables with one). */
async function insert(db: Db, schema: Map<string, Column[]>, version: string, table: string, row: Record<string, unknown>): Promise<number | undefined> {
  const cols = schema.get(table);
  if (!cols) return undefined; // A table a later migration drops: nothing to write at this version.
  const values: Record<string, unknown> = {};
  for (const c of cols) {
    if (c.name in row) values[c.name] = row[c.name];
    else if (!c.isNullable && !c.hasDefaultValue && !c.isAutoIncrementing) {
      throw new Error(`populating ${table} at ${version}: the NOT NULL column ${table}.${c.name} has no value here; add one to the rows of migrations.test.ts`);
    }
  }
  if (cols.some((c) => c.name === 'id')) {
    const r = await db.insertInto(table).values(values).returning('id').executeTakeFirstOrThrow();
    return Number((r as { id: unknown }).id);
  }
  await db.insertInto(table).values(values).execute();
  return undefined;
}

const PASSWORD = 'migration-password-1';
const T0 = 1_700_000_000_000;

interface Populated {
  users: { id: number; email: string }[];
  conversations: number[];
  files: string[];
}

/**
 * What a server of that version would hold: two tenants, users (one external), a friendship,
 * a direct and a group conversation (and a deleted one), participants with watermarks and
 * one who left, messages with edits, deletes, replies, client ids, mentions, reactions, files
 * with thumbnails, and one pending upload.
 */
async function populate(db: Db, version: string, filesRoot: string): Promise<Populated> {
  const schema = await schemaOf(db);
  const ins = (table: string, row: Record<string, unknown>) => insert(db, schema, version, table, row);
  const tenant = Number(
    ((await db.selectFrom('tenants').select('id').where('uuid', '=', DEFAULT_TENANT_UUID).executeTakeFirstOrThrow()) as { id: unknown }).id,
  );
  const otherTenant = (await ins('tenants', { uuid: '00000000-0000-7000-8000-0000000000aa', name: 'other', created_at: T0 }))!;
  const passwordHash = await hash(PASSWORD);
  const uuid = (n: number) => `0190${String(n).padStart(4, '0')}-0000-7000-8000-${String(n).padStart(12, '0')}`;
  let n = 0;

  const users: { id: number; email: string }[] = [];
  for (let i = 0; i < 5; i++) {
    const email = `migrate${i}@example.com`;
    const id = (await ins('users', {
      uuid: uuid(++n),
      tenant_id: tenant,
      email,
      name: `Migrate ${i}`,
      avatar_url: i === 0 ? 'https://example.com/a.png' : null,
      password_hash: passwordHash,
      external_issuer: null,
      external_subject: null,
      token_version: i === 4 ? 2 : 0,
      last_seen_at: i === 1 ? T0 + 5_000 : null,
      created_at: T0 + i,
      updated_at: T0 + i,
    }))!;
    users.push({ id, email });
  }
  await ins('users', {
    uuid: uuid(++n),
    tenant_id: otherTenant,
    email: 'external@example.com',
    name: 'External',
    avatar_url: null,
    password_hash: null,
    external_issuer: 'https://idp.example.com',
    external_subject: 'subject-1',
    token_version: 0,
    last_seen_at: null,
    created_at: T0,
    updated_at: T0,
  });
  const [u0, u1, u2, u3, u4] = users.map((u) => u.id);
  await ins('friendships', { user_a: Math.min(u0, u1), user_b: Math.max(u0, u1), status: 'accepted', requested_by: u0, created_at: T0, updated_at: T0 + 1 });
  await ins('friendships', { user_a: Math.min(u0, u2), user_b: Math.max(u0, u2), status: 'pending', requested_by: u2, created_at: T0, updated_at: T0 });

  const conversations: number[] = [];
  const files: string[] = [];
  const specs = [
    { kind: 'direct', title: null, members: [u0, u1], messages: 130, directKey: `${Math.min(u0, u1)}:${Math.max(u0, u1)}`, deleted: false },
    { kind: 'group', title: 'Migration group', members: [u0, u1, u2, u3], messages: 70, directKey: null, deleted: false },
    { kind: 'group', title: 'Deleted group', members: [u2, u4], messages: 3, directKey: null, deleted: true },
  ];
  let fileNo = 0;
  for (const [ci, spec] of specs.entries()) {
    const at = T0 + 10_000 * (ci + 1);
    const cid = (await ins('conversations', {
      uuid: uuid(++n),
      tenant_id: tenant,
      kind: spec.kind,
      title: spec.title,
      created_by: spec.members[0],
      direct_key: spec.directKey,
      last_seq: 0,
      change_seq: 0,
      last_message_at: null,
      created_at: at,
      updated_at: at,
      deleted_at: spec.deleted ? at + 9_000 : null,
    }))!;
    conversations.push(cid);
    let changeSeq = 0;
    const ids: number[] = [];
    const replyCount = new Map<number, number>();
    for (let s = 1; s <= spec.messages; s++) {
      const sender = spec.members[s % spec.members.length];
      const file = s % 9 === 0;
      const edited = s % 7 === 0;
      const deleted = s % 13 === 0;
      const replyTo = s % 11 === 0 && ids.length > 2 ? ids[ids.length - 2] : null;
      const created = at + s * 10;
      const mid = (await ins('messages', {
        uuid: uuid(++n),
        conversation_id: cid,
        seq: s,
        change_seq: ++changeSeq,
        sender_id: sender,
        kind: file ? (s % 2 === 0 ? 'image' : 'file') : 'text',
        content: deleted ? null : `${edited ? 'edited ' : ''}message ${s} of ${spec.title ?? 'direct'} — ünïcödé ✓ 💬`,
        reply_to_id: replyTo,
        reply_count: 0,
        client_id: s % 3 === 0 ? null : `client-${ci}-${s}`,
        created_at: created,
        edited_at: edited ? created + 5 : null,
        deleted_at: deleted ? created + 6 : null,
      }))!;
      ids.push(mid);
      if (replyTo !== null && !deleted) replyCount.set(replyTo, (replyCount.get(replyTo) ?? 0) + 1);
      if (file) {
        const image = s % 2 === 0;
        const key = `chat_files/${image ? 'images' : 'files'}/${sender}_${created}_0_${image ? 'photo.png' : 'doc.pdf'}`;
        const thumb = image ? `chat_files/thumbnails/${sender}_${created}_0_photo.png.webp` : null;
        await ins('attachments', {
          uuid: uuid(++n),
          tenant_id: tenant,
          owner_id: sender,
          message_id: mid,
          position: 0,
          kind: image ? 'image' : 'file',
          file_name: image ? 'photo.png' : `doc ${++fileNo}.pdf`,
          stored_path: key,
          size: 1500,
          mime_type: image ? 'image/png' : 'application/pdf',
          duration_seconds: null,
          width: image ? 64 : null,
          height: image ? 48 : null,
          thumbnail_path: thumb,
          created_at: created,
        });
        for (const k of thumb ? [key, thumb] : [key]) {
          mkdirSync(path.dirname(path.join(filesRoot, 'static', k)), { recursive: true });
          writeFileSync(path.join(filesRoot, 'static', k), pdf(k));
          files.push(k);
        }
      }
      if (s % 5 === 0 && !deleted) {
        for (const [ri, emoji] of ['👍', '❤️'].slice(0, 1 + (s % 2)).entries()) {
          await ins('reactions', { uuid: uuid(++n), message_id: mid, user_id: spec.members[ri % spec.members.length], emoji, created_at: created + 7 });
          changeSeq++;
        }
        await db.updateTable('messages').set({ change_seq: changeSeq }).where('id', '=', mid).execute();
      }
      if (s % 8 === 0 && spec.members.length > 2) await ins('mentions', { message_id: mid, user_id: spec.members[(s + 1) % spec.members.length] });
      if (edited || deleted) {
        changeSeq++;
        await db.updateTable('messages').set({ change_seq: changeSeq }).where('id', '=', mid).execute();
      }
    }
    for (const [id, count] of replyCount) await db.updateTable('messages').set({ reply_count: count }).where('id', '=', id).execute();
    const last = at + spec.messages * 10;
    await db
      .updateTable('conversations')
      .set({ last_seq: spec.messages, change_seq: changeSeq, last_message_at: last, updated_at: last })
      .where('id', '=', cid)
      .execute();
    for (const [pi, member] of spec.members.entries()) {
      const read = Math.max(0, spec.messages - pi * 10);
      await ins('participants', {
        conversation_id: cid,
        user_id: member,
        role: pi === 0 ? (spec.kind === 'group' ? 'owner' : 'member') : 'member',
        joined_at: at,
        left_at: null,
        muted: pi === 1 ? 1 : 0,
        read_seq: read,
        delivered_seq: Math.min(spec.messages, read + 3),
        read_at: read > 0 ? at + read * 10 : null,
      });
    }
    if (spec.kind === 'group' && !spec.deleted) {
      await ins('participants', { conversation_id: cid, user_id: u4, role: 'member', joined_at: at, left_at: at + 500, muted: 0, read_seq: 2, delivered_seq: 2, read_at: at + 20 });
    }
  }
  // An upload made before its message, not claimed yet.
  const pendingKey = `chat_files/files/${u0}_${T0 + 99}_0_pending.pdf`;
  await ins('attachments', {
    uuid: uuid(++n),
    tenant_id: tenant,
    owner_id: u0,
    message_id: null,
    position: 0,
    kind: 'file',
    file_name: 'pending.pdf',
    stored_path: pendingKey,
    size: 1500,
    mime_type: 'application/pdf',
    duration_seconds: null,
    width: null,
    height: null,
    thumbnail_path: null,
    created_at: Date.now(),
  });
  mkdirSync(path.dirname(path.join(filesRoot, 'static', pendingKey)), { recursive: true });
  writeFileSync(path.join(filesRoot, 'static', pendingKey), pdf(pendingKey));
  files.push(pendingKey);
  return { users, conversations, files };
}

interface Snapshot {
  counts: Record<string, number>;
  /** sha256 over the rows of each table, on the columns it had at the version populated. */
  tables: Record<string, string>;
  /** sha256 over id, conversation_id, seq, content of every message, ordered by id. */
  messages: string;
}

/** The running server's own state, not data: a started server takes the retention job's lease. */
const PROCESS_STATE = new Set(['job_leases']);

async function snapshot(db: Db, columnsOf?: Map<string, string[]>): Promise<Snapshot> {
  const schema = await schemaOf(db);
  const out: Snapshot = { counts: {}, tables: {}, messages: '' };
  const tables = columnsOf ?? new Map([...schema].map(([t, cols]) => [t, cols.map((c) => c.name).sort()]));
  for (const [table, cols] of tables) {
    if (PROCESS_STATE.has(table)) continue;
    const rows = (await db.selectFrom(table).select(cols).execute()) as Record<string, unknown>[];
    out.counts[table] = rows.length;
    const lines = rows.map((r) => JSON.stringify(cols.map((c) => (r[c] === null || r[c] === undefined ? null : String(r[c]))))).sort();
    out.tables[table] = createHash('sha256').update(lines.join('\n')).digest('hex');
  }
  const h = createHash('sha256');
  for (const m of await db.selectFrom('messages').select(['id', 'conversation_id', 'seq', 'content']).orderBy('id').execute()) {
    h.update(JSON.stringify([String(m.id), String(m.conversation_id), String(m.seq), m.content ?? null]) + '\n');
  }
  out.messages = h.digest('hex');
  return out;
}

const columnsOf = (s: Snapshot, schema: Map<string, Column[]>) =>
  new Map(
    Object.keys(s.counts).map((t) => [
      t,
      (schema.get(t) ?? [])
        .map((c) => c.name)
        .filter((c) => !SWEPT_AT_START[t]?.includes(c))
        .sort(),
    ]),
  );


const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/**
 * Migrates a fresh database up to `name`, populates it, starts Parley on it (the remaining
 * migrations run) and asserts rows, checksums and the served history unchanged.
 */
async function roundTrip(dialect: 'sqlite' | 'postgres', name: string): Promise<void> {
  const remaining = MIGRATIONS.slice(MIGRATIONS.findIndex((m) => m.name === name) + 1).map((m) => m.name);
  const data = await emptyDatabase(dialect, 'migrate');
  cleanups.push(async () => {
    await data.dropDb?.();
    rmSync(data.dir, { recursive: true, force: true });
  });

  // 1. Up to `name` only.
  const store = createStore(data.databaseUrl) as SqlStore;
  let before: Snapshot;
  let populated: Populated;
  let beforeSchema: Map<string, Column[]>;
  try {
    const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
    const { error, results } = await migrator.migrateTo(name);
    expect(error).toBeUndefined();
    expect(results?.map((r) => r.migrationName)).toEqual(MIGRATIONS.slice(0, MIGRATIONS.findIndex((m) => m.name === name) + 1).map((m) => m.name));
    const applied = (await migrator.getMigrations()).filter((m) => m.executedAt !== undefined).map((m) => m.name);
    expect(applied.at(-1)).toBe(name);

    // 2. Rows of that version.
    populated = await populate(store.db, name, data.dir);
    beforeSchema = await schemaOf(store.db);
    before = await snapshot(store.db, columnsOf({ counts: Object.fromEntries([...beforeSchema.keys()].map((t) => [t, 0])), tables: {}, messages: '' }, beforeSchema));
    expect(before.counts.messages).toBeGreaterThan(200);
    expect(before.counts.attachments).toBeGreaterThan(10);
    expect(before.counts.reactions).toBeGreaterThan(10);
  } finally {
    await store.close();
  }

  // 3. Started normally: the remaining migrations run, the start-up sweep runs.
  const server = await startParley({ data });
  cleanups.push(() => server.close({ keepData: true }));
  const db = sqlStoreOf(server).db;
  const dropped = new Set(remaining.flatMap((r) => DROPS[r] ?? []));
  for (const table of dropped) delete before.counts[table], delete before.tables[table];
  const after = await snapshot(db, columnsOf(before, beforeSchema));
  const rewritten = new Set(remaining.flatMap((r) => REWRITES[r] ?? []));
  expect(after.counts, 'row counts per table').toEqual(before.counts);
  expect(after.messages, 'messages checksum (id, conversation_id, seq, content)').toBe(before.messages);
  for (const table of Object.keys(before.tables)) {
    if (!rewritten.has(table)) expect(after.tables[table], `rows of ${table}`).toBe(before.tables[table]);
  }
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const all = await migrator.getMigrations();
  expect(all.filter((m) => m.executedAt === undefined).map((m) => m.name), 'nothing left to run').toEqual([]);

  // 4. The server serves the history as stored: every seq, id, text, deletion, edit, like count and file.
  const login = await api(server, 'POST', '/api/auth/login', { json: { email: populated.users[0].email, password: PASSWORD } });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  const me = { token: login.body.access_token as string, user: login.body.user, password: PASSWORD };
  const rooms = await api(server, 'GET', '/api/chat/rooms', { token: me.token });
  expect(rooms.status).toBe(200);
  const roomIds = (rooms.body.rooms as { id: number }[]).map((r) => r.id).sort((x, y) => x - y);
  expect(roomIds).toEqual(populated.conversations.slice(0, 2).sort((x, y) => x - y));
  let downloaded = 0;
  for (const cid of populated.conversations.slice(0, 2)) {
    const stored = (await db
      .selectFrom('messages')
      .select(['id', 'seq', 'content', 'deleted_at', 'edited_at'])
      .where('conversation_id', '=', cid)
      .orderBy('seq')
      .execute()) as { id: number; seq: number; content: string | null; deleted_at: number | null; edited_at: number | null }[];
    const likes = new Map<number, number>();
    for (const r of (await db.selectFrom('reactions').select(['message_id']).where('emoji', '=', LIKE_EMOJI).execute()) as { message_id: number }[]) {
      likes.set(Number(r.message_id), (likes.get(Number(r.message_id)) ?? 0) + 1);
    }
    const { total, messages } = await chatHistory(server, me, cid);
    expect(total).toBe(stored.length);
    expect(messages.map((m) => m.seq)).toEqual(stored.map((m) => Number(m.seq)));
    expect(messages.map((m) => m.id)).toEqual(stored.map((m) => Number(m.id)));
    for (const [i, m] of messages.entries()) {
      const s = stored[i];
      expect(m.is_deleted, `seq ${s.seq}`).toBe(s.deleted_at !== null);
      if (s.deleted_at === null) {
        expect(m.content, `seq ${s.seq}`).toBe(s.content);
        expect(m.is_edited, `seq ${s.seq}`).toBe(s.edited_at !== null);
        expect(m.like_count, `seq ${s.seq}`).toBe(likes.get(Number(s.id)) ?? 0);
      }
      if (m.file_path && downloaded < 3) {
        const res = await fetch(new URL(m.file_path, server.url), { headers: { authorization: `Bearer ${me.token}` } });
        expect(res.status, m.file_path).toBe(200);
        downloaded++;
      }
    }
  }
  expect(downloaded).toBeGreaterThan(0);

  // 5. And takes new messages after them: the next seq.
  const direct = populated.conversations[0];
  const sock = await chatSocket(server, me, direct);
  sock.send({ type: 'send_message', data: { room_id: direct, content: 'after the migration', local_temp_id: 'after-1' } });
  const ack = await sock.next('new_message', { where: (f) => f.data?.local_temp_id === 'after-1', timeoutMs: 10_000 });
  sock.close();
  const lastSeq = before.counts.messages > 0 ? Math.max(...(await chatHistory(server, me, direct)).messages.map((m) => m.seq)) : 0;
  expect(ack.data.seq).toBe(lastSeq);
  expect(ack.data.seq).toBe(131);
  // The start-up sweep kept every file a row names.
  const after2 = await snapshot(db, columnsOf(before, beforeSchema));
  expect(after2.counts.attachments).toBe(before.counts.attachments);
}

describe.each(databases)('migrations on a populated database (%s)', (dialect) => {
  it('MIGRATIONS is what the migrator runs, in order', () => {
    expect(MIGRATIONS.length).toBeGreaterThan(0);
    expect(MIGRATIONS.map((m) => m.name)).toEqual([...MIGRATIONS.map((m) => m.name)].sort());
  });

  // Every version but the latest; on the latest alone, a populated database restarted (nothing to run).
  const versions = MIGRATIONS.length > 1 ? MIGRATIONS.slice(0, -1) : MIGRATIONS;
  it.each(versions.map((m, i) => ({ name: m.name, remaining: MIGRATIONS.slice(i + 1).map((r) => r.name) })))(
    'populated at $name, then migrated ($remaining): rows, checksums and served history unchanged',
    { timeout: 120_000 },
    async ({ name }) => roundTrip(dialect, name),
  );

  it('the check catches a migration that changes stored messages (a later one appended to MIGRATIONS)', { timeout: 120_000 }, async () => {
    const latest = MIGRATIONS.at(-1)!.name;
    MIGRATIONS.push({
      name: '9999-test-rewrites-a-message',
      async up(db) {
        await db.updateTable('messages').set({ content: 'rewritten' }).where('seq', '=', 2).execute();
      },
    });
    try {
      await expect(roundTrip(dialect, latest)).rejects.toThrow(/messages checksum/);
    } finally {
      MIGRATIONS.pop();
    }
  });
});

