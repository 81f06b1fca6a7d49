/**
 * Wire schemas of identity and access: users, groups, grants, resource groups, credentials, API
 * tokens and the audit query. Same rule as the rest of this package: one object drives ajv, the
 * OpenAPI document and (through the interfaces beside it) the TypeScript view.
 */

export const ROLES = ['viewer', 'operator', 'admin'] as const;
/** Roles are ordered: each one may do what the ones before it may. */
export type Role = (typeof ROLES)[number];

/** What an access decision is about. `workflow` and `grant` stand for the object they belong to. */
export type AccessObject =
  | { kind: 'global' }
  | { kind: 'cluster' | 'resource-group' | 'workflow' | 'grant'; id: string };
export interface AccessRequirement { role: Role; object: AccessObject }

const USERNAME = '^[A-Za-z0-9][A-Za-z0-9._@-]*$';
const NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export const userSchema = {
  type: 'object', required: ['id', 'username', 'source', 'role', 'disabled'],
  properties: {
    id: { type: 'string' }, username: { type: 'string' }, source: { type: 'string', enum: ['local', 'ldap', 'oidc'] },
    role: { type: 'string', enum: ['admin', 'user'], description: 'Persona: `admin` holds the global admin role' },
    disabled: { type: 'boolean' }, email: { type: ['string', 'null'] }, displayName: { type: ['string', 'null'] },
    groups: { type: 'array', items: { type: 'string' }, description: 'Local group names and the directory / identity provider groups of the last login' },
    lastLoginAt: { type: ['string', 'null'] }, createdAt: { type: 'string' },
  },
} as const;
export interface User {
  id: string; username: string; source: 'local' | 'ldap' | 'oidc'; role: 'admin' | 'user'; disabled: boolean;
  email: string | null; displayName: string | null; groups: string[]; lastLoginAt: string | null; createdAt: string;
}

const passwordSchema = { type: 'string', minLength: 8, maxLength: 1024 } as const;

export const userCreateRequestSchema = {
  type: 'object', additionalProperties: false, required: ['username', 'password'],
  properties: {
    username: { type: 'string', pattern: USERNAME, minLength: 1, maxLength: 128 }, password: passwordSchema,
    role: { type: 'string', enum: ['admin', 'user'], default: 'user' },
    email: { type: 'string', format: 'email', maxLength: 255 }, displayName: { type: 'string', maxLength: 255 },
  },
} as const;
export interface UserCreateRequest { username: string; password: string; role: 'admin' | 'user'; email?: string; displayName?: string }

export const userPatchRequestSchema = {
  type: 'object', additionalProperties: false, minProperties: 1,
  properties: { disabled: { type: 'boolean' }, role: { type: 'string', enum: ['admin', 'user'] }, password: passwordSchema },
} as const;
export interface UserPatchRequest { disabled?: boolean; role?: 'admin' | 'user'; password?: string }

export const passwordChangeRequestSchema = {
  type: 'object', additionalProperties: false, required: ['currentPassword', 'newPassword'],
  properties: { currentPassword: { type: 'string', minLength: 1, maxLength: 1024 }, newPassword: passwordSchema },
} as const;
export interface PasswordChangeRequest { currentPassword: string; newPassword: string }

export const groupSchema = {
  type: 'object', required: ['id', 'name', 'members'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, description: { type: ['string', 'null'] }, members: { type: 'array', items: { type: 'string' } }, createdAt: { type: 'string' } },
} as const;
export interface Group { id: string; name: string; description: string | null; members: string[]; createdAt: string }

export const groupCreateRequestSchema = {
  type: 'object', additionalProperties: false, required: ['name'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 }, description: { type: 'string', maxLength: 1024 },
    members: { type: 'array', maxItems: 1000, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 128 }, default: [] },
  },
} as const;
export interface GroupCreateRequest { name: string; description?: string; members: string[] }

export const groupMemberRequestSchema = {
  type: 'object', additionalProperties: false, required: ['username'], properties: { username: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const grantSchema = {
  type: 'object', required: ['id', 'subject', 'object', 'role'],
  properties: {
    id: { type: 'string' },
    subject: { type: 'object', properties: { kind: { type: 'string', enum: ['user', 'group'] }, name: { type: 'string' } } },
    object: { type: 'object', properties: { kind: { type: 'string', enum: ['global', 'resource-group', 'cluster'] }, id: { type: 'string' } } },
    role: { type: 'string', enum: ROLES }, createdBy: { type: 'string' }, createdAt: { type: 'string' },
  },
} as const;
export interface Grant {
  id: string; subject: { kind: 'user' | 'group'; name: string }; object: { kind: 'global' | 'resource-group' | 'cluster'; id?: string };
  role: Role; createdBy: string; createdAt: string;
}

export const grantCreateRequestSchema = {
  type: 'object', additionalProperties: false, required: ['subject', 'object', 'role'],
  properties: {
    subject: {
      type: 'object', additionalProperties: false, required: ['kind', 'name'],
      properties: { kind: { type: 'string', enum: ['user', 'group'] }, name: { type: 'string', minLength: 1, maxLength: 512, description: 'A username, a local group name, an LDAP group DN or an OIDC group' } },
    },
    object: {
      type: 'object', additionalProperties: false, required: ['kind'],
      properties: { kind: { type: 'string', enum: ['global', 'resource-group', 'cluster'] }, id: { type: 'string', minLength: 1, maxLength: 64, description: 'Required unless kind is global' } },
    },
    role: { type: 'string', enum: ROLES },
  },
} as const;
export interface GrantCreateRequest { subject: Grant['subject']; object: Grant['object']; role: Role }

const quotasSchema = {
  type: 'object', additionalProperties: false,
  description: 'Upper limits over the clusters of the group; an absent member is unlimited',
  properties: {
    clusters: { type: 'integer', minimum: 0, maximum: 100000 }, nodes: { type: 'integer', minimum: 0, maximum: 10000000 },
    vcpus: { type: 'integer', minimum: 0, maximum: 100000000 }, memoryMiB: { type: 'integer', minimum: 0, maximum: 1000000000 },
  },
} as const;
export interface Quotas { clusters?: number; nodes?: number; vcpus?: number; memoryMiB?: number }

export const resourceGroupSchema = {
  type: 'object', required: ['id', 'name', 'quotas', 'usage'],
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, description: { type: ['string', 'null'] }, credentialId: { type: ['string', 'null'] },
    quotas: quotasSchema,
    usage: { type: 'object', properties: { clusters: { type: 'integer' }, nodes: { type: 'integer' }, vcpus: { type: 'integer' }, memoryMiB: { type: 'integer' } } },
    createdAt: { type: 'string' }, updatedAt: { type: 'string' },
  },
} as const;
export interface ResourceGroup {
  id: string; name: string; description: string | null; credentialId: string | null; quotas: Quotas;
  usage: Required<Quotas>; createdAt: string; updatedAt: string;
}

export const resourceGroupCreateRequestSchema = {
  type: 'object', additionalProperties: false, required: ['name'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 }, description: { type: 'string', maxLength: 1024 },
    credentialId: { type: 'string', minLength: 1, maxLength: 64, description: 'Provider credential the group\'s clusters use' },
    quotas: { ...quotasSchema, default: {} },
  },
} as const;
export interface ResourceGroupCreateRequest { name: string; description?: string; credentialId?: string; quotas: Quotas }

