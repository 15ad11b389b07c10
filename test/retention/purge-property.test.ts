import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, eventually } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { newGroup, newTenant } from '../webhooks/support.js';
import { DAY_MS, RETENTION_TEST_ENV, hold, purgeAt, range, sendOne, setConversationRetention, wholeHistory, type Sent } from './support.js';

// The retention rule as a property: after any sequence of sends, purges, holds and retention
// changes, no held message and no message newer than the limit is purged, the watermark only
// moves up (exactly over the oldest run the rule allows), and every resume either replays
// gaplessly or gets snapshot_required.

type Action =
  | { kind: 'send'; byMember: boolean }
  | { kind: 'purge'; daysLater: number }
  | { kind: 'holdConversation'; on: boolean }
  | { kind: 'holdMember'; on: boolean }
  | { kind: 'retention'; days: number | null };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), byMember: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('purge' as const), daysLater: fc.integer({ min: 0, max: 3 }) }) },
  fc.record({ kind: fc.constant('holdConversation' as const), on: fc.boolean() }),
  fc.record({ kind: fc.constant('holdMember' as const), on: fc.boolean() }),
  fc.record({ kind: fc.constant('retention' as const), days: fc.constantFrom(null, 1, 2) }),
);

describe.each(databases)('retention rule on %s', (db) => {
  const server = useParley({ db, env: { ...RETENTION_TEST_ENV, RESUME_MAX_MESSAGES: '1000' } });

  it('holds, limits, a monotonic watermark, and resumes that replay gaplessly or ask for a snapshot', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
        const { admin, member } = await newTenant(server);
        const conv = await newGroup(server, admin, [member], 'Property');
        const sent: (Sent & { byMember: boolean })[] = [];
        let days: number | null = null;
        let conversationHeld = false;
        let memberHeld = false;
        let watermark = 1;
        for (const a of actions) {
          if (a.kind === 'send') sent.push({ ...(await sendOne(server, a.byMember ? member : admin, conv, `p ${sent.length}`)), byMember: a.byMember });
          else if (a.kind === 'holdConversation') {
            await hold(server, admin, 'conversation', conv, a.on);
            conversationHeld = a.on;
          } else if (a.kind === 'holdMember') {
            await hold(server, admin, 'user', member.user.id, a.on);
            memberHeld = a.on;
          } else if (a.kind === 'retention') {
            await setConversationRetention(server, admin, conv, a.days);
            days = a.days;
          } else {
            if (sent.length > 0) await eventually(() => expect(Date.now()).toBeGreaterThan(sent.at(-1)!.createdAt));
            const now = Date.now() + a.daysLater * DAY_MS;
            await purgeAt(server, now);
            // The model: from the watermark, the run of messages older than the limit and not held.
            if (days !== null && !conversationHeld) {
              const cutoff = now - days * DAY_MS;
              while (watermark <= sent.length) {
                const m = sent[watermark - 1];
                if (m.createdAt >= cutoff || (memberHeld && m.byMember)) break;
                watermark++;
              }
            }
            const history = await wholeHistory(server, member, conv);
            expect(history.purgedBeforeSeq).toBe(watermark);
            expect(history.seqs).toEqual(range(watermark, sent.length));
          }
        }
        // Every cursor: below the watermark a snapshot, else exactly the rest.
        for (let after = 0; after <= sent.length; after++) {
          const r = await api(server, 'GET', `/api/parley/conversations/${conv}/changes?after_seq=${after}&limit=1000`, { token: member.token });
          if (after + 1 < watermark) {
            expect(r.status).toBe(409);
            expect(r.body.code).toBe('snapshot_required');
          } else {
            expect(r.status).toBe(200);
            expect((r.body.frames as { message: { seq: number } }[]).map((f) => f.message.seq)).toEqual(range(after + 1, sent.length));
          }
        }
      }),
      { numRuns: 12 },
    );
  });
});
