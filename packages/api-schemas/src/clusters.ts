/** Clusters: the create request (pools, scheduling, health policy), the cluster, its nodes. */
import Type, { type Static } from 'typebox';
import {
  CLUSTER_STATUSES,
  DNS1123_LABEL,
  KUBERNETES_VERSION,
  MAX_POOL_COUNT,
  MAX_POOLS,
  MapOf,
  Nullable,
  NullableString,
  PAGE_LIMIT_MAX,
  type WithDefaults,
} from './common.js';
import { clusterTemplateRefSchema } from './template-ref.js';
import { workflowRefSchema } from './workflows.js';

/** Size of each machine of a pool; quotas count it. */
const machineSizeProperties = {
  vcpus: Type.Optional(Type.Integer({ minimum: 1, maximum: 512, default: 2, description: 'vCPUs of each machine' })),
  memoryMiB: Type.Optional(
    Type.Integer({ minimum: 512, maximum: 4194304, default: 4096, description: 'Memory of each machine (MiB)' }),
  ),
};

/** Kubernetes label keys (optional DNS prefix `/` name) and values. */
const LABEL_KEY =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
const LABEL_VALUE = '^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$';

const taintSchema = Type.Object(
  {
    key: Type.String({ pattern: LABEL_KEY, maxLength: 316 }),
    value: Type.Optional(Type.String({ pattern: LABEL_VALUE, maxLength: 63 })),
    effect: Type.Enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'], { type: 'string' }),
  },
  { additionalProperties: false },
);
export type Taint = Static<typeof taintSchema>;

export const nodeSchedulingProperties = {
  labels: Type.Optional(
    MapOf(Type.String({ pattern: LABEL_VALUE, maxLength: 63 }), {
      maxProperties: 64,
      propertyNames: { pattern: LABEL_KEY, maxLength: 316 },
      description: 'Labels every node of the pool carries',
    }),
  ),
  taints: Type.Optional(
    Type.Array(taintSchema, { maxItems: 32, description: 'Taints every node of the pool carries' }),
  ),
};

export const REMEDIATIONS = ['none', 'reboot', 'replace'] as const;
export const HOST_CLEANUPS = ['power-off', 'wipe'] as const;
export type HostCleanup = (typeof HOST_CLEANUPS)[number];
export const FENCING_METHODS = ['provider', 'redfish', 'ipmi'] as const;
export type Remediation = (typeof REMEDIATIONS)[number];
export type FencingMethod = (typeof FENCING_METHODS)[number];

/** What a pool may set for itself; the cluster's `health` gives the rest. */
const poolHealthProperties = {
  unhealthyTimeoutSeconds: Type.Optional(
    Type.Integer({
      minimum: 5,
      maximum: 86400,
      description: 'How long a node may stay NotReady before it is remediated',
    }),
  ),
  startupTimeoutSeconds: Type.Optional(
    Type.Integer({
      minimum: 60,
      maximum: 86400,
      description: 'How long a new machine may take to register a Ready node before it is remediated',
    }),
  ),
  remediation: Type.Optional(
    Type.Enum(REMEDIATIONS, {
      type: 'string',
      description:
        'none: report only; reboot: fence, then power on; replace: fence, then a new machine of the same name',
    }),
  ),
  fencing: Type.Optional(
    Type.Enum(FENCING_METHODS, {
      type: 'string',
      description:
        "How a node is powered off (and its power-off verified) before anything moves: the provider's power control, or the host's Redfish / IPMI BMC (baremetal)",
    }),
  ),
};

const healthPolicyProperties = {
  ...poolHealthProperties,
  // A oneOf as the document has always said (TypeBox's Union writes an anyOf): a count or a percentage.
  maxUnhealthy: Type.Optional(
    Type.Unsafe<number | string>({
      oneOf: [Type.Integer({ minimum: 0 }), Type.String({ pattern: '^(100|[1-9]?[0-9])%$' })],
      description:
        "Storm guard: when more nodes than this (a count, or a percentage of the cluster's machines) are unhealthy, nothing is fenced — it is a partition, not a failure",
    }),
  ),
};

