/**
 * What workflow steps change of a cluster and its machines: the effects a step commits with its
 * result (runs/effects.ts dispatches them), each a write of the clusters, node_pools or machines rows.
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { ClusterCreateRequest, ClusterStatus, MachineCondition } from '@cx/api-schemas';
import { ConflictError } from '@cx/errors';
import type { StepEffect } from '@cx/sm-contract';

type Effect<K extends StepEffect['kind']> = Extract<StepEffect, { kind: K }>;

/** Records the machines a step is about to make; those already recorded stay as they are. */
export async function upsertMachines(
  trx: Knex.Transaction,
  clusterId: string,
  machines: Effect<'upsertMachines'>['machines'],
  now: string,
): Promise<void> {
  const existing = new Set(
    ((await trx('machines').where({ cluster_id: clusterId }).select('name')) as Array<{ name: string }>).map(
      (m) => m.name,
    ),
  );
  const fresh = machines.filter((m) => !existing.has(m.name));
  if (fresh.length === 0) return;
  await trx('machines').insert(
    fresh.map((m) => ({
      id: uuidv7(),
      cluster_id: clusterId,
      pool: m.pool,
      name: m.name,
      role: m.role,
      kubernetes_version: m.kubernetesVersion,
      phase: 'Pending',
      provider_id: null,
      addresses: null,
      node_status: 'NotReady',
      created_at: now,
      updated_at: now,
      version: 1,
    })),
  );
}

export async function updateMachines(
  trx: Knex.Transaction,
  clusterId: string,
  machines: Effect<'updateMachines'>['machines'],
  now: string,
): Promise<void> {
  for (const m of machines) {
    const changes: Record<string, unknown> = { updated_at: now, version: trx.raw('version + 1') };
    // A machine the provider answered for again has no failure to show.
    if (m.phase !== undefined) Object.assign(changes, { phase: m.phase, condition: null });
    if (m.providerId !== undefined) changes['provider_id'] = m.providerId;
    if (m.addresses !== undefined) changes['addresses'] = JSON.stringify(m.addresses);
    if (m.nodeStatus !== undefined) changes['node_status'] = m.nodeStatus;
    if (m.kubernetesVersion !== undefined) changes['kubernetes_version'] = m.kubernetesVersion;
    await trx('machines').where({ id: m.id, cluster_id: clusterId }).update(changes);
  }
}

export async function deleteMachines(trx: Knex.Transaction, clusterId: string, ids: string[]): Promise<void> {
  if (ids.length > 0) await trx('machines').where({ cluster_id: clusterId }).whereIn('id', ids).delete();
}

/** A failed step names the machine it failed on: the machine shows why until the provider answers for it again. */
export async function setMachineCondition(
  trx: Knex.Transaction,
  clusterId: string,
  machineId: string,
  condition: MachineCondition,
): Promise<void> {
  await trx('machines')
    .where({ id: machineId, cluster_id: clusterId })
    .update({ condition: JSON.stringify(condition) });
}

/** Removes an emptied worker pool from the cluster and its spec. */
export async function removePool(trx: Knex.Transaction, clusterId: string, pool: string, now: string): Promise<void> {
  const left = (await trx('machines').where({ cluster_id: clusterId, pool }).count({ n: '*' }).first()) as {
    n: number | string;
  };
  if (Number(left.n) > 0)
    throw new ConflictError(
      `pool ${pool} still has ${left.n} machine(s); it leaves the cluster once they are gone`,
      'CX_CONFLICT',
    );
  await trx('node_pools').where({ cluster_id: clusterId, name: pool, role: 'worker' }).delete();
  await changeSpec(trx, clusterId, now, (spec) => ({
    ...spec,
    nodePools: spec.nodePools.filter((p) => p.name !== pool),
  }));
}

export async function setClusterStatus(
  trx: Knex.Transaction,
  clusterId: string,
  status: ClusterStatus,
  message: string | null,
  now: string,
): Promise<void> {
  await trx('clusters')
    .where({ id: clusterId })
    .update({ status, status_message: message, updated_at: now, version: trx.raw('version + 1') });
}

export async function setClusterVersion(
  trx: Knex.Transaction,
  clusterId: string,
  kubernetesVersion: string,
  now: string,
): Promise<void> {
  await changeSpec(trx, clusterId, now, (spec) => ({ ...spec, kubernetesVersion }), {
    kubernetes_version: kubernetesVersion,
  });
}

/** null: back to the provider's default image (the credential's settings). */
export async function setClusterImage(
  trx: Knex.Transaction,
  clusterId: string,
  osImage: string | null,
  now: string,
): Promise<void> {
  await changeSpec(trx, clusterId, now, (current) => {
    const { osImage: _previous, ...spec } = current as ClusterCreateRequest & { osImage?: string };
    return osImage === null ? spec : { ...spec, osImage };
  });
}

export async function setClusterEndpoint(
  trx: Knex.Transaction,
  clusterId: string,
  apiEndpoint: string,
  now: string,
): Promise<void> {
  await trx('clusters')
    .where({ id: clusterId })
    .update({ api_endpoint: apiEndpoint, updated_at: now, version: trx.raw('version + 1') });
}

/** The cluster's own row, last of a cluster delete: its pools and machines go with it by foreign key, its workflow runs stay as history. */
export async function deleteClusterRow(trx: Knex.Transaction, clusterId: string): Promise<void> {
  await trx('clusters').where({ id: clusterId }).delete();
}

async function changeSpec(
  trx: Knex.Transaction,
  clusterId: string,
  now: string,
  change: (spec: ClusterCreateRequest) => ClusterCreateRequest,
  columns: Record<string, unknown> = {},
): Promise<void> {
  const row = (await trx('clusters').where({ id: clusterId }).first('spec')) as { spec: string };
  const spec = change(JSON.parse(row.spec) as ClusterCreateRequest);
  await trx('clusters')
    .where({ id: clusterId })
    .update({ ...columns, spec: JSON.stringify(spec), updated_at: now, version: trx.raw('version + 1') });
}
