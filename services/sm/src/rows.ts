/** Row ↔ wire mapping for the SQL tables of migrations/0001_core. */
import type { Knex } from 'knex';
import { withDatabase } from './db.js';
import { InputError } from '@cx/errors';
import {
  healthPolicyOf,
  type Cluster,
  type ClusterCreateRequest,
  type ClusterHealthStatus,
  type ClusterTemplateRef,
  type MachineCondition,
  type ClusterStatus,
  type Node,
  type WorkflowStatus,
  type WorkflowStep,
  type StepStatus,
} from '@cx/api-schemas';
import type { Machine, Run } from '@cx/sm-contract';

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

export interface RunRow {
  id: string;
  workflow: string;
  workflow_version: number;
  cluster_id: string;
  status: WorkflowStatus;
  current_step: number;
  generation: number;
  input: string;
  output: string | null;
  error: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  version: number;
}

export interface StepRow {
  run_id: string;
  idx: number;
  name: string;
  status: StepStatus;
  attempts: number;
  message: string | null;
  output: string | null;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
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
    machine: {
      id: machine.id,
      phase: machine.phase,
      providerId: machine.providerId,
      addresses: machine.addresses,
      condition: row.condition ? (JSON.parse(row.condition) as MachineCondition) : null,
    },
  };
}

export function toWorkflow(run: RunRow, steps: StepRow[]): Run {
  return {
    id: run.id,
    workflow: run.workflow,
    workflowVersion: run.workflow_version,
    clusterId: run.cluster_id,
    status: run.status,
    currentStep: run.current_step,
    generation: run.generation,
    input: JSON.parse(run.input) as Record<string, unknown>,
    error: run.error ? (JSON.parse(run.error) as { code: string; message: string }) : null,
    createdBy: run.created_by,
    createdAt: run.created_at,
    startedAt: run.started_at,
    finishedAt: run.finished_at,
    updatedAt: run.updated_at,
    steps: steps
      .sort((a, b) => a.idx - b.idx)
      .map((s) => ({
        name: s.name,
        status: s.status,
        attempts: s.attempts,
        message: s.message,
        error: s.error ? (JSON.parse(s.error) as WorkflowStep['error']) : null,
        startedAt: s.started_at,
        finishedAt: s.finished_at,
        output: s.output ? (JSON.parse(s.output) as unknown) : null,
      })),
  };
}

/** Opaque keyset cursor: the last id of the previous page. */
export function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify({ after: id })).toString('base64url');
}

export function decodeCursor(cursor: string): string | null {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    return typeof value.after === 'string' ? value.after : null;
  } catch {
    return null;
  }
}

/** The id a page starts after; a cursor this API did not write is a 400 naming the parameter. */
export function afterCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const after = decodeCursor(cursor);
  if (after === null)
    throw new InputError('cursor is not one this API returned', [
      { field: 'querystring.cursor', message: 'is invalid' },
    ]);
  return after;
}

/**
 * One keyset page of `query` (rows ordered by id, created in id order since ids are UUIDv7): the
 * rows after `cursor`, at most `limit`, and the cursor of the next page when there is one.
 */
export async function keysetPage<R extends { id: string }>(
  query: Knex.QueryBuilder,
  limit: number,
  cursor: string | undefined,
): Promise<{ rows: R[]; nextCursor: string | null }> {
  const after = afterCursor(cursor);
  void query.orderBy('id').limit(limit + 1);
  if (after) void query.where('id', '>', after);
  const rows = (await withDatabase(() => query)) as R[];
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
}