/** Node health policy of a cluster (seeds 000, 004): detect, fence, out-of-service taint, remediate. */
export const healthPolicySchema = Type.Object(healthPolicyProperties, { additionalProperties: false });
export type HealthPolicy = Static<typeof healthPolicySchema>;
const poolHealthPolicySchema = Type.Object(poolHealthProperties, {
  additionalProperties: false,
  description: "Overrides of the cluster's health policy for this pool",
});
export type PoolHealthPolicy = Static<typeof poolHealthPolicySchema>;
/** The policy with every default filled in, as a cluster answers it. */
export type EffectiveHealthPolicy = Cluster['health'];

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

export const nodePoolRequestSchema = Type.Object(
  {
    name: Type.String({
      pattern: DNS1123_LABEL,
      minLength: 1,
      maxLength: 40,
      description: 'DNS-1123 label, unique in the cluster',
    }),
    count: Type.Integer({ minimum: 0, maximum: MAX_POOL_COUNT }),
    ...machineSizeProperties,
    ...nodeSchedulingProperties,
    health: Type.Optional(poolHealthPolicySchema),
  },
  { additionalProperties: false },
);
export type NodePoolRequest = Static<typeof nodePoolRequestSchema>;
export type MachineSize = Pick<NodePoolRequest, 'vcpus' | 'memoryMiB'>;
export type NodeScheduling = Pick<NodePoolRequest, 'labels' | 'taints'>;

/** How many members a control plane may have: odd, so that etcd keeps a majority. */
export const CONTROL_PLANE_COUNTS = [1, 3, 5, 7] as const;
export type ControlPlaneCount = (typeof CONTROL_PLANE_COUNTS)[number];
export function isControlPlaneCount(count: number): count is ControlPlaneCount {
  return CONTROL_PLANE_COUNTS.some((n) => n === count);
}

export const clusterCreateRequestSchema = Type.Object(
  {
    name: Type.String({
      pattern: DNS1123_LABEL,
      minLength: 1,
      maxLength: 40,
      description: 'DNS-1123 label, unique among clusters',
    }),
    provider: Type.String({ minLength: 1, maxLength: 32, description: 'One of GET /api/v1/providers' }),
    kubernetesVersion: Type.String({
      pattern: KUBERNETES_VERSION,
      description: "One of the provider's kubernetesVersions",
    }),
    controlPlane: Type.Object(
      {
        count: Type.Enum(CONTROL_PLANE_COUNTS, { type: 'integer', description: 'Odd, so that etcd keeps quorum' }),
        ...machineSizeProperties,
        schedulable: Type.Optional(
          Type.Boolean({
            default: false,
            description:
              'Run workloads on the control-plane nodes too (no control-plane taint): the three-node converged topology',
          }),
        ),
        vipPool: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 128,
            description:
              'IP pool (id or name) the control-plane VIP is allocated from: the API is then reached at <VIP>:8443, kept by keepalived + haproxy static pods on the control-plane machines, or at <VIP>:6443 with vipManager kube-vip (docs/high-availability.md). Not for sim and kwok',
          }),
        ),
        vipInterface: Type.Optional(
          Type.String({
            pattern: '^[A-Za-z0-9_.:-]{1,15}$',
            default: 'eth0',
            description: 'Network interface of the control-plane machines that carries the VIP',
          }),
        ),
        vipUnicast: Type.Optional(
          Type.Boolean({
            default: false,
            description:
              'keepalived only: VRRP adverts go to the other control-plane machines (found by host name when keepalived starts, and again every 10 s) instead of multicast, for networks that drop multicast',
          }),
        ),
        vipManager: Type.Optional(
          Type.Enum(['keepalived', 'kube-vip'], {
            type: 'string',
            default: 'keepalived',
            description:
              "What keeps the VIP. keepalived: keepalived + haproxy static pods, the API at <VIP>:8443, working without etcd quorum. kube-vip: kube-vip's static pod (ARP, leader election through the API), the API at <VIP>:6443",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    nodePools: Type.Optional(Type.Array(nodePoolRequestSchema, { maxItems: MAX_POOLS, default: [] })),
    resourceGroup: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'Id or name of the resource group the cluster belongs to (its quotas apply); absent: none, which needs a global grant',
      }),
    ),
    health: Type.Optional(
      Type.Object(healthPolicyProperties, {
        additionalProperties: false,
        description: 'Node health policy; absent fields take the defaults (docs/node-health.md)',
      }),
    ),
    hostCleanup: Type.Optional(
      Type.Enum(HOST_CLEANUPS, {
        type: 'string',
        description:
          'baremetal only: what happens to a host when its machine is deleted. power-off (default): powered off and free at once; wipe: booted once into the cleaning image (baremetal.wipeImageUrl, else PXE), free again once it has powered itself off',
      }),
    ),
  },
  { additionalProperties: false },
);
/** A validated cluster request: `nodePools` defaults to none. */
export type ClusterCreateRequest = WithDefaults<Static<typeof clusterCreateRequestSchema>, 'nodePools'>;

