import { Type, type TSchema } from '@sinclair/typebox';
import { inviteStatus } from '../../core/accounts/invites.js';
import type { Invite } from '../../core/model.js';
import { iso, isoOrNull } from './time.js';

// An invite as the accounts routes (/api/auth) and Parley's API (/api/parley) both show it.

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** The invite's schema; each API words its id and types the admitted user's id its own way. */
export const inviteOutSchema = <I extends TSchema, U extends TSchema>(fields: { id: I; usedBy: U }) =>
  Type.Object({
    id: fields.id,
    tenant_id: Type.String(),
    email: Nullable(Type.String({ description: 'Only a registration with this e-mail may use it' })),
    status: Type.Union([Type.Literal('active'), Type.Literal('used'), Type.Literal('revoked'), Type.Literal('expired')]),
    created_at: Time,
    expires_at: Time,
    used_at: Nullable(Time),
    used_by: Nullable(fields.usedBy),
    revoked_at: Nullable(Time),
  });

export const renderInvite = (i: Invite) => ({
  id: i.uuid,
  tenant_id: i.tenantUuid,
  email: i.email,
  status: inviteStatus(i),
  created_at: iso(i.createdAt),
  expires_at: iso(i.expiresAt),
  used_at: isoOrNull(i.usedAt),
  used_by: i.usedBy,
  revoked_at: isoOrNull(i.revokedAt),
});
