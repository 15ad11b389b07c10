import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, ParleyProcess, ScratchDatabase } from '../../scripts/fault/cluster.js';
import { api, eventually, newUser } from '../helpers/clients.js';
import { hasPostgres, postgresUrl } from '../helpers/pg.js';
import { Device, PushService } from './support.js';

// Issue 19, a fault with real processes: a Parley process claims due pushes (a lease on each
// outbox row) and is SIGKILLed while its first send has handed nothing to the push service
// yet. Another process takes the rows once their lease has run out and sends each push exactly
// once: the crash neither loses nor repeats one.

const LEASE_MS = 1500;

describe.skipIf(!hasPostgres)('a process SIGKILLed after claiming its pushes', () => {
  const service = new PushService();
  const procs: ParleyProcess[] = [];
  let db: ScratchDatabase | null = null;
  afterAll(async () => {
    for (const p of procs) await p.kill();
    await service.close();
    await db?.drop();
  });

  it('leaves them to another process after the lease: each sent once, none before the lease ran out', async () => {
    db = await ScratchDatabase.create(postgresUrl()!);
    await service.start();
    const runDir = mkdtempSync(path.join(tmpdir(), 'parley-push-kill-'));
    const ports = await freePorts(2);
    const env = { DATABASE_URL: db.url, JWT_SECRET: 'k'.repeat(48), LOG_LEVEL: 'warn', REGISTRATION: 'open', NOTIFY_DELAY_MS: '0', NOTIFY_POLL_MS: '50', NOTIFY_LEASE_MS: String(LEASE_MS) };
    const parley = (index: number) => new ParleyProcess({ index, port: ports[index], dataDir: path.join(runDir, `p${index}`), logFile: path.join(runDir, `p${index}.log`), env });
    const victim = parley(0);
    procs.push(victim);
    await victim.start();
    const server = { url: victim.url };

    const sender = await newUser(server);
    const people = [await newUser(server), await newUser(server), await newUser(server)];
    const devices = await Promise.all(people.map((u) => new Device().subscribe(server, service, u)));
    for (const u of people) await api(server, 'PUT', '/api/parley/me/notification-settings', { token: u.token, json: { level: 'all' } });
    const conv = (await api(server, 'POST', '/api/parley/conversations', { token: sender.token, json: { kind: 'group', title: 'ops', member_ids: people.map((u) => u.user.id) } })).body.id;

    // The push service takes connections without reading them: the victim claims the three rows
    // and stops in its first send, having handed nothing over.
    service.holding = true;
    const m = (await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: sender.token, json: { content: 'deploy failed' } })).body;
    // Failing, the victim's log says why its pushes did not reach the service.
    await eventually(() => expect(service.held.length, victim.tail(20)).toBeGreaterThan(0), { timeoutMs: 10_000 });
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      const leased = (await sql.query('SELECT lease_until FROM notification_outbox')).rows.map((r) => Number(r.lease_until));
      expect(leased).toHaveLength(3);
      await victim.kill();
      service.release();
      const leaseEnd = Math.max(...leased);

      const survivor = parley(1);
      procs.push(survivor);
      await survivor.start();
      await eventually(async () => expect(Number((await sql.query('SELECT count(*) AS n FROM notification_outbox')).rows[0].n)).toBe(0), { timeoutMs: 20_000 });
      const got = devices.map((d) => service.to(d).map((r) => d.decrypt(r.body).message_id));
      expect(got).toEqual([[m.id], [m.id], [m.id]]);
      // The survivor waited for the victim's lease: nothing reached the service before it ran out.
      expect(Math.min(...service.received.map((r) => r.at))).toBeGreaterThanOrEqual(leaseEnd);
    } finally {
      await sql.end();
    }
  }, 120_000);
});
