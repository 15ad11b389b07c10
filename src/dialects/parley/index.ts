import { defineDialect } from '../dialect.js';
import { PARLEY_CLOSE_CODES, PARLEY_TEXTS } from './codes.js';
import { adminRoutes } from './admin-routes.js';
import { botOpen, botRoutes } from './bot-routes.js';
import { curationRoutes } from './curation-routes.js';
import { moderationRoutes } from './moderation-routes.js';
import { webhookRoutes } from './webhook-routes.js';
import { retentionRoutes } from './retention-routes.js';
import { auditRoutes } from './audit-routes.js';
import { exportRoutes } from './export-routes.js';
import { emailRoutes } from './email-routes.js';
import { parleyOpen, parleyRest } from './routes.js';
import { parleySocket } from './socket.js';

/** Parley's own API: /api/parley (REST) and /api/parley/ws, documented at /docs and /docs/asyncapi.json. */
export const parleyDialect = defineDialect({
  name: 'parley',
  prefix: '/api/parley',
  texts: { parley: PARLEY_TEXTS },
  withCode: true,
  closeCodes: PARLEY_CLOSE_CODES,
  open: (ctx, app) => {
    parleyOpen(ctx, app);
    botOpen(ctx, app);
    emailRoutes(ctx, app);
  },
  rest: (ctx, app) => {
    parleyRest(ctx, app);
    curationRoutes(ctx, app);
    moderationRoutes(ctx, app);
    webhookRoutes(ctx, app);
    retentionRoutes(ctx, app);
    auditRoutes(ctx, app);
    exportRoutes(ctx, app);
    botRoutes(ctx, app);
    adminRoutes(ctx, app);
  },
  socket: parleySocket,
});
