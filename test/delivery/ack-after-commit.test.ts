import { describe, expect, it, onTestFinished } from 'vitest';
import { startParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, chatHistory, chatSocket, newRoom, newUser, type Frame, type TestSocket, type TestUser, connectedPair, pair, sleep } from '../helpers/clients.js';

// Delivery contract 1: a send is acknowledged only after it is committed. On /api/chat the
// sender's own new_message is the ack; it carries local_temp_id, id and seq.

function send(s: TestSocket, room: number, to: TestUser, content: string, tempId: string) {
  s.send({ type: 'send_message', data: { room_id: room, receiver_id: to.user.id, message_type: 'text', content, local_temp_id: tempId } });
}

const ackOf = (s: TestSocket, tempId: string, timeoutMs = 5000) =>
  s.next('new_message', { where: (f) => f.data.local_temp_id === tempId && f.data.is_sender === true, timeoutMs });

/** A server whose data outlives it: the caller restarts on `data`; whoever holds it last removes it. */
async function serverFor(db: 'sqlite' | 'postgres') {
  const first = await startParley({ db });
  const state = { current: first as TestServer | null, data: first.data };
  onTestFinished(async () => {
    if (state.current) await state.current.close();
    else {
      // Closed with keepData and not restarted (the test failed in between).
      const { rmSync } = await import('node:fs');
      await state.data.dropDb?.();
      rmSync(state.data.dir, { recursive: true, force: true });
    }
  });
  return {
    server: first,
    async restart(): Promise<TestServer> {
      const old = state.current!;
      state.current = null;
      await old.close({ keepData: true });
      state.current = await startParley({ data: state.data });
      return state.current;
    },
  };
}

