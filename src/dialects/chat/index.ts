import { defineDialect } from '../dialect.js';
import { CHAT_CLOSE_CODES, CHAT_TEXTS } from './codes.js';
import { chatRest } from './routes.js';
import { chatSocket } from './socket.js';
import { chatUploadRoutes } from './uploads.js';

const rooms = chatRest();

/** Documents 000 and 001: /api/chat. */
export const chatDialect = defineDialect({
  name: 'chat',
  prefix: '/api/chat',
  texts: { '000/001': CHAT_TEXTS },
  closeCodes: CHAT_CLOSE_CODES,
  emptyJsonBodyIsNone: true,
  rest(ctx, app) {
    rooms(ctx, app);
    chatUploadRoutes(ctx, app);
  },
  socket: chatSocket(),
});
