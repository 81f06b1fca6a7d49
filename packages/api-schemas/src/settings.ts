/**
 * Directory (LDAP / Active Directory) and single sign-on (OIDC) settings an admin manages at run
 * time (`GET/PUT /api/v1/settings/ldap|oidc`). Until an admin saves some, the configuration file's
 * `auth.ldap` / `auth.oidc` applies; the service account's password and the client secret are
 * sealed by sm and never answered.
 */
import Type, { type Static } from 'typebox';
import { NullableString } from './common.js';

const DN = { minLength: 1, maxLength: 1024 };

export const ldapSettingsRequestSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^ldaps?://',
      maxLength: 1024,
      description: '`ldap://host:389` or `ldaps://host:636`',
    }),
    startTls: Type.Optional(
      Type.Boolean({ default: false, description: 'Upgrade an `ldap://` connection with StartTLS' }),
    ),
    caCert: Type.Optional(
      Type.String({ maxLength: 65536, description: "PEM of the CA that signed the directory's certificate" }),
    ),
    bindDn: Type.Optional(Type.String({ ...DN, description: 'Service account that searches for users and groups' })),
    bindPassword: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        writeOnly: true,
        description: "The service account's password; absent: the one saved before is kept (same bindDn only)",
      }),
    ),
    userBaseDn: Type.String({ ...DN, description: 'Where users are searched (subtree)' }),
    userFilter: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        default: '(sAMAccountName={username})',
        description: 'Finds a user; must contain `{username}`. OpenLDAP style: `(uid={username})`',
      }),
    ),
    groupBaseDn: Type.Optional(Type.String({ ...DN, description: 'Where groups are searched; absent: userBaseDn' })),
    groupFilter: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        default: '(member={userDn})',
        description: 'Finds the groups a DN is a direct member of; must contain `{userDn}`',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LdapSettingsRequest = Static<typeof ldapSettingsRequestSchema>;

export const ldapSettingsSchema = Type.Object(
  {
    source: Type.Enum(['config', 'settings'], {
      type: 'string',
      description: 'config: the configuration file (auth.ldap), as no admin has saved settings; settings: saved ones',
    }),
    enabled: Type.Boolean({ description: 'Whether LDAP sign-in is on' }),
    url: NullableString(),
    startTls: Type.Boolean(),
    hasCaCert: Type.Boolean(),
    caCert: NullableString({ description: "PEM of the CA that signed the directory's certificate (not a secret)" }),
    bindDn: NullableString(),
    hasBindPassword: Type.Boolean(),
    userBaseDn: NullableString(),
    userFilter: Type.String(),
    groupBaseDn: NullableString(),
    groupFilter: Type.String(),
    updatedBy: NullableString(),
    updatedAt: NullableString(),
  },
  { description: 'The directory settings in force; the bind password is never answered' },
);
export type LdapSettings = Static<typeof ldapSettingsSchema>;

const CLAIM = { minLength: 1, maxLength: 128 };

export const oidcSettingsRequestSchema = Type.Object(
  {
    issuer: Type.String({
      pattern: '^https?://',
      maxLength: 1024,
      description:
        "The identity provider's issuer URL; its `/.well-known/openid-configuration` must name the same issuer",
    }),
    clientId: Type.String({ minLength: 1, maxLength: 512, description: 'Client id cx is registered under' }),
    clientSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        writeOnly: true,
        description: 'Client secret; absent: the one saved before is kept (same issuer and clientId only)',
      }),
    ),
    scopes: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        default: 'openid profile email',
        description: 'Scopes requested (space-separated); must include `openid`',
      }),
    ),
    usernameClaim: Type.Optional(
      Type.String({ ...CLAIM, default: 'preferred_username', description: 'Claim that names the user in cx' }),
    ),
    groupsClaim: Type.Optional(
      Type.String({ ...CLAIM, default: 'groups', description: "Claim holding the user's groups" }),
    ),
    allowHttp: Type.Optional(
      Type.Boolean({ default: false, description: 'Allow an http:// issuer (a lab provider only)' }),
    ),
  },
  { additionalProperties: false },
);
export type OidcSettingsRequest = Static<typeof oidcSettingsRequestSchema>;

export const oidcSettingsSchema = Type.Object(
  {
    source: Type.Enum(['config', 'settings'], {
      type: 'string',
      description: 'config: the configuration file (auth.oidc), as no admin has saved settings; settings: saved ones',
    }),
    enabled: Type.Boolean({ description: 'Whether single sign-on is on' }),
    issuer: NullableString(),
    clientId: NullableString(),
    hasClientSecret: Type.Boolean(),
    scopes: Type.String(),
    usernameClaim: Type.String(),
    groupsClaim: Type.String(),
    allowHttp: Type.Boolean(),
    redirectUri: Type.String({
      description: 'Where the provider sends browsers back (register it there); from the configuration file',
    }),
    updatedBy: NullableString(),
    updatedAt: NullableString(),
  },
  { description: 'The single sign-on settings in force; the client secret is never answered' },
);
export type OidcSettings = Static<typeof oidcSettingsSchema>;

/** Most groups one directory search answers: a picker's page, well under a directory's own size limit. */
export const DIRECTORY_GROUPS_LIMIT_MAX = 100;

export const directoryGroupQuerySchema = Type.Object(
  {
    search: Type.Optional(
      Type.String({
        maxLength: 128,
        description: "Part of the group's name (its cn for LDAP), matched anywhere, case-insensitively; absent: any",
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: DIRECTORY_GROUPS_LIMIT_MAX, default: 20 })),
  },
  { additionalProperties: false },
);
export type DirectoryGroupQuery = Static<typeof directoryGroupQuerySchema>;

export const directoryGroupSchema = Type.Object({
  name: Type.String({ description: "The group's name: its cn for LDAP, the groups claim's value for OIDC" }),
  dn: NullableString({ description: "The LDAP group's DN, which a grant names it by; null for an OIDC group" }),
  source: Type.Enum(['ldap', 'oidc'], {
    type: 'string',
    description: 'ldap: found in the directory now; oidc: seen in the groups claim of a sign-in (no directory to ask)',
  }),
});
export type DirectoryGroup = Static<typeof directoryGroupSchema>;

export const directoryGroupPageSchema = Type.Object({
  items: Type.Array(directoryGroupSchema),
  more: Type.Boolean({ description: 'More groups match than limit: narrow the search' }),
});
export type DirectoryGroupPage = Static<typeof directoryGroupPageSchema>;