describe.each(databases)('ack after commit on %s', (db) => {
  it('the ack carries local_temp_id, id and seq, and the message is in the REST history when it arrives', async () => {
    const { server } = await serverFor(db);
    const { a, b, room } = await pair(server);
    const sa = await chatSocket(server, a, room);

    send(sa, room, b, 'first', 'tmp-1');
    const ack = await ackOf(sa, 'tmp-1');
    expect(ack.data).toMatchObject({ content: 'first', local_temp_id: 'tmp-1', seq: 1, room_id: room, is_sender: true });
    expect(Number.isInteger(ack.data.id)).toBe(true);
    const h = await chatHistory(server, b, room);
    expect(h.total).toBe(1);
    expect(h.messages.map((m) => [m.id, m.seq, m.content])).toEqual([[ack.data.id, 1, 'first']]);

    // A burst: the history is read the moment each ack arrives, not after the burst.
    const checks: Promise<void>[] = [];
    sa.ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString()) as Frame;
      if (f.type !== 'new_message' || !String(f.data.local_temp_id).startsWith('burst-')) return;
      checks.push(
        chatHistory(server, a, room).then((hist) => {
          const found = hist.messages.find((m) => m.id === f.data.id);
          expect(found, `message ${f.data.local_temp_id} acked but not in history`).toBeDefined();
          expect(found.seq).toBe(f.data.seq);
          expect(found.content).toBe(f.data.content);
          expect(hist.total).toBeGreaterThanOrEqual(f.data.seq);
        }),
      );
    });
    const n = 30;
    for (let i = 0; i < n; i++) send(sa, room, b, `burst ${i}`, `burst-${i}`);
    for (let i = 0; i < n; i++) await ackOf(sa, `burst-${i}`);
    expect(checks).toHaveLength(n);
    await Promise.all(checks);
  });

  it('a refused send is never acked and stores nothing: the error frame carries its local_temp_id', async () => {
    const { server } = await serverFor(db);
    const a = await newUser(server);
    const b = await newUser(server);
    const c = await newUser(server);
    const room = await newRoom(server, a, b);
    const foreign = await newRoom(server, b, c);
    const sa = await chatSocket(server, a, room);
    const sb = await chatSocket(server, b, room);

    sa.send({ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, content: '   ', local_temp_id: 'empty' } });
    sa.send({ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, content: 'x'.repeat(5001), local_temp_id: 'too-long' } });
    sa.send({ type: 'send_message', data: { room_id: foreign, receiver_id: c.user.id, content: 'not my room', local_temp_id: 'foreign' } });
    for (const id of ['empty', 'too-long', 'foreign']) {
      const err = await sa.next('error', { where: (f) => f.local_temp_id === id });
      expect(err.message, id).toEqual(expect.any(String));
    }
    // A good send after them is acked with seq 1: the refused ones took no seq.
    send(sa, room, b, 'good', 'good');
    expect((await ackOf(sa, 'good')).data.seq).toBe(1);
    await sb.next('new_message', { where: (f) => f.data.content === 'good' });
    await sleep(300);
    expect(sa.all('new_message').map((f) => f.data.local_temp_id)).toEqual(['good']);
    expect(sb.all('new_message').map((f) => f.data.content)).toEqual(['good']);
    expect((await chatHistory(server, a, room)).total).toBe(1);
    expect((await chatHistory(server, b, foreign)).total).toBe(0);
  });

  it('every acked message survives a restart on the same database, even when the server stops mid-burst', async () => {
    const srv = await serverFor(db);
    let server = srv.server;
    const { a, b, room, sa, sb } = await connectedPair(server);

    // Both users send; every ack is recorded.
    const acked = new Map<number, { seq: number; content: string; senderId: number }>();
    const record = (s: TestSocket, u: TestUser) =>
      s.ws.on('message', (raw) => {
        const f = JSON.parse(raw.toString()) as Frame;
        if (f.type === 'new_message' && f.data.is_sender && f.data.local_temp_id != null) {
          acked.set(f.data.id, { seq: f.data.seq, content: f.data.content, senderId: u.user.id });
        }
      });
    record(sa, a);
    record(sb, b);
    for (let i = 0; i < 20; i++) {
      send(sa, room, b, `a ${i}`, `a-${i}`);
      send(sb, room, a, `b ${i}`, `b-${i}`);
    }
    for (let i = 0; i < 20; i++) {
      await ackOf(sa, `a-${i}`);
      await ackOf(sb, `b-${i}`);
    }
    expect(acked.size).toBe(40);

    // A burst still in flight when the server stops: whatever was acked must survive.
    for (let i = 0; i < 60; i++) send(sa, room, b, `late ${i}`, `late-${i}`);
    await ackOf(sa, 'late-0');
    const closedA = sa.closed;
    server = await srv.restart();
    expect((await closedA).code).toBe(1001);
    expect((await sb.closed).code).toBe(1001);
    const ackedCount = acked.size;
    expect(ackedCount).toBeGreaterThan(40);

    // The same tokens still work (same JWT secret, same token version) on the new process.
    expect((await api(server, 'GET', '/api/auth/me', { token: a.token })).status).toBe(200);
    const h = await chatHistory(server, a, room);
    expect(h.messages.map((m) => m.seq)).toEqual(Array.from({ length: h.total }, (_, i) => i + 1));
    expect(h.total).toBeGreaterThanOrEqual(ackedCount);
    const byId = new Map(h.messages.map((m) => [m.id, m]));
    for (const [id, want] of acked) {
      const got = byId.get(id);
      expect(got, `acked message ${id} (seq ${want.seq}) lost over the restart`).toBeDefined();
      expect({ seq: got.seq, content: got.content, senderId: got.sender_id }).toEqual(want);
    }

    // The restarted server keeps counting from where the first stopped.
    const sa2 = await chatSocket(server, a, room);
    send(sa2, room, b, 'after restart', 'after-1');
    const ack = await ackOf(sa2, 'after-1');
    expect(ack.data.seq).toBe(h.total + 1);
  });
});
