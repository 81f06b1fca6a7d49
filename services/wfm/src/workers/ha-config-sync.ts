/**
 * Applies ha-configs again when sddc's health monitor found that the nodes their selector matches
 * are no longer those they were last applied to (queue `ha-config-syncs`): it starts the
 * `ha-config.apply` workflow as the actor `cx:ha-config`, audited. The job id and the idempotency
 * key both come from the ha-config, its last apply and the nodes that match, so a repeated report
 * or a crash in between starts nothing twice. While another workflow holds the cluster (sm's one
 * workflow per cluster, 409) the job is retried later with a growing delay.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Cluster, HaConfig } from '@cx/api-schemas';
import { ConflictError, CxError } from '@cx/errors';
import {
  HA_CONFIG_SYNC_QUEUE,
  haConfigSyncBackoffMs,
  haConfigSyncJobId,
  type HaConfigSyncRequest,
} from '@cx/queue-contracts';
import { throttled, type Logger } from '@cx/service-kit';
import type { WorkflowEngine } from '../engine.js';
import type { SmClient } from '@cx/sm-contract';
import { runSteps } from '../workflows/define.js';
import { APPLY_HA_CONFIG } from '../workflows/ha-config.js';

/** Who automatic re-applies of ha-configs are recorded as started by (workflows and the audit log). */
export const HA_CONFIG_ACTOR = 'cx:ha-config';

const notFound = (error: unknown): boolean => error instanceof CxError && error.code === 'CX_NOT_FOUND';

export function haConfigSyncWorker(options: {
  connection: Redis;
  prefix: string;
  engine: WorkflowEngine;
  sm: SmClient;
  logger: Logger;
}): Worker<HaConfigSyncRequest> {
  const { engine, sm, logger } = options;
  const worker = new Worker<HaConfigSyncRequest>(
    HA_CONFIG_SYNC_QUEUE,
    async (job) => {
      const request = job.data;
      let haConfig: HaConfig;
      let cluster: Cluster;
      try {
        haConfig = await sm.haConfig(request.haConfigId);
        cluster = await sm.getCluster(request.clusterId);
      } catch (error) {
        if (notFound(error)) return { skipped: 'the ha-config or its cluster no longer exists' };
        throw error;
      }
      // Someone applied it since the monitor looked: the monitor compares with that apply next time.
      const appliedBy = haConfig.status?.applied?.workflowId ?? null;
      if (appliedBy !== request.appliedBy) return { skipped: `applied since by workflow ${appliedBy ?? '(none)'}` };
      // A cluster a failed workflow left behind is not marked Ready by an apply: wait until it is Ready again.
      if (!cluster.activeWorkflowId && cluster.status !== 'Ready') {
        throw new ConflictError(
          `cluster ${cluster.name} is ${cluster.status}; ha-config ${haConfig.name} is applied again once it is Ready`,
        );
      }
      const definition = engine.definition(APPLY_HA_CONFIG);
      const idempotencyKey = haConfigSyncJobId(request);
      let accepted;
      try {
        accepted = await sm.startClusterWorkflow(request.clusterId, {
          actor: HA_CONFIG_ACTOR,
          idempotencyKey,
          requestHash: createHash('sha256').update(idempotencyKey).digest('hex'),
          workflow: {
            workflow: definition.name,
            version: definition.version,
            steps: runSteps(definition, { haConfigId: haConfig.id }),
            input: { haConfigId: haConfig.id },
            clusterStatus: 'Updating',
          },
        });
      } catch (error) {
        if (notFound(error)) return { skipped: 'the cluster no longer exists' };
        // A busy cluster (CX_CLUSTER_BUSY) is tried again after the job's backoff.
        logger.debug(
          {
            clusterId: request.clusterId,
            haConfig: haConfig.name,
            err: (error as Error).message,
            attempt: job.attemptsMade + 1,
          },
          'ha-config re-apply waits',
        );
        throw error;
      }
      const workflowId = accepted.body.workflow.id;
      if (!accepted.replayed) {
        await engine.enqueue({ runId: workflowId, stepIndex: 0, generation: 0 });
        await sm.audit({
          actor: HA_CONFIG_ACTOR,
          action: 'ha-config.reapply',
          targetKind: 'ha-config',
          targetId: haConfig.id,
          outcome: 'accepted',
          details: {
            clusterId: request.clusterId,
            name: haConfig.name,
            reason: request.reason,
            nodes: request.nodes.map((n) => n.name),
            workflowId,
          },
        });
        logger.info(
          { clusterId: request.clusterId, haConfig: haConfig.name, reason: request.reason, workflowId },
          'ha-config re-apply started',
        );
      }
      return { workflowId };
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: 4,
      autorun: false,
      settings: { backoffStrategy: (attemptsMade: number) => haConfigSyncBackoffMs(attemptsMade) },
    },
  );
  worker.on(
    'error',
    throttled((error, repeats) => logger.error({ err: error, repeats }, 'ha-config sync worker error')),
  );
  return worker;
}