export const resourceGroupPatchRequestSchema = {
  type: 'object', additionalProperties: false, minProperties: 1,
  properties: { description: { type: 'string', maxLength: 1024 }, credentialId: { type: ['string', 'null'], maxLength: 64 }, quotas: quotasSchema },
} as const;
export interface ResourceGroupPatchRequest { description?: string; credentialId?: string | null; quotas?: Quotas }

export const credentialSchema = {
  type: 'object', required: ['id', 'name', 'provider', 'endpoint', 'username'],
  description: 'A provider credential; its password is never returned',
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, provider: { type: 'string' }, endpoint: { type: 'string' }, username: { type: 'string' },
    insecure: { type: 'boolean' }, hasCaCert: { type: 'boolean' }, createdBy: { type: 'string' }, createdAt: { type: 'string' }, updatedAt: { type: 'string' },
  },
} as const;
export interface Credential {
  id: string; name: string; provider: string; endpoint: string; username: string; insecure: boolean; hasCaCert: boolean;
  createdBy: string; createdAt: string; updatedAt: string;
}

export const credentialCreateRequestSchema = {
  type: 'object', additionalProperties: false, required: ['name', 'provider', 'endpoint', 'username', 'password'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 }, provider: { type: 'string', minLength: 1, maxLength: 32 },
    endpoint: { type: 'string', minLength: 1, maxLength: 1024 }, username: { type: 'string', minLength: 1, maxLength: 255 },
    password: { type: 'string', minLength: 1, maxLength: 4096, writeOnly: true },
    caCert: { type: 'string', maxLength: 65536, description: 'PEM of the CA that signed the endpoint\'s certificate' },
    insecure: { type: 'boolean', default: false, description: 'Skip certificate verification (labs only)' },
  },
} as const;
export interface CredentialCreateRequest { name: string; provider: string; endpoint: string; username: string; password: string; caCert?: string; insecure: boolean }

export const apiTokenSchema = {
  type: 'object', required: ['id', 'name', 'createdAt'],
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string' }, expiresAt: { type: ['string', 'null'] },
    lastUsedAt: { type: ['string', 'null'] }, token: { type: 'string', description: 'Only in the answer to its creation: keep it, cx stores a hash' },
  },
} as const;
export interface ApiToken { id: string; name: string; createdAt: string; expiresAt: string | null; lastUsedAt: string | null; token?: string }

export const apiTokenCreateRequestSchema = {
  type: 'object', additionalProperties: false, required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, expiresInDays: { type: 'integer', minimum: 1, maximum: 3650, description: 'Absent: the token lives until revoked' } },
} as const;
export interface ApiTokenCreateRequest { name: string; expiresInDays?: number }

export const auditQuerySchema = {
  type: 'object', additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, cursor: { type: 'string', maxLength: 64 },
    actor: { type: 'string', maxLength: 128 }, action: { type: 'string', maxLength: 64, description: 'Exact action, or a prefix ending in `*` (`auth.*`)' },
    targetKind: { type: 'string', maxLength: 32 }, targetId: { type: 'string', maxLength: 128 },
    outcome: { type: 'string', enum: ['success', 'failure'] }, sourceIp: { type: 'string', maxLength: 64 },
    since: { type: 'string', format: 'date-time' }, until: { type: 'string', format: 'date-time' },
  },
} as const;
export interface AuditQuery {
  limit: number; cursor?: string; actor?: string; action?: string; targetKind?: string; targetId?: string;
  outcome?: 'success' | 'failure'; sourceIp?: string; since?: string; until?: string;
}

export const auditEntrySchema = {
  type: 'object', required: ['id', 'at', 'actor', 'action', 'outcome'],
  properties: {
    id: { type: 'integer' }, at: { type: 'string' }, actor: { type: 'string' }, action: { type: 'string' },
    targetKind: { type: ['string', 'null'] }, targetId: { type: ['string', 'null'] }, outcome: { type: 'string' },
    sourceIp: { type: ['string', 'null'] }, requestId: { type: ['string', 'null'] }, details: {},
  },
} as const;
