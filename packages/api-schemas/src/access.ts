/**
 * Wire schemas of identity and access: users, groups, grants, resource groups, credentials, API
 * tokens and the audit query. Same rule as the rest of this package: one object drives ajv, the
 * OpenAPI document and (through Static<>) the TypeScript view.
 */
import Type, { type Static } from 'typebox';
import { FreeObject, MapOf, Nullable, NullableString, type WithDefaults } from './common.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
/** Roles are ordered: each one may do what the ones before it may. */
export type Role = (typeof ROLES)[number];

/** What an access decision is about. `workflow` and `grant` stand for the object they belong to. */
export type AccessObject =
  { kind: 'global' } | { kind: 'cluster' | 'resource-group' | 'workflow' | 'grant' | 'ha-config' | 'pair'; id: string };
export interface AccessRequirement {
  role: Role;
  object: AccessObject;
}

const USERNAME = '^[A-Za-z0-9][A-Za-z0-9._@-]*$';
const NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

const PERSONAS = ['admin', 'user'] as const;
const SOURCES = ['local', 'ldap', 'oidc'] as const;

export const userSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  source: Type.Enum(SOURCES, { type: 'string' }),
  role: Type.Enum(PERSONAS, { type: 'string', description: 'Persona: `admin` holds the global admin role' }),
  disabled: Type.Boolean(),
  email: NullableString(),
  displayName: NullableString(),
  groups: Type.Array(Type.String(), {
    description: 'Local group names and the directory / identity provider groups of the last login',
  }),
  lastLoginAt: NullableString(),
  createdAt: Type.String(),
});
export type User = Static<typeof userSchema>;

const passwordSchema = Type.String({ minLength: 8, maxLength: 1024 });

export const userCreateRequestSchema = Type.Object(
  {
    username: Type.String({ pattern: USERNAME, minLength: 1, maxLength: 128 }),
    password: passwordSchema,
    role: Type.Optional(Type.Enum(PERSONAS, { type: 'string', default: 'user' })),
    email: Type.Optional(Type.String({ format: 'email', maxLength: 255 })),
    displayName: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);
export type UserCreateRequest = WithDefaults<Static<typeof userCreateRequestSchema>, 'role'>;

export const userPatchRequestSchema = Type.Object(
  {
    disabled: Type.Optional(Type.Boolean()),
    role: Type.Optional(Type.Enum(PERSONAS, { type: 'string' })),
    password: Type.Optional(passwordSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserPatchRequest = Static<typeof userPatchRequestSchema>;

export const passwordChangeRequestSchema = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: passwordSchema },
  { additionalProperties: false },
);
export type PasswordChangeRequest = Static<typeof passwordChangeRequestSchema>;

export const groupSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: NullableString(),
  members: Type.Array(Type.String()),
  createdAt: Type.String(),
});
export type Group = Static<typeof groupSchema>;

export const groupCreateRequestSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME, minLength: 1, maxLength: 63 }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    members: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 1000, uniqueItems: true, default: [] }),
    ),
  },
  { additionalProperties: false },
);
export type GroupCreateRequest = WithDefaults<Static<typeof groupCreateRequestSchema>, 'members'>;

export const groupMemberRequestSchema = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export type GroupMemberRequest = Static<typeof groupMemberRequestSchema>;

const SUBJECT_KINDS = ['user', 'group'] as const;
const OBJECT_KINDS = ['global', 'resource-group', 'cluster'] as const;

export const grantSchema = Type.Object({
  id: Type.String(),
  subject: Type.Object({ kind: Type.Enum(SUBJECT_KINDS, { type: 'string' }), name: Type.String() }),
  object: Type.Object({ kind: Type.Enum(OBJECT_KINDS, { type: 'string' }), id: Type.Optional(Type.String()) }),
  role: Type.Enum(ROLES, { type: 'string' }),
  createdBy: Type.String(),
  createdAt: Type.String(),
});
export type Grant = Static<typeof grantSchema>;

export const grantCreateRequestSchema = Type.Object(
  {
    subject: Type.Object(
      {
        kind: Type.Enum(SUBJECT_KINDS, { type: 'string' }),
        name: Type.String({
          minLength: 1,
          maxLength: 512,
          description: 'A username, a local group name, an LDAP group DN or an OIDC group',
        }),
      },
      { additionalProperties: false },
    ),
    object: Type.Object(
      {
        kind: Type.Enum(OBJECT_KINDS, { type: 'string' }),
        id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Required unless kind is global' })),
      },
      { additionalProperties: false },
    ),
    role: Type.Enum(ROLES, { type: 'string' }),
  },
  { additionalProperties: false },
);
export type GrantCreateRequest = Static<typeof grantCreateRequestSchema>;

