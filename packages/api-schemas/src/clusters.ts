/** Clusters: the create request (pools, scheduling, health policy), the cluster, its nodes. */
import {
  CLUSTER_STATUSES,
  DNS1123_LABEL,
  KUBERNETES_VERSION,
  MAX_POOL_COUNT,
  MAX_POOLS,
  type ClusterStatus,
} from './common.js';
import { clusterTemplateRefSchema, type ClusterTemplateRef } from './template-ref.js';
import { workflowRefSchema } from './workflows.js';

/** Size of each machine of a pool; quotas count it. */
const machineSizeProperties = {
  vcpus: { type: 'integer', minimum: 1, maximum: 512, default: 2, description: 'vCPUs of each machine' },
  memoryMiB: {
    type: 'integer',
    minimum: 512,
    maximum: 4194304,
    default: 4096,
    description: 'Memory of each machine (MiB)',
  },
} as const;

/** Kubernetes label keys (optional DNS prefix `/` name) and values. */
const LABEL_KEY =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
const LABEL_VALUE = '^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$';

export const nodeSchedulingProperties = {
  labels: {
    type: 'object',
    maxProperties: 64,
    propertyNames: { pattern: LABEL_KEY, maxLength: 316 },
    additionalProperties: { type: 'string', pattern: LABEL_VALUE, maxLength: 63 },
    description: 'Labels every node of the pool carries',
  },
  taints: {
    type: 'array',
    maxItems: 32,
    description: 'Taints every node of the pool carries',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['key', 'effect'],
      properties: {
        key: { type: 'string', pattern: LABEL_KEY, maxLength: 316 },
        value: { type: 'string', pattern: LABEL_VALUE, maxLength: 63 },
        effect: { type: 'string', enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
      },
    },
  },
} as const;
export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export const REMEDIATIONS = ['none', 'reboot', 'replace'] as const;
export const HOST_CLEANUPS = ['power-off', 'wipe'] as const;
export type HostCleanup = (typeof HOST_CLEANUPS)[number];
export const FENCING_METHODS = ['provider', 'redfish', 'ipmi'] as const;
export type Remediation = (typeof REMEDIATIONS)[number];
export type FencingMethod = (typeof FENCING_METHODS)[number];

/** What a pool may set for itself; the cluster's `health` gives the rest. */
const poolHealthProperties = {
  unhealthyTimeoutSeconds: {
    type: 'integer',
    minimum: 5,
    maximum: 86400,
    description: 'How long a node may stay NotReady before it is remediated',
  },
  startupTimeoutSeconds: {
    type: 'integer',
    minimum: 60,
    maximum: 86400,
    description: 'How long a new machine may take to register a Ready node before it is remediated',
  },
  remediation: {
    type: 'string',
    enum: REMEDIATIONS,
    description: 'none: report only; reboot: fence, then power on; replace: fence, then a new machine of the same name',
  },
  fencing: {
    type: 'string',
    enum: FENCING_METHODS,
    description:
      "How a node is powered off (and its power-off verified) before anything moves: the provider's power control, or the host's Redfish / IPMI BMC (baremetal)",
  },
} as const;

/** Node health policy of a cluster (seeds 000, 004): detect, fence, out-of-service taint, remediate. */
export const healthPolicySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...poolHealthProperties,
    maxUnhealthy: {
      oneOf: [
        { type: 'integer', minimum: 0 },
        { type: 'string', pattern: '^(100|[1-9]?[0-9])%$' },
      ],
      description:
        "Storm guard: when more nodes than this (a count, or a percentage of the cluster's machines) are unhealthy, nothing is fenced — it is a partition, not a failure",
    },
  },
} as const;

export interface PoolHealthPolicy {
  unhealthyTimeoutSeconds?: number;
  startupTimeoutSeconds?: number;
  remediation?: Remediation;
  fencing?: FencingMethod;
}
export interface HealthPolicy extends PoolHealthPolicy {
  maxUnhealthy?: number | string;
}
/** The policy with every default filled in. */
export type EffectiveHealthPolicy = Required<PoolHealthPolicy> & { maxUnhealthy: number | string };

export const HEALTH_POLICY_DEFAULTS: EffectiveHealthPolicy = {
  unhealthyTimeoutSeconds: 30,
  startupTimeoutSeconds: 1200,
  remediation: 'replace',
  fencing: 'provider',
  maxUnhealthy: '40%',
};

/** The policy that applies to the machines of `pool` (`control-plane` or a worker pool's name). */
export function healthPolicyOf(
  cluster: Pick<ClusterCreateRequest, 'health' | 'nodePools'>,
  pool: string,
): EffectiveHealthPolicy {
  const poolPolicy = cluster.nodePools.find((p) => p.name === pool)?.health ?? {};
  return { ...HEALTH_POLICY_DEFAULTS, ...cluster.health, ...poolPolicy };
}

