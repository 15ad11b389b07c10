import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { chatHistory, chatSocket, eventually, type TestSocket, pair, sleep } from '../helpers/clients.js';

// Delivery contract 2 under load: seq is gapless and strictly increasing per conversation,
// and every socket sees every message once, in seq order, whoever sent it from where.

const PER_SOCKET = 100;

describe.each(databases)('order under concurrency on %s', (db) => {
  const server = useParley({ db });

  it('two users on two devices each blast 200 messages at once: every socket sees seq 1..N once, in order; REST agrees', async () => {
    const { a, b, room } = await pair(server);
    const sockets: { s: TestSocket; name: string; sender: typeof a; to: typeof a }[] = [
      { s: await chatSocket(server, a, room), name: 'a1', sender: a, to: b },
      { s: await chatSocket(server, a, room), name: 'a2', sender: a, to: b },
      { s: await chatSocket(server, b, room), name: 'b1', sender: b, to: a },
      { s: await chatSocket(server, b, room), name: 'b2', sender: b, to: a },
    ];
    const total = sockets.length * PER_SOCKET;

    // Interleave the four sockets' frames so all of them are in flight together.
    for (let i = 0; i < PER_SOCKET; i++) {
      for (const { s, name, to } of sockets) {
        s.send({ type: 'send_message', data: { room_id: room, receiver_id: to.user.id, message_type: 'text', content: `${name} #${i}`, local_temp_id: `${name}-${i}` } });
      }
    }
    for (const { s } of sockets) {
      await eventually(() => expect(s.all('new_message').length).toBeGreaterThanOrEqual(total), { timeoutMs: 20_000, intervalMs: 50 });
    }
    await sleep(300); // a late duplicate would show up by now

    const expectedSeqs = Array.from({ length: total }, (_, i) => i + 1);
    const reference = new Map<number, { id: number; content: string; sender: number }>();
    for (const { s, name, sender } of sockets) {
      expect(s.all('error'), `${name} got error frames`).toEqual([]);
      const frames = s.all('new_message').map((f) => f.data);
      // Strictly increasing and gapless: exactly 1..N in arrival order, nothing twice, nothing missing.
      expect(frames.map((d) => d.seq), `${name} seq order`).toEqual(expectedSeqs);
      for (const d of frames) {
        const ref = reference.get(d.seq);
        if (!ref) reference.set(d.seq, { id: d.id, content: d.content, sender: d.sender_id });
        else expect({ id: d.id, content: d.content, sender: d.sender_id }, `${name} seq ${d.seq}`).toEqual(ref);
        expect(d.is_sender).toBe(d.sender_id === sender.user.id);
      }
      // This socket's own sends: each acked once with its local_temp_id, in the order sent.
      const acks = frames.filter((d) => typeof d.local_temp_id === 'string' && d.local_temp_id.startsWith(`${name}-`));
      expect(acks.map((d) => d.local_temp_id)).toEqual(Array.from({ length: PER_SOCKET }, (_, i) => `${name}-${i}`));
      expect(acks.map((d) => d.content)).toEqual(Array.from({ length: PER_SOCKET }, (_, i) => `${name} #${i}`));
    }
    // Each socket's messages took seqs in the order that socket sent them.
    for (const { name } of sockets) {
      const mine = [...reference.entries()].filter(([, m]) => m.content.startsWith(`${name} #`)).sort(([x], [y]) => x - y);
      expect(mine.map(([, m]) => m.content)).toEqual(Array.from({ length: PER_SOCKET }, (_, i) => `${name} #${i}`));
    }

    // REST history agrees with what the sockets saw, from both sides.
    for (const u of [a, b]) {
      const h = await chatHistory(server, u, room);
      expect(h.total).toBe(total);
      expect(h.messages.map((m) => m.seq)).toEqual(expectedSeqs);
      for (const m of h.messages) expect({ id: m.id, content: m.content, sender: m.sender_id }).toEqual(reference.get(m.seq));
    }
    for (const { s } of sockets) s.close();
  });
});
