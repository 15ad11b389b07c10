import { v7 as uuidv7 } from 'uuid';
import type { Attachment, Id, Millis } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import { StoreError, type AttachmentRecord, type AttachmentStore, type NewAttachment, type PendingQuota, type PendingUsage } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { placeholders, rowMapper, toAttachment, type AttachmentRow } from './rows.js';

/** An attachment with where it stands: owner, message, and whether either was deleted. */
type AttachmentRecordRow = AttachmentRow & {
  tenant_id: number;
  owner_id: number;
  message_id: number | null;
  created_at: number;
  conversation_id: number | null;
  message_deleted_at: number | null;
  conversation_deleted_at: number | null;
};
const recordFields = rowMapper<AttachmentRecordRow>()(['tenant_id', 'owner_id', 'message_id', 'conversation_id', 'message_deleted_at', 'conversation_deleted_at', 'created_at']);

/** Keys per statement when a list of file keys or ids goes into an IN list. */
const KEYS_PER_STATEMENT = 500;

/** The file keys of attachment rows, thumbnails included. */
const keysOf = (rows: readonly { stored_path: string; thumbnail_path: string | null }[]): string[] =>
  rows.flatMap((r) => (r.thumbnail_path ? [r.stored_path, r.thumbnail_path] : [r.stored_path]));

/** Attachment rows per INSERT: 15 parameters each stays far below either database's bound. */
const ATTACHMENT_ROWS_PER_STATEMENT = 1000;

/** One attachment row to insert: of a conversation's message, or pending (of the owner's tenant). */
export interface AttachmentInsert {
  uuid: string;
  /** The tenant: given, or the conversation's. */
  tenantId: Id | null;
  conversationId: Id | null;
  ownerId: Id;
  messageId: Id | null;
  position: number;
  attachment: Omit<NewAttachment, 'pendingId'>;
  createdAt: Millis;
}

/** Inserts the rows, a thousand per statement; returns their ids by uuid. */
export async function insertAttachmentRows(tx: SqlRunner, rows: readonly AttachmentInsert[]): Promise<Map<string, Id>> {
  const idOf = new Map<string, Id>();
  for (let i = 0; i < rows.length; i += ATTACHMENT_ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ATTACHMENT_ROWS_PER_STATEMENT);
    const ids = await tx.all<{ id: number; uuid: string }>(
      raw(
        `INSERT INTO attachments (uuid, tenant_id, owner_id, message_id, position, kind, file_name, stored_path, size, mime_type, duration_seconds, width, height, thumbnail_path, created_at)
         VALUES ${new Array(chunk.length).fill('(?, COALESCE(?, (SELECT tenant_id FROM conversations WHERE id = ?)), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} RETURNING id, uuid`,
        chunk.flatMap(({ attachment: a, ...r }) => [
          r.uuid, r.tenantId, r.conversationId, r.ownerId, r.messageId, r.position,
          a.kind, a.fileName, a.storedPath, a.size, a.mimeType, a.durationSeconds, a.width, a.height, a.thumbnailPath, r.createdAt,
        ]),
      ),
    );
    for (const r of ids) idOf.set(r.uuid, r.id);
  }
  return idOf;
}

/** Attachments' rows: pending uploads (quota under the owner's lock), look-ups by file key, the sweep's lists. */
export class SqlFiles extends SqlAggregate implements AttachmentStore {
  async createPendingAttachments(tenantId: Id, ownerId: Id, attachments: readonly NewAttachment[], at: Millis, quota?: PendingQuota): Promise<Attachment[]> {
    if (attachments.length === 0) return [];
    return this.runner.transaction(async (tx) => {
      if (quota && (quota.maxFiles > 0 || quota.maxBytes > 0)) {
        // The owner's row is the lock: a second upload of the same user (in any process) waits
        // here until this one commits, then counts what it inserted.
        await this.adapter.lockRow(tx, 'users', ownerId);
        const used = await this.#pendingUsage(ownerId, tx);
        const files = used.files + attachments.length;
        const bytes = used.bytes + attachments.reduce((n, a) => n + a.size, 0);
        if ((quota.maxFiles > 0 && files > quota.maxFiles) || (quota.maxBytes > 0 && bytes > quota.maxBytes)) {
          throw new StoreError('upload_quota_exceeded');
        }
      }
      const rows = attachments.map(({ pendingId: _ignored, ...attachment }, position) => ({
        uuid: uuidv7(), tenantId, conversationId: null, ownerId, messageId: null, position, attachment, createdAt: at,
      }));
      const idOf = await insertAttachmentRows(tx, rows);
      return rows.map((r) => ({ id: idOf.get(r.uuid)!, uuid: r.uuid, position: r.position, ...r.attachment }));
    });
  }

