import { describe, expect, it } from 'vitest';
import { useTwoProcesses } from '../helpers/parley.js';
import { api, chatHistory, chatSocket, eventually, newRoom, newUser, RoomView } from '../helpers/clients.js';
import { hasPostgres } from '../helpers/pg.js';

const redisUrl = process.env.REDIS_URL;

// Fault run parley_fault_2e8087add0: three sockets of a room joined process 1 right after the
// room's last socket there had left, with their cursors, while others sent and edited through
// other processes; they missed a block of change_seqs (new messages and edits) for good.
describe.skipIf(!hasPostgres || !redisUrl)('a room left and rejoined on one process while both write', () => {
  const [a, b] = useTwoProcesses({ REORDER_WAIT_MS: '50' });

  it('a socket that rejoins with its cursor ends with every message and every edit, round after round', async () => {
    const alice = await newUser(a);
    const bob = await newUser(b);
    const room = await newRoom(b, alice, bob);
    const writer = await chatSocket(b, bob, room);
    const ids: number[] = [];
    let n = 0;
    const sendOne = async () => {
      const t = `m${n++}`;
      writer.send({ type: 'send_message', data: { room_id: room, content: t, local_temp_id: t } });
      const ack = await writer.next('new_message', { where: (f) => f.data.local_temp_id === t, timeoutMs: 10_000 });
      ids.push(ack.data.id);
    };
    for (let i = 0; i < 6; i++) await sendOne();

    const view = new RoomView();
    let sock = await chatSocket(a, alice, room);
    // Nothing is written until the first round: the history is where this device starts.
    view.start((await chatHistory(a, alice, room)).messages);
    const rounds = process.env.CI ? 25 : 60;
    for (let round = 0; round < rounds; round++) {
      // Alice sends and her socket, the room's only one on `a`, leaves before the ack; sends
      // and edits race her next join, which sends again what was not acked.
      const mine = { type: 'send_message', data: { room_id: room, content: `a${round}`, local_temp_id: `a${round}` } };
      sock.send(mine);
      view.take(sock);
      sock.close();
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 3; i++) {
        writes.push(sendOne());
        const id = ids[(round * 3 + i) % ids.length];
        // Edits through `a` and sends through `b`: two publishers, whose events may cross.
        writes.push(api(a, 'PUT', `/api/chat/messages/${id}`, { token: bob.token, json: { content: `edit ${round}.${i}` } }));
      }
      sock = await chatSocket(a, alice, room, `&last_seq=${view.maxSeq}&last_change_seq=${view.maxChangeSeq}`);
      sock.send(mine);
      await Promise.all(writes);
      const history = await chatHistory(b, bob, room);
      const want = new Map(history.messages.map((m) => [m.seq, m.content]));
      await eventually(
        () => {
          view.take(sock);
          expect(view.contents(), `round ${round}`).toEqual(want);
        },
        { timeoutMs: 3_000, intervalMs: 25 },
      );
    }
    sock.close();
    writer.close();
  }, 120_000);
});
