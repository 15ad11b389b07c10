import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { CachedStore } from '../../src/backends/store/cached-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import type { SqliteRunner, WalSync } from '../../src/backends/store/sqlite-store.js';
import { chatHistory, chatSocket, connectedPair, eventually, expectNoFrame, newRoom, newUser, sleep, type Frame, type TestSocket } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';

// SQLite commits, then flushes its WAL to disk (WalSync). A committed message goes to the
// other sockets at once (a killed process keeps it, and readers see it), but the sender's ack
// promises the disk: it waits for the flush, and so does everything after it on the sender's
// socket in that conversation. A flush that fails fails the send: no ack, and a retry of its
// local_temp_id answers the message the others got, once.

/**
 * Every WAL flush waits for the gate in place when it is asked for; `open()` lets those through
 * and `fail()` fails them, and either puts a new closed gate in place at once.
 */
function flushGates(server: TestServer) {
  const runner = ((server.parley.store as CachedStore).inner as SqlStore).runner as SqliteRunner;
  const wal = runner.wal as WalSync;
  const real = wal.durable.bind(wal);
  let current!: { promise: Promise<boolean>; settle: (ok: boolean) => void };
  const fresh = () => {
    let settle!: (ok: boolean) => void;
    const promise = new Promise<boolean>((r) => (settle = r));
    current = { promise, settle };
  };
  fresh();
  const gated = () => current.promise.then((ok) => (ok ? real() : Promise.reject(new Error('disk full'))));
  const next = (ok: boolean) => {
    const was = current;
    fresh();
    was.settle(ok);
  };
  return {
    /** From now on flushes wait for the gates. */
    hold: () => void (wal.durable = gated),
    open: () => next(true),
    fail: () => next(false),
    /** Flushes run as they come again; the held ones go through. */
    restore: () => ((wal.durable = real), next(true)),
  };
}

const send = (s: TestSocket, room: number, content: string, tempId: string) =>
  s.send({ type: 'send_message', data: { room_id: room, message_type: 'text', content, local_temp_id: tempId } });
const newMessage = (s: TestSocket, where: (f: Frame) => boolean, timeoutMs = 5000) => s.next('new_message', { where, timeoutMs });

