import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { useParley, startParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { chatSocket, eventually, settle, TestSocket, type TestUser, pair } from '../helpers/clients.js';
import { record, registered, type ServerRef } from '../sdk/support.js';

// Issue 14 item 10: a resume replay larger than the send buffer (WS_SEND_BUFFER_BYTES, 8 MB)
// was written in one go, so the socket was closed as a slow consumer (4008) every time and
// the client came back for the same replay, forever. The replay now goes out in pages, each
// when the socket has drained; past RESUME_MAX_MESSAGES the answer is snapshot_required.

const BIG = 50_000;
const COUNT = 420; // ~21 MB of message text
const env = { MAX_MESSAGE_LENGTH: String(BIG) };

/** `COUNT` messages of `BIG` characters from `a` into `room`, acknowledged. */
async function fillBacklog(server: TestServer, a: Pick<TestUser, 'token'>, room: number): Promise<void> {
  const sa = await chatSocket(server, a as TestUser, room);
  const body = 'x'.repeat(BIG - 10);
  for (let i = 0; i < COUNT; i += 30) {
    const n = Math.min(30, COUNT - i);
    for (let j = i; j < i + n; j++) sa.send({ type: 'send_message', data: { room_id: room, content: `${String(j).padStart(6, '0')} ${body}`, local_temp_id: `big-${j}` } });
    await sa.next('new_message', { where: (f) => f.data.local_temp_id === `big-${i + n - 1}`, timeoutMs: 30_000 });
  }
  sa.close();
}

const raw = (s: TestSocket) => (s.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

describe.each(databases)('a resume replay bigger than the send buffer (%s)', (db) => {
  const server = useParley({ db, env });

  it('reaches a client that reads slowly, whole and in order, without 4008; then live messages follow', async () => {
    const { a, b, room } = await pair(server);
    await fillBacklog(server, a, room);

    const sb = new TestSocket(new WebSocket(`${server.wsUrl}/api/chat/ws?token=${encodeURIComponent(b.token)}&room_id=${room}&last_seq=0&last_change_seq=0`));
    await sb.opened;
    // Bob reads nothing for a while: the server must wait for him, not give up on him.
    raw(sb).pause();
    const conn = await eventually(() => {
      const c = [...server.parley.hub.connections()].find((x) => x.user.id === b.user.id);
      expect(c).toBeDefined();
      expect(c!.socket.bufferedAmount).toBeGreaterThan(server.parley.config.wsSendBufferBytes / 8);
      return c!;
    }, { timeoutMs: 20_000 });
    expect(conn.closed).toBe(false);
    expect(conn.socket.bufferedAmount).toBeLessThan(server.parley.config.wsSendBufferBytes);
    raw(sb).resume();

    await eventually(() => expect(sb.all('new_message')).toHaveLength(COUNT), { timeoutMs: 60_000, intervalMs: 50 });
    const seqs = sb.all('new_message').map((f) => f.data.seq);
    expect(seqs).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    const bytes = sb.all('new_message').reduce((n, f) => n + f.data.content.length, 0);
    expect(bytes).toBeGreaterThan(20_000_000);

    const sa = await chatSocket(server, a, room);
    sa.send({ type: 'send_message', data: { room_id: room, content: 'live', local_temp_id: 'live' } });
    expect((await sb.next('new_message', { where: (f) => f.data.content === 'live', timeoutMs: 10_000 })).data.seq).toBe(COUNT + 1);
    await settle(sb);
    expect(sb.all('new_message')).toHaveLength(COUNT + 1);
    expect(conn.closed).toBe(false);
    sa.close();
    sb.close();
    expect((await sb.closed).code).not.toBe(4008);
  }, 120_000);
});

describe('live events held behind a replay the client does not read', () => {
  it('are bounded: past RESUME_MAX_MESSAGES of them the socket is closed with 4008 and resumes later', async (t) => {
    const server = await startParley(t, { env: { ...env, RESUME_MAX_MESSAGES: '500' } });
    const { a, b, room } = await pair(server);
    await fillBacklog(server, a, room);
    const sb = new TestSocket(new WebSocket(`${server.wsUrl}/api/chat/ws?token=${encodeURIComponent(b.token)}&room_id=${room}&last_seq=0&last_change_seq=0`));
    await sb.opened;
    raw(sb).pause();
    await eventually(() => {
      const c = [...server.parley.hub.connections()].find((x) => x.user.id === b.user.id);
      expect(c!.socket.bufferedAmount).toBeGreaterThan(server.parley.config.wsSendBufferBytes / 8);
    }, { timeoutMs: 20_000 });
    const sa = await chatSocket(server, a, room);
    for (let i = 0; i < 501; i++) sa.send({ type: 'send_message', data: { room_id: room, content: `live ${i}`, local_temp_id: `l${i}` } });
    await sa.next('new_message', { where: (f) => f.data.local_temp_id === 'l500', timeoutMs: 30_000 });
    raw(sb).resume();
    // Either the socket is closed, or (unbounded) the whole replay and every held event arrive.
    const end = await Promise.race([sb.closed, sb.next('new_message', { where: (f) => f.data.content === 'live 500', timeoutMs: 60_000 }).then(() => null)]);
    expect(end?.code).toBe(4008);
    sa.close();
  }, 120_000);
});

describe('the SDK resuming a backlog bigger than the send buffer', () => {
  const server = useParley({ env });

  it('comes online once, with every message, and never reconnects in a loop', async () => {
    const ref: ServerRef = { url: server.url };
    const ann = await registered(ref, 'Ann');
    const bob = await registered(ref, 'Bob');
    const conv = await ann.createDirect(bob.user!.id);
    // Bob's cursor for the conversation starts before every message.
    await bob.listConversations();
    await fillBacklog(server, { token: ann.token! }, conv.id);

    const rb = record(bob);
    const online = bob.connect();
    await Promise.race([online, new Promise((_, reject) => setTimeout(() => reject(new Error(`not online after 60 s: ${rb.of('status').filter((x) => x.code === 4008).length} sockets closed with 4008`)), 60_000))]);
    await eventually(() => expect(rb.of('message')).toHaveLength(COUNT), { timeoutMs: 30_000, intervalMs: 50 });
    expect(rb.of('message').map((f) => f.message.seq)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    const statuses = rb.of('status');
    expect(statuses.filter((s) => s.code === 4008)).toEqual([]);
    expect(statuses.filter((s) => s.status === 'online')).toHaveLength(1);
    ann.disconnect();
    bob.disconnect();
  }, 120_000);
});
