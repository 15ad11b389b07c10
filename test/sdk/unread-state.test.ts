import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatState, type Conversation, type Message } from '@parley/sdk';

// Issue 18 in the SDK's state, as a property: with every message of a conversation in the
// state, the unread count and first unread it shows equal a recount at the reader's place
// after any sequence of new messages (theirs and mine), deletes, my reads and the server's
// `unread` frames (after a read or a mark-unread on another device).

const user = (id: number) => ({ id, uuid: `u${id}`, name: `U${id}`, email: `u${id}@x`, avatar_url: null });
const ME = 1;

type Op = { kind: 'theirs' | 'mine' | 'load' } | { kind: 'delete'; pick: number } | { kind: 'read'; pick: number } | { kind: 'frame'; pick: number; back: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: 'theirs' }),
  fc.constant<Op>({ kind: 'theirs' }),
  fc.constant<Op>({ kind: 'mine' }),
  fc.constant<Op>({ kind: 'load' }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat(1000) }),
  fc.record({ kind: fc.constant('read' as const), pick: fc.nat(1000) }),
  fc.record({ kind: fc.constant('frame' as const), pick: fc.nat(1000), back: fc.boolean() }),
);

describe('ChatState unread counts', () => {
  it('equal a recount at my place after any sequence (fast-check, seeded)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const s = new ChatState();
        s.me = user(ME);
        const messages: Message[] = [];
        let change = 0;
        let seen = 0;
        const msg = (seq: number, sender: number, deleted = false): Message => ({
          id: 100 + seq,
          uuid: `m${seq}`,
          conversation_id: 7,
          seq,
          change_seq: ++change,
          sender: user(sender),
          kind: 'text',
          content: deleted ? null : `m${seq}`,
          reply_to_id: null,
          reply_count: 0,
          created_at: new Date(1_700_000_000_000 + seq).toISOString(),
          edited_at: null,
          deleted_at: deleted ? new Date(1_700_000_000_000 + seq).toISOString() : null,
          attachments: [],
          reactions: [],
        });
        const live = () => messages.filter((m) => m.seq > seen && !m.deleted_at);
        const base: Conversation = {
          id: 7,
          uuid: 'c7',
          kind: 'group',
          title: 'T',
          visibility: 'private',
          created_by: 2,
          created_at: new Date(1_600_000_000_000).toISOString(),
          last_seq: 0,
          change_seq: 0,
          last_message: null,
          last_message_at: null,
          unread_count: 0,
          first_unread_seq: null,
          my_seen_seq: 0,
          my_role: 'member',
          my_read_seq: 0,
          my_sent_seq: 0,
          member_count: 2,
          members: [],
        };
        s.mergeConversation(base, s.tick());
        for (const op of ops) {
          const last = messages.length;
          if (op.kind === 'theirs' || op.kind === 'mine') {
            const m = msg(last + 1, op.kind === 'mine' ? ME : 2);
            messages.push(m);
            s.mergeMessage(m);
            if (op.kind === 'mine') seen = m.seq;
          } else if (op.kind === 'delete') {
            if (last === 0) continue;
            const m = messages[op.pick % last];
            if (m.deleted_at) continue;
            messages[m.seq - 1] = msg(m.seq, m.sender.id, true);
            s.mergeMessage(messages[m.seq - 1]);
          } else if (op.kind === 'read') {
            // My read came back (the `read` frame, or REST): my place moves up to it.
            const seq = op.pick % (last + 1);
            if (seq <= seen) continue;
            seen = seq;
            s.applyRead(7, ME, seq);
          } else if (op.kind === 'load') {
            // Another state loads it now (a device added back): the row, then the history
            // page, whose deleted messages are out of the row's count already (oracle seed
            // 1236306163 run 114: each was subtracted again).
            const fresh = new ChatState();
            fresh.me = user(ME);
            const unread = live();
            fresh.mergeConversation({ ...base, last_seq: last, change_seq: change, my_seen_seq: seen, unread_count: unread.length, first_unread_seq: unread[0]?.seq ?? null }, fresh.tick());
            for (const m of messages) fresh.mergeMessage(m, 'history');
            const c = fresh.conversation(7)!;
            expect({ count: c.unread_count, first: c.first_unread_seq }, `fresh load ${JSON.stringify(ops)}`).toEqual({ count: unread.length, first: unread[0]?.seq ?? null });
          } else if (op.kind === 'frame') {
            // Another device of mine read to, or marked unread from, a message: the server says where I am.
            if (last === 0) continue;
            const seq = 1 + (op.pick % last);
            seen = op.back ? Math.min(seen, seq - 1) : Math.max(seen, seq);
            const unread = live();
            s.applyUnread({ type: 'unread', conversation_id: 7, seen_seq: seen, unread_count: unread.length, first_unread_seq: unread[0]?.seq ?? null });
          }
          const want = live();
          const c = s.conversation(7)!;
          expect({ count: c.unread_count, first: c.first_unread_seq, seen: c.my_seen_seq }, JSON.stringify(ops)).toEqual({ count: want.length, first: want[0]?.seq ?? null, seen });
        }
      }),
      { numRuns: 300, seed: 20261205 },
    );
  });
});
