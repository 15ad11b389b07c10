import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useParley, startParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, chatHistory, chatSocket, eventually, newRoom, newUser, type TestSocket, type TestUser, pair, sleep } from '../helpers/clients.js';

// Delivery contract 3: a client that reconnects with its last seen seq receives everything
// it missed, in order, then the live messages: nothing lost, nothing twice, even when
// messages are committed while the replay is being loaded.

const quiet = (ms = 300) => sleep(ms);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

function send(s: TestSocket, room: number, to: TestUser, content: string, tempId: string) {
  s.send({ type: 'send_message', data: { room_id: room, receiver_id: to.user.id, message_type: 'text', content, local_temp_id: tempId } });
}

/** Sends n messages from `s` and waits for all their acks; resolves to the last seq. */
async function sendAndAck(s: TestSocket, room: number, to: TestUser, prefix: string, n: number): Promise<number> {
  for (let i = 0; i < n; i++) send(s, room, to, `${prefix} ${i}`, `${prefix}-${i}`);
  let last = 0;
  for (let i = 0; i < n; i++) last = (await s.next('new_message', { where: (f) => f.data.local_temp_id === `${prefix}-${i}`, timeoutMs: 10_000 })).data.seq;
  return last;
}

const seqs = (s: TestSocket) => s.all('new_message').map((f) => f.data.seq);

/** Reconnects through the URL (room_id & last_seq). */
const resumeByUrl = (server: TestServer, u: TestUser, room: number, lastSeq: number) => chatSocket(server, u, room, `&last_seq=${lastSeq}`);

/** Reconnects without a room, then join_room with last_seq. */
async function resumeByJoin(server: TestServer, u: TestUser, room: number, lastSeq: number) {
  const s = await chatSocket(server, u);
  s.send({ type: 'join_room', data: { room_id: room, last_seq: lastSeq } });
  await s.next('room_joined', { timeoutMs: 10_000 });
  return s;
}

const ways = [
  ['room_id & last_seq in the URL', resumeByUrl],
  ['join_room with last_seq', resumeByJoin],
] as const;

