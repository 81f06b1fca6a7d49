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
  { kind: 'global' } | { kind: 'cluster' | 'resource-group' | 'workflow' | 'grant' | 'ha-config' | 'pair'; id: string };
export interface AccessRequirement {
  role: Role;
  object: AccessObject;
}

const USERNAME = '^[A-Za-z0-9][A-Za-z0-9._@-]*$';
const NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export const userSchema = {
  type: 'object',
  required: ['id', 'username', 'source', 'role', 'disabled'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    source: { type: 'string', enum: ['local', 'ldap', 'oidc'] },
    role: { type: 'string', enum: ['admin', 'user'], description: 'Persona: `admin` holds the global admin role' },
    disabled: { type: 'boolean' },
    email: { type: ['string', 'null'] },
    displayName: { type: ['string', 'null'] },
    groups: {
      type: 'array',
      items: { type: 'string' },
      description: 'Local group names and the directory / identity provider groups of the last login',
    },
    lastLoginAt: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
  },
} as const;
export interface User {
  id: string;
  username: string;
  source: 'local' | 'ldap' | 'oidc';
  role: 'admin' | 'user';
  disabled: boolean;
  email: string | null;
  displayName: string | null;
  groups: string[];
  lastLoginAt: string | null;
  createdAt: string;
}

const passwordSchema = { type: 'string', minLength: 8, maxLength: 1024 } as const;

export const userCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', pattern: USERNAME, minLength: 1, maxLength: 128 },
    password: passwordSchema,
    role: { type: 'string', enum: ['admin', 'user'], default: 'user' },
    email: { type: 'string', format: 'email', maxLength: 255 },
    displayName: { type: 'string', maxLength: 255 },
  },
} as const;
export interface UserCreateRequest {
  username: string;
  password: string;
  role: 'admin' | 'user';
  email?: string;
  displayName?: string;
}

export const userPatchRequestSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    disabled: { type: 'boolean' },
    role: { type: 'string', enum: ['admin', 'user'] },
    password: passwordSchema,
  },
} as const;
export interface UserPatchRequest {
  disabled?: boolean;
  role?: 'admin' | 'user';
  password?: string;
}

export const passwordChangeRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['currentPassword', 'newPassword'],
  properties: { currentPassword: { type: 'string', minLength: 1, maxLength: 1024 }, newPassword: passwordSchema },
} as const;
export interface PasswordChangeRequest {
  currentPassword: string;
  newPassword: string;
}

export const groupSchema = {
  type: 'object',
  required: ['id', 'name', 'members'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    members: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
  },
} as const;
export interface Group {
  id: string;
  name: string;
  description: string | null;
  members: string[];
  createdAt: string;
}

export const groupCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 },
    description: { type: 'string', maxLength: 1024 },
    members: {
      type: 'array',
      maxItems: 1000,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 128 },
      default: [],
    },
  },
} as const;
export interface GroupCreateRequest {
  name: string;
  description?: string;
  members: string[];
}

export const groupMemberRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username'],
  properties: { username: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const grantSchema = {
  type: 'object',
  required: ['id', 'subject', 'object', 'role'],
  properties: {
    id: { type: 'string' },
    subject: {
      type: 'object',
      properties: { kind: { type: 'string', enum: ['user', 'group'] }, name: { type: 'string' } },
    },
    object: {
      type: 'object',
      properties: { kind: { type: 'string', enum: ['global', 'resource-group', 'cluster'] }, id: { type: 'string' } },
    },
    role: { type: 'string', enum: ROLES },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;
export interface Grant {
  id: string;
  subject: { kind: 'user' | 'group'; name: string };
  object: { kind: 'global' | 'resource-group' | 'cluster'; id?: string };
  role: Role;
  createdBy: string;
  createdAt: string;
}

export const grantCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['subject', 'object', 'role'],
  properties: {
    subject: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'name'],
      properties: {
        kind: { type: 'string', enum: ['user', 'group'] },
        name: {
          type: 'string',
          minLength: 1,
          maxLength: 512,
          description: 'A username, a local group name, an LDAP group DN or an OIDC group',
        },
      },
    },
    object: {
      type: 'object',
      additionalProperties: false,
      required: ['kind'],
      properties: {
        kind: { type: 'string', enum: ['global', 'resource-group', 'cluster'] },
        id: { type: 'string', minLength: 1, maxLength: 64, description: 'Required unless kind is global' },
      },
    },
    role: { type: 'string', enum: ROLES },
  },
} as const;
export interface GrantCreateRequest {
  subject: Grant['subject'];
  object: Grant['object'];
  role: Role;
}

const quotasSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Upper limits over the clusters of the group; an absent member is unlimited',
  properties: {
    clusters: { type: 'integer', minimum: 0, maximum: 100000 },
    nodes: { type: 'integer', minimum: 0, maximum: 10000000 },
    vcpus: { type: 'integer', minimum: 0, maximum: 100000000 },
    memoryMiB: { type: 'integer', minimum: 0, maximum: 1000000000 },
  },
} as const;
export interface Quotas {
  clusters?: number;
  nodes?: number;
  vcpus?: number;
  memoryMiB?: number;
}

export const resourceGroupSchema = {
  type: 'object',
  required: ['id', 'name', 'quotas', 'usage'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    credentialId: { type: ['string', 'null'] },
    quotas: quotasSchema,
    usage: {
      type: 'object',
      properties: {
        clusters: { type: 'integer' },
        nodes: { type: 'integer' },
        vcpus: { type: 'integer' },
        memoryMiB: { type: 'integer' },
      },
    },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;
export interface ResourceGroup {
  id: string;
  name: string;
  description: string | null;
  credentialId: string | null;
  quotas: Quotas;
  usage: Required<Quotas>;
  createdAt: string;
  updatedAt: string;
}

export const resourceGroupCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 },
    description: { type: 'string', maxLength: 1024 },
    credentialId: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: "Provider credential the group's clusters use",
    },
    quotas: { ...quotasSchema, default: {} },
  },
} as const;
export interface ResourceGroupCreateRequest {
  name: string;
  description?: string;
  credentialId?: string;
  quotas: Quotas;
}

export const resourceGroupPatchRequestSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    description: { type: 'string', maxLength: 1024 },
    credentialId: { type: ['string', 'null'], maxLength: 64 },
    quotas: quotasSchema,
  },
} as const;
export interface ResourceGroupPatchRequest {
  description?: string;
  credentialId?: string | null;
  quotas?: Quotas;
}

export const credentialSchema = {
  type: 'object',
  required: ['id', 'name', 'provider', 'endpoint', 'username'],
  description: 'A provider credential; its password is never returned',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    provider: { type: 'string' },
    endpoint: { type: 'string' },
    username: { type: 'string' },
    insecure: { type: 'boolean' },
    hasCaCert: { type: 'boolean' },
    settings: { type: 'object', additionalProperties: true },
    version: { type: 'integer' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;
export interface Credential {
  id: string;
  name: string;
  provider: string;
  endpoint: string;
  username: string;
  insecure: boolean;
  hasCaCert: boolean;
  settings: Record<string, unknown>;
  version: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const credentialCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'provider', 'endpoint', 'username', 'password'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 },
    provider: { type: 'string', minLength: 1, maxLength: 32 },
    endpoint: { type: 'string', minLength: 1, maxLength: 1024 },
    username: { type: 'string', minLength: 1, maxLength: 255 },
    password: { type: 'string', minLength: 1, maxLength: 4096, writeOnly: true },
    caCert: { type: 'string', maxLength: 65536, description: "PEM of the CA that signed the endpoint's certificate" },
    insecure: { type: 'boolean', default: false, description: 'Skip certificate verification (labs only)' },
    settings: {
      type: 'object',
      additionalProperties: true,
      default: {},
      maxProperties: 64,
      description:
        "The provider's own settings (vSphere: datacenter, template, network…; OpenStack: project, image, flavor, network…), checked against the endpoint with the login before anything is stored; see docs/providers/",
    },
  },
} as const;
export interface CredentialCreateRequest {
  name: string;
  provider: string;
  endpoint: string;
  username: string;
  password: string;
  caCert?: string;
  insecure: boolean;
  settings: Record<string, unknown>;
}

const bmcSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['protocol', 'address', 'username', 'password'],
  properties: {
    protocol: { type: 'string', enum: ['redfish', 'ipmi'] },
    address: {
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      description: 'Redfish: `https://bmc:443`; IPMI: `host:623`',
    },
    username: { type: 'string', minLength: 1, maxLength: 255 },
    password: { type: 'string', minLength: 1, maxLength: 4096, writeOnly: true },
    caCert: {
      type: 'string',
      maxLength: 65536,
      description: "PEM of the CA that signed the Redfish service's certificate",
    },
    insecure: { type: 'boolean', default: false, description: 'Skip certificate verification (labs only)' },
    systemId: { type: 'string', maxLength: 255, description: "Redfish system id; absent: the BMC's only system" },
  },
} as const;

const capacitySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['vcpus', 'memoryMiB'],
  properties: {
    vcpus: { type: 'integer', minimum: 1, maximum: 4096 },
    memoryMiB: { type: 'integer', minimum: 256, maximum: 67108864 },
    diskGiB: { type: 'integer', minimum: 1, maximum: 1048576, default: 100 },
  },
} as const;

export const hostCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'bmc', 'addresses', 'capacity'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 },
    bmc: bmcSchema,
    bootMac: { type: 'string', pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' },
    addresses: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: { type: 'string', minLength: 2, maxLength: 64 },
      description: "Addresses the host's OS will have (the node addresses)",
    },
    labels: {
      type: 'object',
      maxProperties: 64,
      additionalProperties: { type: 'string', maxLength: 63 },
      default: {},
      description: '`cx/pool: NAME` reserves the host for machines of that pool',
    },
    capacity: capacitySchema,
  },
} as const;
export interface HostCreateRequest {
  name: string;
  bmc: {
    protocol: 'redfish' | 'ipmi';
    address: string;
    username: string;
    password: string;
    caCert?: string;
    insecure: boolean;
    systemId?: string;
  };
  bootMac?: string;
  addresses: string[];
  labels: Record<string, string>;
  capacity: { vcpus: number; memoryMiB: number; diskGiB: number };
}

export const hostSchema = {
  type: 'object',
  required: ['id', 'name', 'bmc', 'addresses', 'labels', 'capacity', 'state'],
  description: 'A bare-metal host; its BMC password is never returned',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    bmc: {
      type: 'object',
      properties: {
        protocol: { type: 'string' },
        address: { type: 'string' },
        username: { type: 'string' },
        insecure: { type: 'boolean' },
        hasCaCert: { type: 'boolean' },
        systemId: { type: ['string', 'null'] },
      },
    },
    bootMac: { type: ['string', 'null'] },
    addresses: { type: 'array', items: { type: 'string' } },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    capacity: {
      type: 'object',
      properties: { vcpus: { type: 'integer' }, memoryMiB: { type: 'integer' }, diskGiB: { type: 'integer' } },
    },
    state: {
      type: 'string',
      enum: ['available', 'claimed', 'cleaning'],
      description:
        'cleaning: booted into the cleaning image after its machine was deleted with hostCleanup wipe; available again once it has powered itself off',
    },
    cleaningSince: { type: ['string', 'null'] },
    claim: {
      type: ['object', 'null'],
      properties: {
        clusterId: { type: 'string' },
        machineId: { type: 'string' },
        machineName: { type: 'string' },
        claimedAt: { type: 'string' },
      },
    },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;
export interface Host {
  id: string;
  name: string;
  bmc: {
    protocol: 'redfish' | 'ipmi';
    address: string;
    username: string;
    insecure: boolean;
    hasCaCert: boolean;
    systemId: string | null;
  };
  bootMac: string | null;
  addresses: string[];
  labels: Record<string, string>;
  capacity: { vcpus: number; memoryMiB: number; diskGiB: number };
  state: 'available' | 'claimed' | 'cleaning';
  cleaningSince: string | null;
  claim: { clusterId: string; machineId: string; machineName: string; claimedAt: string } | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const apiTokenSchema = {
  type: 'object',
  required: ['id', 'name', 'createdAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    createdAt: { type: 'string' },
    expiresAt: { type: ['string', 'null'] },
    lastUsedAt: { type: ['string', 'null'] },
    token: { type: 'string', description: 'Only in the answer to its creation: keep it, cx stores a hash' },
  },
} as const;
export interface ApiToken {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  token?: string;
}

export const apiTokenCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128 },
    expiresInDays: { type: 'integer', minimum: 1, maximum: 3650, description: 'Absent: the token lives until revoked' },
  },
} as const;
export interface ApiTokenCreateRequest {
  name: string;
  expiresInDays?: number;
}

