import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Id, Millis } from '../../core/model.js';
import { closeRedis, defaultOnError, LUA_NOW, openRedis, type RedisBackendOptions, type RedisErrorListener } from '../redis.js';
import { PresenceReads, type Presence, type PresenceStatus, type TypingChange } from './presence.js';

export interface RedisPresenceOptions extends RedisBackendOptions {
  /** TYPING_TTL_MS: a typing mark not renewed expires after this. */
  typingTtlMs: number;
  /**
   * PRESENCE_TTL_MS: the users of a process that died without disconnecting are offline at
   * most this long after its last heartbeat. Heartbeats run every ttl/3.
   */
  ttlMs: number;
  /** Names this process's connections in Redis; random by default (never reuse a dead one's). */
  processId?: string;
}

// Keys (all under the prefix):
//   presence:conn:<user>  sorted set, member "<processId>:<connectionId>", score = expiry (ms)
//   presence:online       sorted set, member <user>, score = latest expiry of their members
//   presence:seq          counter: every change of someone's online state or status takes the next
//   presence:status       hash <user> -> away|busy|...
//   typing:<conversation> sorted set, member <user>, score = expiry; the key itself has a PX ttl
// Channel <prefix>presence carries "<seq> + <user> <at>", "<seq> - <user> <at>", "<seq> s <user> <status>",
// published by the script that made the change, so the channel's order is the order of changes.
// Time is Redis's (TIME): one clock for every process.

const CONNECT = `${LUA_NOW}
-- KEYS conn, online, seq; ARGV member, life, channel, user
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local exp = now + tonumber(ARGV[2])
local was = redis.call('ZSCORE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[1], exp, ARGV[1])
redis.call('ZADD', KEYS[2], 'GT', exp, ARGV[4])
if was then return {0, tonumber(redis.call('GET', KEYS[3]) or '0'), now} end
local seq = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[3], seq .. ' + ' .. ARGV[4] .. ' ' .. now)
return {1, seq, now}`;

const DISCONNECT = `${LUA_NOW}
-- KEYS conn, online, seq, status; ARGV member, channel, user
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) > 0 then return {0, tonumber(redis.call('GET', KEYS[3]) or '0'), now, 1} end
-- Already swept (this process missed heartbeats): whoever swept it reported the change.
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then return {0, tonumber(redis.call('GET', KEYS[3]) or '0'), now, 0} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
local seq = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[2], seq .. ' - ' .. ARGV[3] .. ' ' .. now)
return {1, seq, now, 0}`;

const HEARTBEAT = `${LUA_NOW}
-- KEYS online, seq, conn...; ARGV life, channel, then per conn key: user, n, n members
local exp = now + tonumber(ARGV[1])
local revived = {}
local a = 3
for i = 3, #KEYS do
  local user = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  a = a + 2
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  for j = 1, n do
    redis.call('ZADD', KEYS[i], exp, ARGV[a])
    a = a + 1
  end
  -- Swept while this process was cut off or stalled: online again, tell every view, and
  -- this process (it tells the user's partners, who heard they went offline).
  if not redis.call('ZSCORE', KEYS[1], user) then
    local seq = redis.call('INCR', KEYS[2])
    redis.call('PUBLISH', ARGV[2], seq .. ' + ' .. user .. ' ' .. now)
    revived[#revived + 1] = user
  end
  redis.call('ZADD', KEYS[1], 'GT', exp, user)
end
return revived`;

const SWEEP = `${LUA_NOW}
-- KEYS online, seq, status; ARGV conn key prefix, channel, life, limit
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[4]))
local gone = {}
for i = 1, #due, 2 do
  local user = due[i]
  local k = ARGV[1] .. user
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
  if #top == 0 then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], user)
    redis.call('HDEL', KEYS[3], user)
    local seq = redis.call('INCR', KEYS[2])
    local last = tonumber(due[i + 1]) - tonumber(ARGV[3])
    redis.call('PUBLISH', ARGV[2], seq .. ' - ' .. user .. ' ' .. last)
    gone[#gone + 1] = user
    gone[#gone + 1] = seq
    gone[#gone + 1] = last
  else
    redis.call('ZADD', KEYS[1], top[2], user)
  end
end
return {#due / 2, gone}`;

