import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { chatHistory, chatSocket, type TestSocket, type TestUser, pair, sleep } from '../helpers/clients.js';

// A retried send (same local_temp_id from the same sender) returns the original message to
// the socket that retried, stores nothing new, and nobody else hears of it again.

const quiet = (ms = 300) => sleep(ms);

function send(s: TestSocket, room: number, to: TestUser, content: string, tempId: string) {
  s.send({ type: 'send_message', data: { room_id: room, receiver_id: to.user.id, message_type: 'text', content, local_temp_id: tempId } });
}

/** The next new_message on `s` carrying `tempId` (an ack or a retry's answer). */
const answer = (s: TestSocket, tempId: string) => s.next('new_message', { where: (f) => f.data.local_temp_id === tempId });

describe.each(databases)('retried local_temp_id on %s', (db) => {
  const server = useParley({ db });

  async function setup() {
    const { a, b, room } = await pair(server);
    const a1 = await chatSocket(server, a, room);
    const a2 = await chatSocket(server, a, room);
    const b1 = await chatSocket(server, b, room);
    /** Sends a marker from `a` and waits until every listed socket has it, then a little more. */
    const settle = async (sockets: TestSocket[], from: TestSocket = a1) => {
      const tag = `marker-${Math.random()}`;
      send(from, room, b, tag, tag);
      await Promise.all(sockets.map((s) => s.next('new_message', { where: (f) => f.data.content === tag })));
      await quiet();
    };
    return { a, b, room, a1, a2, b1, settle };
  }

  const withId = (s: TestSocket, id: number) => s.all('new_message').filter((f) => f.data.id === id);

  it('on the same socket: the original comes back (same id and seq), nothing new is stored, the others get it once', async () => {
    const { a, b, room, a1, a2, b1, settle } = await setup();
    send(a1, room, b, 'hello', 'tmp-1');
    const first = (await answer(a1, 'tmp-1')).data;
    await b1.next('new_message', { where: (f) => f.data.id === first.id });
    const before = await chatHistory(server, a, room);
    expect(before.total).toBe(1);

    // Same local_temp_id, even with other content: the stored original is the answer.
    send(a1, room, b, 'hello (retry)', 'tmp-1');
    const again = (await answer(a1, 'tmp-1')).data;
    expect(again).toMatchObject({ id: first.id, uuid: first.uuid, seq: first.seq, content: 'hello', local_temp_id: 'tmp-1', is_sender: true });

    // Three more, back to back, while earlier ones may still be committing.
    for (let i = 0; i < 3; i++) send(a1, room, b, 'hello', 'tmp-1');
    for (let i = 0; i < 3; i++) expect((await answer(a1, 'tmp-1')).data).toMatchObject({ id: first.id, seq: first.seq });

    await settle([a1, a2, b1]);
    expect(withId(b1, first.id)).toHaveLength(1);
    expect(withId(a2, first.id)).toHaveLength(1);
    expect(withId(a1, first.id)).toHaveLength(5); // the ack and four retries' answers
    const after = await chatHistory(server, b, room);
    expect(after.total).toBe(2); // the original and the marker
    expect(after.messages.filter((m) => m.content.startsWith('hello'))).toHaveLength(1);
    expect(after.messages.map((m) => m.seq)).toEqual([1, 2]);
    for (const s of [a1, a2, b1]) s.close();
  });

  it('after reconnecting on a new socket (the ack was lost): the original comes back, nothing new is stored', async () => {
    const { a, b, room, a1, a2, b1, settle } = await setup();
    // The sender's connection drops right after sending: it never sees the ack.
    send(a1, room, b, 'lost ack', 'tmp-lost');
    a1.close();
    await a1.closed;
    const original = (await b1.next('new_message', { where: (f) => f.data.content === 'lost ack' })).data;

    // A new socket in the room retries.
    const a3 = await chatSocket(server, a, room);
    send(a3, room, b, 'lost ack', 'tmp-lost');
    const retried = (await answer(a3, 'tmp-lost')).data;
    expect(retried).toMatchObject({ id: original.id, seq: original.seq, content: 'lost ack', is_sender: true });

    // A new socket that follows no room retries with the room named in the frame.
    const a4 = await chatSocket(server, a);
    send(a4, room, b, 'lost ack', 'tmp-lost');
    expect((await answer(a4, 'tmp-lost')).data).toMatchObject({ id: original.id, seq: original.seq });

    await settle([a2, a3, b1], a3);
    expect(withId(b1, original.id)).toHaveLength(1);
    expect(withId(a2, original.id)).toHaveLength(1);
    expect(withId(a3, original.id)).toHaveLength(1);
    expect(a4.all('new_message').map((f) => f.data.id)).toEqual([original.id]);
    const h = await chatHistory(server, a, room);
    expect(h.total).toBe(2);
    expect(h.messages.filter((m) => m.content === 'lost ack').map((m) => m.id)).toEqual([original.id]);
    for (const s of [a2, a3, a4, b1]) s.close();
  });

  it('two devices retrying the same local_temp_id at the same moment store it once', async () => {
    const { a, b, room, a1, a2, b1, settle } = await setup();
    for (let i = 0; i < 5; i++) {
      send(a1, room, b, `race ${i}`, `race-${i}`);
      send(a2, room, b, `race ${i}`, `race-${i}`);
    }
    for (let i = 0; i < 5; i++) {
      const [x, y] = [(await answer(a1, `race-${i}`)).data, (await answer(a2, `race-${i}`)).data];
      expect({ id: y.id, seq: y.seq }).toEqual({ id: x.id, seq: x.seq });
    }
    await settle([a1, a2, b1]);
    const h = await chatHistory(server, a, room);
    expect(h.total).toBe(6);
    expect(h.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // The receiver saw each message once.
    const got = b1.all('new_message').map((f) => f.data.content);
    expect(got).toEqual([...Array.from({ length: 5 }, (_, i) => `race ${i}`), expect.stringMatching(/^marker-/)]);
    for (const s of [a1, a2, b1]) s.close();
  });

  it('the same local_temp_id from another sender is a different message', async () => {
    const { a, b, room, a1, a2, b1, settle } = await setup();
    send(a1, room, b, 'from a', 'shared-id');
    const fromA = (await answer(a1, 'shared-id')).data;
    send(b1, room, a, 'from b', 'shared-id');
    const fromB = (await b1.next('new_message', { where: (f) => f.data.local_temp_id === 'shared-id' && f.data.is_sender })).data;
    expect(fromB.id).not.toBe(fromA.id);
    expect(fromB).toMatchObject({ content: 'from b', seq: 2, sender_id: b.user.id });
    await settle([a1, b1]);
    expect((await chatHistory(server, a, room)).total).toBe(3);
    for (const s of [a1, a2, b1]) s.close();
  });
});
