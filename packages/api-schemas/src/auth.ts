/** Signing in: the login request and answer, and who a token belongs to. */
import Type, { type Static } from 'typebox';

export const loginRequestSchema = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    provider: Type.Optional(
      Type.Enum(['local', 'ldap'], {
        type: 'string',
        description: 'Where the user is; absent: local users first, then LDAP',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LoginRequest = Static<typeof loginRequestSchema>;

/** Who a token belongs to, as sm resolved it. `role` is the persona: `admin` holds the global admin role. */
export const principalSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  source: Type.Enum(['local', 'ldap', 'oidc'], { type: 'string' }),
  role: Type.Enum(['admin', 'user'], { type: 'string' }),
  groups: Type.Array(Type.String()),
});
export type Principal = Static<typeof principalSchema>;

/** `user` is absent where a sign-in answers only its token (the OIDC callback). */
export const loginResponseSchema = Type.Object({
  token: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
  user: Type.Optional(principalSchema),
});
export type LoginResponse = Static<typeof loginResponseSchema>;

/** Which sign-in methods this cx offers (`GET /api/v1/auth/methods`). */
export const loginMethodsSchema = Type.Object({
  local: Type.Boolean(),
  ldap: Type.Boolean(),
  oidc: Type.Boolean(),
});
export type LoginMethods = Static<typeof loginMethodsSchema>;
