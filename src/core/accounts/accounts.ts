import { createHash, randomBytes } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { idpConfigured, type Config, type Registration } from '../../config/config.js';
import type { RateLimiter } from '../../backends/ratelimit/rate-limiter.js';
import { UniqueViolation, type NewUser, type Store } from '../../backends/store/store.js';
import { DomainError, refusal } from '../errors.js';
import type { EventPublisher } from '../events.js';
import { DEFAULT_TENANT_UUID, type Id, type Tenant, type TenantRole, type User } from '../model.js';
import { unrecordedAudit, type AuditEntryInput, type AuditRecorder } from '../audit/ports.js';
import { requireAdministers } from './authority.js';
import { normalizeEmail, validEmail, validNewPassword } from './credentials.js';
import { inviteDigest } from './invites.js';
import { LoginThrottle } from './login-throttle.js';
import { Passwords } from './passwords.js';
import type { PasswordHasher, TokenSigner } from './ports.js';

/** The libraries accounts reach through ports (src/backends/accounts). */
export interface AccountLibraries {
  passwordHasher: PasswordHasher;
  tokenSigner: TokenSigner;
}

export interface Session {
  user: User;
  accessToken: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Namespace of the tenant uuids derived from an identity provider's non-UUID tenant claims.
const TENANT_CLAIM_NAMESPACE = '5b0f3c7e-2a4d-4f7e-9c1a-6d2b8e4f0a13';

/**
 * The tenant uuid for an identity provider's tenant claim: a UUID as it is (lowercased), any
 * other value (an organisation slug, a number) a UUIDv5 derived from it, so tenant_id is
 * always a UUID and the same claim always names the same tenant.
 */
export const tenantUuidOfClaim = (claim: string) => (UUID.test(claim) ? claim.toLowerCase() : uuidv5(claim, TENANT_CLAIM_NAMESPACE));

/** The issuer's host, for the email of a provisioned user whose token carries none. */
function issuerHost(issuer: string): string {
  try {
    return new URL('http://' + (issuer.replace(/^https?:\/\//, '').split('/')[0] || 'external')).hostname || 'external';
  } catch {
    return 'external';
  }
}

/** Registration, login, token checks, logout, and users provisioned from an identity provider. */
export class Accounts {
  readonly tokens: TokenSigner;
  readonly passwords: Passwords;
  readonly throttle: LoginThrottle;
  // Verified against when the email is unknown, so a wrong email costs as much as a wrong password.
  #dummyHash: Promise<string> | undefined;
  /** Where administrative actions are recorded, each in its write's transaction (Core sets core.audit). */
  audit: AuditRecorder = unrecordedAudit;

  constructor(
    readonly store: Store,
    readonly events: EventPublisher,
    readonly config: Config,
    limiter: RateLimiter,
    libraries: AccountLibraries,
  ) {
    this.throttle = new LoginThrottle(limiter, config.loginThrottle);
    this.tokens = libraries.tokenSigner;
    // About two seconds of hashing may wait; more is turned away rather than queued without end.
    this.passwords = new Passwords(libraries.passwordHasher, config.passwordHashConcurrency, 64 * config.passwordHashConcurrency);
  }

  async #tenant(tenantUuid: string | undefined, create: boolean, name?: string): Promise<Tenant> {
    if (!tenantUuid) return this.store.defaultTenant();
    const found = await this.store.tenantByUuid(tenantUuid);
    if (found) return found;
    if (!create) throw new DomainError('tenant_not_found');
    return this.store.ensureTenant(tenantUuid, (name ?? tenantUuid).slice(0, 255), Date.now());
  }

  /** Checks what a password account is made of; returns the email normalized and the name trimmed. */
  #validNewAccount(input: { email: string; password: string; name: string }): { email: string; name: string } {
    const email = normalizeEmail(input.email);
    if (!validEmail(email)) throw refusal('invalid_email');
    validNewPassword(input.password);
    const name = input.name.trim();
    if (name.length === 0 || name.length > 255) throw refusal('invalid_name');
    return { email, name };
  }

  async #insert(user: NewUser): Promise<User> {
    try {
      return await this.store.createUser(user, Date.now());
    } catch (e) {
      if (e instanceof UniqueViolation) throw new DomainError('email_taken');
      throw e;
    }
  }

  /**
   * Creates a user with a password in any tenant, creating the tenant when it is new: for
   * `parley user add`, the operator's tool, which registration rules do not bind. Without
   * `tenantRole` the tenant's first user is its admin.
   */
  async createUser(input: { email: string; password: string; name: string; tenantUuid?: string; tenantRole?: TenantRole }): Promise<User> {
    const { email, name } = this.#validNewAccount(input);
    const tenant = await this.#tenant(input.tenantUuid?.toLowerCase(), true);
    const passwordHash = await this.passwords.hash(input.password);
    return this.#insert({ tenantId: tenant.id, email, name, passwordHash, tenantRole: input.tenantRole });
  }

  /**
   * Registration under REGISTRATION (config.ts): `invite` (a code from Invites) admits into
   * its tenant in every mode but `closed`; without one, `default-tenant` admits into the
   * default tenant or a new one (its first user is its admin), never an existing one, and
   * `open` into any. With an identity provider configured no registration creates a tenant.
   */
  async register(input: { email: string; password: string; name: string; tenantUuid?: string; invite?: string }): Promise<Session> {
    // The operator's `closed` binds every tenant; otherwise a tenant's admins may choose its own mode.
    if (this.config.registration === 'closed') throw new DomainError('registration_closed');
    const account = this.#validNewAccount(input);
    const tenantUuid = input.tenantUuid?.toLowerCase();
    let user: User;
    if (input.invite !== undefined) user = await this.#registerWithInvite(account, input.password, input.invite, tenantUuid);
    else {
      const isDefault = tenantUuid === undefined || tenantUuid === DEFAULT_TENANT_UUID;
      let tenant = isDefault ? await this.store.defaultTenant() : await this.store.tenantByUuid(tenantUuid);
      const mode = tenant ? await this.#registrationOf(tenant.id) : this.config.registration;
      if (mode === 'closed') throw new DomainError('registration_closed');
      if (mode === 'invite') throw new DomainError('invite_required');
      if (!isDefault) {
        // An existing tenant is joined with an invite (or through its identity provider), except
        // when open; with an identity provider no registration creates one. One answer for
        // both, refused before any hashing.
        const joinable = tenant !== undefined && mode === 'open';
        const creatable = tenant === undefined && !idpConfigured(this.config.idp);
        if (!joinable && !creatable) throw new DomainError('invite_required');
      }
      // Hashed before a tenant is created, so a refused hash (429) leaves no empty tenant behind.
      const passwordHash = await this.passwords.hash(input.password);
      if (!tenant) {
        tenant = await this.store.createTenant(tenantUuid!, tenantUuid!, Date.now());
        // Another registration created it meanwhile, and is its first user.
        if (!tenant && mode !== 'open') throw new DomainError('invite_required');
        tenant ??= (await this.store.tenantByUuid(tenantUuid!))!;
      }
      user = await this.#insert({ tenantId: tenant.id, ...account, passwordHash });
    }
    return { user, accessToken: await this.tokens.issue(user) };
  }

  /**
   * The origins a tenant's admins allow its users' pages on (tenant_settings.allowed_origins),
   * null when it names none: then the process's ALLOWED_ORIGINS decide. `tenant` is its id, or
   * the uuid a login or registration names (undefined: the default tenant; an unknown one: null).
   */
  async tenantOrigins(tenant: Id | string | undefined): Promise<readonly string[] | null> {
    const id = typeof tenant === 'number' ? tenant : (tenant === undefined ? await this.store.defaultTenant() : await this.store.tenantByUuid(tenant))?.id;
    if (id === undefined) return null;
    const list = (await this.store.tenantSettings(id)).allowedOrigins;
    return list && list.length > 0 ? list : null;
  }

  /** Whether some tenant allows pages on `origin`: before a request's tenant is known, it may be one of them. */
  originListed(origin: string): Promise<boolean> {
    return this.store.originListed(origin.toLowerCase());
  }

  /** The tenant's registration mode: its admins' choice (tenant_settings), else REGISTRATION. */
  async #registrationOf(tenantId: Id): Promise<Registration> {
    return ((await this.store.tenantSettings(tenantId)).registration as Registration | null) ?? this.config.registration;
  }

