import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, eventually, newUser } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { allEvents, newGroup, newTenant, register, send, WEBHOOK_TEST_ENV } from './support.js';

// Issue 19's delivery rules, as an invariant over any sequence of sends, edits, deletes,
// reactions and membership changes in two conversations, with the receiver failing for
// stretches of it: every event of the log arrives, each under the id and cursor the events
// API gives it (a retry repeats both), and each conversation's events arrive in the order
// the changes were made.

type Action =
  | { kind: 'send' | 'edit' | 'delete' | 'react' | 'member'; conversation: 0 | 1; pick: number }
  | { kind: 'receiver'; failing: boolean };

const conversation = fc.constantFrom<0 | 1>(0, 1);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), conversation, pick: fc.nat(9) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom('edit' as const, 'delete' as const, 'react' as const, 'member' as const), conversation, pick: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('receiver' as const), failing: fc.boolean() }) },
);

describe.each(databases)('webhook order and ids under receiver failures (fast-check) on %s', (db) => {
  const server = useParley({ db, env: WEBHOOK_TEST_ENV });

  it('every event arrives with its events-API id and cursor, each conversation in the order of its changes', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const receiver = await new WebhookReceiver().start();
        try {
          const { tenant, admin } = await newTenant(server);
          const guest = await newUser(server, { tenantId: tenant, name: 'Guest' });
          const conversations = [await newGroup(server, admin, [], 'A'), await newGroup(server, admin, [], 'B')];
          receiver.secret = (await register(server, admin, { url: receiver.url })).secret;
          // The oracle: per conversation, its live messages (with whether the admin's 👍 is on), the guest's membership, the types logged.
          const state = conversations.map(() => ({ live: [] as { id: number; liked: boolean }[], guest: false, types: [] as string[] }));
          for (const a of actions) {
            if (a.kind === 'receiver') {
              receiver.failing = a.failing;
              continue;
            }
            const c = state[a.conversation];
            const cid = conversations[a.conversation];
            if (a.kind === 'send') {
              c.live.push({ id: await send(server, admin, cid, `m${a.pick}`), liked: false }), c.types.push('message.created');
              continue;
            }
            if (a.kind === 'member') {
              const r = c.guest
                ? await api(server, 'DELETE', `/api/parley/conversations/${cid}/participants/${guest.user.id}`, { token: admin.token })
                : await api(server, 'POST', `/api/parley/conversations/${cid}/participants`, { token: admin.token, json: { user_id: guest.user.id } });
              expect(r.status).toBeLessThan(300);
              c.types.push(c.guest ? 'member.left' : 'member.joined');
              c.guest = !c.guest;
              continue;
            }
            if (c.live.length === 0) continue;
            const m = c.live[a.pick % c.live.length];
            const emoji = `/api/parley/messages/${m.id}/reactions/${encodeURIComponent('👍')}`;
            const r =
              a.kind === 'edit'
                ? await api(server, 'PATCH', `/api/parley/messages/${m.id}`, { token: admin.token, json: { content: `edited ${a.pick}` } })
                : a.kind === 'delete'
                  ? await api(server, 'DELETE', `/api/parley/messages/${m.id}`, { token: admin.token })
                  : await api(server, m.liked ? 'DELETE' : 'PUT', emoji, { token: admin.token });
            expect(r.status).toBeLessThan(300);
            if (a.kind === 'edit') c.types.push('message.updated');
            if (a.kind === 'delete') c.types.push('message.deleted'), c.live.splice(c.live.indexOf(m), 1);
            if (a.kind === 'react') c.types.push(m.liked ? 'reaction.removed' : 'reaction.added'), (m.liked = !m.liked);
          }
          receiver.failing = false;
          const log = (await allEvents(server, admin, 0, 50)).filter((e) => !e.type.startsWith('conversation.'));
          // The log holds each conversation's changes in order.
          for (const [i, cid] of conversations.entries()) expect(log.filter((e) => e.conversation_id === cid).map((e) => e.type)).toEqual(state[i].types);
          await eventually(() => expect(receiver.distinct().filter((r) => !r.type.startsWith('conversation.')).length).toBe(log.length), { timeoutMs: 30_000 });
          expect(receiver.badSignatures).toBe(0);
          // Same event, same id and cursor, on every arrival.
          const byId = new Map(log.map((e) => [e.id, e]));
          for (const r of receiver.received.filter((x) => !x.type.startsWith('conversation.'))) expect({ id: r.id, cursor: r.cursor, type: r.type }).toEqual({ id: r.id, cursor: byId.get(r.id)?.cursor, type: byId.get(r.id)?.type });
          // First arrivals per conversation: the log's order.
          for (const cid of conversations) {
            expect(receiver.distinct().filter((r) => r.conversationId === cid && !r.type.startsWith('conversation.')).map((r) => r.id)).toEqual(log.filter((e) => e.conversation_id === cid).map((e) => e.id));
          }
        } finally {
          await receiver.stop();
        }
      }),
      { numRuns: 8, seed: 19 },
    );
  });
});
