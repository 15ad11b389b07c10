import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { allEvents, newGroup, newTenant, register, send, WEBHOOK_TEST_ENV } from './support.js';

// Issue 19: the dispatcher prunes delivered events past WEBHOOK_RETENTION_MS; what an endpoint
// has not received yet stays in the log.
describe.each(databases)('the events log past its retention on %s', (db) => {
  const server = useParley({ db, env: { ...WEBHOOK_TEST_ENV, WEBHOOK_RETENTION_MS: '1' } });

  it('deletes events once delivered, keeps them while their delivery waits', async (t) => {
    const receiver = await new WebhookReceiver().start();
    t.onTestFinished(() => receiver.stop());
    const { admin, member } = await newTenant(server);
    const c = await newGroup(server, admin, [member]);
    receiver.secret = (await register(server, admin, { url: receiver.url })).secret;
    receiver.failing = true;
    for (let i = 0; i < 3; i++) await send(server, member, c, `m${i}`);
    // Failing: the three wait in the log, however old.
    await eventually(async () => expect((await allEvents(server, admin)).filter((e) => e.type === 'message.created')).toHaveLength(3));
    receiver.failing = false;
    await eventually(() => expect(receiver.distinct().map((r) => r.data.message.content)).toEqual(['m0', 'm1', 'm2']), { timeoutMs: 20_000 });
    await eventually(async () => expect(await allEvents(server, admin)).toEqual([]), { timeoutMs: 20_000 });
  });
});
