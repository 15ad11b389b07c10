import { describe, expect, it } from 'vitest';
import { useParley, startParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, chatHistory, chatSocket, settle, type Frame, type TestSocket, type TestUser, pair } from '../helpers/clients.js';

// Resume with change_seq (docs/delivery.md 4): a client that reconnects with the highest seq
// and change_seq it saw gets the messages it missed and every edit, delete and like of older
// ones, so applying what it received to what it had gives exactly the history.

type Copy = Map<number, { seq: number; content: string | null; is_edited: boolean; is_deleted: boolean; like_count: number }>;

/** The client's copy of a room: applies message frames as a client would, tracks its cursors. */
function apply(copy: Copy, frames: Frame[], cursor: { seq: number; changeSeq: number }) {
  for (const f of frames) {
    if (f.type !== 'new_message' && f.type !== 'message_update') continue;
    const d = f.data;
    if (f.type === 'message_update') expect(copy.has(d.id), `update of a message the client never saw: ${d.id}`).toBe(true);
    copy.set(d.id, { seq: d.seq, content: d.content, is_edited: d.is_edited, is_deleted: d.is_deleted, like_count: d.like_count });
    cursor.seq = Math.max(cursor.seq, d.seq);
    cursor.changeSeq = Math.max(cursor.changeSeq, d.change_seq);
  }
}

async function sendAndAck(s: TestSocket, room: number, content: string, tempId: string): Promise<Frame> {
  s.send({ type: 'send_message', data: { room_id: room, content, local_temp_id: tempId } });
  return s.next('new_message', { where: (f) => f.data.local_temp_id === tempId, timeoutMs: 10_000 });
}

describe.each(databases)('resume with change_seq on %s', (db) => {
  const server = useParley({ db });

  async function historyCopy(u: TestUser, room: number): Promise<Copy> {
    const h = await chatHistory(server, u, room);
    const copy: Copy = new Map();
    for (const m of h.messages) copy.set(m.id, { seq: m.seq, content: m.content, is_edited: m.is_edited, is_deleted: m.is_deleted, like_count: m.like_count });
    return copy;
  }

  for (const how of ['url', 'join_room'] as const) {
    it(`replays new messages in seq order, then the edits, deletes and likes of older ones (${how})`, async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      let sb = await chatSocket(server, b, room);
      const ids: number[] = [];
      for (let i = 1; i <= 4; i++) ids.push((await sendAndAck(sa, room, `m${i}`, `t${i}`)).data.id);
      await sb.next('new_message', { where: (f) => f.data.seq === 4 });
      const copy: Copy = new Map();
      const cursor = { seq: 0, changeSeq: 0 };
      apply(copy, sb.frames, cursor);
      expect(cursor).toEqual({ seq: 4, changeSeq: 4 });
      sb.close();
      await settle(sa);

      // While Bob is away: edits, a delete, a like, new messages, and a new message edited then deleted.
      const put = (id: number, content: string) => api(server, 'PUT', `/api/chat/messages/${id}`, { token: a.token, form: { content } });
      expect((await put(ids[1], 'm2 edited')).status).toBe(200);
      expect((await api(server, 'DELETE', `/api/chat/messages/${ids[2]}`, { token: a.token })).status).toBe(200);
      expect((await api(server, 'POST', `/api/chat/messages/${ids[0]}/like`, { token: a.token })).status).toBe(200);
      const m5 = (await sendAndAck(sa, room, 'm5', 't5')).data.id;
      const m6 = (await sendAndAck(sa, room, 'm6', 't6')).data.id;
      expect((await put(m5, 'm5 edited')).status).toBe(200);
      expect((await put(ids[1], 'm2 edited twice')).status).toBe(200);
      expect((await api(server, 'DELETE', `/api/chat/messages/${m6}`, { token: a.token })).status).toBe(200);
      await sendAndAck(sa, room, 'm7', 't7');

      if (how === 'url') sb = await chatSocket(server, b, room, `&last_seq=${cursor.seq}&last_change_seq=${cursor.changeSeq}`);
      else {
        sb = await chatSocket(server, b);
        sb.send({ type: 'join_room', data: { room_id: room, last_seq: cursor.seq, last_change_seq: cursor.changeSeq } });
        await sb.next('room_joined', { timeoutMs: 10_000 });
      }
      await settle(sb, 300);
      const news = sb.all('new_message').map((f) => f.data.seq);
      expect(news).toEqual([5, 6, 7]);
      // m6 was deleted after it was sent: it comes as new (seq stays gapless), then as deleted.
      const updates = sb.all('message_update').map((f) => [f.data.seq, f.data.is_deleted]);
      expect(updates).toEqual([
        [6, true],
        [3, true],
        [1, false],
        [2, false],
      ]);
      apply(copy, sb.frames, cursor);
      expect(copy).toEqual(await historyCopy(b, room));

      // Then live, nothing twice.
      await sendAndAck(sa, room, 'm8', 't8');
      await sb.next('new_message', { where: (f) => f.data.seq === 8 });
      await settle(sb);
      expect(sb.all('new_message').map((f) => f.data.seq)).toEqual([5, 6, 7, 8]);
    });
  }

  it('a cursor that is already current replays nothing; one too old gets snapshot_required', async (t) => {
    const s = await startParley(t, { db, env: { RESUME_MAX_MESSAGES: '3' } });
    const { a, b, room } = await pair(s);
    const sa = await chatSocket(s, a, room);
    for (let i = 1; i <= 4; i++) await sendAndAck(sa, room, `m${i}`, `t${i}`);
    const current = await chatSocket(s, b, room, '&last_seq=4&last_change_seq=4');
    await settle(current);
    expect(current.frames.filter((f) => f.type === 'new_message' || f.type === 'message_update')).toEqual([]);
    const old = await chatSocket(s, b, room, '&last_seq=0&last_change_seq=0');
    expect((await old.next('snapshot_required')).data).toEqual({ room_id: room, missed: 4 });
    await sendAndAck(sa, room, 'm5', 't5');
    // Too far behind: nothing partial is replayed, though live messages still come.
    expect((await old.next('new_message')).data.seq).toBe(5);
    expect(old.all('new_message')).toHaveLength(1);
    for (const x of [sa, current, old]) x.close();
  });
});
