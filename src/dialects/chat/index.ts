import type { Dialect } from '../dialect.js';
import { chatRoutes } from './routes.js';

/** Documents 000 and 001: /api/chat. */
export const chatDialect: Dialect = { name: 'chat', routes: chatRoutes };
