import { createHash } from 'node:crypto';
import type { AuditAppend, AuditQuery, Store } from '../../backends/store/store.js';
import { DomainError } from '../errors.js';
import type { Id, Millis, User } from '../model.js';
import { AUDIT_GENESIS, type AuditEntry, type AuditEntryInput, type AuditFields, type AuditRecorder } from './ports.js';

/** Names the version of the encoding below, so a later one can never hash alike. */
const ENCODING = 'parley-audit-1';

/**
 * An entry's hash (docs/audit.md, "The chain"): SHA-256, in lowercase hex, of the UTF-8 bytes
 * of the JSON array [ENCODING, seq, at, actor_id, action, target_type, target_id, reason,
 * origin, details, prev_hash] as JSON.stringify writes it (no spaces; `details` is the stored
 * JSON text, a string, or null).
 */
export function auditHash(e: Omit<AuditFields, 'tenantId'> & { seq: number; prevHash: string }): string {
  const fields = [ENCODING, e.seq, e.at, e.actorId, e.action, e.targetType, e.targetId, e.reason, e.origin, e.details, e.prevHash];
  return createHash('sha256').update(JSON.stringify(fields), 'utf8').digest('hex');
}

/** What a check of a tenant's chain found: the first entry that is not as it was appended. */
export interface AuditVerdict {
  ok: boolean;
  /** How many entries were read. */
  checked: number;
  firstBad?: { seq: number; problem: 'changed' | 'removed' | 'reordered' };
}

/** Filters of the admins' view; `before` is the cursor (the last seq of the previous page). */
export type AuditFilter = Pick<AuditQuery, 'actorId' | 'action' | 'targetType' | 'targetId' | 'from' | 'to'>;

/** An entry under the names of its export line and the API, every hashed field as hashed (docs/audit.md). */
export const auditRecord = (e: AuditEntry) => ({
  seq: e.seq,
  at: e.at,
  actor_id: e.actorId,
  action: e.action,
  target_type: e.targetType,
  target_id: e.targetId,
  reason: e.reason,
  origin: e.origin,
  details: e.details,
  prev_hash: e.prevHash,
  hash: e.hash,
});

/** One line of an export: anyone can check the chain from the lines alone. */
export const auditExportLine = (e: AuditEntry) => JSON.stringify(auditRecord(e));

/** How many entries a read of the whole chain (verify, export) takes at a time. */
const PAGE = 500;
const MAX_LIST = 200;
const MAX_DETAILS_CHARS = 4000;

/**
 * The audit log (issue 20): every administrative and moderation action, appended per tenant as
 * a hash chain; tenant admins read it, the operator verifies and exports it (`parley audit`).
 */
export class Audit implements AuditRecorder {
  constructor(readonly store: Store) {}

  async record(entry: AuditEntryInput): Promise<void> {
    await this.append(entry);
  }

  /** Appends the entry now and returns it as stored. */
  append(entry: AuditEntryInput, at = Date.now()): Promise<AuditEntry> {
    const { fields, seal } = this.prepare(entry, at);
    return this.store.appendAudit(fields, seal);
  }

  within<T>(store: Store, write: (tx: Store) => Promise<T>, entry: (result: T) => AuditEntryInput | readonly AuditEntryInput[] | null, at = Date.now()): Promise<T> {
    return store.audited(write, (result) => {
      const e = entry(result);
      return e === null ? null : (Array.isArray(e) ? (e as readonly AuditEntryInput[]) : [e as AuditEntryInput]).map((x) => this.prepare(x, at));
    });
  }

  /** The entry's checked fields and its seal, for an append inside an action's transaction (Store.audited). */
  prepare(entry: AuditEntryInput, at: Millis): AuditAppend {
    if (!/^[a-z_]+(\.[a-z_]+)+$/.test(entry.action)) throw new Error(`audit: an action is a dotted name, not ${JSON.stringify(entry.action)}`);
    const details = entry.details ? JSON.stringify(entry.details) : null;
    if (details !== null && details.length > MAX_DETAILS_CHARS) throw new Error(`audit: details of ${entry.action} over ${MAX_DETAILS_CHARS} characters`);
    const fields: AuditFields = {
      tenantId: entry.tenantId,
      at,
      actorId: entry.actorId,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      reason: entry.reason ?? null,
      origin: entry.origin ?? null,
      details,
    };
    return { fields, seal: (link) => auditHash({ ...fields, ...link }) };
  }

  /** The tenant's entries newest first, for its admins; `next` is the `before` of the next page (null: none). */
  async list(actor: User, filter: AuditFilter & { before?: number; limit?: number }): Promise<{ entries: AuditEntry[]; next: number | null }> {
    if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
    const limit = Math.min(Math.max(1, filter.limit ?? 50), MAX_LIST);
    const { before, ...filters } = filter;
    const entries = await this.store.auditEntries(actor.tenantId, { ...filters, beforeSeq: before, order: 'desc', limit });
    return { entries, next: entries.length === limit ? entries[entries.length - 1].seq : null };
  }

  /** Every entry of the tenant after `afterSeq`, oldest first, read a page at a time. */
  async *entries(tenantId: Id, afterSeq = 0): AsyncGenerator<AuditEntry> {
    for (let after = afterSeq; ; ) {
      const page = await this.store.auditEntries(tenantId, { afterSeq: after, order: 'asc', limit: PAGE });
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1].seq;
    }
  }

  /** The export for a tenant admin: JSON lines (auditExportLine), oldest first. */
  exportFor(actor: User, afterSeq = 0): AsyncGenerator<AuditEntry> {
    if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
    return this.entries(actor.tenantId, afterSeq);
  }

  /**
   * Walks the tenant's chain from seq 1 and reports the first entry that is not as appended:
   * a missing seq is `removed`; an entry whose link names another entry of the log (it was
   * moved) is `reordered`; one whose fields no longer give its hash, or whose predecessor's
   * hash no longer matches its link, is `changed`.
   */
  async verify(tenantId: Id): Promise<AuditVerdict> {
    let expected = 1;
    let prevHash = AUDIT_GENESIS;
    const bad = (seq: number, problem: 'changed' | 'removed' | 'reordered'): AuditVerdict => ({ ok: false, checked: expected - 1, firstBad: { seq, problem } });
    for await (const e of this.entries(tenantId)) {
      if (e.seq !== expected) return bad(expected, 'removed');
      if (e.prevHash !== prevHash) {
        if ((await this.store.auditSeqOfHash(tenantId, e.prevHash)) !== undefined) return bad(e.seq, 'reordered');
        // Its fields still give its hash: the entry before it was rewritten (and rehashed).
        return auditHash(e) === e.hash && e.seq > 1 ? bad(e.seq - 1, 'changed') : bad(e.seq, 'changed');
      }
      if (auditHash(e) !== e.hash) return bad(e.seq, 'changed');
      prevHash = e.hash;
      expected++;
    }
    const head = await this.store.auditHead(tenantId);
    if (head && head.lastSeq >= expected) return bad(expected, 'removed');
    if (head && head.lastSeq === expected - 1 && head.lastHash !== prevHash) return bad(head.lastSeq, 'changed');
    return { ok: true, checked: expected - 1 };
  }
}