describe.each(databases)('resume after reconnect on %s', (db) => {
  const server = useParley({ db });

  async function setup() {
    const a = await newUser(server, { name: 'Sender' });
    const b = await newUser(server, { name: 'Receiver' });
    const room = await newRoom(server, a, b);
    const sa = await chatSocket(server, a, room);
    return { a, b, room, sa };
  }

  describe.each(ways)('%s', (_label, resume) => {
    it('replays exactly the missed messages in order, then live ones, nothing twice', async () => {
      const { a, b, room, sa } = await setup();
      const sb = await chatSocket(server, b, room);
      await sendAndAck(sa, room, b, 'before', 3);
      await eventually(() => expect(seqs(sb)).toEqual([1, 2, 3]));
      sb.close();
      await sb.closed;

      // While b is away: the sender sends (then edits one and deletes another), and b sends
      // from another device.
      await sendAndAck(sa, room, b, 'missed', 8);
      const b2 = await chatSocket(server, b, room);
      await sendAndAck(b2, room, a, 'own', 2);
      b2.close();
      const byContent = (c: string) => sa.all('new_message').find((f) => f.data.content === c)!.data;
      const edited = byContent('missed 2');
      const deleted = byContent('missed 5');
      expect((await api(server, 'PUT', `/api/chat/messages/${edited.id}`, { token: a.token, form: { content: 'missed 2, edited' } })).status).toBe(200);
      expect((await api(server, 'DELETE', `/api/chat/messages/${deleted.id}`, { token: a.token })).status).toBe(200);

      const sb2 = await resume(server, b, room, 3);
      // The replay comes before anything else, each message as it is now: a deleted one as
      // its tombstone, so the seqs stay gapless.
      expect(seqs(sb2)).toEqual(range(4, 13));
      const replay = sb2.all('new_message').map((f) => f.data);
      const contents = [...range(0, 7).map((i) => `missed ${i}`), 'own 0', 'own 1'];
      contents[2] = 'missed 2, edited';
      expect(replay.map((d) => (d.is_deleted ? '<deleted>' : d.content))).toEqual(contents.map((c, i) => (i === 5 ? '<deleted>' : c)));
      expect(replay[2]).toMatchObject({ id: edited.id, is_edited: true });
      expect(replay[5]).toMatchObject({ id: deleted.id, is_deleted: true });
      expect(replay[5].content).not.toBe('missed 5');
      expect(replay.map((d) => d.is_sender)).toEqual([...Array(8).fill(false), true, true]);
      expect(replay.every((d) => d.room_id === room)).toBe(true);

      // Then live messages.
      await sendAndAck(sa, room, b, 'live', 2);
      await eventually(() => expect(seqs(sb2)).toEqual(range(4, 15)));
      await quiet();
      expect(seqs(sb2)).toEqual(range(4, 15));
      expect(sb2.all('snapshot_required')).toEqual([]);
      expect(sb2.all('error')).toEqual([]);
      for (const s of [sa, sb2]) s.close();
    });

    it('nothing lost and nothing twice when messages are committed while the replay loads', async () => {
      const { b, room, sa } = await setup();
      let last = await sendAndAck(sa, room, b, 'warm', 60); // a replay long enough to take a moment
      let seenUpTo = 0;
      for (const [round, offset] of [0, 3, 15].entries()) {
        // The sender starts a burst; the receiver reconnects while it is being committed.
        const n = 40;
        for (let i = 0; i < n; i++) send(sa, room, b, `r${round} ${i}`, `r${round}-${i}`);
        if (offset > 0) await sa.next('new_message', { where: (f) => f.data.local_temp_id === `r${round}-${offset}` });
        const sb = await resume(server, b, room, seenUpTo);
        last = (await sa.next('new_message', { where: (f) => f.data.local_temp_id === `r${round}-${n - 1}`, timeoutMs: 10_000 })).data.seq;
        await eventually(() => expect(seqs(sb).at(-1)).toBe(last), { timeoutMs: 10_000 });
        await quiet(100);
        expect(seqs(sb), `round ${round}`).toEqual(range(seenUpTo + 1, last));
        expect(sb.all('error')).toEqual([]);
        sb.close();
        await sb.closed;
        // Next round resumes from somewhere in the middle of what this one saw.
        seenUpTo = last - 25;
      }
      const h = await chatHistory(server, b, room);
      expect(h.total).toBe(last);
    });

    it('a cursor at the newest seq replays nothing; 0 replays everything; a cursor past the end replays nothing', async () => {
      const { b, room, sa } = await setup();
      const last = await sendAndAck(sa, room, b, 'm', 5);

      const upToDate = await resume(server, b, room, last);
      const fromZero = await resume(server, b, room, 0);
      const ahead = await resume(server, b, room, last + 100);
      expect(seqs(upToDate)).toEqual([]);
      expect(seqs(fromZero)).toEqual(range(1, 5));
      expect(seqs(ahead)).toEqual([]);

      await sendAndAck(sa, room, b, 'next', 1);
      for (const s of [upToDate, ahead]) await s.next('new_message', { where: (f) => f.data.seq === 6 });
      await fromZero.next('new_message', { where: (f) => f.data.seq === 6 });
      await quiet();
      expect(seqs(upToDate)).toEqual([6]);
      expect(seqs(ahead)).toEqual([6]);
      expect(seqs(fromZero)).toEqual(range(1, 6));
      for (const s of [sa, upToDate, fromZero, ahead]) s.close();
    });
  });

  it('join_room with last_seq while following another room switches rooms and replays only the new one', async () => {
    const { a, b, room, sa } = await setup();
    const c = await newUser(server);
    const other = await newRoom(server, c, b);
    const sc = await chatSocket(server, c, other);
    await sendAndAck(sa, room, b, 'in room', 3);
    await sendAndAck(sc, other, b, 'in other', 2);

    const sb = await chatSocket(server, b, other, '&last_seq=0');
    expect(sb.all('new_message').map((f) => f.data.content)).toEqual(['in other 0', 'in other 1']);
    sb.send({ type: 'join_room', data: { room_id: room, last_seq: 1 } });
    await sb.next('room_joined');
    expect(sb.all('new_message').map((f) => [f.data.room_id, f.data.seq])).toEqual([
      [other, 1],
      [other, 2],
      [room, 2],
      [room, 3],
    ]);
    // Now only the new room is followed.
    await sendAndAck(sc, other, b, 'not followed', 1);
    await sendAndAck(sa, room, b, 'followed', 1);
    await sb.next('new_message', { where: (f) => f.data.content === 'followed 0' });
    await quiet();
    expect(sb.all('new_message').filter((f) => f.data.content === 'not followed 0')).toEqual([]);
    for (const s of [sa, sb, sc]) s.close();
    void a;
  });

  describe('a cursor older than what the server replays', () => {
    let small: TestServer;
    beforeAll(async () => {
      small = await startParley({ db, env: { RESUME_MAX_MESSAGES: '5' } });
    });
    afterAll(() => small.close());

    it.each(ways)('%s: snapshot_required instead of a partial replay, then live messages', async (_label, resume) => {
      const { a, b, room } = await pair(small);
      const sa = await chatSocket(small, a, room);
      await sendAndAck(sa, room, b, 'm', 8);

      const exact = await resume(small, b, room, 3); // 5 missed: replayed
      expect(seqs(exact)).toEqual(range(4, 8));
      expect(exact.all('snapshot_required')).toEqual([]);

      const tooOld = await resume(small, b, room, 2); // 6 missed: snapshot
      const snap = await tooOld.next('snapshot_required');
      expect(snap.data).toMatchObject({ room_id: room, missed: 6 });
      expect(seqs(tooOld)).toEqual([]);

      await sendAndAck(sa, room, b, 'live', 1);
      await tooOld.next('new_message', { where: (f) => f.data.seq === 9 });
      await exact.next('new_message', { where: (f) => f.data.seq === 9 });
      expect(seqs(tooOld)).toEqual([9]);
      for (const s of [sa, exact, tooOld]) s.close();
    });
  });
});
