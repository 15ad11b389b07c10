import type { Dialect } from '../dialect.js';
import { notificationsRoutes } from './routes.js';
import { NOTIFICATIONS_TEXTS } from './codes.js';

/** Document 003: /api/notifications/chat and /ws/chat/{tenant_id}/. */
export const notificationsDialect: Dialect = { name: 'notifications', texts: { '003': NOTIFICATIONS_TEXTS }, routes: notificationsRoutes };
