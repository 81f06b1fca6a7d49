/**
 * The resource kinds `cx get` reads: where each lives in the public API, how it is named, and its
 * table. Names or ids are accepted everywhere: a kind the API addresses by name too is asked
 * directly; otherwise the name is found by listing (every page), client-side.
 */
import type {
  Cluster,
  ClusterAddon,
  ClusterTemplate,
  EtcdSnapshotInfo,
  Credential,
  Grant,
  Group,
  HaConfig,
  Host,
  IpPool,
  Node,
  NodePoolRequest,
  Pair,
  ProviderInfo,
  ResourceGroup,
  Taint,
  User,
  Workflow,
} from '@cx/api-schemas';
import { ApiError, type Client } from './client.js';
import { CliError, EXIT, UsageError } from './exit-codes.js';
import type { Column } from './output.js';

/** One resource kind of `cx get`. */
export interface ResourceKind<T = unknown> {
  /** Plural, as typed: `clusters`. */
  plural: string;
  /** Singular, for `-o name` (`cluster/demo`) and messages. */
  singular: string;
  aliases: string[];
  /** Lives under a cluster (`-c/--cluster` required). */
  clusterScoped?: boolean;
  /** The list's path (with the cluster's id when cluster-scoped) and its query. */
  listPath(clusterId?: string): { path: string; query?: Record<string, string> };
  /** The route takes `limit` and `cursor`. */
  paged: boolean;
  /** `GET {list path}/{id or name}` exists. */
  getPath?(idOrName: string, clusterId?: string): string;
  /** The API resolves names itself on the get route (else cx finds them in the list). */
  serverResolvesNames?: boolean;
  name(item: T): string;
  id(item: T): string;
  columns: Column<T>[];
  /** Reads every item itself instead of the generic list (node pools come from the cluster). */
  listItems?(client: Client, clusterId?: string): Promise<T[]>;
}

