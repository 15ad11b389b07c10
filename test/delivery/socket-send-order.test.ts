import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatHistory, connectedPair, eventually, type Frame, type TestSocket } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';

// A socket's frames run one after another, but a send lets the next frame start as soon as it
// is queued for its commit (not once it is on disk), so a client's sends in a row overlap.
// The rule across those sends: each socket's messages take their seqs in the order the socket
// sent them, each send is acked once, and every socket in the room sees every message once,
// in seq order. On SQLite (one writer, batches in order) and PostgreSQL (batches side by side,
// never two on one conversation).
describe.each(databases)('%s: sends in a row from one socket keep their order', (db) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startParley({ db });
  });
  afterAll(() => server.close());

  const roomFrames = (s: TestSocket, room: number) => s.all('new_message').filter((f: Frame) => f.data.room_id === room);

  it('property: any bursts from two sockets, sent without waiting: seqs follow each socket order, one ack per send, every socket sees every message once in seq order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ from: fc.integer({ min: 0, max: 1 }), burst: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 6 }), async (steps) => {
        const { a, room, sa, sb } = await connectedPair(server);
        const sockets = [sa, sb];
        const sentBy: string[][] = [[], []];
        let n = 0;
        for (const step of steps) {
          for (let k = 0; k < step.burst; k++) {
            const tempId = `s${step.from}-${++n}`;
            sentBy[step.from].push(tempId);
            sockets[step.from].send({ type: 'send_message', data: { room_id: room, message_type: 'text', content: tempId, local_temp_id: tempId } });
          }
        }
        const total = n;
        // One ack per send, on the sender's socket (is_sender), and every message on both.
        await eventually(() => sockets.forEach((s) => expect(roomFrames(s, room)).toHaveLength(total)), { timeoutMs: 10_000 });
        const history = (await chatHistory(server, a, room)).messages;
        expect(history.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        const seqOf = new Map(history.map((m) => [m.content as string, m.seq as number]));
        for (const [i, s] of sockets.entries()) {
          const seqs = sentBy[i].map((t) => seqOf.get(t)!);
          expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
          const frames = roomFrames(s, room);
          expect(frames.map((f) => f.data.seq)).toEqual(history.map((m) => m.seq));
          const acks = frames.filter((f) => f.data.is_sender === true).map((f) => f.data.local_temp_id);
          expect(acks).toEqual(sentBy[i]);
          expect(s.all('error')).toEqual([]);
        }
        sa.close();
        sb.close();
      }),
      { numRuns: 15, seed: 4242 },
    );
  }, 120_000);
});