/** The storm guard's count: `maxUnhealthy` of a cluster with `machines` machines. */
export function maxUnhealthyCount(maxUnhealthy: number | string, machines: number): number {
  return typeof maxUnhealthy === 'number'
    ? maxUnhealthy
    : Math.floor((machines * Number(maxUnhealthy.slice(0, -1))) / 100);
}

export const nodePoolRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'count'],
  properties: {
    name: {
      type: 'string',
      pattern: DNS1123_LABEL,
      minLength: 1,
      maxLength: 40,
      description: 'DNS-1123 label, unique in the cluster',
    },
    count: { type: 'integer', minimum: 0, maximum: MAX_POOL_COUNT },
    ...machineSizeProperties,
    ...nodeSchedulingProperties,
    health: {
      type: 'object',
      additionalProperties: false,
      properties: poolHealthProperties,
      description: "Overrides of the cluster's health policy for this pool",
    },
  },
} as const;

export const clusterCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'provider', 'kubernetesVersion', 'controlPlane'],
  properties: {
    name: {
      type: 'string',
      pattern: DNS1123_LABEL,
      minLength: 1,
      maxLength: 40,
      description: 'DNS-1123 label, unique among clusters',
    },
    provider: { type: 'string', minLength: 1, maxLength: 32, description: 'One of GET /api/v1/providers' },
    kubernetesVersion: {
      type: 'string',
      pattern: KUBERNETES_VERSION,
      description: "One of the provider's kubernetesVersions",
    },
    controlPlane: {
      type: 'object',
      additionalProperties: false,
      required: ['count'],
      properties: {
        count: { type: 'integer', enum: [1, 3, 5, 7], description: 'Odd, so that etcd keeps quorum' },
        ...machineSizeProperties,
        schedulable: {
          type: 'boolean',
          default: false,
          description:
            'Run workloads on the control-plane nodes too (no control-plane taint): the three-node converged topology',
        },
        vipPool: {
          type: 'string',
          minLength: 1,
          maxLength: 128,
          description:
            'IP pool (id or name) the control-plane VIP is allocated from: the API is then reached at <VIP>:8443, kept by keepalived + haproxy static pods on the control-plane machines, or at <VIP>:6443 with vipManager kube-vip (docs/high-availability.md). Not for sim and kwok',
        },
        vipInterface: {
          type: 'string',
          pattern: '^[A-Za-z0-9_.:-]{1,15}$',
          default: 'eth0',
          description: 'Network interface of the control-plane machines that carries the VIP',
        },
        vipUnicast: {
          type: 'boolean',
          default: false,
          description:
            'keepalived only: VRRP adverts go to the other control-plane machines (found by host name when keepalived starts, and again every 10 s) instead of multicast, for networks that drop multicast',
        },
        vipManager: {
          type: 'string',
          enum: ['keepalived', 'kube-vip'],
          default: 'keepalived',
          description:
            "What keeps the VIP. keepalived: keepalived + haproxy static pods, the API at <VIP>:8443, working without etcd quorum. kube-vip: kube-vip's static pod (ARP, leader election through the API), the API at <VIP>:6443",
        },
      },
    },
    nodePools: { type: 'array', maxItems: MAX_POOLS, default: [], items: nodePoolRequestSchema },
    resourceGroup: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description:
        'Id or name of the resource group the cluster belongs to (its quotas apply); absent: none, which needs a global grant',
    },
    health: {
      ...healthPolicySchema,
      description: 'Node health policy; absent fields take the defaults (docs/node-health.md)',
    },
    hostCleanup: {
      type: 'string',
      enum: HOST_CLEANUPS,
      description:
        'baremetal only: what happens to a host when its machine is deleted. power-off (default): powered off and free at once; wipe: booted once into the cleaning image (baremetal.wipeImageUrl, else PXE), free again once it has powered itself off',
    },
  },
} as const;
export interface MachineSize {
  vcpus?: number;
  memoryMiB?: number;
}
export interface NodeScheduling {
  labels?: Record<string, string>;
  taints?: Taint[];
}
export interface NodePoolRequest extends MachineSize, NodeScheduling {
  name: string;
  count: number;
  health?: PoolHealthPolicy;
}
export interface ClusterCreateRequest {
  name: string;
  provider: string;
  kubernetesVersion: string;
  controlPlane: {
    count: number;
    schedulable?: boolean;
    vipPool?: string;
    vipInterface?: string;
    vipManager?: 'keepalived' | 'kube-vip';
    vipUnicast?: boolean;
  } & MachineSize;
  nodePools: NodePoolRequest[];
  resourceGroup?: string;
  health?: HealthPolicy;
  hostCleanup?: HostCleanup;
}