const quotasProperties = {
  clusters: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
  nodes: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000000 })),
  vcpus: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000000 })),
  memoryMiB: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000000 })),
};
const quotasDescription = 'Upper limits over the clusters of the group; an absent member is unlimited';
const quotasSchema = Type.Object(quotasProperties, { additionalProperties: false, description: quotasDescription });
export type Quotas = Static<typeof quotasSchema>;

export const resourceGroupSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: NullableString(),
  credentialId: NullableString(),
  quotas: quotasSchema,
  usage: Type.Object({
    clusters: Type.Integer(),
    nodes: Type.Integer(),
    vcpus: Type.Integer(),
    memoryMiB: Type.Integer(),
  }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type ResourceGroup = Static<typeof resourceGroupSchema>;

export const resourceGroupCreateRequestSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME, minLength: 1, maxLength: 63 }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    credentialId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "Provider credential the group's clusters use" }),
    ),
    quotas: Type.Optional(
      Type.Object(quotasProperties, { additionalProperties: false, description: quotasDescription, default: {} }),
    ),
  },
  { additionalProperties: false },
);
export type ResourceGroupCreateRequest = WithDefaults<Static<typeof resourceGroupCreateRequestSchema>, 'quotas'>;

export const resourceGroupPatchRequestSchema = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    credentialId: Type.Optional(NullableString({ maxLength: 64 })),
    quotas: Type.Optional(quotasSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ResourceGroupPatchRequest = Static<typeof resourceGroupPatchRequestSchema>;

export const credentialSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    provider: Type.String(),
    endpoint: Type.String(),
    username: Type.String(),
    insecure: Type.Boolean(),
    hasCaCert: Type.Boolean(),
    settings: FreeObject({ additionalProperties: true }),
    version: Type.Integer(),
    createdBy: Type.String(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { description: 'A provider credential; its password is never returned' },
);
export type Credential = Static<typeof credentialSchema>;

export const credentialCreateRequestSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME, minLength: 1, maxLength: 63 }),
    provider: Type.String({ minLength: 1, maxLength: 32 }),
    endpoint: Type.String({ minLength: 1, maxLength: 1024 }),
    username: Type.String({ minLength: 1, maxLength: 255 }),
    password: Type.String({ minLength: 1, maxLength: 4096, writeOnly: true }),
    caCert: Type.Optional(
      Type.String({ maxLength: 65536, description: "PEM of the CA that signed the endpoint's certificate" }),
    ),
    insecure: Type.Optional(Type.Boolean({ default: false, description: 'Skip certificate verification (labs only)' })),
    settings: Type.Optional(
      FreeObject({
        additionalProperties: true,
        default: {},
        maxProperties: 64,
        description:
          "The provider's own settings (vSphere: datacenter, template, network…; OpenStack: project, image, flavor, network…), checked against the endpoint with the login before anything is stored; see docs/providers/",
      }),
    ),
  },
  { additionalProperties: false },
);
export type CredentialCreateRequest = WithDefaults<
  Static<typeof credentialCreateRequestSchema>,
  'insecure' | 'settings'
>;

const bmcSchema = Type.Object(
  {
    protocol: Type.Enum(['redfish', 'ipmi'], { type: 'string' }),
    address: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'Redfish: `https://bmc:443`; IPMI: `host:623`',
    }),
    username: Type.String({ minLength: 1, maxLength: 255 }),
    password: Type.String({ minLength: 1, maxLength: 4096, writeOnly: true }),
    caCert: Type.Optional(
      Type.String({
        maxLength: 65536,
        description: "PEM of the CA that signed the Redfish service's certificate",
      }),
    ),
    insecure: Type.Optional(Type.Boolean({ default: false, description: 'Skip certificate verification (labs only)' })),
    systemId: Type.Optional(
      Type.String({ maxLength: 255, description: "Redfish system id; absent: the BMC's only system" }),
    ),
  },
  { additionalProperties: false },
);

const capacitySchema = Type.Object(
  {
    vcpus: Type.Integer({ minimum: 1, maximum: 4096 }),
    memoryMiB: Type.Integer({ minimum: 256, maximum: 67108864 }),
    diskGiB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1048576, default: 100 })),
  },
  { additionalProperties: false },
);