export const auditQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', maxLength: 64 },
    actor: { type: 'string', maxLength: 128 },
    action: { type: 'string', maxLength: 64, description: 'Exact action, or a prefix ending in `*` (`auth.*`)' },
    targetKind: { type: 'string', maxLength: 32 },
    targetId: { type: 'string', maxLength: 128 },
    outcome: { type: 'string', enum: ['success', 'failure'] },
    sourceIp: { type: 'string', maxLength: 64 },
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
  },
} as const;
export interface AuditQuery {
  limit: number;
  cursor?: string;
  actor?: string;
  action?: string;
  targetKind?: string;
  targetId?: string;
  outcome?: 'success' | 'failure';
  sourceIp?: string;
  since?: string;
  until?: string;
}

export const auditEntrySchema = {
  type: 'object',
  required: ['id', 'at', 'actor', 'action', 'outcome'],
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string' },
    targetKind: { type: ['string', 'null'] },
    targetId: { type: ['string', 'null'] },
    outcome: { type: 'string' },
    sourceIp: { type: ['string', 'null'] },
    requestId: { type: ['string', 'null'] },
    details: {},
  },
} as const;

export const ipPoolCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'ranges'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 },
    ranges: {
      type: 'string',
      minLength: 1,
      maxLength: 4096,
      description:
        'Comma-separated addresses and ranges: `10.1.1.5-8,42.42.42.42`, `192.0.2.10-192.0.2.20`, `198.51.100.0/28`, `2001:db8::10-1f`',
    },
    description: { type: 'string', maxLength: 1024 },
  },
} as const;
export interface IpPoolCreateRequest {
  name: string;
  ranges: string;
  description?: string;
}

