import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { createStore } from '../backends/store/create-store.js';
import type { Store } from '../backends/store/store.js';
import { CachedStore } from '../backends/store/cached-store.js';
import type { Bus } from '../backends/bus/bus.js';
import { createMemoryBus } from '../backends/bus/memory-bus.js';
import type { Presence } from '../backends/presence/presence.js';
import { createMemoryPresence } from '../backends/presence/memory-presence.js';
import { createMemoryRateLimiter } from '../backends/ratelimit/memory-rate-limiter.js';
import type { RateLimiter } from '../backends/ratelimit/rate-limiter.js';
import { createLocalDiskFileStore } from '../backends/files/local-disk-file-store.js';
import { Core } from '../core/core.js';
import { WebhookDispatcher } from '../core/webhooks/dispatcher.js';
import { RetentionJob } from '../core/retention/retention.js';
import { HttpWebhookSender } from '../backends/webhooks/http-sender.js';
import type { OutboxSwitch } from '../backends/store/sql/outbox.js';
import { renderEvents } from '../dialects/parley/events.js';
import { createCoreLibraries } from './libraries.js';
import { Hub } from '../delivery/hub.js';
import { CloseCodes } from '../delivery/connection.js';
import { createHttpServer } from '../http/server.js';
import type { DialectContext } from '../dialects/dialect.js';
import { authRoutes } from '../dialects/auth/routes.js';
import { chatDialect } from '../dialects/chat/index.js';
import { v1Dialect } from '../dialects/v1/index.js';
import { notificationsDialect } from '../dialects/notifications/index.js';
import { parleyDialect } from '../dialects/parley/index.js';
import { socketsAsyncApi } from '../dialects/asyncapi.js';
import { signedFileUrl, staticFilesRoutes } from '../dialects/shared/static-files.js';
import { Metrics } from '../observability/metrics.js';
import { webRoutes } from '../http/web.js';
import { API_VERSION } from '../version.js';
import { SmtpMailer } from '../backends/mail/smtp-mailer.js';
import { emailDigestStore } from '../backends/store/sql/email-digest.js';
import type { PushProvider } from '../core/notifications/ports.js';
import { EmailDigest } from '../core/notifications/email/digest.js';
import { listenMetrics, metricsRoute, type MetricsListener } from '../http/metrics-access.js';

export interface Parley {
  config: Config;
  app: FastifyInstance;
  core: Core;
  hub: Hub;
  store: Store;
  bus: Bus;
  presence: Presence;
  /** The mobile push providers configured (FCM, APNs), by `kind`. */
  pushProviders: PushProvider[];
  /** The e-mail digest, when SMTP_URL is set (it ticks every EMAIL_INTERVAL_MS once listening). */
  emailDigest: EmailDigest | null;
  /** The retention purge (issue 20); tests run its rounds with `tick`. */
  retentionJob: RetentionJob;
  /** Listens on config.host:config.port (0 picks a free port); resolves to the base URL. */
  listen(): Promise<string>;
  /** http://host:port of the METRICS_PORT listener once listening; null without one. */
  readonly metricsUrl: string | null;
  /** Graceful: stop accepting, drain sends, close sockets with 1001, close backends. */
  close(): Promise<void>;
}

export const DIALECTS = [chatDialect, v1Dialect, notificationsDialect, parleyDialect];

