import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../../config/config.js';
import type { Store } from '../../backends/store/store.js';
import { DomainError, refusal } from '../errors.js';
import type { Invite, User } from '../model.js';
import { normalizeEmail, validEmail } from './credentials.js';
import { unrecordedAudit, type AuditRecorder } from '../audit/ports.js';

/** Longest an invite may live (the operator's default is INVITE_TTL_SECONDS). */
export const MAX_INVITE_TTL_SECONDS = 90 * 24 * 3600;

/**
 * The digest an invite is stored and looked up by. The code carries 192 random bits, so a
 * fast hash is enough: no one can search that space, and a database leak yields no codes.
 */
export const inviteDigest = (code: string) => createHash('sha256').update(code, 'utf8').digest('hex');

const newCode = () => 'inv_' + randomBytes(24).toString('base64url');

export type InviteStatus = 'active' | 'used' | 'revoked' | 'expired';

export const inviteStatus = (i: Invite, now = Date.now()): InviteStatus =>
  i.usedAt !== null ? 'used' : i.revokedAt !== null ? 'revoked' : i.expiresAt <= now ? 'expired' : 'active';

/** A new invite with its code: the only time the code exists outside the invitee's hands. */
export interface IssuedInvite {
  invite: Invite;
  code: string;
}

/**
 * Invites into a tenant (issue 14 item 3): created by the tenant's admins (or the operator,
 * `parley invite create`), single use, expiring, optionally bound to one e-mail; used by
 * Accounts.register. Only a digest of each code is stored.
 */
export class Invites {
  constructor(
    readonly store: Store,
    readonly config: Config,
    readonly audit: AuditRecorder = unrecordedAudit,
  ) {}

  #admin(actor: User): void {
    if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
  }

  /** An invite into the actor's tenant; the actor must be its admin. */
  create(actor: User, opts: { ttlSeconds?: number; email?: string | null } = {}, origin?: string): Promise<IssuedInvite> {
    this.#admin(actor);
    return this.#create(actor.tenantId, actor.id, opts, origin);
  }

  /** The operator's invite (command line): into any tenant, created when it is new; the default tenant without one. */
  async createForTenant(tenantUuid: string | undefined, opts: { ttlSeconds?: number; email?: string | null } = {}): Promise<IssuedInvite> {
    const tenant = tenantUuid ? await this.store.ensureTenant(tenantUuid.toLowerCase(), tenantUuid.toLowerCase(), Date.now()) : await this.store.defaultTenant();
    return this.#create(tenant.id, null, opts, 'cli');
  }

  async #create(tenantId: number, createdBy: number | null, opts: { ttlSeconds?: number; email?: string | null }, origin?: string): Promise<IssuedInvite> {
    const ttl = opts.ttlSeconds ?? this.config.inviteTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_INVITE_TTL_SECONDS) {
      throw refusal('invite_ttl_out_of_range', { max: MAX_INVITE_TTL_SECONDS });
    }
    const email = opts.email ? normalizeEmail(opts.email) : null;
    if (email !== null && !validEmail(email)) throw refusal('invalid_email');
    const code = newCode();
    const now = Date.now();
    const invite = await this.store.createInvite({ tenantId, codeHash: inviteDigest(code), email, createdBy, createdAt: now, expiresAt: now + ttl * 1000 });
    await this.audit.record({ tenantId, actorId: createdBy, action: 'invite.create', targetType: 'invite', targetId: invite.uuid, origin, details: { email, expires_at: invite.expiresAt } });
    return { invite, code };
  }

  /** The actor's tenant's invites, newest first (an admin's view; codes are never shown again). */
  list(actor: User, limit = 200): Promise<Invite[]> {
    this.#admin(actor);
    return this.store.invites(actor.tenantId, limit);
  }

  /** Revokes an invite of the actor's tenant; one already used stays used. */
  async revoke(actor: User, uuid: string, origin?: string): Promise<Invite> {
    this.#admin(actor);
    const invite = await this.store.revokeInvite(actor.tenantId, uuid, Date.now());
    if (!invite) throw new DomainError('invite_not_found');
    await this.audit.record({ tenantId: actor.tenantId, actorId: actor.id, action: 'invite.revoke', targetType: 'invite', targetId: uuid, origin });
    return invite;
  }
}