  async #registerWithInvite(account: { email: string; name: string }, password: string, code: string, tenantUuid: string | undefined): Promise<User> {
    const codeHash = inviteDigest(code);
    const invite = await this.store.inviteByCodeHash(codeHash);
    const now = Date.now();
    // Checked here for a clear refusal before hashing; the store checks again as it claims.
    const usable =
      invite &&
      invite.usedAt === null &&
      invite.revokedAt === null &&
      invite.expiresAt > now &&
      (tenantUuid === undefined || tenantUuid === invite.tenantUuid) &&
      (invite.email === null || invite.email === account.email);
    if (!usable) throw new DomainError('invite_invalid');
    if ((await this.#registrationOf(invite.tenantId)) === 'closed') throw new DomainError('registration_closed');
    const passwordHash = await this.passwords.hash(password);
    let user: User | undefined;
    try {
      user = await this.store.createUserWithInvite({ tenantId: invite.tenantId, ...account, passwordHash }, codeHash, Date.now());
    } catch (e) {
      if (e instanceof UniqueViolation) throw new DomainError('email_taken');
      throw e;
    }
    // Used (or revoked, or expired) since the check: another registration won.
    if (!user) throw new DomainError('invite_invalid');
    return user;
  }

  /** `address`: the client's network address, for throttling (absent for callers that are not network clients). */
  async login(input: { email: string; password: string; tenantUuid?: string; address?: string }): Promise<Session> {
    const email = normalizeEmail(input.email);
    // Checked before anything is hashed: a throttled attempt costs no argon2.
    const ticket = await this.throttle.begin({ tenantUuid: (input.tenantUuid ?? DEFAULT_TENANT_UUID).toLowerCase(), email }, input.address);
    const tenant = await this.#tenant(input.tenantUuid, false).catch(() => undefined);
    const user = tenant && (await this.store.userByEmail(tenant.id, email));
    const stored = user ? await this.store.passwordHash(user.id) : null;
    const ok = stored ? await this.passwords.verify(stored, input.password) : await this.#verifyNothing(input.password);
    if (!user || !stored || !ok) throw new DomainError('invalid_credentials');
    await ticket.succeeded();
    if (user.suspendedAt !== null) throw refusal('account_suspended');
    return { user, accessToken: await this.tokens.issue(user) };
  }

  /** As long as a real check, for an account that does not exist or has no password; always false. */
  async #verifyNothing(password: string): Promise<false> {
    this.#dummyHash ??= this.passwords.hash('parley-dummy-password');
    await this.passwords.verify(await this.#dummyHash, password);
    return false;
  }

  /** The user a token speaks for, or a `not_authenticated` error. */
  async authenticate(token: string | undefined | null): Promise<User> {
    if (!token) throw new DomainError('not_authenticated');
    const claims = await this.tokens.verify(token);
    if (!claims) throw new DomainError('not_authenticated');
    if (claims.source === 'parley') {
      const user = await this.store.userByUuid(claims.userUuid);
      if (!user) throw new DomainError('account_unavailable');
      if (user.tenantUuid !== claims.tenantUuid || user.tokenVersion !== claims.version) {
        throw new DomainError('not_authenticated');
      }
      if (user.suspendedAt !== null) throw refusal('account_suspended');
      return user;
    }
    // A token of the application Parley is added to: its user exists here from first sight on.
    // Claims are the provider's data: whatever does not fit a column is refused or reshaped here.
    if (claims.subject.length > 512 || claims.issuer.length > 512) throw new DomainError('not_authenticated');
    const tenant = await this.#tenant(claims.tenant === null ? undefined : tenantUuidOfClaim(claims.tenant), true, claims.tenant ?? undefined);
    // By subject only, never by e-mail: a local account with the same e-mail may be anyone's
    // (registered before this user's first login); the provider's user is provisioned beside
    // it, since e-mail uniqueness binds local accounts only.
    const known = await this.store.userByExternalSubject(tenant.id, claims.issuer, claims.subject);
    if (known?.suspendedAt != null) throw refusal('account_suspended');
    if (known) return known;
    const claimed = claims.email === null ? null : normalizeEmail(claims.email);
    const claimedEmail = claimed !== null && validEmail(claimed) ? claimed : null;
    const localPart = /^[^\s@]{1,64}$/.test(claims.subject) ? claims.subject : createHash('sha256').update(claims.subject).digest('hex').slice(0, 32);
    const email = claimedEmail ?? normalizeEmail(`${localPart}@${issuerHost(claims.issuer)}`);
    try {
      return await this.store.createUser({
        tenantId: tenant.id,
        email,
        name: (claims.name?.trim() || claimedEmail || claims.subject).slice(0, 255),
        externalIssuer: claims.issuer,
        externalSubject: claims.subject,
      }, Date.now());
    } catch (e) {
      // Another request provisioned the same subject first.
      const again = await this.store.userByExternalSubject(tenant.id, claims.issuer, claims.subject);
      if (again) return again;
      if (e instanceof UniqueViolation) throw new DomainError('email_taken');
      throw e;
    }
  }

  /**
   * Changes the user's own password: the current one is checked (throttled like a login, so
   * a stolen token does not make it an oracle), then every other session ends (tokens
   * revoked, sockets closed) and a fresh session is returned.
   */
  async changePassword(user: User, current: string, next: string, address?: string): Promise<Session> {
    const ticket = await this.throttle.begin({ tenantUuid: user.tenantUuid, email: user.email }, address);
    const stored = await this.store.passwordHash(user.id);
    const ok = stored ? await this.passwords.verify(stored, current) : await this.#verifyNothing(current);
    if (!ok) throw new DomainError('wrong_password');
    await ticket.succeeded();
    validNewPassword(next);
    return this.#setPassword(user, await this.passwords.hash(next));
  }

  /**
   * The operator's reset (`parley user reset-password`): a new password for the local account
   * with this e-mail (a generated one when none is given), every session ended.
   */
  async resetPassword(
    input: { email: string; tenantUuid?: string; password?: string },
    /** The audit entry of the reset, appended in its transaction (`generated`: no password was given). */
    entry?: (user: User, generated: boolean) => AuditEntryInput,
  ): Promise<{ user: User; password: string; generated: boolean }> {
    const tenant = await this.#tenant(input.tenantUuid?.toLowerCase(), false);
    const user = await this.store.userByEmail(tenant.id, normalizeEmail(input.email));
    if (!user) throw new DomainError('user_not_found');
    const generated = input.password === undefined;
    // 18 random bytes: 24 characters of base64url.
    const password = input.password ?? randomBytes(18).toString('base64url');
    validNewPassword(password);
    const session = await this.#setPassword(user, await this.passwords.hash(password), entry && (() => entry(user, generated)));
    return { user: session.user, password, generated };
  }

  async #setPassword(user: User, passwordHash: string, entry?: () => AuditEntryInput): Promise<Session> {
    const at = Date.now();
    const version = entry
      ? await this.audit.within(this.store, (tx) => tx.setPasswordHash(user.id, passwordHash, at), (v) => (v === undefined ? null : entry()))
      : await this.store.setPasswordHash(user.id, passwordHash, at);
    if (version === undefined) throw new DomainError('account_unavailable');
    this.events.publishToUsers([user.id], { type: 'session.revoked', userId: user.id, version });
    const updated = { ...user, tokenVersion: version };
    return { user: updated, accessToken: await this.tokens.issue(updated) };
  }