  pendingUsage(ownerId: Id): Promise<PendingUsage> {
    return this.#pendingUsage(ownerId, this.runner);
  }

  async #pendingUsage(ownerId: Id, r: SqlRunner): Promise<PendingUsage> {
    const row = await this.first<{ files: number | string; bytes: number | string | null }>(
      raw('SELECT COUNT(*) AS files, SUM(size) AS bytes FROM attachments WHERE owner_id = ? AND message_id IS NULL', [ownerId]),
      r,
    );
    // PostgreSQL answers COUNT and SUM of bigints as strings.
    return { files: Number(row?.files ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  async attachmentByPath(key: string): Promise<AttachmentRecord | undefined> {
    // Two probes, one per index, rather than an OR that may scan.
    for (const column of ['stored_path', 'thumbnail_path'] as const) {
      const r = await this.first<AttachmentRecordRow>(
        raw(
          `SELECT a.id, a.uuid, a.position, a.kind, a.file_name, a.stored_path, a.size, a.mime_type, a.duration_seconds, a.width, a.height, a.thumbnail_path,
                  a.tenant_id, a.owner_id, a.message_id, a.created_at, m.conversation_id, m.deleted_at AS message_deleted_at,
                  c.deleted_at AS conversation_deleted_at
           FROM attachments a LEFT JOIN messages m ON m.id = a.message_id LEFT JOIN conversations c ON c.id = m.conversation_id
           WHERE a.${column} = ? LIMIT 1`,
          [key],
        ),
      );
      if (r) return { attachment: toAttachment(r), ...recordFields(r) };
    }
    return undefined;
  }

  async referencedPaths(keys: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
      const chunk = keys.slice(i, i + KEYS_PER_STATEMENT);
      const rows = await this.all<{ stored_path: string | null; thumbnail_path: string | null }>(
        raw(
          `SELECT stored_path, NULL AS thumbnail_path FROM attachments WHERE stored_path IN (${placeholders(chunk.length)})
           UNION ALL SELECT NULL, thumbnail_path FROM attachments WHERE thumbnail_path IN (${placeholders(chunk.length)})`,
          [...chunk, ...chunk],
        ),
      );
      for (const r of rows) out.add((r.stored_path ?? r.thumbnail_path)!);
    }
    return out;
  }

  async deletePendingAttachments(before: Millis): Promise<string[]> {
    const rows = await this.all<{ stored_path: string; thumbnail_path: string | null }>(
      raw('DELETE FROM attachments WHERE message_id IS NULL AND created_at < ? RETURNING stored_path, thumbnail_path', [before]),
    );
    return keysOf(rows);
  }

  async deletedConversationFiles(): Promise<{ conversationId: Id; deletedAt: Millis; keys: string[] }[]> {
    // The partial index conversations_files_to_purge holds exactly these conversations.
    const convs = await this.all<{ id: number; deleted_at: number }>(
      raw('SELECT id, deleted_at FROM conversations WHERE deleted_at IS NOT NULL AND files_purged_at IS NULL ORDER BY id', []),
    );
    const out: { conversationId: Id; deletedAt: Millis; keys: string[] }[] = [];
    for (const c of convs) {
      const rows = await this.all<{ stored_path: string; thumbnail_path: string | null }>(
        raw('SELECT a.stored_path, a.thumbnail_path FROM messages m JOIN attachments a ON a.message_id = m.id WHERE m.conversation_id = ?', [c.id]),
      );
      out.push({ conversationId: Number(c.id), deletedAt: Number(c.deleted_at), keys: keysOf(rows) });
    }
    return out;
  }

  async markConversationFilesPurged(conversationIds: readonly Id[], at: Millis): Promise<void> {
    for (let i = 0; i < conversationIds.length; i += KEYS_PER_STATEMENT) {
      const chunk = conversationIds.slice(i, i + KEYS_PER_STATEMENT);
      await this.runner.run(raw(`UPDATE conversations SET files_purged_at = ? WHERE id IN (${placeholders(chunk.length)})`, [at, ...chunk]));
    }
  }
}
