/**
 * What workflow steps change of a cluster and its machines: the effects a step commits with its
 * result (runs/effects.ts dispatches them), each a write of the clusters, node_pools or machines rows.
 * The frequent ones (machines, status, endpoint) are prepared statements, on the step path; the
 * rare ones go through knex.
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { ClusterCreateRequest, ClusterStatus, MachineCondition } from '@cx/api-schemas';
import { ConflictError } from '@cx/errors';
import type { StepEffect } from '@cx/sm-contract';
import { setClause, type PreparedSql, type SqlValue } from '../db/prepared.js';

type Effect<K extends StepEffect['kind']> = Extract<StepEffect, { kind: K }>;

/** Records the machines a step is about to make; those already recorded stay as they are. */
export async function upsertMachines(
  sql: PreparedSql,
  clusterId: string,
  machines: Effect<'upsertMachines'>['machines'],
  now: string,
): Promise<void> {
  const existing = new Set(
    (await sql.all<{ name: string }>('SELECT `name` FROM `machines` WHERE `cluster_id` = ?', [clusterId])).map(
      (m) => m.name,
    ),
  );
  for (const m of machines.filter((candidate) => !existing.has(candidate.name)))
    await sql.run(
      'INSERT INTO `machines` (`id`, `cluster_id`, `pool`, `name`, `role`, `kubernetes_version`, `phase`, `provider_id`, `addresses`, `node_status`, `created_at`, `updated_at`, `version`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, 1)',
      [uuidv7(), clusterId, m.pool, m.name, m.role, m.kubernetesVersion, 'Pending', 'NotReady', now, now],
    );
}

export async function updateMachines(
  sql: PreparedSql,
  clusterId: string,
  machines: Effect<'updateMachines'>['machines'],
  now: string,
): Promise<void> {
  for (const m of machines) {
    const changes: Record<string, SqlValue> = { updated_at: now };
    // A machine the provider answered for again has no failure to show.
    if (m.phase !== undefined) Object.assign(changes, { phase: m.phase, condition: null });
    if (m.providerId !== undefined) changes['provider_id'] = m.providerId;
    if (m.addresses !== undefined) changes['addresses'] = JSON.stringify(m.addresses);
    if (m.nodeStatus !== undefined) changes['node_status'] = m.nodeStatus;
    if (m.kubernetesVersion !== undefined) changes['kubernetes_version'] = m.kubernetesVersion;
    const set = setClause(changes);
    await sql.run(
      `UPDATE \`machines\` SET ${set.sql}, \`version\` = \`version\` + 1 WHERE \`id\` = ? AND \`cluster_id\` = ?`,
      [...set.values, m.id, clusterId],
    );
  }
}

export async function deleteMachines(sql: PreparedSql, clusterId: string, ids: string[]): Promise<void> {
  for (const id of ids) await sql.run('DELETE FROM `machines` WHERE `cluster_id` = ? AND `id` = ?', [clusterId, id]);
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
  sql: PreparedSql,
  clusterId: string,
  status: ClusterStatus,
  message: string | null,
  now: string,
): Promise<void> {
  await sql.run(
    'UPDATE `clusters` SET `status` = ?, `status_message` = ?, `updated_at` = ?, `version` = `version` + 1 WHERE `id` = ?',
    [status, message, now, clusterId],
  );
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
  sql: PreparedSql,
  clusterId: string,
  apiEndpoint: string,
  now: string,
): Promise<void> {
  await sql.run(
    'UPDATE `clusters` SET `api_endpoint` = ?, `updated_at` = ?, `version` = `version` + 1 WHERE `id` = ?',
    [apiEndpoint, now, clusterId],
  );
}

/** The cluster's own row, last of a cluster delete: its pools and machines go with it by foreign key, its workflow runs stay as history. */
export async function deleteClusterRow(sql: PreparedSql, clusterId: string): Promise<void> {
  await sql.run('DELETE FROM `clusters` WHERE `id` = ?', [clusterId]);
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
