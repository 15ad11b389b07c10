import { DomainError } from '../errors.js';
import type { Id, User } from '../model.js';

/**
 * Who administers a tenant (issue 20): a server operator every tenant, a tenant admin their
 * own; a suspended user none (their requests do not get this far, this says so again).
 */
export function administers(actor: User, tenantId: Id): boolean {
  if (actor.suspendedAt !== null) return false;
  return actor.isOperator || (actor.tenantRole === 'admin' && actor.tenantId === tenantId);
}

/** Refuses anyone who does not administer `tenantId` (`not_permitted`). */
export function requireAdministers(actor: User, tenantId: Id): void {
  if (!administers(actor, tenantId)) throw new DomainError('not_permitted');
}

/** Refuses anyone who is not a server operator. */
export function requireOperator(actor: User): void {
  if (!actor.isOperator || actor.suspendedAt !== null) throw new DomainError('not_permitted');
}
