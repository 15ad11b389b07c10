import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyPluginAsync,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Core } from '../core/core.js';
import type { Attachment } from '../core/model.js';
import type { Config } from '../config/config.js';
import type { Hub } from '../delivery/hub.js';
import type { Texts } from './shared/texts.js';
import type { CloseCodeMap } from './shared/socket.js';
import { detailErrorHandler } from './shared/errors.js';
import { requireUser } from './shared/auth.js';

/** What a dialect needs from the running server: the core, the hub, and how to link files. */
export interface DialectContext {
  core: Core;
  hub: Hub;
  config: Config;
  /** The server's logger: what a socket or handler fails with, where the server's own logs go. */
  log: FastifyBaseLogger;
  /**
   * Whether a user is online, unfiltered. Only for people every viewer of the rendering may
   * see (the sender and receiver in a conversation's socket frames); anything shown to one
   * caller goes through `core.presence.view(caller, ids)`, which decides who sees whom.
   */
  isOnline(userId: number): boolean;
  /**
   * The full URL a client uses for an attachment's file (or its thumbnail), signed and
   * expiring (FILE_URL_TTL_SECONDS): it works in an `<img src>` for whoever was shown it.
   */
  fileUrl(attachment: Attachment, variant?: 'file' | 'thumbnail'): string;
}

/** A dialect's Fastify scope, TypeBox schemas typing its handlers. */
export type DialectScope = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** A document's API: its REST routes and sockets, registered as one Fastify plugin (defineDialect). */
export interface Dialect {
  readonly name: string;
  /**
   * The words of every refusal, per document this dialect serves (its codes.ts): what a
   * client reads in `detail` and error frames. docs/codes.md lists them; its test walks these.
   */
  readonly texts: Readonly<Record<string, Texts>>;
  /** How its sockets close on a refused authentication (its codes.ts). */
  readonly closeCodes: CloseCodeMap;
  routes(ctx: DialectContext): FastifyPluginAsync;
}

/** How a dialect words refusals: its error frames' and `{"detail"}` texts, its sockets' close codes. */
export interface DialectWords {
  texts: Texts;
  closeCodes: CloseCodeMap;
}

/** What a dialect declares; defineDialect does the rest the same way for every dialect. */
export interface DialectDefinition {
  name: string;
  /** The Fastify prefix of its routes: a routes file names paths below it. */
  prefix: string;
  /** Its socket's prefix where the document puts it elsewhere (003's /ws/chat/{tenant_id}/); the prefix otherwise. */
  socketPrefix?: string;
  texts: Record<string, Texts>;
  /** The texts its `{"detail"}` answers use: the document's when it serves one (texts' only entry otherwise). */
  errorTexts?: Texts;
  /** Adds the machine-readable `code` to `{"detail"}` (Parley's own API). */
  withCode?: boolean;
  /**
   * A request with `Content-Type: application/json` and no body has no body, rather than a 400:
   * the documents' clients (fetch wrappers, axios) send it on every request, e.g. a DELETE.
   */
  emptyJsonBodyIsNone?: boolean;
  closeCodes: CloseCodeMap;
  /** Its authenticated routes: requireUser runs on each before its body is read (onRequest). */
  rest?(ctx: DialectContext, app: DialectScope): void | Promise<void>;
  /** Its routes that take no token (sign-in, registration). */
  open?(ctx: DialectContext, app: DialectScope): void | Promise<void>;
  /**
   * Its socket route(s): the handshake authenticates them (socketHandshake, SocketSession),
   * which word refusals and close refused sockets as this dialect declares (`words`).
   */
  socket?(ctx: DialectContext, app: DialectScope, words: DialectWords): void | Promise<void>;
  /** Another document's API it serves under its own prefix, e.g. 002's rooms (chat's, with 002's variant). */
  includes?: readonly Dialect[];
}

/**
 * A dialect as one Fastify plugin: the error handler (`{"detail"}` in its document's words),
 * the body parser and the auth hook are set here once, so its routes file holds only
 * parse → core → render.
 */
/** The OpenAPI security of a signed-in route. */
const BEARER = [{ bearer: [] }];

export function defineDialect(d: DialectDefinition): Dialect {
  const texts = Object.values(d.texts);
  const errorTexts = d.errorTexts ?? (texts.length === 1 ? texts[0] : undefined);
  if (!errorTexts) throw new Error(`dialect ${d.name}: errorTexts must say which of its documents' texts its errors use`);
  return {
    name: d.name,
    texts: d.texts,
    closeCodes: d.closeCodes,
    routes: (ctx) => async (app0) => {
      for (const other of d.includes ?? []) await app0.register(other.routes(ctx));
      const app = app0.withTypeProvider<TypeBoxTypeProvider>();
      app.setErrorHandler(detailErrorHandler(errorTexts, { withCode: d.withCode }));
      if (d.emptyJsonBodyIsNone) {
        const json = app.getDefaultJsonParser('error', 'error');
        app.removeContentTypeParser('application/json');
        app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
          body === '' ? done(null, undefined) : json(req, body as string, done),
        );
      }
      if (d.socket) {
        const socket = d.socket;
        const words: DialectWords = { texts: errorTexts, closeCodes: d.closeCodes };
        await app.register(async (scope) => socket(ctx, scope.withTypeProvider<TypeBoxTypeProvider>(), words), { prefix: d.socketPrefix ?? d.prefix });
      }
      await app.register(
        async (scope0) => {
          const scope = scope0.withTypeProvider<TypeBoxTypeProvider>();
          await d.open?.(ctx, scope);
          const rest = d.rest;
          if (!rest) return;
          await scope.register(async (authed) => {
            // onRequest, not preHandler: the token is checked before the body is parsed and validated,
            // so an anonymous caller gets 401, never a 422 about a request it may not make.
            authed.addHook('onRequest', requireUser(ctx.core, ctx.config));
            // Every route here needs the bearer token; its OpenAPI operation says so once, here.
            authed.addHook('onRoute', (route) => {
              route.schema ??= {};
              (route.schema as { security?: unknown }).security ??= BEARER;
            });
            await rest(ctx, authed.withTypeProvider<TypeBoxTypeProvider>());
          });
        },
        { prefix: d.prefix },
      );
    },
  };
}
