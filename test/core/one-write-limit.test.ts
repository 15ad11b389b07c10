import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useParley, type TestServer } from '../helpers/parley.js';
import { api, newUser, openSocket, type TestSocket, type TestUser, sleep } from '../helpers/clients.js';

// One write budget per user (RATE_REST_WRITES_PER_SECOND / _BURST), whatever carries the
// write: REST, or a socket frame that changes stored state, on any dialect and any number of
// sockets. Five sockets used to give five times the budget (134 reaction writes/s).

const RATE = 5;
const BURST = 10;

interface Fixture {
  a: TestUser;
  /** A message of b in a direct conversation with a: its integer id (parley) and uuid (003). */
  messageId: number;
  messageUuid: string;
  conversationId: number;
}

async function fixture(server: TestServer): Promise<Fixture> {
  const [a, b] = [await newUser(server), await newUser(server)];
  const conv = await api(server, 'POST', '/api/parley/conversations', { token: b.token, json: { kind: 'direct', user_id: a.user.id } });
  const msg = await api(server, 'POST', `/api/parley/conversations/${conv.body.id}/messages`, { token: b.token, json: { content: 'react to me' } });
  expect(msg.status).toBe(201);
  return { a, messageId: msg.body.id, messageUuid: msg.body.uuid, conversationId: conv.body.id };
}

type Via = 'parley' | 'notifications' | 'chat';

/** A socket of `u` on one dialect, ready for frames. */
async function socket(server: TestServer, u: TestUser, via: Via, f: Fixture): Promise<TestSocket> {
  const t = encodeURIComponent(u.token);
  if (via === 'parley') {
    const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${t}`);
    await s.next('ready');
    return s;
  }
  if (via === 'notifications') {
    const s = await openSocket(`${server.wsUrl}/ws/chat/${u.user.tenant_id}/?token=${t}`);
    await s.next('connection_established');
    return s;
  }
  const s = await openSocket(`${server.wsUrl}/api/chat/ws?token=${t}&room_id=${f.conversationId}`);
  s.send({ type: 'ping' });
  await s.next('pong');
  return s;
}

/** The i-th write frame of a dialect: a reaction toggled, a like, a read mark. */
function writeFrame(via: Via, f: Fixture, i: number): Record<string, unknown> {
  const on = i % 2 === 0;
  if (via === 'parley') return { type: 'react', message_id: f.messageId, emoji: '👍', on };
  if (via === 'notifications') return { type: on ? 'add_reaction' : 'remove_reaction', message_id: f.messageUuid, emoji: '🎉' };
  return i % 3 === 0 ? { type: 'mark_read', data: { room_id: f.conversationId } } : { type: 'like_message', data: { message_id: f.messageId } };
}

/** Waits until every frame sent on `s` so far was handled (frames are handled in order); returns the rate_limited refusals. */
async function refusals(s: TestSocket): Promise<number> {
  s.send({ type: 'ping' });
  await s.next('pong', { timeoutMs: 15_000 });
  return s.frames.filter((f) => f.code === 'rate_limited').length;
}

describe('one write budget per user across REST and socket frames', () => {
  const server = useParley({ env: { RATE_REST_WRITES_PER_SECOND: String(RATE), RATE_REST_WRITES_BURST: String(BURST) } });

  it('five sockets of one user reacting as fast as they can get no more than burst + rate·t in total', async () => {
    const f = await fixture(server);
    const sockets = await Promise.all(Array.from({ length: 5 }, () => socket(server, f.a, 'parley', f)));
    // Each socket sends a frame every 5 ms for 2 s: far past the budget all along.
    let sent = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 2000) {
      for (const s of sockets) s.send(writeFrame('parley', f, sent++));
      await sleep(5);
    }
    const refused = (await Promise.all(sockets.map(refusals))).reduce((x, y) => x + y, 0);
    const seconds = (performance.now() - t0) / 1000;
    const accepted = sent - refused;
    console.log(`5 sockets, ${sent} reaction frames in ${seconds.toFixed(2)} s: ${accepted} accepted (${(accepted / seconds).toFixed(1)}/s; budget ${BURST} + ${RATE}/s)`);
    expect(accepted).toBeLessThanOrEqual(BURST + Math.ceil(RATE * seconds) + 1);
    expect(accepted).toBeGreaterThanOrEqual(BURST);
    // A refusal says when to try again, as a 429's Retry-After does.
    const refusal = sockets.flatMap((s) => s.frames).find((fr) => fr.code === 'rate_limited')!;
    expect(refusal).toMatchObject({ type: 'error', retry_after_ms: expect.any(Number) });
    for (const s of sockets) s.close();
  }, 60_000);

  it('sends, typing and pings do not spend it', async () => {
    const f = await fixture(server);
    const s = await socket(server, f.a, 'parley', f);
    for (let i = 0; i < BURST; i++) s.send(writeFrame('parley', f, i));
    expect(await refusals(s)).toBe(0);
    for (let i = 0; i < 30; i++) s.send({ type: 'typing', conversation_id: f.conversationId, is_typing: i % 2 === 0 });
    s.send({ type: 'send', conversation_id: f.conversationId, content: 'still sending', local_temp_id: 'not-a-write' });
    await s.next('message', { where: (m) => m.message?.local_temp_id === 'not-a-write' });
    expect(await refusals(s)).toBe(0);
    s.send(writeFrame('parley', f, BURST));
    expect(await refusals(s)).toBe(1);
  });

  it('property: across any mix of dialects, sockets and REST, accepted writes ≤ burst + rate·t', async () => {
    const step = fc.record({ via: fc.constantFrom<'rest' | Via>('rest', 'parley', 'notifications', 'chat'), socket: fc.nat({ max: 2 }), pauseMs: fc.constantFrom(0, 0, 0, 20, 80) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: BURST, maxLength: 45 }), async (steps) => {
        const f = await fixture(server);
        const sockets = new Map<string, TestSocket>();
        for (const st of steps) {
          if (st.via === 'rest') continue;
          const key = `${st.via}:${st.socket}`;
          if (!sockets.has(key)) sockets.set(key, await socket(server, f.a, st.via, f));
        }
        let restAccepted = 0;
        let socketWrites = 0;
        const t0 = performance.now();
        for (const [i, st] of steps.entries()) {
          if (st.pauseMs) await sleep(st.pauseMs);
          if (st.via === 'rest') {
            const r = await api(server, 'PUT', `/api/parley/messages/${f.messageId}/reactions/${encodeURIComponent(i % 2 ? '👍' : '👀')}`, { token: f.a.token });
            expect([200, 429]).toContain(r.status);
            if (r.status === 200) restAccepted++;
          } else {
            sockets.get(`${st.via}:${st.socket}`)!.send(writeFrame(st.via, f, i));
            socketWrites++;
          }
        }
        let refused = 0;
        for (const s of sockets.values()) refused += await refusals(s);
        const seconds = (performance.now() - t0) / 1000;
        const accepted = restAccepted + socketWrites - refused;
        for (const s of sockets.values()) s.close();
        expect(accepted, `${accepted} accepted in ${seconds.toFixed(2)} s`).toBeLessThanOrEqual(BURST + RATE * seconds + 1);
        // And the budget is really there to spend: the first BURST writes are not refused.
        expect(accepted).toBeGreaterThanOrEqual(Math.min(steps.length, BURST));
      }),
      { numRuns: 8 },
    );
  }, 120_000);
});