/** How long ago an ISO time was, kubectl style: 45s, 12m, 5h, 3d. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return '';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export const labelsText = (labels: Record<string, string> | undefined): string =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** Taints as kubectl writes them: `key=value:Effect,…`. */
export const taintsText = (taints: Taint[] | undefined): string =>
  (taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(',');

const encode = encodeURIComponent;

/** A pool as `cx get nodepools` shows it: the control plane is one of them, as the scale route names it. */
export interface PoolView extends NodePoolRequest {
  role: 'control-plane' | 'worker';
}

export function poolsOf(cluster: Cluster): PoolView[] {
  return [
    { name: 'control-plane', role: 'control-plane', ...cluster.controlPlane, count: cluster.controlPlane.count },
    ...cluster.nodePools.map((p) => ({ ...p, role: 'worker' as const })),
  ];
}

export const workersOf = (cluster: Cluster): number => cluster.nodePools.reduce((sum, p) => sum + p.count, 0);

/** The step a run is at, `2/5 provision-machines`, or its last when it ended. */
export function stepText(run: Workflow): string {
  if (run.steps.length === 0) return '';
  const index = Math.min(run.currentStep, run.steps.length - 1);
  return `${index + 1}/${run.steps.length} ${run.steps[index]!.name}`;
}

const clusters: ResourceKind<Cluster> = {
  plural: 'clusters',
  singular: 'cluster',
  aliases: ['cluster', 'cl'],
  listPath: () => ({ path: '/clusters' }),
  paged: true,
  getPath: (id) => `/clusters/${encode(id)}`,
  name: (c) => c.name,
  id: (c) => c.id,
  columns: [
    { header: 'NAME', value: (c) => c.name },
    { header: 'PROVIDER', value: (c) => c.provider },
    { header: 'VERSION', value: (c) => c.kubernetesVersion },
    { header: 'STATUS', value: (c) => c.status, status: true },
    { header: 'CONTROL-PLANE', value: (c) => c.controlPlane.count },
    { header: 'WORKERS', value: (c) => workersOf(c) },
    { header: 'AGE', value: (c) => age(c.createdAt) },
    { header: 'ID', value: (c) => c.id, wide: true },
    { header: 'RESOURCE-GROUP', value: (c) => c.resourceGroupId, wide: true },
    { header: 'ENDPOINT', value: (c) => c.apiEndpoint, wide: true },
    { header: 'WORKFLOW', value: (c) => c.activeWorkflowId, wide: true },
    { header: 'MESSAGE', value: (c) => c.statusMessage, wide: true },
  ],
};

const nodes: ResourceKind<Node> = {
  plural: 'nodes',
  singular: 'node',
  aliases: ['node', 'no'],
  clusterScoped: true,
  listPath: (clusterId) => ({ path: `/clusters/${encode(clusterId!)}/nodes` }),
  paged: false,
  name: (n) => n.name,
  id: (n) => n.name,
  columns: [
    { header: 'NAME', value: (n) => n.name },
    { header: 'ROLE', value: (n) => n.role },
    { header: 'POOL', value: (n) => n.pool },
    { header: 'STATUS', value: (n) => n.status, status: true },
    { header: 'VERSION', value: (n) => n.kubernetesVersion },
    { header: 'PHASE', value: (n) => n.machine?.phase, wide: true },
    { header: 'ADDRESSES', value: (n) => n.machine?.addresses?.join(','), wide: true },
    { header: 'PROVIDER-ID', value: (n) => n.machine?.providerId, wide: true },
    { header: 'CONDITION', value: (n) => n.machine?.condition?.reason, wide: true },
  ],
};

const nodepools: ResourceKind<PoolView> = {
  plural: 'nodepools',
  singular: 'nodepool',
  aliases: ['nodepool', 'np', 'pools', 'pool'],
  clusterScoped: true,
  listPath: (clusterId) => ({ path: `/clusters/${encode(clusterId!)}` }),
  paged: false,
  name: (p) => p.name,
  id: (p) => p.name,
  listItems: async (client, clusterId) => poolsOf(await client.get<Cluster>(`/clusters/${encode(clusterId!)}`)),
  columns: [
    { header: 'NAME', value: (p) => p.name },
    { header: 'ROLE', value: (p) => p.role },
    { header: 'COUNT', value: (p) => p.count },
    { header: 'VCPUS', value: (p) => p.vcpus },
    { header: 'MEMORY-MIB', value: (p) => p.memoryMiB },
    { header: 'LABELS', value: (p) => labelsText(p.labels) },
    {
      header: 'TAINTS',
      value: (p) => taintsText(p.taints),
      wide: true,
    },
  ],
};

const workflows: ResourceKind<Workflow> = {
  plural: 'workflows',
  singular: 'workflow',
  aliases: ['workflow', 'wf', 'runs'],
  listPath: () => ({ path: '/workflows' }),
  paged: true,
  getPath: (id) => `/workflows/${encode(id)}`,
  serverResolvesNames: true,
  name: (w) => w.id,
  id: (w) => w.id,
  columns: [
    { header: 'ID', value: (w) => w.id },
    { header: 'WORKFLOW', value: (w) => w.workflow },
    { header: 'STATUS', value: (w) => w.status, status: true },
    { header: 'STEP', value: (w) => stepText(w) },
    { header: 'CLUSTER', value: (w) => w.clusterId },
    { header: 'AGE', value: (w) => age(w.createdAt) },
    { header: 'BY', value: (w) => w.createdBy, wide: true },
    { header: 'ERROR', value: (w) => w.error?.message, wide: true },
  ],
};

const users: ResourceKind<User> = {
  plural: 'users',
  singular: 'user',
  aliases: ['user'],
  listPath: () => ({ path: '/users' }),
  paged: true,
  getPath: (id) => `/users/${encode(id)}`,
  name: (u) => u.username,
  id: (u) => u.id,
  columns: [
    { header: 'USERNAME', value: (u) => u.username },
    { header: 'SOURCE', value: (u) => u.source },
    { header: 'ROLE', value: (u) => u.role },
    { header: 'DISABLED', value: (u) => u.disabled },
    { header: 'GROUPS', value: (u) => (u.groups ?? []).join(',') },
    { header: 'LAST-LOGIN', value: (u) => age(u.lastLoginAt) },
    { header: 'ID', value: (u) => u.id, wide: true },
    { header: 'EMAIL', value: (u) => u.email, wide: true },
  ],
};

const groups: ResourceKind<Group> = {
  plural: 'groups',
  singular: 'group',
  aliases: ['group'],
  listPath: () => ({ path: '/groups' }),
  paged: true,
  getPath: (id) => `/groups/${encode(id)}`,
  serverResolvesNames: true,
  name: (g) => g.name,
  id: (g) => g.id,
  columns: [
    { header: 'NAME', value: (g) => g.name },
    { header: 'MEMBERS', value: (g) => g.members.join(',') },
    { header: 'DESCRIPTION', value: (g) => g.description },
    { header: 'ID', value: (g) => g.id, wide: true },
  ],
};

const grants: ResourceKind<Grant> = {
  plural: 'grants',
  singular: 'grant',
  aliases: ['grant'],
  listPath: () => ({ path: '/grants' }),
  paged: true,
  name: (g) => g.id,
  id: (g) => g.id,
  columns: [
    { header: 'ID', value: (g) => g.id },
    { header: 'SUBJECT', value: (g) => `${g.subject.kind}:${g.subject.name}` },
    { header: 'OBJECT', value: (g) => (g.object.id ? `${g.object.kind}:${g.object.id}` : g.object.kind) },
    { header: 'ROLE', value: (g) => g.role },
    { header: 'BY', value: (g) => g.createdBy, wide: true },
    { header: 'AGE', value: (g) => age(g.createdAt), wide: true },
  ],
};

const resourceGroups: ResourceKind<ResourceGroup> = {
  plural: 'resource-groups',
  singular: 'resource-group',
  aliases: ['resource-group', 'rg'],
  listPath: () => ({ path: '/resource-groups' }),
  paged: true,
  getPath: (id) => `/resource-groups/${encode(id)}`,
  serverResolvesNames: true,
  name: (g) => g.name,
  id: (g) => g.id,
  columns: [
    { header: 'NAME', value: (g) => g.name },
    { header: 'CLUSTERS', value: (g) => `${g.usage.clusters}/${g.quotas.clusters ?? '-'}` },
    { header: 'NODES', value: (g) => `${g.usage.nodes}/${g.quotas.nodes ?? '-'}` },
    { header: 'VCPUS', value: (g) => `${g.usage.vcpus}/${g.quotas.vcpus ?? '-'}` },
    { header: 'MEMORY-MIB', value: (g) => `${g.usage.memoryMiB}/${g.quotas.memoryMiB ?? '-'}` },
    { header: 'CREDENTIAL', value: (g) => g.credentialId, wide: true },
    { header: 'DESCRIPTION', value: (g) => g.description, wide: true },
    { header: 'ID', value: (g) => g.id, wide: true },
  ],
};

const credentials: ResourceKind<Credential> = {
  plural: 'credentials',
  singular: 'credential',
  aliases: ['credential', 'cred', 'creds'],
  listPath: () => ({ path: '/credentials' }),
  paged: true,
  getPath: (id) => `/credentials/${encode(id)}`,
  serverResolvesNames: true,
  name: (c) => c.name,
  id: (c) => c.id,
  columns: [
    { header: 'NAME', value: (c) => c.name },
    { header: 'PROVIDER', value: (c) => c.provider },
    { header: 'ENDPOINT', value: (c) => c.endpoint },
    { header: 'USERNAME', value: (c) => c.username },
    { header: 'INSECURE', value: (c) => c.insecure, wide: true },
    { header: 'ID', value: (c) => c.id, wide: true },
  ],
};

const hosts: ResourceKind<Host> = {
  plural: 'hosts',
  singular: 'host',
  aliases: ['host'],
  listPath: () => ({ path: '/hosts' }),
  paged: true,
  getPath: (id) => `/hosts/${encode(id)}`,
  serverResolvesNames: true,
  name: (h) => h.name,
  id: (h) => h.id,
  columns: [
    { header: 'NAME', value: (h) => h.name },
    { header: 'STATE', value: (h) => h.state, status: true },
    { header: 'BMC', value: (h) => `${h.bmc.protocol} ${h.bmc.address}` },
    { header: 'CLAIMED-BY', value: (h) => h.claim?.machineName },
    { header: 'ADDRESSES', value: (h) => h.addresses.join(','), wide: true },
    { header: 'LABELS', value: (h) => labelsText(h.labels), wide: true },
    { header: 'ID', value: (h) => h.id, wide: true },
  ],
};

const ipPools: ResourceKind<IpPool> = {
  plural: 'ip-pools',
  singular: 'ip-pool',
  aliases: ['ip-pool', 'ippools', 'ippool'],
  listPath: () => ({ path: '/ip-pools' }),
  paged: true,
  getPath: (id) => `/ip-pools/${encode(id)}`,
  serverResolvesNames: true,
  name: (p) => p.name,
  id: (p) => p.id,
  columns: [
    { header: 'NAME', value: (p) => p.name },
    { header: 'RANGES', value: (p) => p.ranges },
    { header: 'SIZE', value: (p) => p.size },
    { header: 'ALLOCATED', value: (p) => p.allocated },
    { header: 'FAMILIES', value: (p) => p.families.join(','), wide: true },
    { header: 'ID', value: (p) => p.id, wide: true },
  ],
};

const haConfigs: ResourceKind<HaConfig> = {
  plural: 'ha-configs',
  singular: 'ha-config',
  aliases: ['ha-config', 'haconfigs', 'haconfig'],
  clusterScoped: true,
  listPath: (clusterId) => ({ path: '/ha-configs', query: { clusterId: clusterId! } }),
  paged: false,
  getPath: (id) => `/ha-configs/${encode(id)}`,
  name: (h) => h.name,
  id: (h) => h.id,
  columns: [
    { header: 'NAME', value: (h) => h.name },
    { header: 'VIRTUAL-IPS', value: (h) => h.virtualIps },
    { header: 'SELECTOR', value: (h) => labelsText(h.selector) },
    { header: 'WATCH-PORT', value: (h) => h.watchPort },
    { header: 'SYNC', value: (h) => h.status?.sync?.state, status: true },
    { header: 'INTERFACE', value: (h) => h.interface, wide: true },
    { header: 'UNICAST', value: (h) => h.unicast, wide: true },
    { header: 'NODES', value: (h) => h.status?.applied?.nodes.map((n) => n.name).join(','), wide: true },
    { header: 'ID', value: (h) => h.id, wide: true },
  ],
};

const pairs: ResourceKind<Pair> = {
  plural: 'pairs',
  singular: 'pair',
  aliases: ['pair'],
  listPath: () => ({ path: '/pairs' }),
  paged: true,
  getPath: (id) => `/pairs/${encode(id)}`,
  name: (p) => p.name,
  id: (p) => p.id,
  columns: [
    { header: 'NAME', value: (p) => p.name },
    { header: 'SIDE-A', value: (p) => p.sides.a.clusterId },
    { header: 'SIDE-B', value: (p) => p.sides.b.clusterId },
    { header: 'PREFERRED', value: (p) => p.preferredSide },
    { header: 'PHASE', value: (p) => p.status?.phase },
    { header: 'AFTER-FENCE', value: (p) => p.afterFence, wide: true },
    { header: 'ID', value: (p) => p.id, wide: true },
  ],
};

const templates: ResourceKind<ClusterTemplate> = {
  plural: 'templates',
  singular: 'template',
  aliases: ['template', 'cluster-templates', 'cluster-template'],
  listPath: () => ({ path: '/cluster-templates' }),
  paged: true,
  getPath: (id) => `/cluster-templates/${encode(id)}`,
  serverResolvesNames: true,
  name: (t) => t.name,
  id: (t) => t.id,
  columns: [
    { header: 'NAME', value: (t) => t.name },
    { header: 'PROVIDER', value: (t) => t.provider },
    { header: 'VERSION', value: (t) => t.kubernetesVersion },
    { header: 'CONTROL-PLANE', value: (t) => t.controlPlane?.count },
    { header: 'POOLS', value: (t) => t.nodePools?.map((p) => `${p.name}=${p.count}`).join(',') },
    { header: 'ADDONS', value: (t) => t.addons.map((a) => a.name).join(','), wide: true },
    { header: 'DESCRIPTION', value: (t) => t.description, wide: true },
    { header: 'ID', value: (t) => t.id, wide: true },
  ],
};

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  targetKind: string | null;
  targetId: string | null;
  outcome: string;
  sourceIp: string | null;
  requestId: string | null;
  details?: unknown;
}

