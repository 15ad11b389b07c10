import type { Id, LegalHold, Millis } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import type { ExportCursor, ExportScope, PurgeBatch, RetentionCandidate, RetentionStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { placeholders } from './rows.js';

/** The tables whose rows hang on a message by `message_id`, deleted with it by a purge. */
const HANGING_ON_MESSAGE = ['reactions', 'mentions', 'message_revisions', 'message_hides', 'pins', 'saved_messages', 'notification_outbox'] as const;

/** A legal hold on the conversation `c` (SQL, for `c.id`). */
const CONVERSATION_HELD = `EXISTS (SELECT 1 FROM legal_holds h WHERE h.target_type = 'conversation' AND h.target_id = c.id)`;

interface PurgeRow {
  id: Id;
  seq: number;
  created_at: number;
  held: number;
}

/** Retention (per tenant and conversation), legal holds, the purge and job leases (migration 0024). */
export class SqlRetention extends SqlAggregate implements RetentionStore {
  async tenantRetention(tenantId: Id): Promise<number | null> {
    const r = await this.first<{ retention_days: number | null }>(raw('SELECT retention_days FROM tenant_settings WHERE tenant_id = ?', [tenantId]));
    return r?.retention_days == null ? null : Number(r.retention_days);
  }

  async setTenantRetention(tenantId: Id, days: number | null, at: Millis): Promise<void> {
    // The same column as the admin's tenant settings (sql/admin.ts): one "keep N days" per tenant.
    await this.runner.run(
      raw(
        'INSERT INTO tenant_settings (tenant_id, retention_days, updated_at) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET retention_days = excluded.retention_days, updated_at = excluded.updated_at',
        [tenantId, days, at],
      ),
    );
  }

  async setConversationRetention(conversationId: Id, days: number | null): Promise<void> {
    await this.runner.run(raw('UPDATE conversations SET retention_days = ? WHERE id = ?', [days, conversationId]));
  }

  async setLegalHold(hold: LegalHold, on: boolean): Promise<boolean> {
    const changed = on
      ? await this.runner.run(
          raw('INSERT INTO legal_holds (tenant_id, target_type, target_id, created_by, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (target_type, target_id) DO NOTHING', [
            hold.tenantId,
            hold.targetType,
            hold.targetId,
            hold.createdBy,
            hold.createdAt,
          ]),
        )
      : await this.runner.run(raw('DELETE FROM legal_holds WHERE tenant_id = ? AND target_type = ? AND target_id = ?', [hold.tenantId, hold.targetType, hold.targetId]));
    return changed > 0;
  }

  async legalHolds(tenantId: Id): Promise<LegalHold[]> {
    const rows = await this.all<{ tenant_id: Id; target_type: string; target_id: Id; created_by: Id | null; created_at: number }>(
      raw('SELECT tenant_id, target_type, target_id, created_by, created_at FROM legal_holds WHERE tenant_id = ? ORDER BY created_at, target_type, target_id', [tenantId]),
    );
    return rows.map((r) => ({
      tenantId: Number(r.tenant_id),
      targetType: r.target_type === 'user' ? 'user' : 'conversation',
      targetId: Number(r.target_id),
      createdBy: r.created_by === null ? null : Number(r.created_by),
      createdAt: Number(r.created_at),
    }));
  }

  async retentionCandidates(afterId: Id, limit: number): Promise<RetentionCandidate[]> {
    const rows = await this.all<{ id: Id; tenant_id: Id; days: number; purged_before_seq: number }>(
      raw(
        `SELECT c.id, c.tenant_id, COALESCE(c.retention_days, t.retention_days) AS days, c.purged_before_seq
         FROM conversations c LEFT JOIN tenant_settings t ON t.tenant_id = c.tenant_id
         WHERE c.id > ? AND c.deleted_at IS NULL AND c.purged_before_seq <= c.last_seq
           AND COALESCE(c.retention_days, t.retention_days) IS NOT NULL AND NOT ${CONVERSATION_HELD}
         ORDER BY c.id LIMIT ?`,
        [afterId, limit],
      ),
    );
    return rows.map((r) => ({ conversationId: Number(r.id), tenantId: Number(r.tenant_id), retentionDays: Number(r.days), purgedBeforeSeq: Number(r.purged_before_seq) }));
  }

  purgeMessages(conversationId: Id, cutoff: Millis, limit: number): Promise<PurgeBatch> {
    return this.runner.transaction(async (tx) => {
      const conversation = await this.first<{ purged_before_seq: number; held: number }>(
        raw(`SELECT c.purged_before_seq, CASE WHEN ${CONVERSATION_HELD} THEN 1 ELSE 0 END AS held FROM conversations c WHERE c.id = ?`, [conversationId]),
        tx,
      );
      if (!conversation) return { purged: 0, purgedBeforeSeq: 1, fileKeys: [] };
      const from = Number(conversation.purged_before_seq);
      if (Number(conversation.held) === 1) return { purged: 0, purgedBeforeSeq: from, fileKeys: [] };
      const rows = await this.all<PurgeRow>(
        raw(
          `SELECT m.id, m.seq, m.created_at,
             CASE WHEN EXISTS (SELECT 1 FROM legal_holds h WHERE h.target_type = 'user' AND h.target_id = m.sender_id) THEN 1 ELSE 0 END AS held
           FROM messages m WHERE m.conversation_id = ? AND m.seq >= ? ORDER BY m.seq LIMIT ?`,
          [conversationId, from, limit],
        ),
        tx,
      );
      // The run ends at the first message too new, held, or not the next seq (never a gap below the watermark).
      const ids: Id[] = [];
      for (const r of rows) {
        if (Number(r.seq) !== from + ids.length || Number(r.created_at) >= cutoff || Number(r.held) === 1) break;
        ids.push(Number(r.id));
      }
      if (ids.length === 0) return { purged: 0, purgedBeforeSeq: from, fileKeys: [] };
      const fileKeys = await this.#deleteMessages(tx, ids);
      const to = from + ids.length;
      // Last, so the conversation's row (which every send to it locks) is held the shortest time.
      const moved = await tx.run(raw('UPDATE conversations SET purged_before_seq = ? WHERE id = ? AND purged_before_seq = ?', [to, conversationId, from]));
      if (moved === 0) throw new Error(`purge of conversation ${conversationId}: its watermark moved meanwhile`);
      return { purged: ids.length, purgedBeforeSeq: to, fileKeys };
    });
  }

  /** Deletes the messages `ids` and everything that hangs on them; their files' keys. */
  async #deleteMessages(tx: SqlRunner, ids: readonly Id[]): Promise<string[]> {
    const list = placeholders(ids.length);
    const files = await this.all<{ stored_path: string; thumbnail_path: string | null }>(raw(`SELECT stored_path, thumbnail_path FROM attachments WHERE message_id IN (${list})`, ids), tx);
    for (const table of HANGING_ON_MESSAGE) await tx.run(raw(`DELETE FROM ${table} WHERE message_id IN (${list})`, ids));
    await tx.run(raw(`DELETE FROM attachments WHERE message_id IN (${list})`, ids));
    await tx.run(raw(`DELETE FROM thread_members WHERE root_id IN (${list})`, ids));
    await tx.run(raw(`DELETE FROM message_search WHERE rowid IN (${list})`, ids));
    await tx.run(raw(`UPDATE messages SET reply_to_id = NULL WHERE reply_to_id IN (${list})`, ids));
    await tx.run(raw(`DELETE FROM messages WHERE id IN (${list})`, ids));
    return files.flatMap((f) => (f.thumbnail_path ? [f.stored_path, f.thumbnail_path] : [f.stored_path]));
  }

  async exportPositions(scope: ExportScope, after: ExportCursor, limit: number): Promise<ExportCursor[]> {
    const [where, value] = 'conversationId' in scope ? ['m.conversation_id = ?', scope.conversationId] : 'senderId' in scope ? ['m.sender_id = ?', scope.senderId] : ['c.tenant_id = ?', scope.tenantId];
    const rows = await this.all<{ conversation_id: Id; seq: number }>(
      raw(
        `SELECT m.conversation_id, m.seq FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE ${where} AND c.deleted_at IS NULL AND (m.conversation_id > ? OR (m.conversation_id = ? AND m.seq > ?))
         ORDER BY m.conversation_id, m.seq LIMIT ?`,
        [value, after.conversationId, after.conversationId, after.seq, limit],
      ),
    );
    return rows.map((r) => ({ conversationId: Number(r.conversation_id), seq: Number(r.seq) }));
  }

  async claimJob(name: string, holder: string, until: Millis, now: Millis): Promise<boolean> {
    // One statement: inserted, renewed by its holder, or taken over from a lease that ran out; 0 rows while another holds it.
    const changed = await this.runner.run(
      raw(
        `INSERT INTO job_leases (name, holder, lease_until) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
         WHERE job_leases.lease_until <= ? OR job_leases.holder = excluded.holder`,
        [name, holder, until, now],
      ),
    );
    return changed > 0;
  }
}