export const HEALTH_STATES = ['Healthy', 'Unhealthy', 'Remediating', 'Storm', 'Unknown'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** A node the health monitor found unhealthy, and since when. */
const unhealthyNodeSchema = Type.Object(
  { machineId: Type.String(), name: Type.String(), reason: Type.String(), since: Type.String() },
  { additionalProperties: true },
);
export type UnhealthyNode = Static<typeof unhealthyNodeSchema>;

/** What the node health monitor saw of a cluster at its last look, as sddc reports it to sm. */
export const healthStatusSchema = Type.Object({
  state: Type.Enum(HEALTH_STATES, { type: 'string' }),
  message: Type.String({ maxLength: 4096 }),
  unhealthy: Type.Array(unhealthyNodeSchema, { maxItems: 1024 }),
  checkedAt: Type.String({ format: 'date-time' }),
});
export type ClusterHealthStatus = Static<typeof healthStatusSchema>;
const clusterHealthStatusSchema = Nullable(healthStatusSchema, {
  description: 'What the node health monitor saw last (null until it has looked)',
});

export const clusterSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  provider: Type.String(),
  kubernetesVersion: Type.String(),
  status: Type.Enum(CLUSTER_STATUSES, { type: 'string' }),
  statusMessage: NullableString(),
  controlPlane: Type.Object({
    count: Type.Integer(),
    vcpus: Type.Optional(Type.Integer()),
    memoryMiB: Type.Optional(Type.Integer()),
    schedulable: Type.Optional(Type.Boolean()),
  }),
  nodePools: Type.Array(
    Type.Object({
      name: Type.String(),
      count: Type.Integer(),
      vcpus: Type.Optional(Type.Integer()),
      memoryMiB: Type.Optional(Type.Integer()),
      labels: Type.Optional(MapOf(Type.String())),
      taints: Type.Optional(Type.Array(taintSchema)),
      health: Type.Optional(poolHealthPolicySchema),
    }),
  ),
  activeWorkflowId: NullableString(),
  resourceGroupId: NullableString(),
  apiEndpoint: NullableString({ description: "URL of the cluster's Kubernetes API, once its control plane is up" }),
  apiVip: NullableString({ description: 'The control-plane VIP allocated from controlPlane.vipPool' }),
  health: Type.Required(Type.Object(healthPolicyProperties), {
    additionalProperties: true,
    description: 'The node health policy, defaults filled in',
  }),
  healthStatus: clusterHealthStatusSchema,
  template: Type.Optional(clusterTemplateRefSchema),
  osImage: Type.Optional(
    NullableString({
      description:
        "The OS image new machines boot from, set by POST /clusters/{id}/os-upgrade (null: the one in the provider credential's settings)",
    }),
  ),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Cluster = Static<typeof clusterSchema>;

export const clusterAcceptedSchema = Type.Object({ cluster: clusterSchema, workflow: workflowRefSchema });
/** What a call that starts a cluster workflow answers (202): the cluster, and the run to follow. */
export type ClusterAccepted = Static<typeof clusterAcceptedSchema>;

/** Why an offered Kubernetes version cannot be upgraded to now (docs/errors.md lists none: these are not errors). */
export const UPGRADE_REFUSALS = ['SkipsMinor', 'OtherMajor', 'ClusterBusy'] as const;

/** One version a cluster's provider offers, newer than the cluster's, and whether POST /clusters/{id}/upgrade would take it now. */
export const clusterUpgradeSchema = Type.Object({
  kubernetesVersion: Type.String(),
  allowed: Type.Boolean(),
  reason: Type.Union([Type.Enum(UPGRADE_REFUSALS, { type: 'string' }), Type.Null()], {
    description:
      'Why not, when not allowed: SkipsMinor (one minor version at a time), OtherMajor, ClusterBusy (another workflow runs on the cluster; allowed once it ends)',
  }),
  message: NullableString({ description: 'What the upgrade request would be told, and what to do' }),
});
export type ClusterUpgrade = Static<typeof clusterUpgradeSchema>;

/** GET /clusters/{id}/upgrades: the versions the cluster's provider offers above the one it runs, oldest first. */
export const clusterUpgradesSchema = Type.Object({
  kubernetesVersion: Type.String({ description: 'The version the cluster runs' }),
  items: Type.Array(clusterUpgradeSchema),
  nextCursor: Type.Null({ description: 'Always null: every version is on the one page' }),
});
export type ClusterUpgrades = Static<typeof clusterUpgradesSchema>;

/** Why a machine's last provider operation failed. */
const machineConditionSchema = Nullable(
  Type.Object({
    reason: Type.String(),
    code: Type.String(),
    message: Type.String(),
    workflowId: Type.String(),
    at: Type.String(),
  }),
  {
    description:
      'Why the last provider operation on the machine failed (reason catalogued in docs/errors.md); null once one succeeds',
  },
);
export type MachineCondition = NonNullable<Static<typeof machineConditionSchema>>;

/** A node as its Kubernetes API reports it now: what only the live view has. */
export const nodeLiveStateSchema = Type.Object({
  unschedulable: Type.Boolean({ description: 'Cordoned: no new pod is scheduled on it (spec.unschedulable)' }),
  schedulable: Type.Boolean({
    description: 'Takes new workloads: not cordoned and without the control-plane NoSchedule taint',
  }),
  labels: MapOf(Type.String()),
  taints: Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(Type.String()), effect: Type.String() })),
  conditions: Type.Array(
    Type.Object({
      type: Type.String(),
      status: Type.String({ description: 'True, False or Unknown' }),
      reason: Type.Optional(Type.String()),
      message: Type.Optional(Type.String()),
      lastTransitionTime: Type.Optional(Type.String()),
    }),
    { description: "The kubelet's conditions: Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable…" },
  ),
});
export type NodeLiveState = Static<typeof nodeLiveStateSchema>;

