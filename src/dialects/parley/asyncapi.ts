import type { TSchema } from '@sinclair/typebox';
import { ClientFrames, ServerFrames } from './schemas.js';

/** A TypeBox schema as plain JSON Schema (TypeBox marks its objects with symbols). */
const plain = (s: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(s));

/**
 * The AsyncAPI 3 document of /api/parley/ws, built from the same schemas that validate the
 * frames (served at /docs/asyncapi.json). Operations are the server's: it receives the
 * client frames and sends the server frames.
 */
export function parleyAsyncApi(version: string) {
  const messages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const add = (direction: 'client' | 'server', frames: Record<string, TSchema>) => {
    for (const [type, schema] of Object.entries(frames)) {
      const id = `${direction}.${type}`;
      messages[id] = { name: type, title: type, summary: schema.description, contentType: 'application/json', payload: plain(schema) };
      operations[`${direction === 'client' ? 'receive' : 'send'}_${type}`] = {
        action: direction === 'client' ? 'receive' : 'send',
        channel: { $ref: '#/channels/parley' },
        summary: schema.description,
        messages: [{ $ref: `#/channels/parley/messages/${id.replace('/', '~1')}` }],
      };
    }
  };
  add('client', ClientFrames);
  add('server', ServerFrames);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Parley WebSocket API',
      version,
      description:
        'Connect to /api/parley/ws?token=JWT (or send {"type":"auth","token":…} first). The server sends `ready`; send `subscribe` ' +
        '(with cursors {conversation_id, last_seq, last_change_seq} after a reconnect) to follow every conversation. ' +
        'Each send carries a local_temp_id; its ack is the `message` frame carrying it, sent after the commit. See docs/delivery.md.',
    },
    defaultContentType: 'application/json',
    channels: {
      parley: {
        address: '/api/parley/ws',
        title: 'The Parley socket',
        bindings: { ws: { query: { type: 'object', properties: { token: { type: 'string', description: 'JWT (or Authorization: Bearer, the AUTH_COOKIE cookie from a trusted origin, or an auth frame)' } } } } },
        messages,
      },
    },
    operations,
  };
}
