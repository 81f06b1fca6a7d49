/** Row ↔ wire mapping of the clusters and machines tables (migrations/0001_core and later). */
import {
  healthPolicyOf,
  type Cluster,
  type ClusterCreateRequest,
  type ClusterHealthStatus,
  type ClusterTemplateRef,
  type MachineCondition,
  type ClusterStatus,
  type Node,
} from '@cx/api-schemas';
import { NotFoundError } from '@cx/errors';
import type { Machine } from '@cx/sm-contract';
import type { Knex } from 'knex';
import { withDatabase } from '../db/database.js';
import type { PreparedSql } from '../db/prepared.js';

export interface ClusterRow {
  id: string;
  name: string;
  provider: string;
  kubernetes_version: string;
  status: ClusterStatus;
  status_message: string | null;
  spec: string;
  active_run_id: string | null;
  resource_group_id?: string | null;
  api_endpoint?: string | null;
  health_status?: string | null;
  api_vip?: string | null;
  template?: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface MachineRow {
  id: string;
  cluster_id: string;
  pool: string;
  name: string;
  role: 'control-plane' | 'worker';
  kubernetes_version: string;
  phase: string;
  provider_id: string | null;
  addresses: string | null;
  node_status: 'Ready' | 'NotReady';
  condition?: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

export function toCluster(row: ClusterRow): Cluster {
  const spec = JSON.parse(row.spec) as ClusterCreateRequest;
  return {
    id: row.id,
    name: row.name,
    provider: row.provider,
    kubernetesVersion: row.kubernetes_version,
    status: row.status,
    statusMessage: row.status_message,
    controlPlane: spec.controlPlane,
    nodePools: spec.nodePools,
    activeWorkflowId: row.active_run_id,
    resourceGroupId: row.resource_group_id ?? null,
    apiEndpoint: row.api_endpoint ?? null,
    // The control-plane pool has no health overrides of its own: the cluster's policy applies.
    apiVip: row.api_vip ?? null,
    health: healthPolicyOf(spec, 'control-plane'),
    healthStatus: row.health_status ? (JSON.parse(row.health_status) as ClusterHealthStatus) : null,
    template: row.template ? (JSON.parse(row.template) as ClusterTemplateRef) : null,
    osImage: (spec as { osImage?: string }).osImage ?? null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toMachine(row: MachineRow): Machine {
  return {
    id: row.id,
    clusterId: row.cluster_id,
    pool: row.pool,
    name: row.name,
    role: row.role,
    kubernetesVersion: row.kubernetes_version,
    phase: row.phase,
    providerId: row.provider_id,
    addresses: row.addresses ? (JSON.parse(row.addresses) as string[]) : [],
    nodeStatus: row.node_status,
    createdAt: row.created_at,
    version: row.version,
  };
}

export function toNode(row: MachineRow): Node {
  const machine = toMachine(row);
  return {
    name: row.name,
    role: row.role,
    pool: row.pool,
    status: row.node_status,
    kubernetesVersion: row.kubernetes_version,
    source: 'recorded',
    machine: {
      id: machine.id,
      phase: machine.phase,
      providerId: machine.providerId,
      addresses: machine.addresses,
      condition: row.condition ? (JSON.parse(row.condition) as MachineCondition) : null,
    },
  };
}

/** The cluster's row, in `db` or a transaction; a 404 naming it when there is none. */
export async function clusterRow(db: Knex | Knex.Transaction | PreparedSql, id: string): Promise<ClusterRow> {
  const row = await withDatabase(() =>
    typeof db === 'function'
      ? db<ClusterRow>('clusters').where({ id }).first()
      : db.first<ClusterRow>('SELECT * FROM `clusters` WHERE `id` = ?', [id]),
  );
  if (!row) throw new NotFoundError(`cluster ${id} does not exist`);
  return row as ClusterRow;
}

/** The cluster's machines by name. */
export async function machinesOf(db: Knex, clusterId: string): Promise<Machine[]> {
  const rows = await withDatabase(() => db<MachineRow>('machines').where({ cluster_id: clusterId }).orderBy('name'));
  return (rows as MachineRow[]).map(toMachine);
}
