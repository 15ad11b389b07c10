import type { Id, Message, Millis } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import type { ThreadState, ThreadStore } from '../store.js';
import type { SqlAdapter } from './adapter.js';
import { SqlAggregate } from './aggregate.js';
import { hydrateMessages } from './messages.js';
import { MESSAGE_COLUMNS, type MessageRow } from './rows.js';

/** A new reply, as the append follows its thread for its sender and the root's. */
export interface ThreadReply {
  rootId: Id;
  conversationId: Id;
  senderId: Id;
  seq: number;
  at: Millis;
}

/**
 * In the append's transaction (after its conversations are locked): whoever replies follows
 * the thread and has read it up to their reply (a reply answers what came before it, as in a
 * conversation); the root's author follows it from its first reply unless they unfollowed.
 */
export async function followRepliedThreads(tx: SqlRunner, adapter: SqlAdapter, replies: readonly ThreadReply[]): Promise<void> {
  if (replies.length === 0) return;
  const { greatest } = adapter;
  for (const r of [...replies].sort((a, b) => a.rootId - b.rootId || a.senderId - b.senderId)) {
    await tx.run(
      raw(
        `INSERT INTO thread_members (root_id, user_id, conversation_id, read_seq, following, updated_at)
         SELECT id, sender_id, conversation_id, seq, 1, ? FROM messages WHERE id = ? AND true
         ON CONFLICT (root_id, user_id) DO NOTHING`,
        [r.at, r.rootId],
      ),
    );
    await tx.run(
      raw(
        `INSERT INTO thread_members (root_id, user_id, conversation_id, read_seq, following, updated_at) VALUES (?, ?, ?, ?, 1, ?)
         ON CONFLICT (root_id, user_id) DO UPDATE SET following = 1, read_seq = ${greatest('thread_members.read_seq', 'excluded.read_seq')}, updated_at = excluded.updated_at`,
        [r.rootId, r.senderId, r.conversationId, r.seq, r.at],
      ),
    );
  }
}

type ThreadRow = {
  root_id: number;
  conversation_id: number;
  root_seq: number;
  read_seq: number | null;
  following: number | null;
  unread: number;
  replies: number;
  last_reply_seq: number | null;
  last_reply_at: number | null;
};

/**
 * Per user and thread: the read position, following, and the unread replies (not deleted,
 * not deleted for themselves, above the position), counted through messages_thread_seq over
 * the unread replies of that thread only: a thread is a side conversation, small next to its
 * conversation, and a count from its rows cannot drift. Without a row a user has read nothing
 * of the thread. `reader`: the SQL of the user's id.
 */
const threadSelect = (reader: string) => `SELECT root.id AS root_id, root.conversation_id, root.seq AS root_seq, t.read_seq, t.following, root.reply_count AS replies,
    (SELECT count(*) FROM messages r WHERE r.reply_to_id = root.id AND r.seq > coalesce(t.read_seq, root.seq) AND r.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = ${reader} AND h.message_id = r.id)) AS unread,
    (SELECT r.seq FROM messages r WHERE r.reply_to_id = root.id AND r.deleted_at IS NULL ORDER BY r.seq DESC LIMIT 1) AS last_reply_seq,
    (SELECT r.created_at FROM messages r WHERE r.reply_to_id = root.id AND r.deleted_at IS NULL ORDER BY r.seq DESC LIMIT 1) AS last_reply_at`;

const toThreadState = (r: ThreadRow): ThreadState => ({
  rootId: Number(r.root_id),
  conversationId: Number(r.conversation_id),
  readSeq: r.read_seq == null ? Number(r.root_seq) : Number(r.read_seq),
  following: Number(r.following ?? 0) === 1,
  unreadCount: Number(r.unread),
  replyCount: Number(r.replies),
  lastReplySeq: r.last_reply_seq == null ? null : Number(r.last_reply_seq),
  lastReplyAt: r.last_reply_at == null ? null : Number(r.last_reply_at),
});

export class SqlThreads extends SqlAggregate implements ThreadStore {
  async threadStates(userId: Id, rootIds: readonly Id[]): Promise<Map<Id, ThreadState>> {
    const ids = [...new Set(rootIds)].filter(Number.isSafeInteger);
    const out = new Map<Id, ThreadState>();
    if (ids.length === 0) return out;
    const rows = await this.all<ThreadRow>(
      raw(
        `${threadSelect('?')} FROM messages root LEFT JOIN thread_members t ON t.root_id = root.id AND t.user_id = ?
         WHERE root.id IN (${ids.map(() => '?').join(', ')})`,
        [userId, userId, ...ids],
      ),
    );
    for (const r of rows) out.set(Number(r.root_id), toThreadState(r));
    return out;
  }

  async followedThreads(userId: Id, limit: number): Promise<ThreadState[]> {
    const rows = await this.all<ThreadRow>(
      raw(
        `SELECT * FROM (${threadSelect('t.user_id')} FROM thread_members t
           JOIN messages root ON root.id = t.root_id
           JOIN participants p ON p.conversation_id = t.conversation_id AND p.user_id = t.user_id AND p.left_at IS NULL
           JOIN conversations c ON c.id = t.conversation_id AND c.deleted_at IS NULL
           WHERE t.user_id = ? AND t.following = 1) x
         ORDER BY coalesce(x.last_reply_at, 0) DESC, x.root_id DESC LIMIT ?`,
        [userId, limit],
      ),
    );
    return rows.map(toThreadState);
  }

  async markThreadRead(userId: Id, rootId: Id, conversationId: Id, seq: number, at: Millis): Promise<number> {
    const { greatest } = this.adapter;
    const r = await this.first<{ read_seq: number }>(
      raw(
        `INSERT INTO thread_members (root_id, user_id, conversation_id, read_seq, following, updated_at) VALUES (?, ?, ?, ?, 0, ?)
         ON CONFLICT (root_id, user_id) DO UPDATE SET read_seq = ${greatest('thread_members.read_seq', 'excluded.read_seq')}, updated_at = excluded.updated_at
         RETURNING read_seq`,
        [rootId, userId, conversationId, seq, at],
      ),
    );
    return Number(r!.read_seq);
  }

  async setThreadFollowing(userId: Id, rootId: Id, conversationId: Id, following: boolean, readSeqIfNew: number, at: Millis): Promise<void> {
    await this.runner.run(
      raw(
        `INSERT INTO thread_members (root_id, user_id, conversation_id, read_seq, following, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (root_id, user_id) DO UPDATE SET following = excluded.following, updated_at = excluded.updated_at`,
        [rootId, userId, conversationId, readSeqIfNew, following ? 1 : 0, at],
      ),
    );
  }

  async threadReplies(rootId: Id, afterSeq: number, limit: number): Promise<Message[]> {
    const rows = await this.all<MessageRow>(
      raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE reply_to_id = ? AND seq > ? ORDER BY seq LIMIT ?`, [rootId, afterSeq, limit]),
    );
    return hydrateMessages(this.ctx, rows);
  }
}
