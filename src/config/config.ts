import { mkdirSync, readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { createECDH, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';

/** Every setting Parley reads, parsed once from the environment and frozen. */
export interface Config {
  /** PORT: TCP port to listen on. */
  readonly port: number;
  /** HOST: address to bind. */
  readonly host: string;
  /** DATA_DIR: where the default SQLite file and the generated secret live. */
  readonly dataDir: string;
  /** DATABASE_URL: `sqlite:/abs.db`, `sqlite:///abs.db`, `sqlite:./rel.db` or `postgres://…`. */
  readonly databaseUrl: string;
  /** REDIS_URL: unset means the in-process bus and presence (a single process). */
  readonly redisUrl: string | undefined;
  /** REDIS_PREFIX: put before every Redis key and channel (several deployments on one Redis). */
  readonly redisPrefix: string;
  /** PRESENCE_TTL_MS: with Redis, a killed process's users are offline at most this long after its last heartbeat. */
  readonly presenceTtlMs: number;
  /** JWT_SECRET: HS256 secret for the tokens Parley issues, at least 32 bytes (refused at start otherwise); generated into DATA_DIR when unset. */
  readonly jwtSecret: string;
  /** JWT_TTL_SECONDS: lifetime of issued tokens. */
  readonly jwtTtlSeconds: number;
  /** PUBLIC_URL: the base of every URL Parley hands out (file links). */
  readonly publicUrl: string;
  /**
   * REGISTRATION: who may create an account with a password.
   * - `default-tenant` (the default without an identity provider): anyone, into the default
   *   tenant or a new one (naming an unused tenant_id creates it; its first user is its
   *   admin); an existing tenant only with an invite.
   * - `invite`: only with an invite (into the invite's tenant).
   * - `closed` (the default with an identity provider): nobody; accounts come from the
   *   provider or `parley user add`.
   * - `open`: anyone into any tenant, for development and test suites (warned at start).
   * With an identity provider configured, local registration never creates a tenant.
   */
  readonly registration: Registration;
  /** INVITE_TTL_SECONDS: lifetime of an invite created without its own `ttl_seconds`. */
  readonly inviteTtlSeconds: number;
  /** LOG_LEVEL: pino level (fatal…trace, silent). */
  readonly logLevel: string;
  /** MAX_MESSAGE_LENGTH: characters of message text (the documents say 5000). */
  readonly maxMessageLength: number;
  /** WS_MAX_PAYLOAD_BYTES: largest WebSocket frame accepted; larger closes with 1009. 80 MiB fits one 50 MB file in base64. */
  readonly wsMaxPayloadBytes: number;
  /**
   * WS_MAX_FRAME_BYTES: largest frame of an authenticated socket, not counting the base64
   * `file_data` of a send on /api/chat and 002 (only those frames may reach
   * WS_MAX_PAYLOAD_BYTES); larger closes with 1009. A socket not yet authenticated may send
   * 16 KiB at most.
   */
  readonly wsMaxFrameBytes: number;
  /**
   * WS_MAX_UNAUTHENTICATED_PER_ADDRESS: sockets from one client address that are not
   * authenticated yet (waiting for a first-frame token, or being refused); more are refused
   * with 429 before the upgrade. 0: no cap.
   */
  readonly wsMaxUnauthenticatedPerAddress: number;
  /**
   * WS_BIG_FRAMES_AT_ONCE: frames over WS_MAX_FRAME_BYTES (base64 files) received and decoded
   * at once by this process; the other sockets sending one are not read until a turn is free.
   * Each costs about 2.5 × its frame in memory while it lasts.
   */
  readonly wsBigFramesAtOnce: number;
  /**
   * ALLOWED_ORIGINS (alias: WS_ALLOWED_ORIGINS): the origins of pages on other sites that may
   * use this server (comma-separated, `*` for any): CORS on REST, socket handshakes. Always
   * allowed: the server's own origin, and clients that send no Origin (not browsers). Only an
   * origin named here (never `*`) is trusted with the AUTH_COOKIE cookie.
   */
  readonly allowedOrigins: readonly string[];
  /**
   * AUTH_COOKIE: the cookie in which login and register also hand out the token, and from
   * which a browser's socket handshake may take it (document 003's React client opens its
   * socket with no token in sight). Empty: no cookie.
   */
  readonly authCookie: string | null;
  /** WS_PING_INTERVAL_MS: sockets are pinged this often; one that has not answered the previous ping is closed. 0: off. */
  readonly wsPingIntervalMs: number;
  /** WS_COMPRESSION: permessage-deflate on sockets (off: it costs memory per socket and CPU per frame). */
  readonly wsCompression: boolean;
  /** WS_SEND_BUFFER_BYTES: bytes queued to one socket before it counts as a slow consumer (closed with 4008). */
  readonly wsSendBufferBytes: number;
  /** RESUME_MAX_MESSAGES: most messages replayed on resume before the client is told to take a snapshot. */
  readonly resumeMaxMessages: number;
  /**
   * RESUME_CONCURRENCY: socket resumes (a subscribe or join with cursors) this process replays
   * at once, so a storm of them does not slow every one down; past RESUME_QUEUE waiting, one
   * more is closed with 1013 and a jittered retry hint in its reason (`retry_after_ms=…`).
   * 0: no cap.
   */
  readonly resumeConcurrency: number;
  /**
   * RESUME_QUEUE: resumes that wait for one of the RESUME_CONCURRENCY turns, first come first
   * served; past them a resume is closed with 1013 and the retry hint.
   */
  readonly resumeQueue: number;
  /**
   * LISTEN_BACKLOG: connections the kernel queues for this process before it accepts them
   * (listen(2)'s backlog, capped by net.core.somaxconn). Node's 511 overflows when thousands
   * of clients reconnect at once: their SYNs are dropped and retried 1 s, 3 s, 7 s later.
   */
  readonly listenBacklog: number;
  /**
   * RECONNECT_SPREAD_MS: after the bus lost events (Redis was unreachable), this process's
   * sockets stop receiving at once and are closed with 1012 at random moments over this window,
   * so their clients do not all reconnect in the same instant. 0: all at once.
   */
  readonly reconnectSpreadMs: number;
  /**
   * MESSAGES_PAGE_MAX_BYTES: the most bytes of rendered messages one read answers with where a
   * page may be cut short (…/changes pages, 002's room detail): it stops before the message
   * that would pass it, always with at least one, and says there is more.
   */
  readonly messagesPageMaxBytes: number;
  /** TYPING_TTL_MS: a typing indicator that is not renewed expires after this. */
  readonly typingTtlMs: number;
  /** Push notifications (issue 19): NOTIFY=off writes no outbox and runs no dispatcher. */
  readonly notify: NotifyConfig;
  /** REORDER_WAIT_MS: how long a message waits for an earlier one (from another process) before that one is read from the store. */
  readonly reorderWaitMs: number;
  /** COMMIT_BATCH_MAX: most sends committed in one transaction (group commit). */
  readonly commitBatchMax: number;
  /** SEARCH_INDEX (default on): off writes no search index rows and answers search `search_disabled` (the send's cost without the index). */
  readonly searchIndex: boolean;
  /** SQLITE_WRITER: `main` (default) runs SQLite writes on the event loop's connection, `thread` on a thread of their own (see README). */
  readonly sqliteWriterThread: boolean;
  /**
   * PostgreSQL bounds on a stuck session (PG_LOCK_WAIT_MS, PG_LOCK_TIMEOUT_MS,
   * PG_STATEMENT_TIMEOUT_MS, PG_IDLE_IN_TRANSACTION_TIMEOUT_MS): see PostgresOptions.
   */
  readonly postgres: {
    readonly lockWaitMs: number;
    readonly lockTimeoutMs: number;
    readonly statementTimeoutMs: number;
    readonly idleInTransactionTimeoutMs: number;
    /** PG_POOL_SIZE: connections this process opens at most. */
    readonly poolSize: number;
    /** PG_POOL_IDLE_MS: a connection unused this long is closed (the server's max_connections is shared by every process). */
    readonly poolIdleMs: number;
    /** PG_PREPARED_STATEMENTS (default on): off for a pooler that cannot keep a session's prepared statements (see PostgresOptions). */
    readonly preparedStatements: boolean;
  };
  /** FILES_ROOT: attachments live under `$FILES_ROOT/static/chat_files/{images,files,voices,thumbnails}/`. */
  readonly filesRoot: string;
  /** WEB_DIR: the built web client served at `/` (default: web/dist of this checkout). */
  readonly webDir: string | null;
  /** FILE_URL_TTL_SECONDS: lifetime of the signed file URLs Parley hands out (a link past it gets 403). */
  readonly fileUrlTtlSeconds: number;
  /** FILES_PENDING_TTL_SECONDS: an upload not attached to a message within this is deleted (the documents' upload-then-send). */
  readonly filesPendingTtlSeconds: number;
  /** FILES_SWEEP_GRACE_SECONDS: the sweep leaves unreferenced files younger than this (a write may be in flight in another process). */
  readonly filesSweepGraceSeconds: number;
  /**
   * IMAGE_MAX_PIXELS: most pixels an image may have, every frame of an animation counted.
   * Read from the header and refused before anything is decoded: it bounds the CPU a
   * thumbnail takes here and what every recipient's device decodes.
   */
  readonly imageMaxPixels: number;
  /**
   * IMAGE_MAX_DECODED_BYTES: most bytes one decoded frame may take (width × height × channels
   * × bytes per sample), read from the header: interlaced PNG, progressive JPEG and GIF are
   * decoded whole, so this is the memory one image can cost (a 900 KB 16-bit PNG claims 600 MB).
   */
  readonly imageMaxDecodedBytes: number;
  /**
   * MEDIA_CONCURRENCY: images and voice messages decoded at once by this process (the others
   * wait their turn), so N uploads at once cost the memory and cores of this many, not N.
   */
  readonly mediaConcurrency: number;
  /** MEDIA_TIMEOUT_MS: longest one image or audio file may take to decode and measure; past it the file is refused. */
  readonly mediaTimeoutMs: number;
  /**
   * FILES_PENDING_QUOTA_BYTES / FILES_PENDING_QUOTA_FILES: most bytes and files one user may
   * have uploaded and not yet sent (upload-files, upload/, /api/parley/files); over it an
   * upload is refused (413). Sending or the pending sweep frees them. 0 turns one off.
   */
  readonly filesPendingQuotaBytes: number;
  readonly filesPendingQuotaFiles: number;
  /**
   * Rate limits (0 turns one off): RATE_USER_MESSAGES_PER_SECOND/_BURST, RATE_REST_WRITES_PER_SECOND/_BURST
   * (every write of a user but messages: REST and state-changing frames share it),
   * RATE_CONNECTION_FRAMES_PER_SECOND/_BURST.
   */
  readonly rateLimits: {
    readonly userMessagesPerSecond: number;
    readonly userMessagesBurst: number;
    readonly restWritesPerSecond: number;
    readonly restWritesBurst: number;
    readonly connectionFramesPerSecond: number;
    readonly connectionFramesBurst: number;
    /** RATE_USER_READS_PER_SECOND/_BURST: REST reads (GET) per user, shared by every process on one Redis. */
    readonly userReadsPerSecond: number;
    readonly userReadsBurst: number;
  };
  /**
   * MAX_CONVERSATION_MEMBERS: current participants of one group or channel, at most; an add
   * past it is refused (409). Bounds what anyone can be pulled into and what one room costs.
   */
  readonly maxConversationMembers: number;
  /** MAX_MEMBERS_PER_ADD: people one create-with-members or add call may name, at most (400 past it). */
  readonly maxMembersPerAdd: number;
  /**
   * Login throttling, counted through the rate limiter (shared by every process on one Redis)
   * and checked before any password is hashed. Each is a list of token buckets, `burst/interval`
   * (`5/1m,20/15m`: 5 free, then one more a minute; past 20, one every 15 minutes, so the wait
   * grows); `off` or empty turns one off. A right password gives its failure tokens back.
   */
  readonly loginThrottle: {
    /** RATE_LOGIN_ACCOUNT_FAILURES: failed logins (and password changes) per account: tenant + email, existing or not. */
    readonly accountFailures: readonly ThrottleTier[];
    /** RATE_LOGIN_ADDRESS_FAILURES: failed logins per client address (one address trying many accounts). */
    readonly addressFailures: readonly ThrottleTier[];
    /** RATE_LOGIN_ADDRESS_ATTEMPTS: every login attempt per client address, right or wrong (floods). */
    readonly addressAttempts: readonly ThrottleTier[];
  };
  /**
   * TRUST_PROXY: whether the client address (login throttling, logs) is taken from
   * X-Forwarded-For. `false` (default: the TCP peer), `true` (any proxy), a number of hops, or
   * the proxies' addresses/CIDRs (comma-separated). Behind a reverse proxy, without it every
   * client shares the proxy's address and its login throttle.
   */
  readonly trustProxy: boolean | number | string;
  /**
   * PASSWORD_HASH_CONCURRENCY: most argon2 hashes (login, register, password change) running
   * at once. Each takes a thread of libuv's pool, which SQLite's WAL flush needs for every
   * acknowledged send; the default (half the CPUs, 1 or 2) leaves that pool room.
   */
  readonly passwordHashConcurrency: number;
  /** Mobile push services (issue 19): each is on when its settings are set. */
  readonly mobilePush: MobilePushConfig;
  /** E-mail for DMs and mentions left unread (issue 19). */
  readonly email: EmailConfig;
  /** External identity provider whose tokens Parley trusts besides its own (all optional). */
  readonly idp: IdpConfig;
  /**
   * METRICS_TOKEN: the bearer token `/metrics` asks for, wherever it is served. Unset: the
   * main listener has no `/metrics` (it tells anyone how busy the server is and what runs it).
   */
  readonly metricsToken: string | null;
  /** METRICS_PORT: serve `/metrics` on a listener of its own (0: a free port). Unset: none. */
  readonly metricsPort: number | null;
  /** METRICS_HOST: the address of that listener; loopback, so only the machine scrapes it. */
  readonly metricsHost: string;
  /** How long a peer may hold a connection, and how many it may hold (0 turns one off). */
  readonly http: HttpLimits;
  /** Webhooks and the events log (issue 19). */
  readonly webhooks: WebhookConfig;
  readonly retention: RetentionConfig;
}

/** The retention purge (issue 20): one process at a time runs it, under a lease. */
export interface RetentionConfig {
  /** RETENTION_INTERVAL_MS: how often a process looks for messages past their retention (0: never). */
  readonly intervalMs: number;
  /** RETENTION_BATCH: messages one purge transaction deletes at most (a send waits for at most one batch). */
  readonly batch: number;
  /** EXPORTS_PER_MINUTE: exports one user may start per minute (a burst of half that); 0: no limit. */
  readonly exportsPerMinute: number;
}

export interface WebhookConfig {
  /**
   * WEBHOOKS (on by default; `off` turns it off): changes log their events and endpoints get
   * them. Every change is logged whether or not the tenant has endpoints: the events API
   * must give a consumer that registers later, or reads by cursor only, the same events
   * (the log is pruned after `retentionMs`). The log shares no row between transactions
   * (one sequence), so a stopped process holds no one else's sends. Off, the events API
   * answers an empty log.
   */
  readonly enabled: boolean;
  /** WEBHOOK_TIMEOUT_MS: how long one delivery may take, connection to last byte of the answer. */
  readonly timeoutMs: number;
  /** WEBHOOK_ALLOW_PRIVATE: `true` lets endpoints point at loopback and private addresses (tests, one-machine setups); refused otherwise (SSRF). */
  readonly allowPrivate: boolean;
  /** WEBHOOK_RETRY_BASE_MS / WEBHOOK_RETRY_MAX_MS: the first retry's delay, doubled each attempt up to the max, each with jitter. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** WEBHOOK_DISABLE_AFTER_MS: an endpoint failing for this long is disabled (its deliveries kept) until an admin enables it. At least 24 h by default. */
  readonly disableAfterMs: number;
  /** WEBHOOK_POLL_MS: how often the dispatcher looks for new events and due retries. */
  readonly pollMs: number;
  /** WEBHOOK_RETENTION_MS: delivered events and deliveries older than this are deleted, in batches (7 days). */
  readonly retentionMs: number;
}

export interface MobilePushConfig {
  /** FCM_SERVICE_ACCOUNT_FILE: the service-account JSON file Google gives (project_id, client_email, private_key, token_uri). Unset: no FCM. */
  readonly fcmServiceAccountFile: string | null;
  /** FCM_BASE_URL: the FCM HTTP v1 API's origin. */
  readonly fcmBaseUrl: string;
  /** APNS_KEY_FILE: the .p8 token-signing key from Apple. Unset: no APNs (APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC are then required). */
  readonly apnsKeyFile: string | null;
  /** APNS_KEY_ID: the key's id (the JWT's `kid`). */
  readonly apnsKeyId: string;
  /** APNS_TEAM_ID: the developer team (the JWT's `iss`). */
  readonly apnsTeamId: string;
  /** APNS_TOPIC: the app's bundle id (`apns-topic`). */
  readonly apnsTopic: string;
  /** APNS_BASE_URL: `https://api.push.apple.com` (production) or `https://api.sandbox.push.apple.com` (development builds). */
  readonly apnsBaseUrl: string;
}

export interface EmailConfig {
  /** SMTP_URL: `smtp://user:pass@host:587` or `smtps://…:465`. Unset: no e-mail. */
  readonly smtpUrl: string | null;
  /** MAIL_FROM: the From of every e-mail. */
  readonly mailFrom: string;
  /** EMAIL_DELAY_MS: a DM or mention still unread this long after it was sent is e-mailed. */
  readonly delayMs: number;
  /** EMAIL_INTERVAL_MS: how often each process looks for e-mails due. */
  readonly intervalMs: number;
  /** EMAIL_MAX_AGE_MS: messages older than this are never e-mailed (a backlog when e-mail is first turned on). */
  readonly maxAgeMs: number;
}

export interface HttpLimits {
  /** HTTP_HEADERS_TIMEOUT_MS: a request's headers must all arrive within this (Slowloris). */
  readonly headersTimeoutMs: number;
  /**
   * HTTP_REQUEST_TIMEOUT_MS: a whole request, body included, must arrive within this: a body
   * dribbled a byte at a time is cut. 300 s carries a 50 MB file at 170 KB/s.
   */
  readonly requestTimeoutMs: number;
  /** HTTP_IDLE_TIMEOUT_MS: a connection that moves no byte either way for this long is closed (a stalled body, a reader that stopped reading). Sockets are kept alive by ping instead. */
  readonly idleTimeoutMs: number;
  /** HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection between requests; above the 60 s idle timeout of common load balancers. */
  readonly keepAliveTimeoutMs: number;
  /** HTTP_MAX_CONNECTIONS: open connections (HTTP and WebSocket) this process takes; beyond, new ones are closed at once. */
  readonly maxConnections: number;
  /**
   * HTTP_MAX_CONNECTIONS_PER_ADDRESS: open connections from one client address (an IPv6 /64
   * counts as one); beyond, new ones are closed at once. Behind a proxy every connection comes
   * from the proxy's address: raise it or set 0 and cap at the proxy.
   */
  readonly maxConnectionsPerAddress: number;
}

export interface IdpConfig {
  /** AUTH_HS256_SECRET: the provider's shared secret. */
  readonly hs256Secret?: string;
  /** AUTH_PUBLIC_KEY: the provider's RS256/ES256 public key (PEM, SPKI). */
  readonly publicKeyPem?: string;
  /** AUTH_JWKS_URL: the provider's JWKS document. */
  readonly jwksUrl?: string;
  /** AUTH_ALGORITHM: the algorithm of AUTH_PUBLIC_KEY (RS256, ES256, PS256, EdDSA). */
  readonly algorithm: string;
  /** AUTH_ISSUER / AUTH_AUDIENCE: checked when set. */
  readonly issuer?: string;
  readonly audience?: string;
  /** AUTH_CLAIM_SUBJECT, AUTH_CLAIM_EMAIL, AUTH_CLAIM_NAME, AUTH_CLAIM_TENANT: claim names. */
  readonly claimSubject: string;
  readonly claimEmail: string;
  readonly claimName: string;
  readonly claimTenant: string;
}

type Env = Record<string, string | undefined>;

/** Whether tokens of an external identity provider are trusted (some AUTH_* key is set). */
export const idpConfigured = (idp: IdpConfig) => Boolean(idp.hs256Secret || idp.publicKeyPem || idp.jwksUrl);

export const REGISTRATIONS = ['default-tenant', 'invite', 'closed', 'open'] as const;
export type Registration = (typeof REGISTRATIONS)[number];

/** One token bucket of a throttle: `burst` tokens, refilled at `perSecond`. */
export interface ThrottleTier {
  readonly burst: number;
  readonly perSecond: number;
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `5/1m,20/15m` → two buckets: 5 free then one a minute, 20 free then one per 15 minutes. `off`, `0` or empty: none. */
export function parseThrottleTiers(name: string, raw: string): ThrottleTier[] {
  const text = raw.trim().toLowerCase();
  if (text === '' || text === 'off' || text === '0') return [];
  return text.split(',').map((part) => {
    const m = /^(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(part.trim());
    const burst = m ? Number(m[1]) : NaN;
    const intervalMs = m ? Number(m[2]) * DURATION_MS[m[3]] : NaN;
    if (!(burst >= 1) || !(intervalMs > 0)) {
      throw new ConfigError(`${name} must be a list of burst/interval like "5/1m,20/15m" (units ms, s, m, h, d) or "off", got "${raw}"`);
    }
    return Object.freeze({ burst, perSecond: 1000 / intervalMs });
  });
}

/** A switch that is on unless set to off, false or 0. */
const onUnlessOff = (raw: string | undefined): boolean => !['off', 'false', '0'].includes((raw ?? '').trim().toLowerCase());

function trustProxy(raw: string | undefined): boolean | number | string {
  const v = (raw ?? '').trim();
  if (v === '' || v === 'false' || v === 'off') return false;
  if (v === 'true' || v === 'on') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

/** A setting Parley refuses to start with; the message names it and says what to do. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** HS256 signs with an HMAC-SHA-256 key: one shorter than the hash's 32 bytes is guessable offline from any token. */
const MIN_JWT_SECRET_BYTES = 32;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** One entry of ALLOWED_ORIGINS as a browser sends it in `Origin` (`https://app.example.com`), or `*`. */
function parseOrigin(name: string, raw: string): string {
  if (raw === '*') return raw;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  // A path, query or user part would never match an Origin header: say so rather than ignore it.
  if (!url || url.origin === 'null' || url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`${name}: "${raw}" is not an origin; write scheme://host[:port], e.g. https://app.example.com, or * for any`);
  }
  return url.origin; // lower case, default port dropped: what browsers send
}

/**
 * ALLOWED_ORIGINS, or its older name WS_ALLOWED_ORIGINS (it once bounded sockets only). Both set
 * to different lists is refused: which one was meant cannot be guessed.
 */
function allowedOrigins(env: Env): string[] {
  const parse = (name: string, raw: string) => [...new Set(raw.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean).map((o) => parseOrigin(name, o)))];
  const current = env.ALLOWED_ORIGINS ? parse('ALLOWED_ORIGINS', env.ALLOWED_ORIGINS) : undefined;
  const alias = env.WS_ALLOWED_ORIGINS ? parse('WS_ALLOWED_ORIGINS', env.WS_ALLOWED_ORIGINS) : undefined;
  if (current && alias && [...current].sort().join(',') !== [...alias].sort().join(',')) {
    throw new ConfigError('ALLOWED_ORIGINS and WS_ALLOWED_ORIGINS (its older name) are both set, to different lists: keep ALLOWED_ORIGINS only');
  }
  return current ?? alias ?? [];
}

export interface NotifyConfig {
  readonly enabled: boolean;
  /** NOTIFY_DELAY_MS: a push is due this long after the message unless a device acked it or the user read it. */
  readonly delayMs: number;
  /** NOTIFY_POLL_MS: how often the dispatcher looks for due pushes (0: never by itself; tests tick it). */
  readonly pollMs: number;
  /** NOTIFY_LEASE_MS: how long a claimed push is this process's before another may take it (a crash's are taken after it). */
  readonly leaseMs: number;
  /** NOTIFY_CONTENT: full (sender and text) or none, for push and e-mail alike (says "New message"; the device fetches the rest). */
  readonly content: 'full' | 'none';
  /** VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY (base64url, P-256): generated into DATA_DIR when unset, like the JWT secret. */
  readonly vapidPublicKey: string;
  readonly vapidPrivateKey: string;
  /** VAPID_SUBJECT: the contact push services see (mailto: or https:); PUBLIC_URL by default. */
  readonly vapidSubject: string;
}

/** Reads or creates DATA_DIR/vapid-keys.json (mode 0600): an ECDSA P-256 pair in Web Push's encoding. */
function persistentVapidKeys(dataDir: string): { publicKey: string; privateKey: string } {
  const made = persistentFile(dataDir, 'vapid-keys.json', () => JSON.stringify(newVapidKeys()));
  const keys = JSON.parse(made) as { publicKey: string; privateKey: string };
  // A file written before the padding below holds a short key in 1 of 256.
  return { publicKey: keys.publicKey, privateKey: vapidPrivateKey(keys.privateKey) };
}

/** A new VAPID pair: the public key uncompressed (65 bytes), the private key 32 bytes (base64url). */
export function newVapidKeys(): { publicKey: string; privateKey: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { publicKey: ecdh.getPublicKey('base64url', 'uncompressed'), privateKey: vapidPrivateKey(ecdh.getPrivateKey('base64url')) };
}

/** VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY checked at start: a wrong one would fail every push, silently. */
function givenVapidKeys(publicKey: string, privateKey: string): { publicKey: string; privateKey: string } {
  const pub = Buffer.from(publicKey, 'base64url');
  if (pub.length !== 65 || pub[0] !== 4) throw new ConfigError('VAPID_PUBLIC_KEY must be an uncompressed P-256 public key (65 bytes, base64url)');
  const priv = Buffer.from(privateKey, 'base64url');
  if (priv.length === 0 || priv.length > 32) throw new ConfigError('VAPID_PRIVATE_KEY must be a P-256 private key (32 bytes, base64url)');
  return { publicKey, privateKey: vapidPrivateKey(privateKey) };
}

/**
 * The private scalar as the 32 bytes Web Push wants. ECDH's getPrivateKey drops leading
 * zero bytes (1 key in 256 comes out 31 bytes long), and web-push refuses such a key, so
 * every push of that server failed: it is the same number padded on the left.
 */
export function vapidPrivateKey(base64url: string): string {
  const raw = Buffer.from(base64url, 'base64url');
  return raw.length >= 32 ? base64url : Buffer.concat([Buffer.alloc(32 - raw.length), raw]).toString('base64url');
}

/** DATA_DIR/name's text, written first (mode 0600) from `make` when it does not exist. */
function persistentFile(dataDir: string, name: string, make: () => string): string {
  const file = path.join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const text = make();
  writeFileSync(file, text + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return text;
}

function notifyConfig(env: Env, dataDir: string, publicUrl: string): NotifyConfig {
  const content = env.NOTIFY_CONTENT || 'full';
  if (content !== 'full' && content !== 'none') throw new ConfigError(`NOTIFY_CONTENT must be full or none; got "${content}"`);
  const vapid = env.VAPID_PUBLIC_KEY && env.VAPID_PRIVATE_KEY ? givenVapidKeys(env.VAPID_PUBLIC_KEY, env.VAPID_PRIVATE_KEY) : persistentVapidKeys(dataDir);
  return Object.freeze({
    enabled: env.NOTIFY !== 'off',
    delayMs: int(env, 'NOTIFY_DELAY_MS', 10_000),
    pollMs: int(env, 'NOTIFY_POLL_MS', 1000),
    leaseMs: Math.max(1, int(env, 'NOTIFY_LEASE_MS', 30_000)),
    content,
    vapidPublicKey: vapid.publicKey,
    vapidPrivateKey: vapid.privateKey,
    vapidSubject: env.VAPID_SUBJECT || (/^https:/.test(publicUrl) ? publicUrl : 'mailto:admin@localhost'),
  });
}

/** Reads or creates DATA_DIR/jwt-secret (mode 0600), so tokens survive restarts without configuration. */
function persistentSecret(dataDir: string): string {
  return persistentFile(dataDir, 'jwt-secret', () => randomBytes(48).toString('base64url'));
}

function mobilePush(env: Env): MobilePushConfig {
  const apnsKeyFile = env.APNS_KEY_FILE || null;
  if (apnsKeyFile) {
    const missing = ['APNS_KEY_ID', 'APNS_TEAM_ID', 'APNS_TOPIC'].filter((name) => !env[name]);
    if (missing.length) throw new ConfigError(`APNS_KEY_FILE is set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not: APNs needs the key's id, the team id and the app's bundle id`);
  }
  return Object.freeze({
    fcmServiceAccountFile: env.FCM_SERVICE_ACCOUNT_FILE || null,
    fcmBaseUrl: (env.FCM_BASE_URL || 'https://fcm.googleapis.com').replace(/\/+$/, ''),
    apnsKeyFile,
    apnsKeyId: env.APNS_KEY_ID ?? '',
    apnsTeamId: env.APNS_TEAM_ID ?? '',
    apnsTopic: env.APNS_TOPIC ?? '',
    apnsBaseUrl: (env.APNS_BASE_URL || 'https://api.push.apple.com').replace(/\/+$/, ''),
  });
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(env.DATA_DIR ?? './data');
  // Created private (messages, files, the secret); an existing directory is left as it is —
  // what Parley writes in it is private on its own (0600 files, 0700 folders).
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const port = int(env, 'PORT', 8000);
  const host = env.HOST ?? '0.0.0.0';
  const idpConfigured = Boolean(env.AUTH_HS256_SECRET || env.AUTH_PUBLIC_KEY || env.AUTH_JWKS_URL);
  // With an identity provider the accounts are its own: a local registration could take the
  // e-mail or tenant of one of its users before their first login.
  const registration = (env.REGISTRATION || (idpConfigured ? 'closed' : 'default-tenant')) as Registration;
  if (!REGISTRATIONS.includes(registration)) throw new ConfigError(`REGISTRATION must be ${REGISTRATIONS.join(', ')}; got "${env.REGISTRATION}"`);
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const publicUrl = (env.PUBLIC_URL || `http://${shownHost}:${port}`).replace(/\/+$/, '');
  const jwtSecret = env.JWT_SECRET || persistentSecret(dataDir);
  if (Buffer.byteLength(jwtSecret, 'utf8') < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(
      `JWT_SECRET is ${Buffer.byteLength(jwtSecret, 'utf8')} bytes; it must be at least ${MIN_JWT_SECRET_BYTES} (anyone holding one token could guess a shorter one offline and sign their own). ` +
        'Generate one with `openssl rand -base64 48`, or leave JWT_SECRET unset with a single process to have one generated.',
    );
  }
  const config: Config = {
    port,
    host,
    dataDir,
    databaseUrl: env.DATABASE_URL || `sqlite:${path.join(dataDir, 'parley.db')}`,
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX ?? 'parley:',
    presenceTtlMs: int(env, 'PRESENCE_TTL_MS', 15_000),
    jwtSecret,
    jwtTtlSeconds: int(env, 'JWT_TTL_SECONDS', 7 * 24 * 3600),
    publicUrl,
    registration,
    inviteTtlSeconds: Math.max(1, int(env, 'INVITE_TTL_SECONDS', 7 * 24 * 3600)),
    logLevel: env.LOG_LEVEL ?? 'info',
    maxMessageLength: int(env, 'MAX_MESSAGE_LENGTH', 5000),
    wsMaxPayloadBytes: int(env, 'WS_MAX_PAYLOAD_BYTES', 80 * 1024 * 1024),
    wsMaxFrameBytes: Math.max(1024, int(env, 'WS_MAX_FRAME_BYTES', 1024 * 1024)),
    wsMaxUnauthenticatedPerAddress: int(env, 'WS_MAX_UNAUTHENTICATED_PER_ADDRESS', 10),
    wsBigFramesAtOnce: Math.max(1, int(env, 'WS_BIG_FRAMES_AT_ONCE', 2)),
    allowedOrigins: allowedOrigins(env),
    authCookie: env.AUTH_COOKIE === undefined ? 'parley_token' : env.AUTH_COOKIE.trim() || null,
    wsPingIntervalMs: int(env, 'WS_PING_INTERVAL_MS', 30_000),
    wsCompression: env.WS_COMPRESSION === 'on' || env.WS_COMPRESSION === 'true',
    wsSendBufferBytes: int(env, 'WS_SEND_BUFFER_BYTES', 8 * 1024 * 1024),
    resumeMaxMessages: int(env, 'RESUME_MAX_MESSAGES', 10_000),
    resumeConcurrency: Math.max(0, int(env, 'RESUME_CONCURRENCY', 64)),
    resumeQueue: Math.max(0, int(env, 'RESUME_QUEUE', 1000)),
    reconnectSpreadMs: Math.max(0, int(env, 'RECONNECT_SPREAD_MS', 3000)),
    listenBacklog: Math.max(1, int(env, 'LISTEN_BACKLOG', 4096)),
    messagesPageMaxBytes: Math.max(1, int(env, 'MESSAGES_PAGE_MAX_BYTES', 1024 * 1024)),
    typingTtlMs: int(env, 'TYPING_TTL_MS', 6000),
    reorderWaitMs: int(env, 'REORDER_WAIT_MS', 150),
    notify: notifyConfig(env, dataDir, publicUrl),
    commitBatchMax: Math.max(1, int(env, 'COMMIT_BATCH_MAX', 512)),
    searchIndex: onUnlessOff(env.SEARCH_INDEX),
    sqliteWriterThread: (env.SQLITE_WRITER ?? '').trim().toLowerCase() === 'thread',
    postgres: Object.freeze({
      lockWaitMs: Math.max(1, int(env, 'PG_LOCK_WAIT_MS', 200)),
      lockTimeoutMs: int(env, 'PG_LOCK_TIMEOUT_MS', 10_000),
      statementTimeoutMs: int(env, 'PG_STATEMENT_TIMEOUT_MS', 30_000),
      idleInTransactionTimeoutMs: int(env, 'PG_IDLE_IN_TRANSACTION_TIMEOUT_MS', 10_000),
      poolSize: Math.max(2, int(env, 'PG_POOL_SIZE', 10)),
      poolIdleMs: Math.max(100, int(env, 'PG_POOL_IDLE_MS', 10_000)),
      preparedStatements: onUnlessOff(env.PG_PREPARED_STATEMENTS),
    }),
    filesRoot: path.resolve(env.FILES_ROOT || dataDir),
    webDir: env.WEB_DIR ? path.resolve(env.WEB_DIR) : null,
    fileUrlTtlSeconds: Math.max(1, int(env, 'FILE_URL_TTL_SECONDS', 3600)),
    filesPendingTtlSeconds: int(env, 'FILES_PENDING_TTL_SECONDS', 24 * 3600),
    filesSweepGraceSeconds: int(env, 'FILES_SWEEP_GRACE_SECONDS', 600),
    imageMaxPixels: Math.max(1, int(env, 'IMAGE_MAX_PIXELS', 40_000_000)),
    imageMaxDecodedBytes: Math.max(1, int(env, 'IMAGE_MAX_DECODED_BYTES', 128 * 1024 * 1024)),
    mediaConcurrency: Math.max(1, int(env, 'MEDIA_CONCURRENCY', 1)),
    mediaTimeoutMs: Math.max(1000, int(env, 'MEDIA_TIMEOUT_MS', 10_000)),
    filesPendingQuotaBytes: int(env, 'FILES_PENDING_QUOTA_BYTES', 200 * 1024 * 1024),
    filesPendingQuotaFiles: int(env, 'FILES_PENDING_QUOTA_FILES', 50),
    rateLimits: Object.freeze({
      userMessagesPerSecond: int(env, 'RATE_USER_MESSAGES_PER_SECOND', 20),
      userMessagesBurst: int(env, 'RATE_USER_MESSAGES_BURST', 100),
      restWritesPerSecond: int(env, 'RATE_REST_WRITES_PER_SECOND', 20),
      restWritesBurst: int(env, 'RATE_REST_WRITES_BURST', 100),
      connectionFramesPerSecond: int(env, 'RATE_CONNECTION_FRAMES_PER_SECOND', 50),
      connectionFramesBurst: int(env, 'RATE_CONNECTION_FRAMES_BURST', 200),
      userReadsPerSecond: int(env, 'RATE_USER_READS_PER_SECOND', 20),
      userReadsBurst: int(env, 'RATE_USER_READS_BURST', 100),
    }),
    maxConversationMembers: Math.max(2, int(env, 'MAX_CONVERSATION_MEMBERS', 1000)),
    maxMembersPerAdd: Math.max(1, int(env, 'MAX_MEMBERS_PER_ADD', 100)),
    loginThrottle: Object.freeze({
      accountFailures: Object.freeze(parseThrottleTiers('RATE_LOGIN_ACCOUNT_FAILURES', env.RATE_LOGIN_ACCOUNT_FAILURES ?? '5/1m,20/15m')),
      addressFailures: Object.freeze(parseThrottleTiers('RATE_LOGIN_ADDRESS_FAILURES', env.RATE_LOGIN_ADDRESS_FAILURES ?? '20/10s,100/5m')),
      addressAttempts: Object.freeze(parseThrottleTiers('RATE_LOGIN_ADDRESS_ATTEMPTS', env.RATE_LOGIN_ADDRESS_ATTEMPTS ?? '60/100ms')),
    }),
    trustProxy: trustProxy(env.TRUST_PROXY),
    passwordHashConcurrency: Math.max(1, int(env, 'PASSWORD_HASH_CONCURRENCY', Math.max(1, Math.min(2, Math.floor(availableParallelism() / 2))))),
    mobilePush: mobilePush(env),
    email: Object.freeze({
      smtpUrl: env.SMTP_URL || null,
      mailFrom: env.MAIL_FROM || `Parley <parley@${shownHost}>`,
      delayMs: int(env, 'EMAIL_DELAY_MS', 10 * 60_000),
      intervalMs: Math.max(1000, int(env, 'EMAIL_INTERVAL_MS', 60_000)),
      maxAgeMs: Math.max(1, int(env, 'EMAIL_MAX_AGE_MS', 7 * 86_400_000)),
    }),
    idp: Object.freeze({
      hs256Secret: env.AUTH_HS256_SECRET || undefined,
      publicKeyPem: env.AUTH_PUBLIC_KEY || undefined,
      jwksUrl: env.AUTH_JWKS_URL || undefined,
      algorithm: env.AUTH_ALGORITHM || 'RS256',
      issuer: env.AUTH_ISSUER || undefined,
      audience: env.AUTH_AUDIENCE || undefined,
      claimSubject: env.AUTH_CLAIM_SUBJECT || 'sub',
      claimEmail: env.AUTH_CLAIM_EMAIL || 'email',
      claimName: env.AUTH_CLAIM_NAME || 'name',
      claimTenant: env.AUTH_CLAIM_TENANT || 'tenant_id',
    }),
    metricsToken: env.METRICS_TOKEN || null,
    metricsPort: env.METRICS_PORT === undefined || env.METRICS_PORT === '' ? null : int(env, 'METRICS_PORT', 0),
    metricsHost: env.METRICS_HOST || '127.0.0.1',
    http: Object.freeze({
      headersTimeoutMs: int(env, 'HTTP_HEADERS_TIMEOUT_MS', 20_000),
      requestTimeoutMs: int(env, 'HTTP_REQUEST_TIMEOUT_MS', 300_000),
      idleTimeoutMs: int(env, 'HTTP_IDLE_TIMEOUT_MS', 60_000),
      keepAliveTimeoutMs: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000),
      maxConnections: int(env, 'HTTP_MAX_CONNECTIONS', 20_000),
      maxConnectionsPerAddress: int(env, 'HTTP_MAX_CONNECTIONS_PER_ADDRESS', 256),
    }),
    webhooks: Object.freeze({
      enabled: env.WEBHOOKS !== 'off' && env.WEBHOOKS !== 'false',
      timeoutMs: Math.max(100, int(env, 'WEBHOOK_TIMEOUT_MS', 10_000)),
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE === 'true',
      retryBaseMs: Math.max(1, int(env, 'WEBHOOK_RETRY_BASE_MS', 10_000)),
      retryMaxMs: Math.max(1, int(env, 'WEBHOOK_RETRY_MAX_MS', 3_600_000)),
      disableAfterMs: Math.max(1, int(env, 'WEBHOOK_DISABLE_AFTER_MS', 24 * 3_600_000)),
      pollMs: Math.max(10, int(env, 'WEBHOOK_POLL_MS', 1000)),
      retentionMs: Math.max(1, int(env, 'WEBHOOK_RETENTION_MS', 7 * 24 * 3_600_000)),
    }),
    retention: Object.freeze({
      intervalMs: Math.max(0, int(env, 'RETENTION_INTERVAL_MS', 60_000)),
      batch: Math.min(2000, Math.max(1, int(env, 'RETENTION_BATCH', 500))),
      exportsPerMinute: Math.max(0, int(env, 'EXPORTS_PER_MINUTE', 6)),
    }),
  };
  return Object.freeze(config);
}
