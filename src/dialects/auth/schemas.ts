import { Type, type TSchema } from '@sinclair/typebox';
import { inviteOutSchema } from '../shared/invites.js';

export const UserOut = Type.Object({
  id: Type.Integer(),
  uuid: Type.String(),
  name: Type.String(),
  email: Type.String(),
  avatar_url: Type.Union([Type.String(), Type.Null()]),
  tenant_id: Type.String(),
});

export const SessionOut = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  user: UserOut,
});

export const RegisterBody = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 320 }),
  password: Type.String({ minLength: 8, maxLength: 1024 }),
  name: Type.String({ minLength: 1, maxLength: 255 }),
  tenant_id: Type.Optional(Type.String({ format: 'uuid' })),
  invite: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "An invite's code: registers into its tenant (REGISTRATION=invite needs one; an existing tenant under default-tenant too)" })),
});

export const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  tenant_id: Type.Optional(Type.String({ format: 'uuid' })),
});

export const FriendBody = Type.Object({
  user_id: Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 64 })]),
});

export const FriendParams = Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 64, description: 'The user: integer id or uuid' }) });

export const Detail = Type.Object({ detail: Type.String() });

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const InviteOut = inviteOutSchema({
  id: Type.String({ description: "The invite's uuid (revoke it with DELETE …/invites/{id})" }),
  usedBy: Type.Integer({ description: 'The id of the user it admitted' }),
});

export const InviteIssuedOut = Type.Object({
  ...InviteOut.properties,
  code: Type.String({ description: 'Shown once: give it to the invitee, who registers with {"invite": code}' }),
});

export const InviteBody = Type.Object({
  ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 90 * 24 * 3600, description: 'Default INVITE_TTL_SECONDS (7 days)' })),
  email: Type.Optional(Nullable(Type.String({ minLength: 3, maxLength: 320 }))),
});

export const InviteParams = Type.Object({ id: Type.String({ format: 'uuid', description: "The invite's id (uuid)" }) });

export const PasswordBody = Type.Object({
  current_password: Type.String({ minLength: 1, maxLength: 1024 }),
  new_password: Type.String({ minLength: 8, maxLength: 1024 }),
});
