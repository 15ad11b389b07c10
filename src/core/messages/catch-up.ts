import { withRemovals } from './removals.js';
import type { Config } from '../../config/config.js';
import type { Store } from '../../backends/store/store.js';
import type { Conversations, ConversationKey } from '../conversations/conversations.js';
import type { ConversationRef, DomainEvent, ReadSeqs } from '../events.js';
import type { User } from '../model.js';
import type { Users } from '../users.js';
import { created, missesPurged, snapshotRequired, type SnapshotRequired } from './messages.js';

/** Where a reader of a conversation stands: the highest seq it has, and (optionally) the highest change_seq. */
export interface ChangeCursor {
  afterSeq: number;
  /** Without it only new messages are read, not the changes of older ones. */
  afterChangeSeq?: number;
}

/** One message's worth of a catch-up (created, then deleted, for a new message deleted since), and the cursor after it. */
export interface CatchUpEntry {
  events: DomainEvent[];
  next: ChangeCursor;
}

export interface CatchUp {
  conversation: ConversationRef;
  /**
   * What the reader missed, read from the store a chunk at a time as it is taken, so a
   * reader that stops after a page's worth (by count or by bytes) holds only that page.
   * Stopping after any entry and asking again from its `next` gives every change once:
   * the older messages' changes come first, in change order (cursor: the change_seq
   * reached), then the new messages in seq order, each as it is now (cursor: the seq
   * reached, with a change_seq that covers every older change already given).
   */
  entries(): AsyncGenerator<CatchUpEntry>;
}

/** Messages read per store query: a few hundred KB of rows at most. */
const CHUNK = 100;

type Deps = { store: Store; conversations: Conversations; users: Users; config: Config };

/**
 * A catch-up of `key` after `cursor`, in entries a page can stop between (REST's …/changes).
 * Why it holds under concurrent writes without one snapshot: a conversation's change_seqs
 * commit in order (each change takes the conversation row's next one under its lock), so a
 * read sees a prefix of them. Every older message's change with change_seq ≤ the one an
 * entry names was in the reads before it; every later change of a message already given
 * gets a greater change_seq, so it comes again, as a change. A message changed while its
 * page was read may come twice with the same state, never not at all.
 * Past RESUME_MAX_MESSAGES (or from another epoch): SnapshotRequired, as a socket's resume.
 */
export async function openCatchUp(deps: Deps, actor: User, key: ConversationKey, cursor: ChangeCursor, foreignEpoch = false): Promise<CatchUp | SnapshotRequired> {
  const { store, users } = deps;
  const { conversation } = await deps.conversations.access(actor, key);
  const ref = await deps.conversations.ref(conversation);
  const { afterSeq, afterChangeSeq } = cursor;
  // A cursor from a page that stopped among the new messages already covers their change_seqs
  // (it names the change_seq of the whole read), so the new messages left count by seq.
  const newMessages = conversation.lastSeq - afterSeq;
  const missed = afterChangeSeq === undefined ? newMessages : Math.max(conversation.changeSeq - afterChangeSeq, newMessages);
  // A cursor of another epoch (from before a restore) resumes nothing (Messages.resume).
  // …nor does one from below the retention watermark (purged messages are not replayed as nothing).
  if (foreignEpoch || missesPurged(conversation, afterSeq) || missed > deps.config.resumeMaxMessages) return snapshotRequired(missed, { lastSeq: conversation.lastSeq, changeSeq: conversation.changeSeq });
  const lastSeq = conversation.lastSeq;

  async function* entries(): AsyncGenerator<CatchUpEntry> {
    if (missed <= 0) return;
    const readSeqs = await pairReadSeqs(store, ref);
    // The change_seq a reader of the new messages stands at: every older message's change
    // up to it was given before them.
    let covered = Math.max(afterChangeSeq ?? 0, conversation.changeSeq);
    if (afterChangeSeq !== undefined && afterSeq > 0) {
      for (let after = afterChangeSeq; ; ) {
        const rows = await withRemovals(store, await store.changesSince(conversation.id, after, CHUNK, afterSeq));
        const senders = await users.summaries(rows.map((m) => m.senderId));
        const hidden = await store.hiddenMessageIds(actor.id, rows.map((m) => m.id));
        for (const m of rows) {
          after = m.changeSeq;
          covered = Math.max(covered, m.changeSeq);
          const type = m.deletedAt !== null ? 'message.deleted' : 'message.updated';
          // Deleted for this reader only: the entry still moves the cursor, showing nothing.
          const events: DomainEvent[] = hidden.has(m.id) ? [] : [{ type, conversation: ref, message: m, sender: senders.get(m.senderId)!, readSeqs, replay: true }];
          yield { events, next: { afterSeq, afterChangeSeq: m.changeSeq } };
        }
        if (rows.length < CHUNK) break;
      }
    }
    for (let from = afterSeq + 1; from <= lastSeq; from += CHUNK) {
      const rows = (await withRemovals(store, await store.messagesBySeq(conversation.id, from, Math.min(lastSeq, from + CHUNK - 1)))).reverse();
      const senders = await users.summaries(rows.map((m) => m.senderId));
      const hidden = await store.hiddenMessageIds(actor.id, rows.map((m) => m.id));
      for (const m of rows) {
        const sender = senders.get(m.senderId)!;
        if (hidden.has(m.id)) {
          yield { events: [], next: afterChangeSeq === undefined ? { afterSeq: m.seq } : { afterSeq: m.seq, afterChangeSeq: covered } };
          continue;
        }
        const events: DomainEvent[] = [created(ref, m, sender)];
        // With changes asked for, a new message deleted since comes as new, then as deleted (seq stays gapless).
        if (afterChangeSeq !== undefined && m.deletedAt !== null) events.push({ type: 'message.deleted', conversation: ref, message: m, sender, readSeqs, replay: true });
        yield { events, next: afterChangeSeq === undefined ? { afterSeq: m.seq } : { afterSeq: m.seq, afterChangeSeq: covered } };
      }
    }
  }
  return { conversation: ref, entries };
}

/** Each participant's read_seq of a direct conversation (its messages show is_read per reader); null for groups. */
async function pairReadSeqs(store: Store, conversation: ConversationRef): Promise<ReadSeqs> {
  if (!conversation.pair) return null;
  const out: Record<number, number> = {};
  for (const m of await store.members([conversation.id])) out[m.user.id] = m.participant.readSeq;
  return out;
}