const audit: ResourceKind<AuditEntry> = {
  plural: 'audit',
  singular: 'audit',
  aliases: ['audit-log', 'audits'],
  listPath: () => ({ path: '/audit' }),
  paged: true,
  name: (a) => String(a.id),
  id: (a) => String(a.id),
  columns: [
    { header: 'AT', value: (a) => a.at },
    { header: 'ACTOR', value: (a) => a.actor },
    { header: 'ACTION', value: (a) => a.action },
    { header: 'TARGET', value: (a) => (a.targetKind ? `${a.targetKind}/${a.targetId ?? ''}` : '') },
    { header: 'OUTCOME', value: (a) => a.outcome, status: true },
    { header: 'SOURCE-IP', value: (a) => a.sourceIp, wide: true },
    { header: 'REQUEST-ID', value: (a) => a.requestId, wide: true },
    { header: 'ID', value: (a) => a.id, wide: true },
  ],
};

const providers: ResourceKind<ProviderInfo> = {
  plural: 'providers',
  singular: 'provider',
  aliases: ['provider'],
  listPath: () => ({ path: '/providers' }),
  paged: false,
  name: (p) => p.name,
  id: (p) => p.name,
  columns: [
    { header: 'NAME', value: (p) => p.name },
    { header: 'KUBERNETES-VERSIONS', value: (p) => p.kubernetesVersions.join(',') },
    { header: 'CREDENTIAL', value: (p) => p.takesCredential, wide: true },
    { header: 'CONTRACT', value: (p) => p.contractVersion, wide: true },
  ],
};

