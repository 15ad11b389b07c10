import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyProcess } from '../../scripts/fault/cluster.js';
import { api, chatSocket, eventually, newRoom, newUser, openSocket, type Frame, type TestSocket } from '../helpers/clients.js';
import { freePort } from '../helpers/local-servers.js';
import { startParley, type TestServer } from '../helpers/parley.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';

// Issue 15, item 7: a process stopped (SIGSTOP) longer than PRESENCE_TTL_MS has its users
// announced offline by the others (they expired), but its sockets are still open: when it
// runs again its users are online again and their partners must hear so, with the status
// they had set. Before, they stayed "offline" for everyone until they reconnected.

const redisUrl = process.env.REDIS_URL;
const TTL_MS = 900;

describe.runIf(hasPostgres && redisUrl)('presence after a process was stopped past the presence TTL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let a: ParleyProcess;
  let b: TestServer;
  let dir: string;
  beforeAll(async () => {
    db = await newPostgresDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'parley-stall-'));
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl!,
      REDIS_PREFIX: `parley-test-${randomBytes(4).toString('hex')}:`,
      PRESENCE_TTL_MS: String(TTL_MS),
      JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256',
      LOG_LEVEL: 'warn',
      RATE_USER_MESSAGES_PER_SECOND: '0',
      RATE_REST_WRITES_PER_SECOND: '0',
      RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    };
    b = await startParley({ env });
    a = new ParleyProcess({ index: 0, port: await freePort(), dataDir: path.join(dir, 'a'), logFile: path.join(dir, 'a.log'), env });
    await a.start();
  }, 120_000);
  afterAll(async () => {
    a?.resume();
    await a?.stop(2_000).catch(() => {});
    await a?.closeLog().catch(() => {});
    await b?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the stopped process's users come back online, busy as they were, for their partners on the other process", async () => {
    const alice = await newUser(b, { name: 'Alice' });
    const bob = await newUser(b, { name: 'Bob' });
    const room = await newRoom(b, alice, bob);
    const bobOnB: TestSocket = await chatSocket(b, bob, room);
    const aliceOnA = await openSocket(`ws://127.0.0.1:${a.port}/api/chat/ws?token=${encodeURIComponent(alice.token)}&room_id=${room}`);
    aliceOnA.send({ type: 'ping' });
    await aliceOnA.next('pong');
    const isAlice = (online: boolean) => (f: Frame) => f.data.user_id === alice.user.id && f.data.is_online === online;
    await bobOnB.next('presence', { where: isAlice(true), timeoutMs: 5_000 });
    expect((await api({ url: a.url }, 'PUT', '/api/parley/presence', { token: alice.token, json: { status: 'busy' } })).status).toBe(204);
    // A status change is told as presence too: taken here, so only a later one counts below.
    await bobOnB.next('presence', { where: isAlice(true), timeoutMs: 5_000 });
    const status = async () => (await api(b, 'GET', `/api/parley/presence?user_ids=${alice.user.id}`, { token: bob.token })).body[0];
    await eventually(async () => expect(await status()).toMatchObject({ online: true, status: 'busy' }));

    // Frozen past the TTL: the other process sweeps Alice and tells Bob she went offline.
    a.pause();
    await bobOnB.next('presence', { where: isAlice(false), timeoutMs: 3 * TTL_MS + 5_000 });
    expect(await status()).toMatchObject({ online: false });
    expect(bobOnB.all('presence').filter(isAlice(true))).toHaveLength(2);
    a.resume();

    // Running again, with her socket open all along: online again, and busy.
    await bobOnB.next('presence', { where: isAlice(true), timeoutMs: 3 * TTL_MS + 5_000 });
    await eventually(async () => expect(await status()).toMatchObject({ online: true, status: 'busy' }), { timeoutMs: 5_000 });
    // Her socket lived through it.
    aliceOnA.send({ type: 'ping' });
    await aliceOnA.next('pong');
    aliceOnA.close();
    bobOnB.close();
  }, 60_000);
});
