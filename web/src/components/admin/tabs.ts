import type { FunctionComponent } from 'preact';
import { AuditLog } from './AuditLog.js';
import { ConversationsTab } from './ConversationsTab.js';
import { InvitesTab } from './InvitesTab.js';
import { Reports } from './Reports.js';
import { SettingsTab } from './SettingsTab.js';
import { UsersTab } from './UsersTab.js';

/** One section of the admin pages: its id (the test id of its tab), label and view. */
export interface AdminTab {
  id: string;
  label: string;
  component: FunctionComponent;
}

/** The admin section's tabs, in order: one line per tab. */
export const ADMIN_TABS: AdminTab[] = [
  { id: 'users', label: 'Users', component: UsersTab },
  { id: 'invites', label: 'Invites', component: InvitesTab },
  { id: 'conversations', label: 'Conversations', component: ConversationsTab },
  { id: 'reports', label: 'Reports', component: Reports },
  { id: 'settings', label: 'Settings', component: SettingsTab },
  { id: 'audit', label: 'Audit log', component: AuditLog },
];
