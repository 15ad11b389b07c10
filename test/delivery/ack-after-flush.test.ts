import { afterEach, describe, expect, it } from 'vitest';
import type { CachedStore } from '../../src/backends/store/cached-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import type { SqliteRunner, WalSync } from '../../src/backends/store/sqlite-store.js';
import { chatHistory, connectedPair, eventually, expectNoFrame, type Frame, type TestSocket } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';

// SQLite commits, then flushes its WAL to disk (WalSync). A committed message goes to the
// other sockets at once (a killed process keeps it, and readers see it), but the sender's ack
// promises the disk: it waits for the flush, and so does everything after it on the sender's
// socket in that conversation. A flush that fails fails the send: no ack, and a retry of its
// local_temp_id answers the message the others got, once.

/** Holds every WAL flush of `server` until `open()`; `fail()` makes the held ones and the next fail. */
function gateFlushes(server: TestServer) {
  const runner = ((server.parley.store as CachedStore).inner as SqlStore).runner as SqliteRunner;
  const wal = runner.wal as WalSync;
  const real = wal.durable.bind(wal);
  let release!: (ok: boolean) => void;
  let gate = new Promise<boolean>((r) => (release = r));
  let failing = false;
  wal.durable = () => gate.then((ok) => (ok && !failing ? real() : Promise.reject(new Error('disk full'))));
  return {
    open() {
      wal.durable = real;
      release(true);
    },
    fail() {
      failing = true;
      release(false);
      gate = Promise.resolve(false);
    },
    restore() {
      wal.durable = real;
      release(true);
    },
  };
}

const send = (s: TestSocket, room: number, content: string, tempId: string) =>
  s.send({ type: 'send_message', data: { room_id: room, message_type: 'text', content, local_temp_id: tempId } });
const newMessage = (s: TestSocket, where: (f: Frame) => boolean, timeoutMs = 5000) => s.next('new_message', { where, timeoutMs });

describe('SQLite: the others get a message at its commit, the sender its ack after the flush', () => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('the recipient has it while the flush is held; the sender gets its ack, then what followed, once the flush is done', async () => {
    server = await startParley({});
    const { a, room, sa, sb } = await connectedPair(server);
    const gate = gateFlushes(server);
    try {
      send(sa, room, 'one', 'tmp-1');
      const atB = await newMessage(sb, (f) => f.data.local_temp_id === 'tmp-1');
      expect(atB.data).toMatchObject({ content: 'one', seq: 1 });
      // The reply commits too, and reaches the recipient's own socket; the sender's socket
      // shows nothing of the conversation before its ack.
      send(sb, room, 'two', 'tmp-2');
      await eventually(async () => expect((await chatHistory(server!, a, room)).messages.map((m) => m.content)).toContain('two'));
      await expectNoFrame(sa, 300, { type: 'new_message' });
      gate.open();
      const first = await newMessage(sa, () => true);
      const second = await newMessage(sa, () => true);
      expect([first.data.local_temp_id, first.data.is_sender, first.data.seq]).toEqual(['tmp-1', true, 1]);
      expect([second.data.content, second.data.is_sender, second.data.seq]).toEqual(['two', false, 2]);
      expect(first.data.id).toBe(atB.data.id);
    } finally {
      gate.restore();
    }
  });

  it('a flush that fails fails the send: no ack, the others keep it, and its retry is acked with the same message, once', async () => {
    server = await startParley({});
    const { a, room, sa, sb } = await connectedPair(server);
    const gate = gateFlushes(server);
    try {
      send(sa, room, 'lost ack', 'tmp-9');
      const atB = await newMessage(sb, (f) => f.data.local_temp_id === 'tmp-9');
      gate.fail();
      const error = await sa.next('error', { timeoutMs: 5000 });
      expect(error.data ?? error).toBeTruthy();
      await expectNoFrame(sa, 200, { type: 'new_message' });
      gate.restore();
      send(sa, room, 'lost ack', 'tmp-9');
      const ack = await newMessage(sa, (f) => f.data.local_temp_id === 'tmp-9');
      expect([ack.data.id, ack.data.seq, ack.data.is_sender]).toEqual([atB.data.id, atB.data.seq, true]);
      const history = await chatHistory(server, a, room);
      expect(history.messages.filter((m) => m.content === 'lost ack')).toHaveLength(1);
    } finally {
      gate.restore();
    }
  });
});
