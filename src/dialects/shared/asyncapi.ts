import type { TSchema } from '@sinclair/typebox';

/** One frame type of a socket: what it means, its shape, and examples (the first one the document's). */
export interface FrameDoc {
  summary: string;
  /** JSON Schema of the whole frame; without one, an object whose `type` is the frame's. */
  payload?: object;
  examples: unknown[];
}

/** A dialect's socket as the AsyncAPI document shows it; each lives beside its socket route. */
export interface SocketDoc {
  /** The channel's key, also the prefix of its operations' ids (Parley's own have none). */
  id: string;
  address: string;
  title: string;
  description: string;
  /** Path parameters of the address ({tenant_id}). */
  parameters?: Record<string, { description: string }>;
  /** Query parameters of the handshake. */
  query?: Record<string, string>;
  /** Frames the client sends (the server receives them). */
  client: Record<string, FrameDoc>;
  /** Frames the server sends. */
  server: Record<string, FrameDoc>;
  /** Prefix of operation ids; '' for Parley's own socket. */
  operationPrefix: string;
}

/** A TypeBox schema as plain JSON Schema (TypeBox marks its objects with symbols). */
export const plainSchema = (s: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(s));

/** A flat frame (`{"type", …fields}`, documents 003 and 004) whose fields the schema validates. */
export function flatFrame(type: string, fields: TSchema) {
  const plain = plainSchema(fields) as { properties?: object; required?: string[] };
  return { type: 'object', properties: { type: { const: type }, ...plain.properties }, required: ['type', ...(plain.required ?? [])] };
}

/** A `{"type", "data": {…}}` frame (documents 000–002) whose data the schema validates. */
export function envelopedFrame(type: string, data: TSchema) {
  return { type: 'object', properties: { type: { const: type }, data: plainSchema(data) }, required: ['type', 'data'] };
}

/** A frame whose payload is only known by its `type` (the rest as its examples show). */
const typed = (type: string) => ({ type: 'object', properties: { type: { const: type } }, required: ['type'] });

/**
 * The AsyncAPI 3 document of every socket (served at /docs/asyncapi.json). Operations are the
 * server's: it receives the client frames and sends the server frames.
 */
export function asyncApiDocument(version: string, sockets: readonly SocketDoc[]) {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const s of sockets) {
    const messages: Record<string, unknown> = {};
    const add = (direction: 'client' | 'server', frames: Record<string, FrameDoc>) => {
      for (const [type, f] of Object.entries(frames)) {
        const id = `${direction}.${type}`;
        messages[id] = {
          name: type,
          title: type,
          summary: f.summary,
          contentType: 'application/json',
          payload: f.payload ?? typed(type),
          examples: f.examples.map((payload, i) => ({ name: `${type}${i === 0 ? '' : `_${i + 1}`}`, payload })),
        };
        const action = direction === 'client' ? 'receive' : 'send';
        operations[`${s.operationPrefix}${action}_${type}`] = {
          action,
          channel: { $ref: `#/channels/${s.id}` },
          summary: f.summary,
          messages: [{ $ref: `#/channels/${s.id}/messages/${id}` }],
        };
      }
    };
    add('client', s.client);
    add('server', s.server);
    const query = s.query && { type: 'object', properties: Object.fromEntries(Object.entries(s.query).map(([k, d]) => [k, { type: 'string', description: d }])) };
    channels[s.id] = {
      address: s.address,
      title: s.title,
      description: s.description,
      ...(s.parameters ? { parameters: s.parameters } : {}),
      ...(query ? { bindings: { ws: { query } } } : {}),
      messages,
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Parley WebSocket API',
      version,
      description:
        "Every socket of the server: Parley's own (/api/parley/ws) first, then the sockets of the compatibility APIs, each speaking its " +
        'document\'s frames. Every frame is a JSON text; a bad frame gets an error frame and the socket stays open. Close codes: docs/codes.md.',
    },
    defaultContentType: 'application/json',
    channels,
    operations,
  };
}
