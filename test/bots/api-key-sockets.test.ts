import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, eventually, openSocket, type TestSocket } from '../helpers/clients.js';
import { useParley, useTwoProcesses, type TestServer } from '../helpers/parley.js';
import { databases, hasPostgres } from '../helpers/pg.js';
import { P, apiKey, tenant, type Scope } from './support.js';

// Issue 19: a bot or server opens Parley's socket with its API key, admitted like a token
// (checked before the upgrade); a read key may follow its conversations, a write key may also
// send; revoking the key closes its sockets on every process.

/** Parley's socket opened with a key: as `?token=`, `Authorization: Bearer` or `X-Api-Key`; ready. */
async function keySocket(server: TestServer, secret: string, as: 'query' | 'bearer' | 'header' = 'query'): Promise<TestSocket> {
  const url = `${server.wsUrl}${P}/ws${as === 'query' ? `?token=${encodeURIComponent(secret)}` : ''}`;
  const headers: Record<string, string> = as === 'bearer' ? { authorization: `Bearer ${secret}` } : as === 'header' ? { 'x-api-key': secret } : {};
  const s = await openSocket(url, { headers });
  await s.next('ready');
  return s;
}

/** A group of the admin's with the keys' bots in it. */
async function groupWith(server: TestServer, token: string, botIds: number[]): Promise<number> {
  const r = await api(server, 'POST', `${P}/conversations`, { token, json: { kind: 'group', title: 'ops', member_ids: botIds } });
  expect(r.status).toBe(201);
  return r.body.id;
}

describe.each(databases)('API keys on the socket (%s)', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });

  it('a key opens the socket as its bot, by query, bearer or X-Api-Key; a read key follows and receives, a write key also sends', async () => {
    const { admin } = await tenant(server, 0);
    const [reader, writer] = [await apiKey(server, admin, ['read']), await apiKey(server, admin, ['write'])];
    const id = await groupWith(server, admin.token, [reader.bot.id, writer.bot.id]);
    for (const as of ['query', 'bearer', 'header'] as const) {
      const s = await keySocket(server, reader.secret, as);
      expect(s.all('ready')[0].user).toMatchObject({ id: reader.bot.id, is_bot: true });
      s.close();
    }
    const r = await keySocket(server, reader.secret);
    r.send({ type: 'subscribe' });
    expect((await r.next('subscribed')).conversations.map((c: { id: number }) => c.id)).toContain(id);
    r.send({ type: 'send', conversation_id: id, content: 'not mine to say', local_temp_id: 'r1' });
    expect(await r.next('error')).toMatchObject({ code: 'api_key_scope', local_temp_id: 'r1' });

    const w = await keySocket(server, writer.secret, 'header');
    w.send({ type: 'send', conversation_id: id, content: 'deploy done', local_temp_id: 'w1' });
    // The reader's socket stays open after its refusal and gets the writer's message.
    const got = await r.next('message');
    expect(got.message).toMatchObject({ content: 'deploy done', sender: { id: writer.bot.id, is_bot: true } });
    expect(r.untaken('error')).toEqual([]);
  });

  it('an unknown or revoked key is refused at the handshake (4001) and never reads a frame', async () => {
    const { admin } = await tenant(server, 0);
    const key = await apiKey(server, admin, ['write']);
    expect((await api(server, 'DELETE', `${P}/api-keys/${key.id}`, { token: admin.token })).status).toBe(204);
    for (const secret of [key.secret, 'pk_' + 'A'.repeat(43)]) {
      const s = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(secret)}`);
      expect((await s.closed).code).toBe(4001);
      expect(s.all('ready')).toEqual([]);
    }
  });

  it('property: over any sequence of frames, a key\'s frame is refused exactly when its scopes do not permit it', async () => {
    const { admin } = await tenant(server, 0);
    const scopeSets: Scope[][] = [['read'], ['write'], ['admin'], ['read', 'write']];
    const keys = await Promise.all(scopeSets.map((scopes) => apiKey(server, admin, scopes)));
    const id = await groupWith(server, admin.token, keys.map((k) => k.bot.id));
    const sockets = await Promise.all(keys.map((k) => keySocket(server, k.secret)));
    const frames = {
      subscribe: () => ({ type: 'subscribe' }),
      ping: () => ({ type: 'ping' }),
      send: (n: number) => ({ type: 'send', conversation_id: id, content: `m${n}`, local_temp_id: `t${n}` }),
      typing: () => ({ type: 'typing', conversation_id: id, is_typing: true }),
      read: () => ({ type: 'read', conversation_id: id, seq: 1 }),
    };
    const reads = new Set(['subscribe', 'ping']);
    let n = 0;
    const pongs = keys.map(() => 0);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(keys.length - 1), fc.constantFrom(...(Object.keys(frames) as (keyof typeof frames)[]))), { minLength: 1, maxLength: 8 }), async (steps) => {
        for (const [k, type] of steps) {
          const s = sockets[k];
          const before = s.all('error').length;
          s.send(frames[type](++n));
          // A ping after each frame: its pong says the frame before it has been handled (in order).
          s.send({ type: 'ping' });
          pongs[k] += type === 'ping' ? 2 : 1;
          await eventually(() => expect(s.all('pong').length).toBe(pongs[k]));
          const refused = s.all('error').slice(before).some((e) => e.code === 'api_key_scope');
          const permitted = reads.has(type) || scopeSets[k].some((x) => x !== 'read');
          expect(refused, `${scopeSets[k]} ${type}`).toBe(!permitted);
        }
      }),
      { numRuns: 15 },
    );
  });
});

describe.skipIf(!hasPostgres || !process.env.REDIS_URL)('revoking a key closes its sockets on every process', () => {
  const [one, two] = useTwoProcesses({ REGISTRATION: 'open' });

  it('the key\'s sockets on both processes close (4001) when an admin revokes it on one', async () => {
    const { admin } = await tenant(one, 0);
    const key = await apiKey(one, admin, ['read']);
    const other = await apiKey(one, admin, ['read']);
    const [onOne, onTwo, untouched] = [await keySocket(one, key.secret), await keySocket(two, key.secret), await keySocket(two, other.secret)];
    expect((await api(one, 'DELETE', `${P}/api-keys/${key.id}`, { token: admin.token })).status).toBe(204);
    expect((await onOne.closed).code).toBe(4001);
    expect((await onTwo.closed).code).toBe(4001);
    // Another key's socket stays: a ping is still answered.
    untouched.send({ type: 'ping' });
    await untouched.next('pong');
  });
});
