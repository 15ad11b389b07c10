// Issue 21, item 7: document 003's own client sends start_typing on every keystroke (its
// handleTyping), about 25 per message. The other members hear a typing burst once: one
// typing_indicator true, then one false (the message ends the burst, or the mark expires),
// however many keystrokes, and across processes a renewal through another one is no start.
import { describe, expect, it } from 'vitest';
import { useParley, useTwoProcesses, type TestServer } from '../../helpers/parley.js';
import { hasPostgres } from '../../helpers/pg.js';
import { api, chatSocket, type TestSocket } from '../../helpers/clients.js';
import { conversationWith, databases, settle, sleep, socket003, users } from './support.js';

const TTL = 500;
const KEYSTROKES = 25;

const indicators = (s: TestSocket, conv: string, userUuid: string) =>
  s.all('typing_indicator').filter((f) => f.conversation_id === conv && f.user_id === userUuid).map((f) => f.is_typing);

/** A typist and two listeners in one group, each socket on the server given (all on one by default). */
async function group(servers: { typist: TestServer; listeners: [TestServer, TestServer] }) {
  const [a, b, c] = await users(servers.typist, 3);
  const conv = await conversationWith(servers.typist, a, [b, c]);
  const sa = await socket003(servers.typist, a, [conv]);
  const sb = await socket003(servers.listeners[0], b, [conv]);
  const sc = await socket003(servers.listeners[1], c, [conv]);
  return { a, conv, sa, listeners: [sb, sc] };
}

const keystrokes = (s: TestSocket, conv: string, n = KEYSTROKES) => {
  for (let i = 0; i < n; i++) s.send({ type: 'start_typing', conversation_id: conv });
};

describe.each(databases)('003 typing fan-out on %s', (db) => {
  const server = useParley({ db, env: { TYPING_TTL_MS: String(TTL) } });

  it('25 start_typing then a message: the others hear one start and one stop; the next keystroke starts again', async () => {
    const { a, conv, sa, listeners } = await group({ typist: server, listeners: [server, server] });
    keystrokes(sa, conv);
    sa.send({ type: 'send_message', conversation_id: conv, content: 'Hello world!', message_type: 'text' });
    for (const s of listeners) {
      await s.next('new_message');
      expect((await s.next('typing_indicator', { where: (f) => !f.is_typing })).user_id).toBe(a.user.uuid);
    }
    // The next message's first keystroke is a start again (the message ended the burst).
    keystrokes(sa, conv);
    for (const s of listeners) await s.next('typing_indicator', { where: (f) => f.is_typing });
    // Not sent, and no stop_typing (the documented client sends none after a send): it expires, once.
    for (const s of listeners) await s.next('typing_indicator', { where: (f) => !f.is_typing, timeoutMs: TTL + 3_000 });
    await settle(sa, TTL);
    for (const s of listeners) expect(indicators(s, conv, a.user.uuid)).toEqual([true, false, true, false]);
    expect(sa.all('typing_indicator')).toEqual([]);
  });

  it('a member on /api/chat (000/001) hears the same burst: one typing frame each way', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const room = (await api(server, 'GET', '/api/chat/rooms', { token: b.token })).body.rooms.find((r: { uuid: string }) => r.uuid === conv);
    const chatB = await chatSocket(server, b, room.id);
    const sa = await socket003(server, a, [conv]);
    keystrokes(sa, conv);
    sa.send({ type: 'send_message', conversation_id: conv, content: 'Hello world!', message_type: 'text' });
    await chatB.next('new_message');
    await chatB.next('typing', { where: (f) => !f.data.is_typing });
    await settle(sa);
    expect(chatB.all('typing').map((f) => [f.data.user_id, f.data.is_typing, f.data.typing_users])).toEqual([
      [a.user.id, true, [a.user.id]],
      [a.user.id, false, []],
    ]);
  });

  it('stop_typing is told once; a stop of someone not typing is not told', async () => {
    const { a, conv, sa, listeners } = await group({ typist: server, listeners: [server, server] });
    keystrokes(sa, conv, 5);
    for (let i = 0; i < 3; i++) sa.send({ type: 'stop_typing', conversation_id: conv });
    for (const s of listeners) await s.next('typing_indicator', { where: (f) => !f.is_typing });
    await settle(sa, TTL + 200);
    for (const s of listeners) expect(indicators(s, conv, a.user.uuid)).toEqual([true, false]);
  });
});

describe.skipIf(!hasPostgres || !process.env.REDIS_URL)('003 typing fan-out on two processes (PostgreSQL + Redis)', () => {
  const [p, q] = useTwoProcesses({ TYPING_TTL_MS: String(TTL) });

  it('keystrokes through both processes: one start; the expiry is told once, at the last renewal + TTL', async () => {
    const { a, conv, sa, listeners } = await group({ typist: p, listeners: [p, q] });
    // The typist's second device, on the other process.
    const sa2 = await socket003(q, a, [conv]);
    keystrokes(sa, conv, 12);
    for (const s of listeners) await s.next('typing_indicator', { where: (f) => f.is_typing });
    // Half a TTL later, the renewals through the other process: the mark lasts from them.
    await sleep(TTL / 2);
    const renewedFrom = Date.now();
    keystrokes(sa2, conv, 13);
    for (const s of listeners) await s.next('typing_indicator', { where: (f) => !f.is_typing, timeoutMs: TTL * 2 + 3_000 });
    // One clock (this machine's, Redis's too); a few ms for a timer firing a hair early.
    expect(Date.now() - renewedFrom).toBeGreaterThanOrEqual(TTL - 10);
    await settle(sa, TTL);
    for (const s of listeners) expect(indicators(s, conv, a.user.uuid)).toEqual([true, false]);
  });

  it('25 keystrokes on one process, the message through it: one start, one stop on both processes', async () => {
    const { a, conv, sa, listeners } = await group({ typist: p, listeners: [p, q] });
    keystrokes(sa, conv);
    sa.send({ type: 'send_message', conversation_id: conv, content: 'Hello world!', message_type: 'text' });
    for (const s of listeners) await s.next('typing_indicator', { where: (f) => !f.is_typing });
    await settle(sa, TTL + 200);
    for (const s of listeners) expect(indicators(s, conv, a.user.uuid)).toEqual([true, false]);
  });
});
