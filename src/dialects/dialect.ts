import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Core } from '../core/core.js';
import type { Attachment } from '../core/model.js';
import type { Config } from '../config/config.js';
import type { Hub } from '../delivery/hub.js';
import type { Texts } from './shared/texts.js';

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

/** A document's API: its REST routes and sockets, registered as one Fastify plugin. */
export interface Dialect {
  readonly name: string;
  /**
   * The words of every refusal, per document this dialect serves (its codes.ts): what a
   * client reads in `detail` and error frames. docs/codes.md lists them; its test walks these.
   */
  readonly texts: Readonly<Record<string, Texts>>;
  routes(ctx: DialectContext): FastifyPluginAsync;
}
