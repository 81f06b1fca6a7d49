/**
 * The pure parts of the wizard's topology, health policy and quota checks, and of which cluster
 * actions a provider and a role allow: kept apart from the pages so that they are unit-tested.
 */
import type { Cluster, ProviderInfo, Quotas, ResourceGroup, Role, Workflow } from '@cx/api-schemas';

export const TOPOLOGIES = {
  single: { label: 'Single node', hint: 'One machine runs the control plane and the workloads' },
  converged: {
    label: 'Three-node converged',
    hint: 'Three control-plane machines that run the workloads too (etcd keeps a majority when one is lost)',
  },
  ha: { label: 'HA control plane + pools', hint: 'Three control-plane machines, workloads on worker pools' },
  pair: {
    label: 'Two-node pair',
    hint: 'Two single-node clusters, the sides, and the pair that joins them: cx runs each singleton on one side at a time and moves it when a side is lost (docs/two-node-pair.md)',
  },
  custom: { label: 'Custom', hint: 'Choose the control plane and the pools yourself' },
} as const;
export type Topology = keyof typeof TOPOLOGIES;

/** The control plane and pools a topology means; `workers` false: no worker pool. */
export function topologyShape(topology: Topology): { cpCount: string; schedulable: boolean; workers: boolean } | null {
  switch (topology) {
    case 'single':
    case 'pair':
      return { cpCount: '1', schedulable: true, workers: false };
    case 'converged':
      return { cpCount: '3', schedulable: true, workers: false };
    case 'ha':
      return { cpCount: '3', schedulable: false, workers: true };
    case 'custom':
      return null;
  }
}

/** Machines and their sizes, as a create request has them (sizes absent: the schema's defaults). */
export interface Shape {
  controlPlane: { count: number; vcpus?: number | undefined; memoryMiB?: number | undefined };
  nodePools: { count: number; vcpus?: number | undefined; memoryMiB?: number | undefined }[];
}

/** What a request costs against quotas, counted as sm counts it (clusterFootprint in services/sm). */
export function footprint(shape: Shape, defaults: { vcpus: number; memoryMiB: number }): Required<Quotas> {
  const pools = [shape.controlPlane, ...shape.nodePools];
  return {
    clusters: 1,
    nodes: pools.reduce((n, p) => n + p.count, 0),
    vcpus: pools.reduce((n, p) => n + p.count * (p.vcpus ?? defaults.vcpus), 0),
    memoryMiB: pools.reduce((n, p) => n + p.count * (p.memoryMiB ?? defaults.memoryMiB), 0),
  };
}

export interface QuotaLine {
  quota: keyof Quotas;
  limit: number;
  used: number;
  left: number;
  needed: number;
  /** The request would go over this quota: sm would refuse it (CX_QUOTA_EXCEEDED). */
  over: boolean;
}

/** The group's limited quotas: what is left, and whether `needed` fits (an absent quota is unlimited). */
export function quotaLines(group: Pick<ResourceGroup, 'quotas' | 'usage'>, needed: Required<Quotas>): QuotaLine[] {
  return (['clusters', 'nodes', 'vcpus', 'memoryMiB'] as const).flatMap((quota) => {
    const limit = group.quotas[quota];
    if (limit === undefined) return [];
    const used = group.usage[quota];
    return [
      {
        quota,
        limit,
        used,
        left: Math.max(0, limit - used),
        needed: needed[quota],
        over: needed[quota] > 0 && used + needed[quota] > limit,
      },
    ];
  });
}

/**
 * The storm guard as typed: empty (the default), a count (`2`) or a percentage (`40%`), as the
 * schema's oneOf has them; a message otherwise.
 */
export function parseMaxUnhealthy(text: string): { value: number | string | undefined } | { problem: string } {
  const typed = text.trim();
  if (!typed) return { value: undefined };
  if (/^\d+$/.test(typed)) return { value: Number(typed) };
  if (/^(100|[1-9]?[0-9])%$/.test(typed)) return { value: typed };
  return { problem: 'a count (2) or a percentage from 0% to 100% (40%)' };
}

const rank: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const atLeast = (role: Role | undefined, wanted: Role): boolean => role !== undefined && rank[role] >= rank[wanted];

/** Which of a cluster's actions the provider can do and the role may take (wfm decides again on each call). */
export function clusterActions(
  cluster: Pick<Cluster, 'status' | 'nodePools' | 'apiEndpoint'>,
  provider: Pick<ProviderInfo, 'capabilities'> | undefined,
  role: Role | undefined,
) {
  const can = provider?.capabilities ?? { power: false, loadBalancer: false, virtualIp: false };
  const ready = cluster.status === 'Ready';
  const hasWorkers = cluster.nodePools.some((p) => p.count > 0);
  return {
    /** OS upgrade: providers whose machines boot an image cx picks, clusters with workers. */
    osUpgrade: !!can.osImages && atLeast(role, 'operator') && ready && hasWorkers,
    osRollback: !!can.osImages && atLeast(role, 'operator'),
    rotateCertificates: !!can.certificateRotation && atLeast(role, 'admin') && ready,
    // As wfm has it: refused only where a Kubernetes API runs without certificate rotation.
    rotateCa: (!!can.certificateRotation || !can.kubernetesApi) && atLeast(role, 'admin') && ready,
    addons: !!can.kubernetesApi,
    manageAddons: !!can.kubernetesApi && atLeast(role, 'operator'),
    haConfigs: !!can.kubernetesApi,
    manageHaConfigs: !!can.kubernetesApi && atLeast(role, 'operator'),
    etcdSnapshots: !!can.etcdSnapshot,
    takeSnapshot: !!can.etcdSnapshot && atLeast(role, 'operator') && ready,
    restoreSnapshot: !!can.etcdSnapshot && atLeast(role, 'admin'),
  };
}
export type ClusterActions = ReturnType<typeof clusterActions>;

/** The last OS upgrade if it failed or was cancelled and no rollback ran since: the one to roll back. */
export function rollbackCandidate(runs: Pick<Workflow, 'id' | 'workflow' | 'status'>[]): string | undefined {
  // Runs come newest first.
  const last = runs.find((r) => r.workflow === 'cluster.os-upgrade' || r.workflow === 'cluster.os-upgrade-rollback');
  return last?.workflow === 'cluster.os-upgrade' && (last.status === 'Failed' || last.status === 'Cancelled')
    ? last.id
    : undefined;
}
