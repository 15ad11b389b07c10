import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';

// The OpenAPI document at /docs: what every route declares beside itself (summary,
// description, operationId, tags, examples) is gathered here. This module holds only what
// routes share: the tags and their order, the helpers, and texts written once.

declare module 'fastify' {
  interface FastifySchema {
    /**
     * Responses shown in the OpenAPI document only (status → schema with examples). For the
     * compatibility routes, whose bodies are rendered by hand and never filtered by a response
     * schema: a serializer schema there would drop the fields a rendering may add.
     */
    documentedResponses?: Record<string, object>;
  }
}

/** Tags in the order the document lists them: Parley's own API first, then the compatibility dialects. */
export const TAGS = {
  parley: 'Parley API',
  accounts: 'Accounts',
  friends: 'Friends',
  chat: 'Compatibility: 000/001 chat',
  rooms: 'Compatibility: 002 rooms',
  direct: 'Compatibility: 004 direct messages',
  notifications: 'Compatibility: 003 conversations',
} as const;
export type Tag = (typeof TAGS)[keyof typeof TAGS];

const TAG_DESCRIPTIONS: Record<Tag, string> = {
  [TAGS.parley]:
    "Parley's own API under /api/parley: every capability of the server in one coherent shape (conversations of every kind, " +
    'gapless seq and change_seq cursors, reactions, read watermarks, presence, uploads). Its socket, /api/parley/ws, is described in /docs/asyncapi.json.',
  [TAGS.accounts]:
    'Register, sign in and sign out (bearer JWTs), shared by every API. Send the token as `Authorization: Bearer <token>`.',
  [TAGS.friends]: 'Friend requests and blocks (direct messages of document 004 need an accepted friendship; a block refuses direct messages everywhere).',
  [TAGS.chat]:
    'The /api/chat API of documents 000 and 001 (001 is the newer revision): direct rooms, paged messages, likes, files in `files_data`. Socket: /api/chat/ws?token=&room_id=.',
  [TAGS.rooms]: 'The /api/v1/chat API of document 002: direct rooms with integer ids, room detail with its messages. Socket: /api/v1/chat/ws?token=&room_id=.',
  [TAGS.direct]: 'The /api/v1/chat API of document 004: messages between friends with UUIDs and sent/delivered/read status. Socket: /api/v1/chat/ws/chat?token=.',
  [TAGS.notifications]:
    'The /api/notifications/chat API of document 003: tenants, direct/group/channel conversations, roles, reactions, replies and presence status, with UUIDs. Socket: /ws/chat/{tenant_id}/.',
};

/** Texts several routes share. */
export const TEXTS = {
  bearer: 'Needs `Authorization: Bearer <token>` (from register or login).',
  notAuthenticated: { detail: 'Not authenticated' },
  roomNotFound: { detail: 'Room not found' },
  messageNotFound: { detail: 'Message not found' },
  deleted: 'Deleted: no body.',
} as const;

export interface OperationDoc {
  tag: Tag;
  /** Unique and stable: clients generated from the document name their methods after it. */
  id: string;
  summary: string;
  description: string;
  /** Responses for the document only (see FastifySchema.documentedResponses). */
  responses?: Record<string, object>;
}

/** The documentation half of a route's schema: spread it into `schema`. */
export function operation(doc: OperationDoc) {
  return {
    tags: [doc.tag],
    operationId: doc.id,
    summary: doc.summary,
    description: doc.description,
    ...(doc.responses ? { documentedResponses: doc.responses } : {}),
  };
}

/**
 * A request or response schema with what it is and its examples (the first one is the
 * document's). Validation and serialization ignore both keywords.
 */
export function example<T extends TSchema>(schema: T, description: string, ...examples: unknown[]): T {
  return { ...schema, description, examples } as T;
}

/**
 * The shape of a document's example: its fields and their types, nothing required (the
 * example shows what is there, not what may be absent). A null says nothing of its type.
 */
function shapeOf(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (Array.isArray(value)) return { type: 'array', items: shapeOf(value[0]) };
  if (typeof value === 'object') return { type: 'object', properties: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)])) };
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'integer' : 'number' };
  return { type: typeof value };
}

/** A body the route renders by hand, for the document only: its shape (from the first example) and examples. */
export function shown(description: string, ...examples: unknown[]): object {
  return { ...shapeOf(examples[0]), description, examples };
}

/** A response without a body (204). */
export const noContent = (description: string = TEXTS.deleted) => ({ type: 'null', description });

/** The `{"detail": …}` of every 4xx, with examples of the texts this route answers. */
export function errorsShown(...details: { detail: string }[]): Record<string, object> {
  const examples = details.length > 0 ? details : [TEXTS.notAuthenticated];
  return { '4xx': { type: 'object', properties: { detail: { type: 'string' } }, required: ['detail'], description: 'Refused: the reason in `detail`.', examples } };
}

/** @fastify/swagger options: document info, tag order, and the documented-only responses. */
export function swaggerOptions(version: string): FastifyDynamicSwaggerOptions {
  const order = Object.values(TAGS) as string[];
  return {
    openapi: {
      info: {
        title: 'Parley',
        version,
        description:
          'Every chat API of the documents in one server: Parley\'s own API first, then the compatibility APIs that serve clients written ' +
          'against documents 000–004 unchanged. The WebSocket side of each is in /docs/asyncapi.json. Errors are 4xx with `{"detail": "..."}`.',
      },
      tags: order.map((name) => ({ name, description: TAG_DESCRIPTIONS[name as Tag] })),
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: ({ schema, url }) => {
      if (!schema?.documentedResponses) return { schema, url };
      const { documentedResponses, ...rest } = schema;
      return { schema: { ...rest, response: { ...documentedResponses, ...(rest.response as object | undefined) } }, url };
    },
    // Paths in tag order, so the document itself reads Parley's API first (routes register
    // in another order: accounts, then the dialects).
    transformObject: (doc) => {
      const openapi = 'openapiObject' in doc ? doc.openapiObject : doc.swaggerObject;
      const rank = (item: object) => {
        const ops = Object.values(item) as { tags?: string[] }[];
        const tag = ops.find((o) => o?.tags)?.tags?.[0];
        const i = tag === undefined ? -1 : order.indexOf(tag);
        return i === -1 ? order.length : i;
      };
      const paths = Object.entries(openapi.paths ?? {});
      const sorted = paths.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p[1] as object) - rank(b.p[1] as object) || a.i - b.i);
      return { ...openapi, paths: Object.fromEntries(sorted.map((s) => s.p)) } as never;
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The socket routes registered (paths in OpenAPI form): each must have its AsyncAPI channel. */
    socketRoutes: string[];
  }
}

/** Keeps the list of socket routes, which OpenAPI hides: the AsyncAPI document is checked against it. */
export function recordSocketRoutes(app: FastifyInstance): void {
  const routes: string[] = [];
  app.decorate('socketRoutes', routes);
  app.addHook('onRoute', (route) => {
    // GET only: Fastify adds a HEAD twin of every GET route.
    if ((route as { websocket?: boolean }).websocket && route.method === 'GET') routes.push(route.url.replace(/:(\w+)/g, '{$1}'));
  });
}
