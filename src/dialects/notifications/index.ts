import { defineDialect } from '../dialect.js';
import { NOTIFICATIONS_CLOSE_CODES, NOTIFICATIONS_TEXTS } from './codes.js';
import { notificationsRest } from './routes.js';
import { notificationsSocket } from './socket.js';

/** Document 003: /api/notifications/chat and /ws/chat/{tenant_id}/. */
export const notificationsDialect = defineDialect({
  name: 'notifications',
  prefix: '/api/notifications/chat',
  // The document puts its socket outside its REST prefix.
  socketPrefix: '',
  texts: { '003': NOTIFICATIONS_TEXTS },
  closeCodes: NOTIFICATIONS_CLOSE_CODES,
  rest: notificationsRest,
  socket: notificationsSocket,
});