export const NODE_SOURCES = ['live', 'recorded'] as const;

export const nodeSchema = Type.Object({
  name: Type.String(),
  role: Type.Enum(['control-plane', 'worker'], { type: 'string' }),
  pool: Type.String(),
  status: Type.Enum(['Ready', 'NotReady'], { type: 'string' }),
  kubernetesVersion: Type.String({ description: "The kubelet's version (live), or the one cx installed (recorded)" }),
  source: Type.Enum(NODE_SOURCES, {
    type: 'string',
    description:
      "live: status, kubernetesVersion and the fields below were read from the cluster's Kubernetes API just now; recorded: what cx last recorded (a provider without a Kubernetes API, a cluster whose API is not up or did not answer, a node not registered there yet)",
  }),
  unschedulable: Type.Optional(nodeLiveStateSchema.properties.unschedulable),
  schedulable: Type.Optional(nodeLiveStateSchema.properties.schedulable),
  labels: Type.Optional(nodeLiveStateSchema.properties.labels),
  taints: Type.Optional(nodeLiveStateSchema.properties.taints),
  conditions: Type.Optional(nodeLiveStateSchema.properties.conditions),
  machine: Type.Object({
    id: Type.String(),
    phase: Type.String(),
    providerId: NullableString(),
    addresses: Type.Array(Type.String()),
    condition: machineConditionSchema,
  }),
});
export type Node = Static<typeof nodeSchema>;

/** GET /clusters/{id}/nodes: one pool's nodes or all, a page at a time, by name. */
export const nodeListQuerySchema = Type.Object(
  {
    pool: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        description: "Only this pool's nodes (control-plane: the control plane's)",
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: PAGE_LIMIT_MAX,
        default: PAGE_LIMIT_MAX,
        description:
          'Nodes per page; by default the most a page holds, so that one page shows the nodes of nearly every cluster',
      }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 256, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type NodeListQuery = WithDefaults<Static<typeof nodeListQuerySchema>, 'limit'>;
