import type { Store } from '../../backends/store/store.js';
import type { Id } from '../model.js';

/**
 * One administrative or moderation action, as the tenant's audit log keeps it (issue 20).
 * `origin` is where the action came from, as the dialect or the CLI names it
 * ("api 203.0.113.5", "cli"): the core knows no HTTP.
 */
export interface AuditEntryInput {
  tenantId: Id;
  /** The user who acted; null for the operator's CLI. */
  actorId: Id | null;
  /** A dotted name: `user.suspend`, `conversation.ban`, `report.dismiss`, `retention.set`… */
  action: string;
  targetType: 'user' | 'conversation' | 'message' | 'invite' | 'tenant' | 'report' | 'api_key' | 'webhook';
  targetId: string;
  reason?: string | null;
  origin?: string | null;
  /** A small JSON object of what changed (a role's old and new value, an expiry). */
  details?: Record<string, unknown> | null;
}

/** Where every administrative and moderation action is appended. */
export interface AuditRecorder {
  /** Appends an entry on its own: for an action that writes nothing else (an export), or whose write does not go through `within` yet. */
  record(entry: AuditEntryInput): Promise<void>;
  /**
   * Runs the action's store writes (`write`, through `tx` only) and appends the entry `entry`
   * names for their result in the same transaction (Store.audited): the action commits with
   * its entry or not at all. `entry` answers null when the result is nothing to record (a
   * refusal returned, nothing changed).
   */
  within<T>(store: Store, write: (tx: Store) => Promise<T>, entry: (result: T) => AuditEntryInput | readonly AuditEntryInput[] | null, at?: number): Promise<T>;
}

/**
 * Until the audit log's store lands (branch audit20), actions are recorded nowhere.
 * Replaced by `Audit` (src/core/audit/audit.ts) when that branch is merged.
 */
export const unrecordedAudit: AuditRecorder = { record: async () => {}, within: (store, write) => write(store) };

/** An entry as the log keeps it: numbered per tenant from 1 without gaps, chained by hash (docs/audit.md). */
export interface AuditEntry {
  tenantId: Id;
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  actorId: Id | null;
  action: string;
  targetType: AuditEntryInput['targetType'];
  targetId: string;
  reason: string | null;
  origin: string | null;
  /** The JSON text of `details` exactly as it was hashed; null when none. */
  details: string | null;
  prevHash: string;
  hash: string;
}

/** The fields the caller gives an append; the log adds seq, prevHash and hash. */
export type AuditFields = Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'>;

/** The previous hash of a tenant's first entry: 64 zeros. */
export const AUDIT_GENESIS = '0'.repeat(64);
