import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebhookReceiver } from '../../test/helpers/webhook-receiver.js';
import { freePorts, ParleyProcess, ScratchDatabase, sleep } from './cluster.js';
import { api, seededRandom } from './fault.js';

// Webhooks under faults (issue 19): two Parley processes on one PostgreSQL database deliver
// one endpoint's events (sharing the work by lease) to a real receiver on loopback that
// verifies every signature. While messages are sent, edited and reacted to, the receiver is
// down for a while, then up; one process is SIGKILLed in the middle of deliveries and started
// again. Afterwards every event of the log must have arrived at least once, a repeat only
// under its own webhook-id, each conversation's events in cursor order.

export interface WebhookFaultOptions {
  postgresUrl: string;
  seed: number;
  durationS: number;
  /** Messages per second, over every conversation. */
  rate: number;
  conversations: number;
  /** When the receiver goes down (s after the sends start) and for how long. */
  receiverDownAtS: number;
  receiverDownMs: number;
  /** When the delivering process is SIGKILLed, and how long it stays down. */
  killAtS: number;
  killDownMs: number;
  /** Bound on the catch-up once the sends stop. */
  catchupTimeoutS: number;
  log: (line: string) => void;
}

export const WEBHOOK_FAULT_DEFAULTS: Omit<WebhookFaultOptions, 'postgresUrl' | 'log'> = {
  seed: 19,
  durationS: 30,
  rate: 40,
  conversations: 6,
  receiverDownAtS: 5,
  receiverDownMs: 8_000,
  killAtS: 16,
  killDownMs: 3_000,
  catchupTimeoutS: 90,
};

export interface WebhookFaultFigures {
  /** Events the log holds for the endpoint (every one of the run). */
  sent: number;
  /** Distinct events received. */
  delivered: number;
  /** Requests beyond the first for an event (the same webhook-id again). */
  duplicates: number;
  /** An event received under another webhook-id than its own. */
  duplicatesWithOtherId: number;
  lost: number;
  orderViolations: number;
  badSignatures: number;
  /** Longest time from an event's commit to its first arrival. */
  maxDelayMs: number;
  requests: number;
}

