// Issue 19's figures: notifications sent vs suppressed by an ack (or a read) in a scripted
// scenario. One Parley (SQLite, in this process) and a local push service; recipients of
// three kinds, each with a subscribed phone: away (no device online), at a desktop that acks
// what it receives (the SDK's `ack`), and reading before the delay. Prints the counts.
//   npm run notify:scenario [-- --people 10 --messages 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/config.js';
import { createParley } from '../src/app/app.js';
import { Device, PushService } from '../test/notifications/support.js';

const { values } = parseArgs({ options: { people: { type: 'string', default: '10' }, messages: { type: 'string', default: '5' } } });
const people = Number(values.people);
const messages = Number(values.messages);
const dir = mkdtempSync(path.join(tmpdir(), 'parley-notify-'));
const config = loadConfig({ DATA_DIR: dir, DATABASE_URL: `sqlite:${dir}/parley.db`, PORT: '0', HOST: '127.0.0.1', REGISTRATION: 'open', NOTIFY_POLL_MS: '0', NOTIFY_DELAY_MS: '2000', RATE_USER_MESSAGES_PER_SECOND: '0', RATE_REST_WRITES_PER_SECOND: '0', JWT_SECRET: 'scenario-secret-that-is-long-enough-for-hs256' });
const parley = await createParley(config, { logger: false });
const url = await parley.listen();
const server = { url, parley } as never;
const service = await new PushService().start();

const call = async (method: string, p: string, token: string | null, json?: unknown) => {
  const r = await fetch(url + '/api/parley' + p, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}) }, body: json ? JSON.stringify(json) : undefined });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a script: the bodies are the API reference's
  return (r.status === 204 ? null : r.json()) as Promise<any>;
};
let n = 0;
const register = async () => call('POST', '/auth/register', null, { email: `p${n++}@example.com`, password: 'password-123', name: `Person ${n}` });

const sender = await register();
const kinds = ['away', 'desktop', 'reader'] as const;
const sockets: WebSocket[] = [];
const plan: { kind: (typeof kinds)[number]; user: { token: string }; conv: number }[] = [];
for (const kind of kinds) {
  for (let i = 0; i < people; i++) {
    const user = await register();
    await new Device().subscribe(server, service, user);
    await call('PUT', '/me/notification-settings', user.token, { level: 'all' });
    const conv = (await call('POST', '/conversations', sender.token, { kind: 'group', title: `${kind} ${i}`, member_ids: [user.user.id] })).id;
    if (kind === 'desktop') {
      // A desktop that acknowledges every message it receives, as the SDK does.
      const ws = new WebSocket(`${url.replace('http', 'ws')}/api/parley/ws?token=${encodeURIComponent(user.token)}`);
      await new Promise<void>((resolve) => {
        ws.on('message', (d) => {
          const f = JSON.parse(d.toString());
          if (f.type === 'ready') ws.send(JSON.stringify({ type: 'subscribe' }));
          if (f.type === 'subscribed') resolve();
          if (f.type === 'message') ws.send(JSON.stringify({ type: 'ack', conversation_id: f.conversation_id, seq: f.message.seq }));
        });
      });
      sockets.push(ws);
    }
    plan.push({ kind, user, conv });
  }
}
for (let m = 0; m < messages; m++) for (const p of plan) await call('POST', `/conversations/${p.conv}/messages`, sender.token, { content: `message ${m}` });
for (const p of plan) if (p.kind === 'reader') await call('POST', `/conversations/${p.conv}/read`, p.user.token, {});
await parley.core.receipts.flush();
// Wait until every desktop's acks are in (a frame each; flushed every 200 ms).
await new Promise((r) => setTimeout(r, 500));
await parley.core.receipts.flush();
await parley.core.notifications.tick(Date.now() + 60_000);
const c = parley.core.notifications.counts;
const total = plan.length * messages;
console.log(`messages to recipients: ${total} (${people} per kind × ${messages} messages; kinds: away, desktop that acks, reads before the delay)`);
console.log(`notifications sent:           ${c.sent}   (push service received ${service.received.filter((r) => r.body.length > 0).length - c.cleared} message pushes, ${c.cleared} clears)`);
console.log(`suppressed by a device ack:   ${c.suppressedByAck}`);
console.log(`suppressed by a read:         ${c.suppressedByRead}`);
console.log(`suppressed by a setting:      ${c.suppressedBySetting}`);
console.log(`outbox rows left:             ${await parley.store.pendingNotifications()}`);
for (const ws of sockets) ws.close();
await service.close();
await parley.close();
rmSync(dir, { recursive: true, force: true });
