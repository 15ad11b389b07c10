import type { Dialect } from '../dialect.js';
import { CHAT_TEXTS } from './codes.js';
import { chatRoutes } from './routes.js';
import { chatUploadRoutes } from './uploads.js';

/** Documents 000 and 001: /api/chat. */
export const chatDialect: Dialect = {
  name: 'chat',
  texts: { '000/001': CHAT_TEXTS },
  routes: (ctx) => async (app) => {
    await app.register(chatRoutes(ctx));
    await app.register(chatUploadRoutes(ctx));
  },
};