  /** A user of a tenant the actor administers (an operator's: any tenant's), else `user_not_found`. */
  async administered(actor: User, userId: Id): Promise<User> {
    const user = await this.store.userById(userId);
    if (!user) throw new DomainError('user_not_found');
    if (!actor.isOperator && user.tenantId !== actor.tenantId) throw new DomainError('user_not_found');
    requireAdministers(actor, user.tenantId);
    return user;
  }

  /**
   * Suspends a user (issue 20): their tokens are revoked and their sockets closed on every
   * process at once (`session.revoked` through the bus, the hub closes every socket of an
   * older token version); until reactivated they cannot log in, and neither their tokens nor
   * the API keys they created are accepted. A tenant keeps one active admin (`last_admin`).
   * `also`: another entry that commits with it (a report resolved by this suspension).
   */
  async suspend(actor: User, userId: Id, reason: string | null, origin?: string, also?: AuditEntryInput): Promise<User> {
    const target = await this.administered(actor, userId);
    if (target.id === actor.id) throw refusal('suspend_self');
    const why = reason?.trim().slice(0, 500) || null;
    const entry: AuditEntryInput = { tenantId: target.tenantId, actorId: actor.id, action: 'user.suspend', targetType: 'user', targetId: target.uuid, reason, origin };
    // The entry commits with the suspension; a refusal (last_admin) or a user gone leaves none.
    const version = await this.audit.within(this.store, (tx) => tx.suspendUser(target.id, Date.now(), why), (v) => (typeof v === 'number' ? (also ? [entry, also] : entry) : null));
    if (version === undefined) throw new DomainError('user_not_found');
    if (version === 'last_admin') throw new DomainError('last_admin');
    this.events.publishToUsers([target.id], { type: 'session.revoked', userId: target.id, version });
    // The bots of the keys they made are refused from now on (ApiKeys.authenticate): their sockets close too.
    for (const key of await this.store.apiKeys(target.tenantId, 1000)) {
      if (key.createdBy === target.id) this.events.publishToUsers([key.botUserId], { type: 'session.revoked', userId: key.botUserId });
    }
    return (await this.store.userById(target.id))!;
  }

