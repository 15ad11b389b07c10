import type { DigestItem, DigestRecipient, EmailDigestStore } from '../../../core/notifications/email/ports.js';
import type { ConversationKind, Id } from '../../../core/model.js';
import { raw } from '../sql-runner.js';
import { SqlAggregate } from './aggregate.js';
import { LEVEL, NOT_MUTED_AT, SETTINGS_OF_P, notifyContentOf } from './notifications.js';
import { SqlStore } from '../sql-store.js';
import type { Store } from '../store.js';

/**
 * The messages an e-mail is due for, from `participants p` of one user: a DM or a mention of
 * them, not theirs, not deleted, above their read place and their e-mailed watermark, created
 * in (`olderThan` - age, `olderThan`], in a conversation they are still in; and as their push
 * settings have it: none while the level in force is `none`, none that came while the
 * conversation or the user was muted. Parameters: olderThan, newerThan.
 */
const DUE = `
  JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
  ${SETTINGS_OF_P}
  LEFT JOIN email_watermarks w ON w.user_id = p.user_id AND w.conversation_id = p.conversation_id
  JOIN messages m ON m.conversation_id = p.conversation_id AND m.seq > p.read_seq AND m.seq > COALESCE(w.emailed_seq, 0)
  JOIN users s ON s.id = m.sender_id
  WHERE p.left_at IS NULL AND m.sender_id <> p.user_id AND m.deleted_at IS NULL
    AND ${LEVEL} <> 'none' AND ${NOT_MUTED_AT('m.created_at')}
    AND m.created_at <= ? AND m.created_at > ?
    AND (c.kind = 'direct' OR EXISTS (SELECT 1 FROM mentions x WHERE x.message_id = m.id AND x.user_id = p.user_id))`;

interface ItemRow {
  conversation_id: Id;
  kind: string;
  title: string | null;
  seq: number;
  message_id: Id;
  sender_name: string;
  content: string | null;
  created_at: number;
}

/** The e-mail digest's tables (migration 0018): watermarks, opt-outs, sends and leases. */
export class SqlEmailDigest extends SqlAggregate implements EmailDigestStore {
  async usersDue(olderThan: number, newerThan: number, now: number, limit: number): Promise<Id[]> {
    const rows = await this.all<{ user_id: Id }>(
      raw(
        `SELECT DISTINCT p.user_id FROM participants p ${DUE}
           AND NOT EXISTS (SELECT 1 FROM email_opt_outs o WHERE o.user_id = p.user_id)
           AND NOT EXISTS (SELECT 1 FROM email_claims l WHERE l.user_id = p.user_id AND l.claimed_until > ?)
         ORDER BY p.user_id LIMIT ?`,
        [olderThan, newerThan, now, limit],
      ),
    );
    return rows.map((r) => Number(r.user_id));
  }

  async claimDigestUser(userId: Id, holder: string, until: number, now: number): Promise<boolean> {
    // One statement: inserted, or taken over from a lease that has run out; 0 rows when another holds it.
    const changed = await this.runner.run(
      raw(
        `INSERT INTO email_claims (user_id, claimed_until, holder) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET claimed_until = excluded.claimed_until, holder = excluded.holder
         WHERE email_claims.claimed_until <= ?`,
        [userId, until, holder, now],
      ),
    );
    return changed > 0;
  }

  async digestFor(userId: Id, olderThan: number, newerThan: number, limit: number): Promise<{ recipient: DigestRecipient | null; items: DigestItem[] }> {
    const user = await this.first<{ id: Id; email: string; name: string; notify_content: string | null }>(
      raw(
        `SELECT u.id, u.email, u.name, t.notify_content FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE u.id = ? AND NOT EXISTS (SELECT 1 FROM email_opt_outs o WHERE o.user_id = u.id)`,
        [userId],
      ),
    );
    if (!user || !user.email) return { recipient: null, items: [] };
    const rows = await this.all<ItemRow>(
      raw(
        `SELECT m.conversation_id, c.kind, c.title, m.seq, m.id AS message_id, s.name AS sender_name, m.content, m.created_at
         FROM participants p ${DUE} AND p.user_id = ?
         ORDER BY m.conversation_id, m.seq LIMIT ?`,
        [olderThan, newerThan, userId, limit],
      ),
    );
    return {
      recipient: { id: Number(user.id), email: user.email, name: user.name, notifyContent: notifyContentOf(user.notify_content) },
      items: rows.map((r) => ({
        conversationId: Number(r.conversation_id),
        conversationKind: r.kind as ConversationKind,
        conversationTitle: r.title,
        seq: Number(r.seq),
        messageId: Number(r.message_id),
        senderName: r.sender_name,
        content: r.content,
        createdAt: Number(r.created_at),
      })),
    };
  }

  async recordDigest(userId: Id, holder: string, watermarks: readonly { conversationId: Id; seq: number }[], sentAt: number): Promise<void> {
    await this.runner.transaction(async (tx) => {
      for (const w of watermarks) {
        await tx.run(
          raw(
            `INSERT INTO email_watermarks (user_id, conversation_id, emailed_seq) VALUES (?, ?, ?)
             ON CONFLICT (user_id, conversation_id) DO UPDATE SET emailed_seq = ${this.adapter.greatest('email_watermarks.emailed_seq', 'excluded.emailed_seq')}`,
            [userId, w.conversationId, w.seq],
          ),
        );
      }
      await tx.run(raw(`INSERT INTO email_sends (user_id, sent_at, messages) VALUES (?, ?, ?)`, [userId, sentAt, watermarks.length]));
      await tx.run(raw(`DELETE FROM email_claims WHERE user_id = ? AND holder = ?`, [userId, holder]));
    });
  }

  async releaseDigestUser(userId: Id, holder: string): Promise<void> {
    await this.runner.run(raw(`DELETE FROM email_claims WHERE user_id = ? AND holder = ?`, [userId, holder]));
  }

  async optOutOfEmail(userId: Id, at: number): Promise<void> {
    await this.runner.run(raw(`INSERT INTO email_opt_outs (user_id, created_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING`, [userId, at]));
  }
}

/** The digest's tables in the database of `store` (an SqlStore: SQLite or PostgreSQL). */
export function emailDigestStore(store: Store): SqlEmailDigest {
  if (!(store instanceof SqlStore)) throw new Error('the e-mail digest needs an SQL store');
  return new SqlEmailDigest(store);
}
