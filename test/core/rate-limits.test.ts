import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { api, chatHistory, chatSocket, newUser, openSocket, pair, sleep } from '../helpers/clients.js';

describe('rate limits (003: "rate limiting for spam prevention"), the same in every dialect', () => {
  const server = useParley({
    env: {
      RATE_USER_MESSAGES_PER_SECOND: '2',
      RATE_USER_MESSAGES_BURST: '3',
      RATE_REST_WRITES_PER_SECOND: '1',
      RATE_REST_WRITES_BURST: '2',
      RATE_CONNECTION_FRAMES_PER_SECOND: '5',
      RATE_CONNECTION_FRAMES_BURST: '20',
    },
  });

  it('a user past the message rate gets error frames carrying local_temp_id, nothing stored, and recovers', async () => {
    const { a, room } = await pair(server);
    const s = await chatSocket(server, a, room);
    for (let i = 0; i < 5; i++) s.send({ type: 'send_message', data: { room_id: room, content: `m${i}`, local_temp_id: `t${i}` } });
    const errors = [await s.next('error'), await s.next('error')];
    expect(errors.map((e) => e.code)).toEqual(['rate_limited', 'rate_limited']);
    expect(errors.map((e) => e.local_temp_id).sort()).toEqual(['t3', 't4']);
    for (let i = 0; i < 3; i++) await s.next('new_message');
    expect((await chatHistory(server, a, room)).total).toBe(3);
    await sleep(1100);
    s.send({ type: 'send_message', data: { room_id: room, content: 'again', local_temp_id: 'later' } });
    expect((await s.next('new_message')).data.local_temp_id).toBe('later');
  });

  it('REST writes past the rate answer 429 with Retry-After and {"detail"}', async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses.at(-1)).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last!.body).toEqual({ detail: 'Too many requests; slow down' });
  });

  it('a connection that floods is closed with 1008; others are untouched', async () => {
    const a = await newUser(server);
    const s = await openSocket(`${server.wsUrl}/ws/chat/${a.user.tenant_id}/?token=${a.token}`);
    const calm = await openSocket(`${server.wsUrl}/ws/chat/${a.user.tenant_id}/?token=${a.token}`);
    await calm.next('connection_established');
    for (let i = 0; i < 100; i++) s.send({ type: 'ping' });
    expect((await s.closed).code).toBe(1008);
    calm.send({ type: 'ping' });
    await calm.next('pong');
  });
});