describe('SQLite: the others get a message at its commit, the sender its ack after the flush', () => {
  let server: TestServer | null = null;
  let gates: ReturnType<typeof flushGates> | null = null;
  afterEach(async () => {
    gates?.restore();
    await server?.close();
    server = gates = null;
  });

  /** A fresh server, a pair with a socket each in their room, and the server's flushes held from now on. */
  async function gatedPair() {
    server = await startParley({});
    const pair = await connectedPair(server);
    gates = flushGates(server);
    gates.hold();
    return { ...pair, server, gates };
  }

  it('the recipient has it while the flush is held; the sender gets its ack, then what followed, once the flush is done', async () => {
    const { a, room, sa, sb, server, gates } = await gatedPair();
    send(sa, room, 'one', 'tmp-1');
    const atB = await newMessage(sb, (f) => f.data.local_temp_id === 'tmp-1');
    expect(atB.data).toMatchObject({ content: 'one', seq: 1 });
    // The reply commits too, and reaches the recipient's own socket; the sender's socket
    // shows nothing of the conversation before its ack.
    send(sb, room, 'two', 'tmp-2');
    await eventually(async () => expect((await chatHistory(server, a, room)).messages.map((m) => m.content)).toContain('two'));
    await expectNoFrame(sa, 300, { type: 'new_message' });
    gates.restore();
    const first = await newMessage(sa, () => true);
    const second = await newMessage(sa, () => true);
    expect([first.data.local_temp_id, first.data.is_sender, first.data.seq]).toEqual(['tmp-1', true, 1]);
    expect([second.data.content, second.data.is_sender, second.data.seq]).toEqual(['two', false, 2]);
    expect(first.data.id).toBe(atB.data.id);
  });

  // A socket's frames run in order, but its next send starts once the one before has its place
  // in the writer's queue, not once that one is on disk: sends in a row from one socket share
  // flushes instead of waiting for each other's.
  it("one socket's sends in a row all reach the recipient while the flush is held, in send order; their acks follow it, in the same order", async () => {
    const { sa, sb, room, gates } = await gatedPair();
    for (const k of [1, 2, 3]) send(sa, room, `burst ${k}`, `tmp-b${k}`);
    const atB = [];
    for (const k of [1, 2, 3]) atB.push(await newMessage(sb, (f) => f.data.local_temp_id === `tmp-b${k}`));
    expect(atB.map((f) => [f.data.content, f.data.seq])).toEqual([
      ['burst 1', 1],
      ['burst 2', 2],
      ['burst 3', 3],
    ]);
    await expectNoFrame(sa, 200, { type: 'new_message' });
    gates.restore();
    const acks = [await newMessage(sa, () => true), await newMessage(sa, () => true), await newMessage(sa, () => true)];
    expect(acks.map((f) => [f.data.local_temp_id, f.data.seq, f.data.is_sender])).toEqual([
      ['tmp-b1', 1, true],
      ['tmp-b2', 2, true],
      ['tmp-b3', 3, true],
    ]);
  });

  // Only sends overlap: any other frame waits until the frames before it have settled, so a
  // room change right after a send does not take the socket off the room before its ack.
  it('join_room right after a send waits for that send: the ack reaches the socket first, then room_joined', async () => {
    server = await startParley({});
    const { a, sa, sb, room } = await connectedPair(server);
    // Made before the flushes are held: a REST write waits for its flush.
    const other = await newRoom(server, a, await newUser(server));
    const gated = (gates = flushGates(server));
    gated.hold();
    send(sa, room, 'before the switch', 'tmp-j1');
    sa.send({ type: 'join_room', data: { room_id: other } });
    await newMessage(sb, (f) => f.data.local_temp_id === 'tmp-j1');
    await expectNoFrame(sa, 200, { type: 'room_joined' });
    gated.restore();
    const ack = await newMessage(sa, (f) => f.data.local_temp_id === 'tmp-j1');
    expect([ack.data.is_sender, ack.data.room_id]).toEqual([true, room]);
    const joined = await sa.next('room_joined', { timeoutMs: 5000 });
    expect(joined.data.room_id).toBe(other);
    expect(sa.frames.indexOf(ack)).toBeLessThan(sa.frames.indexOf(joined));
  });

  it('a flush that fails fails the send: no ack, the others keep it, and its retry is acked with the same message, once', async () => {
    const { a, room, sa, sb, server, gates } = await gatedPair();
    send(sa, room, 'lost ack', 'tmp-9');
    const atB = await newMessage(sb, (f) => f.data.local_temp_id === 'tmp-9');
    gates.fail();
    expect(await sa.next('error', { timeoutMs: 5000 })).toBeTruthy();
    await expectNoFrame(sa, 200, { type: 'new_message' });
    gates.restore();
    send(sa, room, 'lost ack', 'tmp-9');
    const ack = await newMessage(sa, (f) => f.data.local_temp_id === 'tmp-9');
    expect([ack.data.id, ack.data.seq, ack.data.is_sender]).toEqual([atB.data.id, atB.data.seq, true]);
    const history = await chatHistory(server, a, room);
    expect(history.messages.filter((m) => m.content === 'lost ack')).toHaveLength(1);
  });

  it('property: whatever the sends and flushes, each socket gets the room in seq order and each message once; no ack before its flush, none for a failed one', async () => {
    server = await startParley({});
    const srv = server;
    const gated = (gates = flushGates(srv));
    const action = fc.oneof(
      { weight: 3, arbitrary: fc.record({ t: fc.constant('send' as const), from: fc.integer({ min: 0, max: 2 }) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('open' as const, 'fail' as const) }) },
    );
    await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 10 }), async (actions) => {
          // a on two devices, b on one, all in their direct room.
          const { a, room, sa, sb } = await connectedPair(srv);
          const sockets = [sa, await chatSocket(srv, a, room), sb];
          gated.hold();
          const roomFrames = (s: TestSocket) => s.all('new_message').filter((f) => f.data.room_id === room);
          const sentBy: string[][] = [[], [], []];
          // A socket's acks: its own sends coming back (a's other device sees them too).
          const acksOf = (i: number) => roomFrames(sockets[i]).filter((f) => f.data.is_sender === true && sentBy[i].includes(String(f.data.local_temp_id)));
          /** Temp ids sent since the last gate action: their flushes all wait behind a closed gate. */
          let unflushed: { socket: number; tempId: string }[] = [];
          let n = 0;
          // The history has no local_temp_id: each content is told apart.
          const tempOf = new Map<string, string>();
          const noAckYet = async () => {
            await sleep(30);
            for (const u of unflushed) expect(acksOf(u.socket).map((f) => f.data.local_temp_id)).not.toContain(u.tempId);
          };
          for (const act of actions) {
            if (act.t === 'send') {
              const tempId = `${act.from === 2 ? 'b' : 'a'}-${act.from}-${++n}`;
              send(sockets[act.from], room, `m${n}`, tempId);
              tempOf.set(`m${n}`, tempId);
              sentBy[act.from].push(tempId);
              unflushed.push({ socket: act.from, tempId });
            } else {
              await noAckYet();
              if (act.t === 'open') gated.open();
              else gated.fail();
              unflushed = [];
            }
          }
          await noAckYet();
          gated.restore();
          // Every send is answered: an ack, or an error for a failed flush.
          await eventually(() => sockets.forEach((s, i) => expect(acksOf(i).length + s.all('error').length).toBe(sentBy[i].length)), { timeoutMs: 5000 });
          const history = (await chatHistory(srv, a, room)).messages;
          const failed = sockets.map((_, i) => new Set(sentBy[i].filter((t) => !acksOf(i).some((f) => f.data.local_temp_id === t))));
          for (const [i, s] of sockets.entries()) {
            const seqs = roomFrames(s).map((f) => f.data.seq as number);
            // In seq order, each once.
            expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
            expect(new Set(seqs).size).toBe(seqs.length);
            // Every committed message, but its own failed sends (their ack was never sent).
            const expected = history.filter((m) => !failed[i].has(tempOf.get(m.content)!)).map((m) => m.seq as number);
            await eventually(() => expect(roomFrames(s).map((f) => f.data.seq)).toEqual(expected), { timeoutMs: 3000 });
          }
          // Each socket's messages took their seqs in the order it sent them.
          for (const sent of sentBy) {
            const seqOf = new Map(history.map((m) => [tempOf.get(m.content)!, m.seq as number]));
            const seqs = sent.map((t) => seqOf.get(t));
            expect(seqs).toEqual([...seqs].sort((x, y) => x! - y!));
          }
          // A failed flush lost nothing committed: its messages are in the history, each once.
          const temps = history.map((m) => tempOf.get(m.content)!);
          expect(new Set(temps).size).toBe(temps.length);
          expect(temps.sort()).toEqual(sentBy.flat().sort());
          for (const s of sockets) s.close();
        }),
      { numRuns: 12, seed: 2112 },
    );
  }, 120_000);
});
