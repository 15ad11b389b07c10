import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useParley, type TestServer, useTwoProcesses } from '../helpers/parley.js';
import { api, newUser, type TestUser, sleep } from '../helpers/clients.js';
import { hasPostgres } from '../helpers/pg.js';

// Every REST read of a user (GET, any dialect) takes from one budget per user,
// RATE_USER_READS_PER_SECOND / _BURST, kept in the rate limiter, so with Redis every process
// draws from the same bucket. Past it: 429 with Retry-After and {"detail"}.

const RATE = 2;
const BURST = 6;
const env = { RATE_USER_READS_PER_SECOND: String(RATE), RATE_USER_READS_BURST: String(BURST) };

/** One authenticated read of each dialect, and the shared accounts routes. */
function reads(room: number): string[] {
  return [
    '/api/parley/me',
    '/api/parley/conversations',
    `/api/parley/conversations/${room}/messages`,
    `/api/parley/conversations/${room}/changes?after_seq=0&after_change_seq=0`,
    '/api/chat/rooms',
    `/api/chat/rooms/${room}/messages`,
    `/api/v1/chat/rooms/${room}`,
    '/api/v1/chat/friends/online',
    '/api/v1/chat/messages/unread-count',
    '/api/notifications/chat/conversations/',
    '/api/auth/me',
    '/api/friends',
  ];
}

async function pair(server: TestServer): Promise<{ a: TestUser; b: TestUser; room: number }> {
  const [a, b] = [await newUser(server), await newUser(server)];
  const room = (await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } })).body.id as number;
  return { a, b, room };
}

describe('per-user read limit', () => {
  const server = useParley({ env });

  it('past the burst a read is 429 with Retry-After, on every dialect; other users and writes are not touched', async () => {
    const { a, b, room } = await pair(server);
    const paths = reads(room);
    const statuses: number[] = [];
    for (const p of paths) statuses.push((await api(server, 'GET', p, { token: a.token })).status);
    expect(statuses.slice(0, BURST)).toEqual(Array(BURST).fill(200));
    expect(statuses.slice(BURST + 1)).toEqual(Array(paths.length - BURST - 1).fill(429));
    const refused = await api(server, 'GET', '/api/chat/rooms', { token: a.token });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.body).toEqual({ detail: 'Too many requests; slow down' });
    expect((await api(server, 'GET', '/api/notifications/chat/conversations/', { token: a.token })).status).toBe(429);
    // Someone else reads on; a writes on (its own budget).
    expect((await api(server, 'GET', '/api/chat/rooms', { token: b.token })).status).toBe(200);
    expect((await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: a.token })).status).toBe(200);
  });

  it('property: across any mix of read routes and pacing, accepted reads ≤ burst + rate·t, and the burst is there', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ route: fc.nat(), pauseMs: fc.constantFrom(0, 0, 0, 50, 200) }), { minLength: 1, maxLength: 25 }), async (steps) => {
        const { a, room } = await pair(server);
        const paths = reads(room);
        let accepted = 0;
        const t0 = performance.now();
        for (const st of steps) {
          if (st.pauseMs) await sleep(st.pauseMs);
          const r = await api(server, 'GET', paths[st.route % paths.length], { token: a.token });
          expect([200, 429]).toContain(r.status);
          if (r.status === 200) accepted++;
        }
        const seconds = (performance.now() - t0) / 1000;
        expect(accepted, `${accepted} reads in ${seconds.toFixed(2)} s`).toBeLessThanOrEqual(BURST + RATE * seconds + 1);
        expect(accepted).toBeGreaterThanOrEqual(Math.min(steps.length, BURST));
      }),
      { numRuns: 10 },
    );
  }, 120_000);
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!hasPostgres || !redisUrl)('per-user read limit across two processes on one Redis', () => {
  const [one, two] = useTwoProcesses(env);

  it('reads spread over both processes draw from one budget', async () => {
    const { a } = await pair(one);
    let accepted = 0;
    const t0 = performance.now();
    for (let i = 0; i < 4 * BURST; i++) {
      const r = await api(i % 2 ? two : one, 'GET', '/api/parley/me', { token: a.token });
      if (r.status === 200) accepted++;
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`${4 * BURST} reads over two processes in ${seconds.toFixed(2)} s: ${accepted} accepted (budget ${BURST} + ${RATE}/s)`);
    expect(accepted).toBeLessThanOrEqual(BURST + RATE * seconds + 1);
    expect(accepted).toBeGreaterThanOrEqual(BURST);
  });
});