/** The composition root: the only place that picks concrete backends. */
export async function createParley(config: Config, opts: { logger?: boolean | object; migrate?: boolean } = {}): Promise<Parley> {
  const database = createStore(config.databaseUrl, { postgres: config.postgres, searchIndex: config.searchIndex, sqliteWriterThread: config.sqliteWriterThread });
  if (opts.migrate !== false) await database.migrate();
  // REDIS_URL selects the Redis bus, presence and rate limits (several processes act as one
  // server); unset, everything stays in this process.
  const onError = (e: Error) => logError(e);
  let logError: (e: Error) => void = (e) => console.error(`[parley redis] ${e.message}`);
  const redis = config.redisUrl;
  const prefix = config.redisPrefix;
  // Loaded only with REDIS_URL: ioredis is a start-up cost a single process need not pay.
  const bus: Bus = redis ? await (await import('../backends/bus/redis-bus.js')).createRedisBus(redis, { prefix, onError }) : createMemoryBus();
  const presence: Presence = redis
    ? await (await import('../backends/presence/redis-presence.js')).createRedisPresence(redis, { prefix, onError, typingTtlMs: config.typingTtlMs, ttlMs: config.presenceTtlMs })
    : createMemoryPresence(config.typingTtlMs);
  const rateLimiter: RateLimiter = redis
    ? await (await import('../backends/ratelimit/redis-rate-limiter.js')).createRedisRateLimiter(redis, { prefix, onError, local: (k) => k.startsWith('f:') })
    : createMemoryRateLimiter();
  const metrics: Metrics = new Metrics((): number => hub.size);
  const hub: Hub = new Hub(bus, { reorderWaitMs: config.reorderWaitMs, onError: (e) => logError(e as Error), metrics, heldMax: config.resumeMaxMessages });
  const fileStore = createLocalDiskFileStore(config.filesRoot);
  // What the send path reads on every message, cached; the hub carries its evictions to every process.
  const store: Store = new CachedStore(database, hub);
  // The history's epoch: a restored database has a new one (`parley backup` gives the copy its
  // own), so the cursors of the history it replaced resume nothing (issue 15 item 9).
  const epoch = await store.epoch();
  // WEBHOOKS=off: changes log no events (the send benchmark's comparison) and none are delivered.
  const outbox = (database as { outbox?: OutboxSwitch }).outbox;
  if (outbox) outbox.enabled = config.webhooks.enabled;
  const webhookSender = new HttpWebhookSender({ timeoutMs: config.webhooks.timeoutMs, allowPrivate: config.webhooks.allowPrivate });
  const emailStore = emailDigestStore(database);
  const libraries = createCoreLibraries(config);
  const core = new Core({
    config, store, presence, rateLimiter, events: hub, fileStore, epoch, libraries,
    email: { optOuts: emailStore, publicUrl: () => publicUrl },
    webhookSender,
  });
  // Web Push, and FCM and APNs when configured: the notification dispatcher picks one by kind.
  const pushProviders = [...(libraries.pushProviders ?? [])];
  // E-mail for DMs and mentions left unread, when SMTP_URL is set: every process ticks, a lease per user keeps it to one e-mail.
  const mailer = config.email.smtpUrl ? new SmtpMailer(config.email.smtpUrl, config.email.mailFrom) : null;
  const emailDigest = mailer
    ? new EmailDigest(emailStore, mailer, {
        delayMs: config.email.delayMs,
        maxAgeMs: config.email.maxAgeMs,
        contentFree: config.notify.content === 'none',
        publicUrl: config.publicUrl,
        unsubscribeUrl: (userId) => core.emailUnsubscribe!.url(userId),
        onError: (e) => app.log.error({ err: e }, 'email digest'),
      })
    : null;
  // No request is served before this process hears the store's invalidations.
  await hub.ready;
  // What a crash left (half-written files, renames not done) is settled before anyone reads.
  await core.files.sweep();
  hub.onDelivered((c, u, seq) => core.receipts.delivered(c, u, seq));
  // The push dispatcher: one per process (several claim disjoint rows under leases).
  core.notifications.onError = (e) => logError(e as Error);
  core.notifications.start();
  core.messages.writer.onBatch = (size) => metrics.batchSize.observe(size);
  core.messages.writer.onBatchDone = (seconds) => metrics.batchSeconds.observe(seconds);
  core.accounts.passwords.onHash = () => metrics.passwordHashes.inc();
  metrics.passwordHashQueue = () => core.accounts.passwords.queued;
  // A change that never came over the bus (its publisher died after the commit) is read back.
  hub.setGapFiller(async (id, after, upTo, newFrom) => core.messages.missedEvents(await core.conversations.refById(id), after, upTo, newFrom));
  hub.setPositionReader(async (id) => {
    const c = await store.conversationById(id);
    if (!c) throw new Error(`conversation ${id} is gone`);
    return { lastSeq: c.lastSeq, changeSeq: c.changeSeq };
  });

  const app = await createHttpServer(config, opts.logger ?? true, (origin) => core.accounts.originListed(origin));
  metrics.reportRefusals(() => app.connectionCaps.refused);
  metrics.watchGrowth({ process, http_server: app.server }, () => hub.entries);
  if (config.registration === 'open') {
    app.log.warn('REGISTRATION=open: anyone may register into any tenant and see its users; for development and test suites only (the default is default-tenant)');
  }
  logError = (e) => app.log.error({ err: e }, 'redis');
  // Events published while the bus was cut off are lost: every socket reconnects (1012) and
  // resumes from its cursor, so nothing stays missing; the closes are spread over
  // RECONNECT_SPREAD_MS so that the resumes do not all arrive at once.
  bus.onGap?.(() => hub.closeAllOver(CloseCodes.serviceRestart, 'event stream interrupted; reconnect and resume', config.reconnectSpreadMs));
  // A killed process's users go offline by expiry; one process tells their partners.
  presence.onExpired?.((userId, lastSeen) => void core.presence.expired(userId, lastSeen).catch((e) => logError(e)));
  // …and when this process runs again after being stopped that long, they are back.
  presence.onRevived?.((userId) => void core.presence.revived(userId).catch((e) => logError(e)));
  let publicUrl = config.publicUrl;
  const ctx: DialectContext = {
    core,
    hub,
    config,
    log: app.log,
    isOnline: (id) => core.presence.isOnline(id),
    fileUrl: (a, variant) => signedFileUrl(publicUrl, core.files.signed(a, variant) ?? core.files.signed(a)!),
  };
  await app.register(authRoutes(core, config));
  await app.register(staticFilesRoutes(ctx));
  for (const d of DIALECTS) await app.register(d.routes(ctx));
  // Every dialect's socket (dialects/asyncapi.ts), served beside /docs.
  const asyncApi = socketsAsyncApi(API_VERSION);
  app.get('/docs/asyncapi.json', { schema: { hide: true } }, async () => asyncApi);
  await webRoutes(app, config.webDir ?? undefined, () => publicUrl);
  // Each process delivers webhooks; on PostgreSQL they share the work by lease.
  const dispatcher = config.webhooks.enabled
    ? new WebhookDispatcher(store, webhookSender, async (events) => renderEvents(ctx, await core.webhooks.named(events)), { ...config.webhooks, onError: (e) => app.log.error({ err: e }, 'webhook dispatch failed') })
    : null;
  // Every process runs the purge's timer; the job's lease lets one at a time purge.
  const retentionJob = new RetentionJob(core.retention, { ...config.retention, onError: (e) => app.log.error({ err: e }, 'retention purge failed') });

  let ready = true;
  metricsRoute(app, metrics, config.metricsToken);
  let metricsListener: MetricsListener | null = null;
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', api_version: API_VERSION }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    if (!ready) return reply.code(503).send({ detail: 'shutting down' });
    return { status: 'ready', connections: hub.size };
  });

  // Hourly, and once when what the start-up sweep had to leave (younger than the grace period)
  // is old enough. While serving, a file younger than a minute is never swept: it may be this
  // process's own write in flight.
  const grace = Math.max(60, config.filesSweepGraceSeconds);
  const sweep = () => void core.files.sweep(Date.now(), grace).catch((e) => app.log.error({ err: e }, 'file sweep failed'));
  const sweeper = setInterval(sweep, 3600_000);
  const afterGrace = setTimeout(sweep, grace * 1000 + 1000);
  sweeper.unref();
  afterGrace.unref();

  let closed = false;
  return {
    config,
    app,
    core,
    hub,
    store,
    bus,
    presence,
    pushProviders,
    emailDigest,
    retentionJob,
    get metricsUrl() {
      return metricsListener?.url ?? null;
    },
    async listen() {
      if (config.metricsPort !== null) {
        metricsListener = await listenMetrics(metrics, { host: config.metricsHost, port: config.metricsPort, token: config.metricsToken });
      }
      const address = await app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
      dispatcher?.start();
      retentionJob.start();
      // PORT=0 (tests, benchmarks): the URLs handed out name the port actually bound.
      if (config.port === 0) publicUrl = publicUrl.replace(/:0$/, ':' + new URL(address).port);
      emailDigest?.start(config.email.intervalMs);
      return address;
    },
    async close() {
      if (closed) return;
      closed = true;
      ready = false;
      clearInterval(sweeper);
      clearTimeout(afterGrace);
      // Stop taking work, finish what was taken (each accepted send commits and its ack
      // reaches its socket), then close sockets with 1001 so clients reconnect elsewhere.
      hub.accepting = false;
      await dispatcher?.stop();
      await retentionJob.stop();
      await hub.settled();
      await core.drain().catch(() => {});
      await core.notifications.stop();
      await bus.flush?.().catch(() => {});
      hub.closeAll(CloseCodes.goingAway, 'server shutting down');
      await app.close();
      await metricsListener?.close();
      await emailDigest?.stop();
      mailer?.close();
      await presence.close();
      await bus.close();
      await store.close();
      await core.files.close();
    },
  };
}