const addons: ResourceKind<ClusterAddon> = {
  plural: 'addons',
  singular: 'addon',
  aliases: ['addon'],
  clusterScoped: true,
  listPath: (clusterId) => ({ path: `/clusters/${encode(clusterId!)}/addons` }),
  paged: false,
  name: (a) => a.name,
  id: (a) => a.name,
  columns: [
    { header: 'NAME', value: (a) => a.name },
    { header: 'VERSION', value: (a) => a.version },
    { header: 'STATUS', value: (a) => a.status, status: true },
    { header: 'INSTALLED', value: (a) => age(a.installedAt) },
    { header: 'MESSAGE', value: (a) => a.message, wide: true },
    { header: 'WORKFLOW', value: (a) => a.workflowId, wide: true },
  ],
};

const etcdSnapshots: ResourceKind<EtcdSnapshotInfo> = {
  plural: 'etcd-snapshots',
  singular: 'etcd-snapshot',
  aliases: ['etcd-snapshot', 'snapshots', 'snapshot'],
  clusterScoped: true,
  listPath: (clusterId) => ({ path: `/clusters/${encode(clusterId!)}/etcd-snapshots` }),
  paged: true,
  name: (s) => s.id,
  id: (s) => s.id,
  columns: [
    { header: 'ID', value: (s) => s.id },
    { header: 'REVISION', value: (s) => s.revision },
    { header: 'SIZE-BYTES', value: (s) => s.sizeBytes },
    { header: 'AGE', value: (s) => age(s.createdAt) },
    { header: 'ETCD', value: (s) => s.etcdVersion, wide: true },
    { header: 'SHA256', value: (s) => s.sha256, wide: true },
    { header: 'WORKFLOW', value: (s) => s.workflowId, wide: true },
  ],
};

