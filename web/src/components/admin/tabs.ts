import type { FunctionComponent } from 'preact';
import { AuditLog } from './AuditLog.js';

/** One section of the admin pages: its id (the test id of its tab), label and view. */
export interface AdminTab {
  id: string;
  label: string;
  view: FunctionComponent;
}

/**
 * The admin section's tabs, in order. Only the audit log's here (branch audit20); the admin
 * section's shell (AdminPanel, branch admin20) lists them and adds its own.
 */
export const ADMIN_TABS: AdminTab[] = [{ id: 'audit', label: 'Audit log', view: AuditLog }];
