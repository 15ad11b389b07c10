import type { FunctionComponent } from 'preact';
import { Reports } from './Reports.js';

/**
 * The admin section's tabs. Administration (branch admin20) brings AdminPanel.tsx, which
 * shows these; moderation adds its report queue here.
 */
export const ADMIN_TABS: { id: string; label: string; component: FunctionComponent }[] = [{ id: 'reports', label: 'Reports', component: Reports }];