export const RESOURCE_KINDS: ResourceKind[] = [
  clusters,
  nodes,
  nodepools,
  workflows,
  users,
  groups,
  grants,
  resourceGroups,
  credentials,
  hosts,
  ipPools,
  haConfigs,
  addons,
  etcdSnapshots,
  pairs,
  templates,
  audit,
  providers,
];

export function findKind(typed: string): ResourceKind {
  const lower = typed.toLowerCase();
  const kind = RESOURCE_KINDS.find((k) => k.plural === lower || k.aliases.includes(lower));
  if (!kind)
    throw new UsageError(`unknown resource type ${typed}`, `one of ${RESOURCE_KINDS.map((k) => k.plural).join(', ')}`);
  return kind;
}

/**
 * Splits `cluster/demo` (kubectl's TYPE/NAME) or `TYPE NAME…` into the kind and the names.
 * `expected` restricts the kind (`cx scale` scales clusters only).
 */
export function parseTarget(args: string[], expected?: string): { kind: ResourceKind; names: string[] } {
  const [first, ...rest] = args;
  if (!first) throw new UsageError('name a resource type', `e.g. ${expected ?? 'clusters'}`);
  const slash = first.indexOf('/');
  const kind = findKind(slash >= 0 ? first.slice(0, slash) : first);
  const names = slash >= 0 ? [first.slice(slash + 1), ...rest] : rest;
  if (expected && kind.singular !== expected)
    throw new UsageError(`this command acts on a ${expected}, not a ${kind.singular}`, `e.g. ${expected}/NAME`);
  if (names.some((n) => n === '')) throw new UsageError(`${first}: the name after / is empty`);
  return { kind, names };
}

