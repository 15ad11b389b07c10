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
  record(entry: AuditEntryInput): Promise<void>;
}

/**
 * Until the audit log's store lands (branch audit20), actions are recorded nowhere.
 * Replaced by `Audit` (src/core/audit/audit.ts) when that branch is merged.
 */
export const unrecordedAudit: AuditRecorder = { record: async () => {} };
