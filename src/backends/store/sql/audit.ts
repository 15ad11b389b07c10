import type { Selectable } from 'kysely';
import { AUDIT_GENESIS, type AuditEntry, type AuditFields } from '../../../core/audit/ports.js';
import type { Id } from '../../../core/model.js';
import type { AuditLogTable } from '../schema.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import type { AuditQuery, AuditStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';

const AUDIT_COLUMNS = 'tenant_id, seq, at, actor_id, action, target_type, target_id, reason, origin, details, prev_hash, hash';

const num = (v: number | null) => (v === null ? null : Number(v));

const toEntry = (r: Omit<Selectable<AuditLogTable>, 'id'>): AuditEntry => ({
  tenantId: Number(r.tenant_id),
  seq: Number(r.seq),
  at: Number(r.at),
  actorId: num(r.actor_id),
  action: r.action,
  targetType: r.target_type as AuditEntry['targetType'],
  targetId: r.target_id,
  reason: r.reason,
  origin: r.origin,
  details: r.details,
  prevHash: r.prev_hash,
  hash: r.hash,
});

/**
 * Appends an entry on the transaction `tx` (AuditStore.appendAudit; Store.audited, inside an
 * action's own transaction): the tenant's head row is taken first and held to the commit.
 */
export async function appendAuditIn(tx: SqlRunner, f: AuditFields, seal: (link: { seq: number; prevHash: string }) => string): Promise<AuditEntry> {
  await tx.run(raw('INSERT INTO audit_heads (tenant_id, last_seq, last_hash) VALUES (?, 0, ?) ON CONFLICT (tenant_id) DO NOTHING', [f.tenantId, AUDIT_GENESIS]));
  // The UPDATE takes the head's row lock (held to the commit) and returns the hash before it.
  const head = (await tx.all<{ last_seq: number; last_hash: string }>(raw('UPDATE audit_heads SET last_seq = last_seq + 1 WHERE tenant_id = ? RETURNING last_seq, last_hash', [f.tenantId])))[0];
  const seq = Number(head.last_seq);
  const prevHash = head.last_hash;
  const hash = seal({ seq, prevHash });
  await tx.run(
    raw(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      f.tenantId, seq, f.at, f.actorId, f.action, f.targetType, f.targetId, f.reason, f.origin, f.details, prevHash, hash,
    ]),
  );
  await tx.run(raw('UPDATE audit_heads SET last_hash = ? WHERE tenant_id = ?', [hash, f.tenantId]));
  return { ...f, seq, prevHash, hash };
}

/** The audit log: one chain per tenant, its head row locked by each append. */
export class SqlAudit extends SqlAggregate implements AuditStore {
  appendAudit(f: AuditFields, seal: (link: { seq: number; prevHash: string }) => string): Promise<AuditEntry> {
    return this.runner.transaction((tx) => appendAuditIn(tx, f, seal));
  }

  async auditEntries(tenantId: Id, q: AuditQuery): Promise<AuditEntry[]> {
    const where = ['tenant_id = ?'];
    const params: unknown[] = [tenantId];
    const add = (condition: string, value: unknown) => value !== undefined && (where.push(condition), params.push(value));
    add('seq > ?', q.afterSeq);
    add('seq < ?', q.beforeSeq);
    add('actor_id = ?', q.actorId);
    add('action = ?', q.action);
    add('target_type = ?', q.targetType);
    add('target_id = ?', q.targetId);
    add('at >= ?', q.from);
    add('at < ?', q.to);
    const rows = await this.runner.all<Selectable<AuditLogTable>>(
      raw(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`, [...params, q.limit]),
    );
    return rows.map(toEntry);
  }

  async auditHead(tenantId: Id): Promise<{ lastSeq: number; lastHash: string } | undefined> {
    const r = await this.first<{ last_seq: number; last_hash: string }>(raw('SELECT last_seq, last_hash FROM audit_heads WHERE tenant_id = ?', [tenantId]));
    return r && { lastSeq: Number(r.last_seq), lastHash: r.last_hash };
  }

  async auditSeqOfHash(tenantId: Id, hash: string): Promise<number | undefined> {
    const r = await this.first<{ seq: number }>(raw('SELECT seq FROM audit_log WHERE tenant_id = ? AND hash = ? ORDER BY seq LIMIT 1', [tenantId, hash]));
    return r && Number(r.seq);
  }

  async auditTenants(): Promise<Id[]> {
    const rows = await this.runner.all<{ tenant_id: number }>(raw('SELECT tenant_id FROM audit_heads ORDER BY tenant_id', []));
    return rows.map((r) => Number(r.tenant_id));
  }
}