export const ipPoolSchema = {
  type: 'object',
  required: ['id', 'name', 'ranges', 'size', 'allocated'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    ranges: { type: 'string' },
    description: { type: ['string', 'null'] },
    families: { type: 'array', items: { type: 'string', enum: ['ipv4', 'ipv6'] } },
    size: { type: 'string', description: 'Number of addresses (a string: an IPv6 range can hold more than 2^53)' },
    allocated: { type: 'integer' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;
export interface IpPool {
  id: string;
  name: string;
  ranges: string;
  description: string | null;
  families: Array<'ipv4' | 'ipv6'>;
  size: string;
  allocated: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const ipAllocationRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['owner'],
  properties: {
    owner: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: 'Who holds the address (free text: a cluster, a service, a person)',
    },
    address: {
      type: 'string',
      maxLength: 64,
      description: 'A specific address of the pool; absent: the first free one',
    },
  },
} as const;
export interface IpAllocationRequest {
  owner: string;
  address?: string;
}

export const ipAllocationSchema = {
  type: 'object',
  required: ['pool', 'address', 'owner'],
  properties: {
    pool: { type: 'string' },
    address: { type: 'string' },
    owner: { type: 'string' },
    clusterId: { type: ['string', 'null'] },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;
export interface IpAllocation {
  pool: string;
  address: string;
  owner: string;
  clusterId: string | null;
  createdBy: string;
  createdAt: string;
}

const haConfigSpecProperties = {
  virtualIps: {
    type: 'string',
    minLength: 1,
    maxLength: 4096,
    description: 'The VIPs, as ranges: `10.1.1.5-8,42.42.42.42` (at most 255 addresses)',
  },
  selector: {
    type: 'object',
    maxProperties: 32,
    additionalProperties: { type: 'string', maxLength: 63 },
    description: 'Node labels that must all match for a node to hold VIPs (`{}`: every node)',
  },
  watchPort: {
    type: 'integer',
    minimum: 0,
    maximum: 65535,
    default: 80,
    description: 'Local TCP port that must answer for a node to hold VIPs; 0 = no check',
  },
  interface: {
    type: 'string',
    pattern: '^[A-Za-z0-9_.:-]{1,15}$',
    default: 'eth0',
    description: 'Network interface the VIPs are added to',
  },
  unicast: {
    type: 'boolean',
    default: true,
    description: "VRRP adverts to the other nodes' addresses instead of multicast",
  },
  vrrpIdOffset: {
    type: 'integer',
    minimum: 1,
    maximum: 255,
    description:
      'virtual_router_id of the first VIP (the next VIPs follow); absent: the lowest free range in the cluster',
  },
  preempt: { type: 'boolean', default: true, description: 'A recovered node takes back the VIPs it leads' },
  profile: {
    type: 'string',
    enum: ['default', 'fast'],
    default: 'default',
    description:
      'default: adverts every 1 s, a VIP moves in about 3 s; fast: adverts every 0.1 s at real-time priority, a VIP moves in about 0.3 s (docs/high-availability.md)',
  },
} as const;

export const haConfigCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['clusterId', 'name', 'virtualIps'],
  properties: {
    clusterId: { type: 'string', minLength: 1, maxLength: 64 },
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 40 },
    ...haConfigSpecProperties,
  },
} as const;
export interface HaConfigSpec {
  virtualIps: string;
  selector: Record<string, string>;
  watchPort: number;
  interface: string;
  unicast: boolean;
  vrrpIdOffset: number;
  preempt: boolean;
  profile: 'default' | 'fast';
}
export interface HaConfigCreateRequest extends Omit<HaConfigSpec, 'vrrpIdOffset' | 'selector' | 'profile'> {
  clusterId: string;
  name: string;
  selector?: Record<string, string>;
  vrrpIdOffset?: number;
  profile?: 'default' | 'fast';
}

/** How an ha-config's nodes compare with those it was last applied to, as the node health monitor sees them. */
export const HA_CONFIG_SYNC_STATES = ['InSync', 'Reapplying', 'NoMatchingNode'] as const;
export type HaConfigSyncState = (typeof HA_CONFIG_SYNC_STATES)[number];
export interface HaConfigNode {
  name: string;
  address: string;
}
/**
 * What the last apply configured (recorded by the `ha-config.apply` workflow) and what the node
 * health monitor sees since (it applies the ha-config again when nodes join, leave or change labels).
 */
export interface HaConfigStatus {
  applied: { nodes: HaConfigNode[]; at: string; workflowId: string } | null;
  sync: { state: HaConfigSyncState; message: string; since: string } | null;
}
const haConfigNodeSchema = {
  type: 'object',
  required: ['name', 'address'],
  properties: { name: { type: 'string' }, address: { type: 'string' } },
} as const;
const haConfigStatusSchema = {
  type: 'object',
  required: ['applied', 'sync'],
  properties: {
    applied: {
      type: ['object', 'null'],
      required: ['nodes', 'at', 'workflowId'],
      description:
        "The nodes the last successful apply wrote keepalived's configuration for (name, InternalIP), when, and by which workflow; null before the first",
      properties: {
        nodes: { type: 'array', items: haConfigNodeSchema },
        at: { type: 'string' },
        workflowId: { type: 'string' },
      },
    },
    sync: {
      type: ['object', 'null'],
      required: ['state', 'message', 'since'],
      description:
        'InSync: the selector matches the applied nodes; Reapplying: they differ and cx applies the ha-config again; NoMatchingNode: no node matches, keepalived stays as last applied. null until the node health monitor looked',
      properties: {
        state: { type: 'string', enum: HA_CONFIG_SYNC_STATES },
        message: { type: 'string' },
        since: { type: 'string' },
      },
    },
  },
} as const;

export const haConfigSchema = {
  type: 'object',
  required: ['id', 'clusterId', 'name', 'virtualIps'],
  properties: {
    id: { type: 'string' },
    clusterId: { type: 'string' },
    name: { type: 'string' },
    ...haConfigSpecProperties,
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    version: { type: 'integer' },
    status: haConfigStatusSchema,
  },
} as const;
export interface HaConfig extends HaConfigSpec {
  id: string;
  clusterId: string;
  name: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  version: number;
  status: HaConfigStatus;
}