const SET_STATUS = `
-- KEYS status, seq; ARGV user, status, channel
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], seq .. ' s ' .. ARGV[1] .. ' ' .. ARGV[2])
return seq`;

// A status lost with Redis's data (a restart) is written again by the process whose user set
// it, unless someone set a newer one meanwhile.
const RESTORE_STATUS = `
-- KEYS status, seq; ARGV user, status, channel
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], seq .. ' s ' .. ARGV[1] .. ' ' .. ARGV[2])
return seq`;

const SNAPSHOT = `
-- KEYS online, seq, status
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[3])}`;

const SET_TYPING = `${LUA_NOW}
-- KEYS typing; ARGV user, ttl, on. {changed, typingNow}.
local ttl = tonumber(ARGV[2])
-- Marks whose owner's timer should long have fired (that process died): drop them.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local changed
if ARGV[3] == '1' then
  -- A mark still here is renewed, not started, even a hair past its score: its expiry is
  -- reported only by EXPIRE_TYPING's ZREM, which now finds it renewed.
  changed = redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 2 * ttl)
else
  changed = redis.call('ZREM', KEYS[1], ARGV[1])
end
return {changed, redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')}`;

const EXPIRE_TYPING = `${LUA_NOW}
-- KEYS typing; ARGV user. {-1}: cleared, nothing to report; {ms}: not due yet; {0, typingNow}: expired now.
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s then return {-1} end
s = tonumber(s)
if s > now then return {s - now} end
redis.call('ZREM', KEYS[1], ARGV[1])
return {0, redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')}`;

const HEARTBEAT_USERS_PER_CALL = 500;
/** How far a local timer may run ahead of Redis's TIME and still count as the same instant. */
const TIMER_SKEW_MS = 5;
const SWEEP_USERS_PER_CALL = 1000;

type TypingListener = (conversationId: Id, userId: Id, typingNow: Id[]) => void;
type ExpiredListener = (userId: Id, lastSeen: Millis) => void;

/**
 * Presence shared by the processes of one deployment through Redis.
 *
 * Each process keeps its connections in a sorted set per user (member
 * `<processId>:<connectionId>`, score = expiry) and refreshes them every ttl/3; a member
 * lives 2/3 ttl past its last refresh, so one late heartbeat is tolerated, and since every
 * process sweeps every ttl/3, the users of a process that died are offline within ttl of its
 * last heartbeat. The sweep is one script: each expired user is removed, and reported to
 * `onExpired`, by exactly one process.
 *
 * `isOnline`, `status` and `lastSeen` answer from a local view: the online set and the
 * statuses, loaded at start (and after each reconnection of the subscriber) and kept current
 * from the `<prefix>presence` channel. Every change takes a sequence number in the script
 * that makes it, so a stale message (this process's own echo arriving after a newer result)
 * never overwrites newer knowledge. Other processes see a change one pub/sub hop later. A
 * Redis that restarted empty restarts the sequence too; that is safe because every process
 * reloads its view (and its baseline) when its subscriber reconnects. Every process holds
 * the deployment's online set: one number per online user.
 *
 * While Redis is unreachable: `connect` keeps the connection locally and answers from the
 * local view (the first heartbeat after the reconnection writes it); `disconnect` answers
 * false and the connection left in Redis expires, its user reported by `onExpired` if it was
 * their last. Typing and status calls reject. The view keeps its last state until the
 * subscriber is back and reloads it. Scripts are sent with EVAL, not EVALSHA: a NOSCRIPT
 * retry after a Redis restart would be sent after later commands, and the order of one
 * process's connect, heartbeat and disconnect matters here.
 *
 * Typing marks live in a sorted set per conversation (score = expiry, the key has a PX ttl);
 * the process that set a mark keeps a timer and, when it is due, a script removes the mark
 * only if it was not renewed or cleared meanwhile, so `onTypingExpired` fires once, on one
 * process: the one that set or renewed it last (an earlier setter reports it, ttl/2 later,
 * only if that one died). A mark whose only setter died disappears from `typingNow` at its
 * expiry without a report.
 *
 * `close` stops heartbeating and closes the connections without disconnecting anyone: what
 * this process leaves expires, as after a crash. A graceful shutdown closes its sockets
 * (each `disconnect`s) first.
 */
