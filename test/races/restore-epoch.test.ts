import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupSqlite } from '../../src/backends/store/sqlite-store.js';
import { api, chatHistory, chatSocket, newRoom, newUser, openSocket, settle, type TestSocket, type TestUser } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';

// Issue 15, item 9: after a restore from `parley backup`, seqs and ids start lower: a client
// resuming with its cursor (seq 5 of a history restored to seq 3) used to be told nothing was
// missed, and the new messages that reused seqs 4 and 5 were never shown to it. The history
// has an epoch; the backup takes a new one, so every cursor of the replaced history is
// answered snapshot_required.

let servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close().catch(() => {});
});

async function send(s: TestSocket, room: number, content: string) {
  s.send({ type: 'send_message', data: { room_id: room, content, local_temp_id: content } });
  return (await s.next('new_message', { where: (f) => f.data.local_temp_id === content && f.data.is_sender === true })).data;
}

/** A Parley socket for `user`, past `ready` (which carries the epoch). */
async function parleySocket(server: TestServer, user: TestUser) {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(user.token)}`);
  const ready = await s.next('ready');
  return { s, epoch: ready.epoch as string };
}

describe('a history restored from a backup has a new epoch: old cursors get snapshot_required', () => {
  it('SQLite, parley backup then a restore: /api/chat, /api/parley (socket and REST) refuse to resume across it', async () => {
    const first = await startParley();
    servers.push(first);
    const [ann, bob] = [await newUser(first), await newUser(first)];
    const room = await newRoom(first, ann, bob);
    const sa = await chatSocket(first, ann, room);
    for (const t of ['one', 'two', 'three']) await send(sa, room, t);
    // The backup holds seqs 1–3.
    const backup = path.join(first.data.dir, 'backup.db');
    backupSqlite(first.data.databaseUrl, backup);
    for (const t of ['four', 'five']) await send(sa, room, t);
    sa.send({ type: 'join_room', data: { room_id: room } });
    const oldEpoch = (await sa.next('room_joined')).data.epoch as string;
    const { s: ps, epoch } = await parleySocket(first, ann);
    expect(epoch).toBe(oldEpoch);
    ps.close();
    sa.close();

    // Disaster, and the backup restored in place.
    servers = [];
    await first.close({ keepData: true });
    const db = first.data.databaseUrl.replace(/^sqlite:/, '');
    for (const suffix of ['-wal', '-shm']) rmSync(db + suffix, { force: true });
    copyFileSync(backup, db);
    const restored = await startParley({ data: first.data });
    servers.push(restored);
    expect((await chatHistory(restored, ann, room)).total).toBe(3);
    // A new message takes seq 4 again: the old cursor (5) must not hide it.
    const sb = await chatSocket(restored, bob, room);
    expect((await send(sb, room, 'after the restore')).seq).toBe(4);

    // /api/chat: join_room with the old cursor and epoch.
    const again = await chatSocket(restored, ann);
    again.send({ type: 'join_room', data: { room_id: room, last_seq: 5, last_change_seq: 5, epoch: oldEpoch } });
    expect((await again.next('snapshot_required')).data).toMatchObject({ room_id: room });
    const joined = (await again.next('room_joined')).data;
    expect(joined.epoch).not.toBe(oldEpoch);
    // With the new epoch the same kind of cursor resumes as usual.
    const fresh = await chatSocket(restored, ann, room, `&last_seq=3&last_change_seq=3&epoch=${joined.epoch}`);
    expect((await fresh.next('new_message')).data).toMatchObject({ seq: 4, content: 'after the restore' });
    await settle(fresh);
    expect(fresh.all('snapshot_required')).toEqual([]);

    // /api/parley: subscribe with the old cursor and epoch.
    const { s: p2, epoch: newEpoch } = await parleySocket(restored, ann);
    expect(newEpoch).toBe(joined.epoch);
    p2.send({ type: 'subscribe', cursors: [{ conversation_id: room, last_seq: 5, last_change_seq: 5 }], epoch: oldEpoch });
    expect(await p2.next('snapshot_required')).toMatchObject({ conversation_id: room });
    expect((await p2.next('subscribed')).epoch).toBe(newEpoch);
    // …and over REST.
    const changes = await api(restored, 'GET', `/api/parley/conversations/${room}/changes?after_seq=5&after_change_seq=5&epoch=${oldEpoch}`, { token: ann.token });
    expect(changes.status).toBe(409);
    expect(changes.body).toMatchObject({ code: 'snapshot_required' });
    for (const s of [sb, again, fresh, p2]) s.close();
  }, 60_000);

  it.runIf(hasPostgres)('PostgreSQL, parley epoch renew after a restore: the same answer', async () => {
    const first = await startParley({ db: 'postgres' });
    servers.push(first);
    const [ann, bob] = [await newUser(first), await newUser(first)];
    const room = await newRoom(first, ann, bob);
    const sa = await chatSocket(first, ann, room);
    await send(sa, room, 'one');
    const { s, epoch: oldEpoch } = await parleySocket(first, ann);
    s.close();
    sa.close();
    // What `parley epoch renew` does after a pg_restore.
    await first.parley.store.renewEpoch();
    servers = [];
    await first.close({ keepData: true });
    const restored = await startParley({ data: first.data });
    servers.push(restored);
    const { s: p2, epoch } = await parleySocket(restored, ann);
    expect(epoch).not.toBe(oldEpoch);
    p2.send({ type: 'subscribe', cursors: [{ conversation_id: room, last_seq: 1, last_change_seq: 1 }], epoch: oldEpoch });
    expect(await p2.next('snapshot_required')).toMatchObject({ conversation_id: room });
    await p2.next('subscribed');
    p2.close();
  }, 60_000);
});
