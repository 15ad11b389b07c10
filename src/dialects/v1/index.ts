import { defineDialect } from '../dialect.js';
import { chatRest, type RoomsVariant } from '../chat/routes.js';
import { chatSocket } from '../chat/socket.js';
import { CHAT_CLOSE_CODES, CHAT_TEXTS } from '../chat/codes.js';
import { ROOMS_POLICY } from './file-policy.js';
import { FRIENDS_CLOSE_CODES, FRIENDS_TEXTS } from './codes.js';
import { friendsRest } from './routes.js';
import { friendsSocket } from './socket.js';
import { TAGS } from '../../http/api-docs.js';

/** Document 002's rooms: /api/chat's room API under /api/v1/chat, with 002's `message_updated`. */
export const ROOMS_002: RoomsVariant = {
  prefix: '/api/v1/chat',
  renderer: 'v1-rooms',
  tag: TAGS.rooms,
  operationPrefix: 'rooms',
  documents: 'document 002',
  updateFrame: 'message_updated',
  deleteRoute: false,
  // "ALL messages": every room of a working chat fits; longer ones page (has_more).
  detailMessages: 1000,
  // 002's "File Upload System": voice also M4A, AAC, OGG, up to 20 MB.
  files: ROOMS_POLICY,
};

/** 002's rooms: chat's routes and socket with 002's variant, in chat's words and close codes. */
const rooms002 = defineDialect({
  name: 'v1-rooms',
  prefix: ROOMS_002.prefix,
  texts: { '002': CHAT_TEXTS },
  closeCodes: CHAT_CLOSE_CODES,
  emptyJsonBodyIsNone: true,
  rest: chatRest(ROOMS_002),
  socket: chatSocket(ROOMS_002),
});

/** Documents 002 (rooms, integer ids) and 004 (friends, message status, UUIDs): /api/v1/chat. */
export const v1Dialect = defineDialect({
  name: 'v1',
  prefix: '/api/v1/chat',
  texts: { '002': CHAT_TEXTS, '004': FRIENDS_TEXTS },
  // 004's routes and socket; 002's rooms answer in chat's words (rooms002).
  errorTexts: FRIENDS_TEXTS,
  closeCodes: FRIENDS_CLOSE_CODES,
  // As in chat: an empty body with Content-Type: application/json (fetch wrappers send it on
  // DELETE and PUT …/read) is no body, not a 400; 002's DELETE lives here.
  emptyJsonBodyIsNone: true,
  includes: [rooms002],
  rest: friendsRest,
  socket: friendsSocket,
});
