/**
 * Directory (LDAP / Active Directory) settings an admin manages at run time
 * (`GET/PUT /api/v1/settings/ldap`). Until an admin saves some, the configuration file's
 * `auth.ldap` applies; the service account's password is sealed by sm and never answered.
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