export async function runWebhookFault(options: Partial<WebhookFaultOptions> & Pick<WebhookFaultOptions, 'postgresUrl'>): Promise<{ ok: boolean; figures: WebhookFaultFigures; text: string }> {
  const o: WebhookFaultOptions = { ...WEBHOOK_FAULT_DEFAULTS, log: (l) => console.log(l), ...options };
  const rng = seededRandom(o.seed);
  const runDir = mkdtempSync(path.join(tmpdir(), 'parley-webhook-fault-'));
  const t0 = Date.now();
  const log = (line: string) => o.log(`[+${((Date.now() - t0) / 1000).toFixed(2)}s] ${line}`);
  const receiver = new WebhookReceiver();
  let db: ScratchDatabase | null = null;
  const procs: ParleyProcess[] = [];
  try {
    db = await ScratchDatabase.create(o.postgresUrl);
    const ports = await freePorts(2);
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      JWT_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      REGISTRATION: 'open',
      RATE_USER_MESSAGES_PER_SECOND: '0',
      RATE_REST_WRITES_PER_SECOND: '0',
      RATE_USER_READS_PER_SECOND: '0',
      WEBHOOKS: 'on',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_MS: '50',
      WEBHOOK_RETRY_BASE_MS: '100',
      WEBHOOK_RETRY_MAX_MS: '1000',
      // The lease (twice this and 5 s) is what a killed process's deliveries wait for.
      WEBHOOK_TIMEOUT_MS: '1000',
    };
    for (let i = 0; i < 2; i++) procs.push(new ParleyProcess({ index: i, port: ports[i], dataDir: path.join(runDir, `p${i}`), logFile: path.join(runDir, `p${i}.log`), env }));
    // Together: PostgreSQL's migration lock lets one of them migrate.
    await Promise.all(procs.map((p) => p.start()));
    await receiver.start();
    log(`database ${db.name}; processes on ${ports.join(', ')}; receiver on ${receiver.port}`);

    // A tenant: its admin and a member, the conversations, the endpoint.
    const tenant = randomUUID();
    const reg = async (name: string) => (await api(ports[0], 'POST', '/api/auth/register', { json: { email: `${name}-${tenant}@example.com`, password: 'password-' + tenant, name, tenant_id: tenant } })).body;
    const admin = await reg('admin');
    const member = await reg('member');
    const conversations: number[] = [];
    for (let i = 0; i < o.conversations; i++) {
      const r = await api(ports[0], 'POST', '/api/parley/conversations', { token: admin.access_token, json: { kind: 'group', title: `c${i}`, member_ids: [member.user.id] } });
      conversations.push(r.body.id);
    }
    const hook = await api(ports[0], 'POST', '/api/parley/webhooks', { token: admin.access_token, json: { url: receiver.url } });
    if (hook.status !== 201) throw new Error(`endpoint: ${hook.status} ${JSON.stringify(hook.body)}`);
    receiver.secret = hook.body.secret;
    const from = (await api(ports[0], 'GET', '/api/parley/events?after=0&limit=500', { token: admin.access_token })).body.next_cursor;

    // Sends (and a few edits and reactions) through both processes; the faults on a timer.
    const start = Date.now();
    const faults: Promise<void>[] = [];
    const at = (s: number, what: () => Promise<void>) => faults.push(sleep(s * 1000).then(what));
    at(o.receiverDownAtS, async () => {
      log('receiver DOWN');
      await receiver.stop();
      await sleep(o.receiverDownMs);
      await receiver.start();
      log('receiver UP');
    });
    at(o.killAtS, async () => {
      log(`SIGKILL process 1 (${receiver.received.length} requests received so far)`);
      await procs[1].kill();
      await sleep(o.killDownMs);
      await procs[1].start();
      log('process 1 restarted');
    });
    const messages: number[] = [];
    let failedSends = 0;
    for (let n = 0; Date.now() - start < o.durationS * 1000; n++) {
      const due = start + (n * 1000) / o.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      // Sends go through process 0, which stays up; process 1 is killed while it delivers.
      const port = ports[0];
      const user = rng() < 0.5 ? admin : member;
      const c = conversations[Math.floor(rng() * conversations.length)];
      const roll = rng();
      try {
        if (roll < 0.1 && messages.length > 0) {
          await api(port, 'PUT', `/api/parley/messages/${messages[Math.floor(rng() * messages.length)]}/reactions/${encodeURIComponent('👍')}`, { token: user.access_token });
        } else {
          const r = await api(port, 'POST', `/api/parley/conversations/${c}/messages`, { token: user.access_token, json: { content: `m${n}` } });
          if (r.status === 201) messages.push(r.body.id);
          else failedSends++;
        }
      } catch {
        failedSends++;
      }
    }
    await Promise.all(faults);
    log(`sends done: ${messages.length} messages (${failedSends} refused)`);

    // The log, read back by cursor: what the endpoint must receive.
    const log_: { id: string; cursor: number; conversation_id: number; timestamp: string }[] = [];
    for (let after = from; ; ) {
      const page = (await api(ports[0], 'GET', `/api/parley/events?after=${after}&limit=500`, { token: admin.access_token })).body;
      log_.push(...page.events);
      if (page.events.length === 0) break;
      after = page.next_cursor;
    }
    const want = new Set(log_.map((e) => e.id));
    const until = Date.now() + o.catchupTimeoutS * 1000;
    while (Date.now() < until) {
      const got = new Set(receiver.received.map((r) => r.id));
      if ([...want].every((id) => got.has(id))) break;
      await sleep(200);
    }

    const first = new Map<string, number>();
    for (const r of receiver.received) if (!first.has(r.id)) first.set(r.id, r.at);
    const byId = new Map(log_.map((e) => [e.id, e]));
    let duplicatesWithOtherId = 0;
    for (const r of receiver.received) if (byId.get(r.id) && byId.get(r.id)!.cursor !== r.cursor) duplicatesWithOtherId++;
    const lastCursor = new Map<number, number>();
    let orderViolations = 0;
    for (const r of receiver.distinct()) {
      if (r.cursor <= (lastCursor.get(r.conversationId) ?? 0)) orderViolations++;
      lastCursor.set(r.conversationId, Math.max(r.cursor, lastCursor.get(r.conversationId) ?? 0));
    }
    const delivered = log_.filter((e) => first.has(e.id)).length;
    const figures: WebhookFaultFigures = {
      sent: log_.length,
      delivered,
      duplicates: receiver.received.length - first.size,
      duplicatesWithOtherId,
      lost: log_.length - delivered,
      orderViolations,
      badSignatures: receiver.badSignatures,
      maxDelayMs: Math.max(0, ...log_.filter((e) => first.has(e.id)).map((e) => first.get(e.id)! - Date.parse(e.timestamp))),
      requests: receiver.received.length,
    };
    const ok = figures.lost === 0 && figures.duplicatesWithOtherId === 0 && figures.orderViolations === 0 && figures.badSignatures === 0 && figures.sent > 0;
    const text = [
      `webhooks under faults (seed ${o.seed}, ${o.durationS}s at ${o.rate}/s over ${o.conversations} conversations; receiver down ${o.receiverDownMs} ms at ${o.receiverDownAtS}s; process 1 SIGKILLed at ${o.killAtS}s for ${o.killDownMs} ms)`,
      `  sent ${figures.sent}  delivered ${figures.delivered}  duplicates ${figures.duplicates} (all under their own webhook-id: ${figures.duplicatesWithOtherId === 0})  lost ${figures.lost}`,
      `  order violations ${figures.orderViolations}  bad signatures ${figures.badSignatures}  max delay ${figures.maxDelayMs} ms  requests ${figures.requests}`,
      ok ? 'OK' : 'FAILED',
    ].join('\n');
    if (ok) rmSync(runDir, { recursive: true, force: true });
    else log(`logs kept in ${runDir}`);
    return { ok, figures, text };
  } finally {
    await receiver.stop().catch(() => {});
    for (const p of procs) await p.stop().catch(() => {});
    for (const p of procs) await p.closeLog().catch(() => {});
    await db?.drop().catch(() => {});
  }
}