export const hostCreateRequestSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME, minLength: 1, maxLength: 63 }),
    bmc: bmcSchema,
    bootMac: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' })),
    addresses: Type.Array(Type.String({ minLength: 2, maxLength: 64 }), {
      minItems: 1,
      maxItems: 16,
      description: "Addresses the host's OS will have (the node addresses)",
    }),
    labels: Type.Optional(
      MapOf(Type.String({ maxLength: 63 }), {
        maxProperties: 64,
        default: {},
        description: '`cx/pool: NAME` reserves the host for machines of that pool',
      }),
    ),
    capacity: capacitySchema,
  },
  { additionalProperties: false },
);
/** A validated host request: ajv filled in labels, the BMC's insecure and the capacity's diskGiB. */
export type HostCreateRequest = Omit<
  WithDefaults<Static<typeof hostCreateRequestSchema>, 'labels'>,
  'bmc' | 'capacity'
> & {
  bmc: WithDefaults<Static<typeof bmcSchema>, 'insecure'>;
  capacity: WithDefaults<Static<typeof capacitySchema>, 'diskGiB'>;
};

export const hostSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    bmc: Type.Object({
      protocol: Type.Enum(['redfish', 'ipmi'], { type: 'string' }),
      address: Type.String(),
      username: Type.String(),
      insecure: Type.Boolean(),
      hasCaCert: Type.Boolean(),
      systemId: NullableString(),
    }),
    bootMac: NullableString(),
    addresses: Type.Array(Type.String()),
    labels: MapOf(Type.String()),
    capacity: Type.Object({ vcpus: Type.Integer(), memoryMiB: Type.Integer(), diskGiB: Type.Integer() }),
    state: Type.Enum(['available', 'claimed', 'cleaning'], {
      type: 'string',
      description:
        'cleaning: booted into the cleaning image after its machine was deleted with hostCleanup wipe; available again once it has powered itself off',
    }),
    cleaningSince: NullableString(),
    claim: Nullable(
      Type.Object({
        clusterId: Type.String(),
        machineId: Type.String(),
        machineName: Type.String(),
        claimedAt: Type.String(),
      }),
    ),
    createdBy: Type.String(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { description: 'A bare-metal host; its BMC password is never returned' },
);
export type Host = Static<typeof hostSchema>;

export const apiTokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String(),
  expiresAt: NullableString(),
  lastUsedAt: NullableString(),
  token: Type.Optional(Type.String({ description: 'Only in the answer to its creation: keep it, cx stores a hash' })),
});
export type ApiToken = Static<typeof apiTokenSchema>;

export const apiTokenCreateRequestSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    expiresInDays: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3650,
        description:
          'Days the token lives; absent: auth.apiTokens.defaultDays (90), never more than auth.apiTokens.maxDays (365)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ApiTokenCreateRequest = Static<typeof apiTokenCreateRequestSchema>;

export const auditQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
    actor: Type.Optional(Type.String({ maxLength: 128 })),
    action: Type.Optional(
      Type.String({ maxLength: 64, description: 'Exact action, or a prefix ending in `*` (`auth.*`)' }),
    ),
    targetKind: Type.Optional(Type.String({ maxLength: 32 })),
    targetId: Type.Optional(Type.String({ maxLength: 128 })),
    outcome: Type.Optional(Type.Enum(['success', 'failure'], { type: 'string' })),
    sourceIp: Type.Optional(Type.String({ maxLength: 64 })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = WithDefaults<Static<typeof auditQuerySchema>, 'limit'>;

export const auditEntrySchema = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  actor: Type.String(),
  action: Type.String(),
  targetKind: Type.Optional(NullableString()),
  targetId: Type.Optional(NullableString()),
  outcome: Type.String(),
  sourceIp: Type.Optional(NullableString()),
  requestId: Type.Optional(NullableString()),
  details: Type.Optional(Type.Unknown()),
});
export type AuditEntry = Static<typeof auditEntrySchema>;

export const ipPoolCreateRequestSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME, minLength: 1, maxLength: 63 }),
    ranges: Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        'Comma-separated addresses and ranges: `10.1.1.5-8,42.42.42.42`, `192.0.2.10-192.0.2.20`, `198.51.100.0/28`, `2001:db8::10-1f`',
    }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type IpPoolCreateRequest = Static<typeof ipPoolCreateRequestSchema>;

export const ipPoolSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  ranges: Type.String(),
  description: NullableString(),
  families: Type.Array(Type.Enum(['ipv4', 'ipv6'], { type: 'string' })),
  size: Type.String({ description: 'Number of addresses (a string: an IPv6 range can hold more than 2^53)' }),
  allocated: Type.Integer(),
  createdBy: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type IpPool = Static<typeof ipPoolSchema>;