/** Every item of a kind (of a cluster, for the cluster-scoped ones). */
export async function listKind<T>(client: Client, kind: ResourceKind<T>, clusterId?: string): Promise<T[]> {
  if (kind.clusterScoped && !clusterId)
    throw new UsageError(`${kind.plural} belong to a cluster`, `give it with -c/--cluster NAME`);
  if (kind.listItems) return kind.listItems(client, clusterId);
  const { path, query } = kind.listPath(clusterId);
  return client.list<T>(path, query, kind.paged);
}

/**
 * One item by id or name: asked directly when the API has a get route (ids always work there, names
 * where the API resolves them), else — or when that answers 404 — found by name or id in the list.
 */
export async function getOne<T>(
  client: Client,
  kind: ResourceKind<T>,
  idOrName: string,
  clusterId?: string,
): Promise<T> {
  if (kind.getPath) {
    try {
      return await client.get<T>(kind.getPath(idOrName, clusterId));
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404 || kind.serverResolvesNames) throw error;
    }
  }
  const items = await listKind(client, kind, clusterId);
  const found = items.find((item) => kind.name(item) === idOrName) ?? items.find((item) => kind.id(item) === idOrName);
  if (!found)
    throw new CliError(
      `${kind.singular} ${idOrName} does not exist${clusterId ? ` in cluster ${clusterId}` : ''}`,
      EXIT.notFound,
      'CX_NOT_FOUND',
      `cx get ${kind.plural}${kind.clusterScoped ? ' -c CLUSTER' : ''} lists them`,
    );
  return found;
}

/**
 * A cluster by name or id. The one place names become ids: the API addresses clusters by id only,
 * so a name is looked up in the list.
 */
export async function findCluster(client: Client, idOrName: string): Promise<Cluster> {
  return getOne<Cluster>(client, clusters, idOrName);
}

/** A cluster by name or id, or undefined when there is none (`cx apply` creates it then). */
export async function findClusterIfAny(client: Client, idOrName: string): Promise<Cluster | undefined> {
  try {
    return await findCluster(client, idOrName);
  } catch (error) {
    if (error instanceof CliError && error.exitCode === EXIT.notFound) return undefined;
    throw error;
  }
}

/**
 * Items of a cluster-scoped kind by name or id, from one list of the cluster's; a name it does not
 * have is exit 5, saying how to list them.
 */
export async function findInCluster<T>(
  client: Client,
  kind: ResourceKind<T>,
  cluster: Pick<Cluster, 'id' | 'name'>,
  names: string[],
): Promise<T[]> {
  const items = await listKind(client, kind, cluster.id);
  return names.map((name) => {
    const found = items.find((i) => kind.name(i) === name) ?? items.find((i) => kind.id(i) === name);
    if (!found)
      throw new CliError(
        `${kind.singular} ${name} does not exist in cluster ${cluster.name}`,
        EXIT.notFound,
        'CX_NOT_FOUND',
        `cx get ${kind.plural} -c ${cluster.name} lists them`,
      );
    return found;
  });
}

export {
  clusters as CLUSTER_KIND,
  workflows as WORKFLOW_KIND,
  audit as AUDIT_KIND,
  nodes as NODE_KIND,
  addons as ADDON_KIND,
  etcdSnapshots as ETCD_SNAPSHOT_KIND,
  haConfigs as HA_CONFIG_KIND,
};