export class RedisPresence extends PresenceReads implements Presence {
  readonly typingTtlMs: number;
  readonly ttlMs: number;
  readonly processId: string;
  readonly #cmd: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #onError: RedisErrorListener;

  /** This process's connections, refreshed by the heartbeat. */
  readonly #local = new Map<Id, Set<string>>();

  // The local view of the whole deployment.
  #online = new Set<Id>();
  #status = new Map<Id, PresenceStatus>();
  /**
   * Sequence of the newest fact applied, per user; #base when absent. The channel brings facts
   * in sequence order, so only a script's own result can be ahead of it: once the channel has
   * caught up with an entry, #base covers it and the entry goes (the maps stay small).
   */
  readonly #onlineSeq = new Map<Id, number>();
  readonly #statusSeq = new Map<Id, number>();
  #base = 0;
  /** The newest sequence the channel brought. */
  #channelSeq = 0;
  /** Channel messages received while a snapshot is being loaded, applied after it. */
  #buffer: string[] | null = null;
  #subGeneration = 0;
  #resyncPending = false;
  #resyncing = false;

  readonly #typingTimers = new Map<string, NodeJS.Timeout>();
  /** The command connection's generation when each of this process's typing marks was written. */
  readonly #typingGeneration = new Map<string, number>();
  /** Counts the command connection's (re)connections: a Redis restart may have lost what was written before. */
  #generation = 0;
  /** Statuses of this process's users, as last known: written again when Redis lost them. */
  readonly #localStatus = new Map<Id, PresenceStatus>();
  #typingExpired: TypingListener = () => {};
  #expired: ExpiredListener = () => {};
  #revived: (userId: Id) => void = () => {};
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(cmd: Redis, sub: Redis, opts: RedisPresenceOptions) {
    super();
    this.#cmd = cmd;
    this.#sub = sub;
    this.#prefix = opts.prefix ?? '';
    this.#channel = this.#prefix + 'presence';
    const onError = opts.onError ?? defaultOnError;
    // After close, failures of calls still in flight are expected, not news.
    this.#onError = (e) => {
      if (!this.#closed) onError(e);
    };
    this.typingTtlMs = opts.typingTtlMs;
    this.ttlMs = opts.ttlMs;
    this.processId = opts.processId ?? randomUUID();
    sub.on('message', (channel: string, payload: string) => {
      if (channel !== this.#channel) return;
      if (this.#buffer) this.#buffer.push(payload);
      else this.#receive(payload);
    });
    sub.on('ready', () => void this.#subscribe());
    cmd.on('ready', () => {
      // Back after an outage: put this process's connections back first, so the reload sees
      // them, then what its users had set, if Redis lost it.
      if (++this.#generation > 1) void this.#beat().then(() => this.#restoreStatuses(), this.#onError);
    });
  }

  /** Subscribes, loads the view, sweeps once and starts the heartbeat. */
  async start(): Promise<void> {
    await this.#subscribe();
    if (this.#buffer) throw new Error('presence: could not subscribe to Redis or load the online users from it');
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat().catch(this.#onError), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.#heartbeat.unref();
  }

  get #life(): number {
    return Math.max(1, Math.round((this.ttlMs * 2) / 3));
  }

  #connKey(userId: Id | string): string {
    return `${this.#prefix}presence:conn:${userId}`;
  }

  get #onlineKey() {
    return this.#prefix + 'presence:online';
  }
  get #seqKey() {
    return this.#prefix + 'presence:seq';
  }
  get #statusKey() {
    return this.#prefix + 'presence:status';
  }

  #eval(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.#cmd.eval(script, keys.length, ...keys, ...args);
  }