export const ipAllocationRequestSchema = Type.Object(
  {
    owner: Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'Who holds the address (free text: a cluster, a service, a person)',
    }),
    address: Type.Optional(
      Type.String({ maxLength: 64, description: 'A specific address of the pool; absent: the first free one' }),
    ),
  },
  { additionalProperties: false },
);
export type IpAllocationRequest = Static<typeof ipAllocationRequestSchema>;

export const ipAllocationSchema = Type.Object({
  pool: Type.String(),
  address: Type.String(),
  owner: Type.String(),
  clusterId: NullableString(),
  createdBy: Type.String(),
  createdAt: Type.String(),
});
export type IpAllocation = Static<typeof ipAllocationSchema>;

const haConfigSpecProperties = {
  virtualIps: Type.String({
    minLength: 1,
    maxLength: 4096,
    description: 'The VIPs, as ranges: `10.1.1.5-8,42.42.42.42` (at most 255 addresses)',
  }),
  selector: Type.Optional(
    MapOf(Type.String({ maxLength: 63 }), {
      maxProperties: 32,
      description: 'Node labels that must all match for a node to hold VIPs (`{}`: every node)',
    }),
  ),
  watchPort: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 80,
      description: 'Local TCP port that must answer for a node to hold VIPs; 0 = no check',
    }),
  ),
  interface: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_.:-]{1,15}$',
      default: 'eth0',
      description: 'Network interface the VIPs are added to',
    }),
  ),
  unicast: Type.Optional(
    Type.Boolean({
      default: true,
      description: "VRRP adverts to the other nodes' addresses instead of multicast",
    }),
  ),
  vrrpIdOffset: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 255,
      description:
        'virtual_router_id of the first VIP (the next VIPs follow); absent: the lowest free range in the cluster',
    }),
  ),
  preempt: Type.Optional(Type.Boolean({ default: true, description: 'A recovered node takes back the VIPs it leads' })),
  profile: Type.Optional(
    Type.Enum(['default', 'fast'], {
      type: 'string',
      default: 'default',
      description:
        'default: adverts every 1 s, a VIP moves in about 3 s; fast: adverts every 0.1 s at real-time priority, a VIP moves in about 0.3 s (docs/high-availability.md)',
    }),
  ),
};

export const haConfigCreateRequestSchema = Type.Object(
  {
    clusterId: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.String({ pattern: NAME, minLength: 1, maxLength: 40 }),
    ...haConfigSpecProperties,
  },
  { additionalProperties: false },
);
/** A validated ha-config request: ajv filled in watchPort, interface, unicast and preempt. */
export type HaConfigCreateRequest = WithDefaults<
  Static<typeof haConfigCreateRequestSchema>,
  'watchPort' | 'interface' | 'unicast' | 'preempt'
>;

/** How an ha-config's nodes compare with those it was last applied to, as the node health monitor sees them. */
export const HA_CONFIG_SYNC_STATES = ['InSync', 'Reapplying', 'NoMatchingNode'] as const;
export type HaConfigSyncState = (typeof HA_CONFIG_SYNC_STATES)[number];

const haConfigNodeSchema = Type.Object({ name: Type.String(), address: Type.String() });
export type HaConfigNode = Static<typeof haConfigNodeSchema>;

/**
 * What the last apply configured (recorded by the `ha-config.apply` workflow) and what the node
 * health monitor sees since (it applies the ha-config again when nodes join, leave or change labels).
 */
const haConfigStatusSchema = Type.Object({
  applied: Nullable(
    Type.Object({ nodes: Type.Array(haConfigNodeSchema), at: Type.String(), workflowId: Type.String() }),
    {
      description:
        "The nodes the last successful apply wrote keepalived's configuration for (name, InternalIP), when, and by which workflow; null before the first",
    },
  ),
  sync: Nullable(
    Type.Object({
      state: Type.Enum(HA_CONFIG_SYNC_STATES, { type: 'string' }),
      message: Type.String(),
      since: Type.String(),
    }),
    {
      description:
        'InSync: the selector matches the applied nodes; Reapplying: they differ and cx applies the ha-config again; NoMatchingNode: no node matches, keepalived stays as last applied. null until the node health monitor looked',
    },
  ),
});
export type HaConfigStatus = Static<typeof haConfigStatusSchema>;

export const haConfigSchema = Type.Object({
  id: Type.String(),
  clusterId: Type.String(),
  name: Type.String(),
  ...Type.Required(Type.Object(haConfigSpecProperties)).properties,
  createdBy: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  version: Type.Integer(),
  status: haConfigStatusSchema,
});
export type HaConfig = Static<typeof haConfigSchema>;
/** What an ha-config keeps of its request, every default filled in (sm's record of it). */
export type HaConfigSpec = Pick<HaConfig, keyof typeof haConfigSpecProperties>;
