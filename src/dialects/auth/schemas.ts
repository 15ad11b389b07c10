import { Type } from '@sinclair/typebox';

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
});

export const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  tenant_id: Type.Optional(Type.String({ format: 'uuid' })),
});

export const FriendBody = Type.Object({
  user_id: Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 64 })]),
});

export const FriendParams = Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 64 }) });

export const Detail = Type.Object({ detail: Type.String() });