export const clusterSchema = {
  type: 'object',
  required: [
    'id',
    'name',
    'provider',
    'kubernetesVersion',
    'status',
    'controlPlane',
    'nodePools',
    'createdAt',
    'updatedAt',
  ],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    provider: { type: 'string' },
    kubernetesVersion: { type: 'string' },
    status: { type: 'string', enum: CLUSTER_STATUSES },
    statusMessage: { type: ['string', 'null'] },
    controlPlane: {
      type: 'object',
      properties: {
        count: { type: 'integer' },
        vcpus: { type: 'integer' },
        memoryMiB: { type: 'integer' },
        schedulable: { type: 'boolean' },
      },
    },
    nodePools: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          count: { type: 'integer' },
          vcpus: { type: 'integer' },
          memoryMiB: { type: 'integer' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          taints: { type: 'array', items: { type: 'object', additionalProperties: true } },
        },
      },
    },
    activeWorkflowId: { type: ['string', 'null'] },
    resourceGroupId: { type: ['string', 'null'] },
    apiEndpoint: {
      type: ['string', 'null'],
      description: "URL of the cluster's Kubernetes API, once its control plane is up",
    },
    apiVip: { type: ['string', 'null'], description: 'The control-plane VIP allocated from controlPlane.vipPool' },
    health: { type: 'object', additionalProperties: true, description: 'The node health policy, defaults filled in' },
    healthStatus: {
      type: ['object', 'null'],
      description: 'What the node health monitor saw last (null until it has looked)',
      properties: {
        state: { type: 'string', enum: ['Healthy', 'Unhealthy', 'Remediating', 'Storm', 'Unknown'] },
        message: { type: 'string' },
        unhealthy: { type: 'array', items: { type: 'object', additionalProperties: true } },
        checkedAt: { type: 'string', format: 'date-time' },
      },
    },
    template: clusterTemplateRefSchema,
    osImage: {
      type: ['string', 'null'],
      description:
        "The OS image new machines boot from, set by POST /clusters/{id}/os-upgrade (null: the one in the provider credential's settings)",
    },
    createdBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
export interface Cluster {
  id: string;
  name: string;
  provider: string;
  kubernetesVersion: string;
  status: ClusterStatus;
  statusMessage: string | null;
  controlPlane: { count: number; schedulable?: boolean } & MachineSize;
  nodePools: NodePoolRequest[];
  activeWorkflowId: string | null;
  resourceGroupId: string | null;
  apiEndpoint: string | null;
  apiVip: string | null;
  health: EffectiveHealthPolicy;
  healthStatus: ClusterHealthStatus | null;
  template?: ClusterTemplateRef | null;
  /** The OS image new machines boot from, once an OS upgrade chose one (null: the provider settings'). */
  osImage?: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const HEALTH_STATES = ['Healthy', 'Unhealthy', 'Remediating', 'Storm', 'Unknown'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];
/** A node the health monitor found unhealthy, and since when. */
export interface UnhealthyNode {
  machineId: string;
  name: string;
  reason: string;
  since: string;
}
export interface ClusterHealthStatus {
  state: HealthState;
  message: string;
  unhealthy: UnhealthyNode[];
  checkedAt: string;
}

export const clusterAcceptedSchema = {
  type: 'object',
  required: ['cluster', 'workflow'],
  properties: { cluster: clusterSchema, workflow: workflowRefSchema },
} as const;

export const nodeSchema = {
  type: 'object',
  required: ['name', 'role', 'status', 'kubernetesVersion'],
  properties: {
    name: { type: 'string' },
    role: { type: 'string', enum: ['control-plane', 'worker'] },
    pool: { type: 'string' },
    status: { type: 'string', enum: ['Ready', 'NotReady'] },
    kubernetesVersion: { type: 'string' },
    machine: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        phase: { type: 'string' },
        providerId: { type: ['string', 'null'] },
        addresses: { type: 'array', items: { type: 'string' } },
        condition: {
          type: ['object', 'null'],
          description:
            'Why the last provider operation on the machine failed (reason catalogued in docs/errors.md); null once one succeeds',
          properties: {
            reason: { type: 'string' },
            code: { type: 'string' },
            message: { type: 'string' },
            workflowId: { type: 'string' },
            at: { type: 'string' },
          },
        },
      },
    },
  },
} as const;
export interface Node {
  name: string;
  role: 'control-plane' | 'worker';
  pool: string;
  status: 'Ready' | 'NotReady';
  kubernetesVersion: string;
  machine: {
    id: string;
    phase: string;
    providerId: string | null;
    addresses: string[];
    condition: MachineCondition | null;
  };
}

/** Why a machine's last provider operation failed. */
export interface MachineCondition {
  reason: string;
  code: string;
  message: string;
  workflowId: string;
  at: string;
}
