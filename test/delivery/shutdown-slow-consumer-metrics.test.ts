import { describe, expect, it } from 'vitest';
import { startParley } from '../helpers/parley.js';
import { api, chatHistory, chatSocket, eventually, newRoom, newUser, type TestSocket, connectedPair } from '../helpers/clients.js';

// Graceful shutdown, slow consumers and /metrics, on real sockets.

const acked = (s: TestSocket, prefix: string) =>
  new Set(s.all('new_message').filter((f) => String(f.data.local_temp_id ?? '').startsWith(prefix)).map((f) => f.data.local_temp_id as string));

describe('graceful shutdown', () => {
  it('under load: every send the server took is committed and acked before its socket is closed with 1001, and nothing else is stored', async (t) => {
    const server = await startParley();
    const users = await Promise.all([newUser(server), newUser(server)]);
    const room = await newRoom(server, users[0], users[1]);
    const sockets = [await chatSocket(server, users[0], room), await chatSocket(server, users[0], room), await chatSocket(server, users[1], room)];
    // Each socket keeps sending until the server closes it.
    const sent = sockets.map(() => 0);
    const pumps = sockets.map((s, k) => {
      const timer = setInterval(() => {
        for (let i = 0; i < 20; i++) s.send({ type: 'send_message', data: { room_id: room, content: `s${k} #${sent[k]}`, local_temp_id: `s${k}-${sent[k]++}` } });
      }, 2);
      return timer;
    });
    await eventually(() => expect(sockets[2].all('new_message').length).toBeGreaterThan(200), { timeoutMs: 20_000, intervalMs: 20 });
    await server.close({ keepData: true });
    for (const t of pumps) clearInterval(t);
    const closes = await Promise.all(sockets.map((s) => s.closed));
    expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001]);

    const restarted = await startParley(t, { data: server.data });
    const history = await chatHistory(restarted, users[0], room);
    const stored = new Set<string>();
    for (let page = 1, seen = 0; seen < history.total; page++) {
      const res = await api(restarted, 'GET', `/api/chat/rooms/${room}/messages?page=${page}&per_page=100`, { token: users[0].token });
      for (const m of res.body.messages) stored.add(`${m.content}`);
      seen += res.body.messages.length;
      if (res.body.messages.length === 0) break;
    }
    const ackedAll = new Set<string>();
    sockets.forEach((s, k) => {
      for (const id of acked(s, `s${k}-`)) ackedAll.add(`s${k} #${id.slice(id.indexOf('-') + 1)}`);
    });
    expect(ackedAll.size).toBeGreaterThan(200);
    expect(ackedAll.size).toBeLessThan(sent.reduce((a, b) => a + b, 0)); // some sends were not taken: they are retried elsewhere
    // Taken ⇔ committed ⇔ acked: no acknowledged message lost, no committed one left unacknowledged.
    expect([...stored].sort()).toEqual([...ackedAll].sort());
  });
});

describe('slow consumers', () => {
  it('a socket that stops reading is closed with 4008 once past WS_SEND_BUFFER_BYTES; the others get every message', async (t) => {
    const server = await startParley(t, { env: { WS_SEND_BUFFER_BYTES: String(256 * 1024), METRICS_TOKEN: 'metrics' } });
    const { b, room, sa: sender, sb: reader } = await connectedPair(server);
    const stalled = await chatSocket(server, b, room);
    // The stalled client stops reading: the kernel buffers fill, then the server's send buffer.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const n = 1500;
    const text = 'x'.repeat(3000);
    // Sent 50 at a time, each window once acked, as a client with a window does: a socket's
    // sends overlap, so an unbounded burst commits as batches of hundreds whose frames reach
    // every socket in one turn (and the test's readers share the server's event loop).
    for (let i = 0; i < n; i++) {
      sender.send({ type: 'send_message', data: { room_id: room, content: `${i} ${text}`, local_temp_id: `t${i}` } });
      if ((i + 1) % 50 === 0) await eventually(() => expect(sender.all('new_message').length).toBe(i + 1), { timeoutMs: 20_000, intervalMs: 10 });
    }
    await eventually(() => expect(reader.all('new_message').length).toBe(n), { timeoutMs: 30_000, intervalMs: 50 });
    expect(reader.all('new_message').map((f) => f.data.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(sender.all('new_message')).toHaveLength(n);
    (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await stalled.closed).code).toBe(4008);
    const received = stalled.all('new_message').length;
    expect(received).toBeLessThan(n);
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer metrics' } }).then((r) => r.text());
    expect(metrics).toMatch(/^parley_slow_consumer_closes_total 1$/m);
    sender.close();
    reader.close();
  });
});

describe('/metrics', () => {
  it('serves Prometheus text: connections, messages in and out, send-to-ack, fan-out, bus lag, batch sizes and batch times', async (t) => {
    // Not public (test/http/metrics-access.test.ts): METRICS_TOKEN opens it on the main port.
    const server = await startParley(t, { env: { METRICS_TOKEN: 'metrics' } });
    const { room, sa, sb } = await connectedPair(server);
    for (let i = 0; i < 10; i++) sa.send({ type: 'send_message', data: { room_id: room, content: `m${i}`, local_temp_id: `t${i}` } });
    await eventually(() => expect(sb.all('new_message')).toHaveLength(10));
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer metrics' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('parley_connections')).toBe(2);
    expect(value('parley_messages_in_total')).toBe(10);
    expect(value('parley_messages_out_total')).toBe(20); // each message to the sender (ack) and the receiver
    expect(value('parley_send_to_ack_seconds_count')).toBe(10);
    expect(value('parley_fanout_seconds_count')).toBeGreaterThanOrEqual(10);
    expect(value('parley_bus_lag_seconds_count')).toBeGreaterThanOrEqual(10);
    expect(value('parley_db_batch_size_sum')).toBe(10);
    // One duration per batch, each at least a moment: the writer's commits, timed to their disk.
    expect(value('parley_db_batch_seconds_count')).toBe(value('parley_db_batch_size_count'));
    expect(value('parley_db_batch_seconds_sum')).toBeGreaterThan(0);
    expect(text).toMatch(/^parley_process_resident_memory_bytes \d+/m);
    sa.close();
    sb.close();
  });
});