  /** Writes the statuses of this process's users again where Redis has none (it restarted, or swept them). */
  async #restoreStatuses(users: Iterable<Id> = this.#localStatus.keys()): Promise<void> {
    for (const userId of [...users]) {
      const status = this.#localStatus.get(userId);
      if (!status || !this.#local.has(userId) || this.#closed) continue;
      const seq = (await this.#eval(RESTORE_STATUS, [this.#statusKey, this.#seqKey], [userId, status, this.#channel])) as number;
      if (seq > 0) this.#applyStatus(userId, status, seq);
    }
  }

  async connect(userId: Id, connectionId: string): Promise<boolean> {
    let set = this.#local.get(userId);
    if (!set) this.#local.set(userId, (set = new Set()));
    set.add(connectionId);
    try {
      const [came, seq, at] = (await this.#eval(
        CONNECT,
        [this.#connKey(userId), this.#onlineKey, this.#seqKey],
        [`${this.processId}:${connectionId}`, this.#life, this.#channel, userId],
      )) as [number, number, number];
      this.#applyOnline(userId, true, seq, at);
      return came === 1;
    } catch (e) {
      this.#onError(e as Error);
      // The heartbeat writes it once Redis answers again; meanwhile, the best guess.
      const came = !this.#online.has(userId);
      this.#online.add(userId);
      return came;
    }
  }

  async disconnect(userId: Id, connectionId: string): Promise<boolean> {
    const set = this.#local.get(userId);
    if (!set || !set.delete(connectionId)) return false;
    if (set.size === 0) {
      this.#local.delete(userId);
      this.#localStatus.delete(userId);
    }
    try {
      const [went, seq, at, online] = (await this.#eval(
        DISCONNECT,
        [this.#connKey(userId), this.#onlineKey, this.#seqKey, this.#statusKey],
        [`${this.processId}:${connectionId}`, this.#channel, userId],
      )) as [number, number, number, number];
      this.#applyOnline(userId, online === 1, seq, at);
      if (went === 1) this.#applyStatus(userId, null, seq);
      return went === 1;
    } catch (e) {
      // Left in Redis, it expires; the sweep reports the user if this was their last connection.
      this.#onError(e as Error);
      return false;
    }
  }

  isOnline(userId: Id): boolean {
    return this.#online.has(userId);
  }

  async setStatus(userId: Id, status: PresenceStatus): Promise<void> {
    const seq = (await this.#eval(SET_STATUS, [this.#statusKey, this.#seqKey], [userId, status, this.#channel])) as number;
    if (this.#local.has(userId)) this.#localStatus.set(userId, status);
    this.#applyStatus(userId, status, seq);
  }

  status(userId: Id): PresenceStatus {
    return this.#status.get(userId) ?? (this.isOnline(userId) ? 'online' : 'offline');
  }

  async setTyping(conversationId: Id, userId: Id, typing: boolean): Promise<TypingChange> {
    const [changed, now] = (await this.#eval(SET_TYPING, [this.#typingKey(conversationId)], [userId, this.typingTtlMs, typing ? 1 : 0])) as [
      number,
      string[],
    ];
    const k = `${conversationId}:${userId}`;
    clearTimeout(this.#typingTimers.get(k));
    this.#typingTimers.delete(k);
    if (typing && !this.#closed) {
      this.#typingGeneration.set(k, this.#generation);
      this.#armTyping(conversationId, userId, this.typingTtlMs);
    } else this.#typingGeneration.delete(k);
    return { changed: changed === 1, typingNow: now.map(Number) };
  }

  typingHere(conversationId: Id, userId: Id): boolean {
    return this.#typingTimers.has(`${conversationId}:${userId}`);
  }

  onTypingExpired(listener: TypingListener): void {
    this.#typingExpired = listener;
  }

  onExpired(listener: ExpiredListener): void {
    this.#expired = listener;
  }

  onRevived(listener: (userId: Id) => void): void {
    this.#revived = listener;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const t of this.#typingTimers.values()) clearTimeout(t);
    this.#typingTimers.clear();
    this.#typingGeneration.clear();
    await Promise.all([closeRedis(this.#cmd), closeRedis(this.#sub)]);
  }

  // --- typing

  #typingKey(conversationId: Id): string {
    return `${this.#prefix}typing:${conversationId}`;
  }

  #armTyping(conversationId: Id, userId: Id, ms: number): void {
    const k = `${conversationId}:${userId}`;
    const timer = setTimeout(() => {
      if (this.#typingTimers.get(k) !== timer) return;
      this.#typingTimers.delete(k);
      void this.#typingDue(conversationId, userId).catch(this.#onError);
    }, ms);
    timer.unref();
    this.#typingTimers.set(k, timer);
  }

  async #typingDue(conversationId: Id, userId: Id): Promise<void> {
    if (this.#closed) return;
    const k = `${conversationId}:${userId}`;
    const [wait, typingNow] = (await this.#eval(EXPIRE_TYPING, [this.#typingKey(conversationId)], [userId])) as [number, string[]?];
    if (wait === -1) {
      // Gone from Redis: cleared (whoever cleared it said so), or lost with a Redis restart
      // since it was written. Lost, nobody else will say it stopped: this process does.
      const lost = this.#typingGeneration.get(k) !== this.#generation;
      this.#typingGeneration.delete(k);
      if (lost && !this.#typingTimers.has(k)) this.#typingExpired(conversationId, userId, []);
      return;
    }
    if (wait <= 0) this.#typingGeneration.delete(k);
    if (wait > 0) {
      // A few ms left: this timer fired a hair before Redis's clock (timers round to the
      // millisecond), so check again right after, keeping expiries in the order they were
      // set. More left: renewed through another process; check again later, with slack so
      // the renewing process's own timer reports first (this one reports only if that
      // process died). The ZREM in EXPIRE_TYPING makes the report once-only either way.
      if (!this.#typingTimers.has(`${conversationId}:${userId}`) && !this.#closed) {
        const slack = wait <= TIMER_SKEW_MS ? 1 : Math.ceil(this.typingTtlMs / 2);
        this.#armTyping(conversationId, userId, wait + slack);
      }
      return;
    }
    if (wait === 0) this.#typingExpired(conversationId, userId, (typingNow ?? []).map(Number));
  }

  // --- heartbeat and sweep

  async #beat(): Promise<void> {
    if (this.#closed || this.#cmd.status !== 'ready') return;
    // Sent before any await, so a later disconnect's script runs after the refresh, not before.
    const refreshes: Promise<unknown>[] = [];
    let keys: string[] = [this.#onlineKey, this.#seqKey];
    let args: (string | number)[] = [this.#life, this.#channel];
    const send = () => {
      refreshes.push(this.#eval(HEARTBEAT, keys, args));
      keys = [this.#onlineKey, this.#seqKey];
      args = [this.#life, this.#channel];
    };
    for (const [userId, conns] of this.#local) {
      keys.push(this.#connKey(userId));
      args.push(userId, conns.size);
      for (const c of conns) args.push(`${this.processId}:${c}`);
      if (keys.length - 2 >= HEARTBEAT_USERS_PER_CALL) send();
    }
    if (keys.length > 2) send();
    const revived = (await Promise.all(refreshes)).flatMap((r) => (Array.isArray(r) ? r.map(Number) : []));
    if (revived.length > 0) {
      // Their statuses went with the sweep; then their partners hear they are back.
      await this.#restoreStatuses(revived);
      for (const userId of revived) {
        try {
          this.#revived(userId);
        } catch (e) {
          this.#onError(e as Error);
        }
      }
    }
    for (let round = 0; round < 10; round++) {
      const [examined, gone] = (await this.#eval(
        SWEEP,
        [this.#onlineKey, this.#seqKey, this.#statusKey],
        [this.#connKey(''), this.#channel, this.#life, SWEEP_USERS_PER_CALL],
      )) as [number, (string | number)[]];
      for (let i = 0; i < gone.length; i += 3) {
        const userId = Number(gone[i]);
        const seq = Number(gone[i + 1]);
        const lastSeen = Number(gone[i + 2]);
        this.#applyOnline(userId, false, seq, lastSeen);
        this.#applyStatus(userId, null, seq);
        try {
          this.#expired(userId, lastSeen);
        } catch (e) {
          this.#onError(e as Error);
        }
      }
      if (examined < SWEEP_USERS_PER_CALL) break;
    }
    await this.#resync();
    this.#prune();
  }

  // --- the local view

  #prune(): void {
    if (this.#buffer || this.#channelSeq <= this.#base) return;
    this.#base = this.#channelSeq;
    for (const map of [this.#onlineSeq, this.#statusSeq]) for (const [u, seq] of map) if (seq <= this.#base) map.delete(u);
  }

  async #subscribe(): Promise<void> {
    if (this.#closed) return;
    const generation = ++this.#subGeneration;
    this.#buffer = [];
    try {
      await this.#sub.subscribe(this.#channel);
    } catch (e) {
      this.#onError(e as Error);
      return;
    }
    if (generation !== this.#subGeneration) return;
    this.#resyncPending = true;
    await this.#resync();
  }

  /** Loads the online set and statuses, then applies what the channel brought meanwhile. */
  async #resync(): Promise<void> {
    if (!this.#resyncPending || this.#resyncing || this.#closed || this.#cmd.status !== 'ready') return;
    this.#resyncing = true;
    const generation = this.#subGeneration;
    try {
      const [seq, online, statuses] = (await this.#eval(SNAPSHOT, [this.#onlineKey, this.#seqKey, this.#statusKey], [])) as [
        number,
        string[],
        string[],
      ];
      if (generation !== this.#subGeneration) return; // resubscribed meanwhile: that one reloads
      const now = Date.now();
      const next = new Set(online.map(Number));
      for (const u of this.#online) if (!next.has(u)) this.lastSeenAt.set(u, now);
      this.#online = next;
      this.#status = new Map();
      for (let i = 0; i < statuses.length; i += 2) this.#status.set(Number(statuses[i]), statuses[i + 1] as PresenceStatus);
      this.#base = seq;
      this.#channelSeq = seq;
      this.#onlineSeq.clear();
      this.#statusSeq.clear();
      const buffered = this.#buffer ?? [];
      this.#buffer = null;
      this.#resyncPending = false;
      for (const m of buffered) this.#receive(m);
    } catch (e) {
      this.#onError(e as Error); // pending still: the next heartbeat tries again
    } finally {
      this.#resyncing = false;
    }
    if (generation !== this.#subGeneration) await this.#resync();
  }

  #receive(payload: string): void {
    const [seqText, kind, userText, arg] = payload.split(' ');
    const seq = Number(seqText);
    const userId = Number(userText);
    if (!Number.isFinite(seq) || !Number.isFinite(userId)) {
      this.#onError(new Error(`presence: unreadable message ${JSON.stringify(payload)}`));
      return;
    }
    this.#channelSeq = Math.max(this.#channelSeq, seq);
    if (kind === '+') this.#applyOnline(userId, true, seq, Number(arg));
    else if (kind === '-') {
      this.#applyOnline(userId, false, seq, Number(arg));
      this.#applyStatus(userId, null, seq);
    } else if (kind === 's') this.#applyStatus(userId, arg as PresenceStatus, seq);
  }

  /** Applies a fact about `userId` as of `seq`, unless something newer is known. */
  #applyOnline(userId: Id, online: boolean, seq: number, at: Millis): void {
    if (seq < (this.#onlineSeq.get(userId) ?? this.#base)) return;
    this.#onlineSeq.set(userId, seq);
    if (online) this.#online.add(userId);
    else this.#online.delete(userId);
    this.lastSeenAt.set(userId, at);
  }

  #applyStatus(userId: Id, status: PresenceStatus | null, seq: number): void {
    if (seq < (this.#statusSeq.get(userId) ?? this.#base)) return;
    this.#statusSeq.set(userId, seq);
    // Set through another process: that is what this one restores, if it comes to that.
    if (status && this.#local.has(userId)) this.#localStatus.set(userId, status);
    if (status) this.#status.set(userId, status);
    else this.#status.delete(userId);
  }
}

/** Opens a command and a subscriber connection, loads the view and starts heartbeating. */
export async function createRedisPresence(url: string, opts: RedisPresenceOptions): Promise<RedisPresence> {
  // No offline queue: while Redis is away, calls fail at once and fall back as described above.
  const [cmd, sub] = await Promise.all([
    openRedis(url, 'parley-presence', opts.onError, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false }),
    openRedis(url, 'parley-presence-sub', opts.onError, { enableOfflineQueue: false, autoResubscribe: false }),
  ]);
  const presence = new RedisPresence(cmd, sub, opts);
  try {
    await presence.start();
  } catch (e) {
    await presence.close();
    throw e;
  }
  return presence;
}
