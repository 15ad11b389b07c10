import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../../backends/store/store.js';
import { DomainError, refusal } from '../errors.js';
import type { EventPublisher } from '../events.js';
import type { ApiKey, ApiKeyScope, Id, User, UserSummary } from '../model.js';
import { deletedUser, Users } from '../users.js';
import { unrecordedAudit, type AuditRecorder } from '../audit/ports.js';

export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['read', 'write', 'admin'];

/** How often a key's last_used_at is written at most: a key used 1,000 times a second costs one write a minute. */
export const API_KEY_TOUCH_INTERVAL_MS = 60_000;

/**
 * The digest a secret (an API key's, an incoming webhook's) is stored and looked up by. The
 * secret is 256 random bits, so a fast hash is right: nobody can search that space, so a slow
 * password hash (argon2, made for the few bits a person picks) would only cost every request
 * its CPU; a database leak still yields no usable secret.
 */
export const secretDigest = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Compares two digests in constant time: how long a refusal takes says nothing of how close a guess was. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** 32 random bytes (256 bits) after a prefix that says what the secret is. */
export const newSecret = (prefix: string) => prefix + randomBytes(32).toString('base64url');

export const API_KEY_PREFIX = 'pk_';
export const isApiKeySecret = (token: string) => token.startsWith(API_KEY_PREFIX);

/** What a request does, as a key's scope sees it: reads (REST GET/HEAD, a socket's subscriptions) or changes. */
export type ApiKeyAccess = 'read' | 'write';

/**
 * What each scope permits: `read` reads only; `write` also posts, reacts and edits as the
 * key's bot; `admin` also runs the tenant admin's operations (its bot is a tenant admin, so the
 * core's own checks let it). Each scope includes the ones before it.
 */
export const SCOPE_PERMITS: Readonly<Record<ApiKeyScope, readonly ApiKeyAccess[]>> = {
  read: ['read'],
  write: ['read', 'write'],
  admin: ['read', 'write'],
};

/** Whether any of a key's scopes permits this access. */
export const scopeAllows = (scopes: readonly ApiKeyScope[], access: ApiKeyAccess): boolean => scopes.some((s) => SCOPE_PERMITS[s].includes(access));

/** A bot user of the tenant, with an address that can never be a person's (`.invalid`, RFC 2606). */
export function newBot(store: Store, tenantId: Id, name: string, admin: boolean): Promise<User> {
  return store.createUser({
    tenantId,
    email: `bot-${randomBytes(9).toString('base64url').toLowerCase()}@bots.invalid`,
    name,
    isBot: true,
    tenantRole: admin ? 'admin' : 'member',
  }, Date.now());
}

/** Audits a bot's creation: a new account of the tenant, made by an admin's action. */
export const recordBot = (audit: AuditRecorder, actor: User, bot: User, origin?: string) =>
  audit.record({ tenantId: actor.tenantId, actorId: actor.id, action: 'bot.create', targetType: 'user', targetId: String(bot.id), origin, details: { name: bot.name, tenant_role: bot.tenantRole } });

/** A new key with its secret: the only time the secret exists outside its holder's hands. */
export interface IssuedApiKey {
  key: ApiKey;
  bot: User;
  secret: string;
}

/** Who an API key speaks for, and within what. */
export interface KeyHolder {
  user: User;
  key: ApiKey;
}

/**
 * API keys (issue 19): a tenant's admins create them, each with a bot user it acts as (the bot
 * posts and reacts through the same core calls as anyone). Only a digest of each secret is
 * stored; a key works while it exists and is not revoked, for its tenant, within its scopes.
 */
export class ApiKeys {
  constructor(
    readonly store: Store,
    readonly events: EventPublisher,
    readonly audit: AuditRecorder = unrecordedAudit,
  ) {}

  #admin(actor: User): void {
    if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
  }

  async create(actor: User, input: { name: string; scopes: readonly ApiKeyScope[] }, origin?: string): Promise<IssuedApiKey> {
    this.#admin(actor);
    const name = input.name.trim();
    if (name.length === 0 || name.length > 100) throw refusal('invalid_name');
    const scopes = API_KEY_SCOPES.filter((s) => input.scopes.includes(s));
    if (scopes.length === 0) throw refusal('api_key_scopes_required');
    const bot = await newBot(this.store, actor.tenantId, name, scopes.includes('admin'));
    await recordBot(this.audit, actor, bot, origin);
    const secret = newSecret(API_KEY_PREFIX);
    const key = await this.store.createApiKey({ tenantId: actor.tenantId, botUserId: bot.id, name, scopes, secretHash: secretDigest(secret), createdBy: actor.id, createdAt: Date.now() });
    await this.audit.record({ tenantId: actor.tenantId, actorId: actor.id, action: 'api_key.create', targetType: 'api_key', targetId: key.uuid, origin, details: { name, scopes, bot_user_id: bot.id } });
    return { key, bot, secret };
  }

  /** The tenant's keys, newest first; secrets are never shown again. */
  async list(actor: User, limit = 200): Promise<{ key: ApiKey; bot: UserSummary }[]> {
    this.#admin(actor);
    const keys = await this.store.apiKeys(actor.tenantId, limit);
    // A bot removed since is named as a deleted account.
    return Promise.all(keys.map(async (key) => ({ key, bot: ((u) => (u ? Users.summaryOf(u) : deletedUser(key.botUserId)))(await this.store.userById(key.botUserId)) })));
  }

  /**
   * Revokes a key of the actor's tenant. Every request reads its key from the store (nothing
   * caches one), so the next request with it is refused on every process once this resolves;
   * its bot's sockets close too.
   */
  async revoke(actor: User, uuid: string, origin?: string): Promise<ApiKey> {
    this.#admin(actor);
    const key = await this.store.revokeApiKey(actor.tenantId, uuid, Date.now());
    if (!key) throw new DomainError('api_key_not_found');
    await this.audit.record({ tenantId: actor.tenantId, actorId: actor.id, action: 'api_key.revoke', targetType: 'api_key', targetId: uuid, origin });
    this.events.publishToUsers([key.botUserId], { type: 'session.revoked', userId: key.botUserId });
    return key;
  }

  /** The bot a secret speaks for, or `not_authenticated` (unknown or revoked: one answer for both). */
  async authenticate(secret: string): Promise<KeyHolder> {
    const digest = secretDigest(secret);
    const found = await this.store.apiKeyBySecretHash(digest);
    if (!found || found.revokedAt !== null || !sameDigest(found.secretHash, digest)) throw new DomainError('not_authenticated');
    const user = await this.store.userById(found.botUserId);
    if (!user || user.tenantId !== found.tenantId) throw new DomainError('not_authenticated');
    // A key works no more than the person who made it (issue 20: a suspended user's keys are refused).
    const creator = found.createdBy === null ? undefined : await this.store.userById(found.createdBy);
    if (user.suspendedAt !== null || (creator && creator.suspendedAt !== null)) throw refusal('account_suspended');
    const now = Date.now();
    if (found.lastUsedAt === null || found.lastUsedAt <= now - API_KEY_TOUCH_INTERVAL_MS) {
      await this.store.touchApiKey(found.id, now, now - API_KEY_TOUCH_INTERVAL_MS);
    }
    const { secretHash: _, ...key } = found;
    return { user, key };
  }
}
