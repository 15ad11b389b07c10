import type { Dialect } from '../dialect.js';
import { notificationsRoutes } from './routes.js';

/** Document 003: /api/notifications/chat and /ws/chat/{tenant_id}/. */
export const notificationsDialect: Dialect = { name: 'notifications', routes: notificationsRoutes };
