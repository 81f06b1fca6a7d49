/**
 * One mutating workflow per cluster: a workflow holds its cluster through `active_run_id` from the
 * transaction that starts it to the one that ends it.
 */
import type { ClusterStatus } from '@cx/api-schemas';
import { ConflictError } from '@cx/errors';
import { setClause, type PreparedSql } from '../db/prepared.js';
import type { ClusterRow } from './rows.js';

/** Takes the cluster for `runId`, refusing while another workflow holds it or the row changed. */
export async function lockCluster(
  sql: PreparedSql,
  cluster: ClusterRow,
  runId: string,
  status: ClusterStatus,
  now: string,
): Promise<void> {
  if (cluster.active_run_id && cluster.active_run_id !== runId) {
    throw new ConflictError(
      `cluster ${cluster.name} has workflow ${cluster.active_run_id} in progress; wait for it to finish or cancel it`,
      'CX_CLUSTER_BUSY',
      { details: { workflowId: cluster.active_run_id } },
    );
  }
  const updated = await sql.run(
    'UPDATE `clusters` SET `active_run_id` = ?, `status` = ?, `status_message` = NULL, `updated_at` = ?, `version` = ? WHERE `id` = ? AND `version` = ?',
    [runId, status, now, cluster.version + 1, cluster.id, cluster.version],
  );
  if (updated !== 1)
    throw new ConflictError(`cluster ${cluster.name} changed concurrently; retry`, 'CX_VERSION_CONFLICT', {
      retryable: true,
    });
}

/** Lets go of the cluster if `runId` still holds it; `outcome` (a failure, say) becomes its status. */
export async function releaseCluster(
  sql: PreparedSql,
  clusterId: string,
  runId: string,
  now: string,
  outcome?: { status: ClusterStatus; message: string },
): Promise<void> {
  const changes = setClause({
    active_run_id: null,
    ...(outcome ? { status: outcome.status, status_message: outcome.message.slice(0, 1024) } : {}),
    updated_at: now,
  });
  await sql.run(
    `UPDATE \`clusters\` SET ${changes.sql}, \`version\` = \`version\` + 1 WHERE \`id\` = ? AND \`active_run_id\` = ?`,
    [...changes.values, clusterId, runId],
  );
}