  /** Lifts a suspension: the user logs in again (the tokens revoked by the suspension stay revoked). */
  async reactivate(actor: User, userId: Id, origin?: string): Promise<User> {
    const target = await this.administered(actor, userId);
    // Recorded when it lifted a suspension (an active user's reactivation changes nothing).
    await this.audit.within(
      this.store,
      (tx) => tx.reactivateUser(target.id, Date.now()),
      (lifted) => (lifted ? { tenantId: target.tenantId, actorId: actor.id, action: 'user.reactivate', targetType: 'user', targetId: target.uuid, origin } : null),
    );
    return (await this.store.userById(target.id))!;
  }

  /**
   * Makes the local account with this e-mail a server operator, or not: the operator's own
   * tool (`parley operator grant|revoke`), which nobody reaches through the API, so no actor.
   */
  async setOperator(input: { email: string; tenantUuid?: string }, on: boolean): Promise<User> {
    const tenant = await this.#tenant(input.tenantUuid?.toLowerCase(), false);
    const user = await this.store.userByEmail(tenant.id, normalizeEmail(input.email));
    if (!user) throw new DomainError('user_not_found');
    await this.audit.within(
      this.store,
      (tx) => tx.setOperator(user.id, on, Date.now()),
      (found) => (found ? { tenantId: user.tenantId, actorId: null, action: on ? 'operator.grant' : 'operator.revoke', targetType: 'user', targetId: user.uuid, origin: 'cli' } : null),
    );
    return (await this.store.userById(user.id))!;
  }

  /** Revokes every token of the user and closes their sockets. */
  async logout(user: User): Promise<void> {
    await this.store.bumpTokenVersion(user.id, Date.now());
    this.events.publishToUsers([user.id], { type: 'session.revoked', userId: user.id });
  }
}
