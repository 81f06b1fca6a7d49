/**
 * Turns the unhealthy nodes sddc's health monitor reports (queue `node-remediations`) into
 * remediation workflows. One workflow per machine and unhealthy episode: the job id and the
 * idempotency key both come from it, so a repeated report or a crash in between starts nothing
 * twice. While another workflow holds the cluster the job is retried a little later.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { CxError } from '@cx/errors';
import { REMEDIATION_QUEUE, remediationJobId, type RemediationRequest } from '@cx/queue-contracts';
import { throttled, type Logger } from '@cx/service-kit';
import type { WorkflowEngine } from '../engine.js';
import type { SmClient } from '@cx/sm-contract';
import { runSteps } from '../workflows/define.js';
import { REMEDIATE_NODE } from '../workflows/node-remediate.js';

/** Who remediations are recorded as started by (workflows and the audit log). */
export const HEALTH_ACTOR = 'cx:node-health';

export function remediationWorker(options: {
  connection: Redis;
  prefix: string;
  engine: WorkflowEngine;
  sm: SmClient;
  logger: Logger;
}): Worker<RemediationRequest> {
  const { engine, sm, logger } = options;
  const worker = new Worker<RemediationRequest>(
    REMEDIATION_QUEUE,
    async (job) => {
      const request = job.data;
      const definition = engine.definition(REMEDIATE_NODE);
      let accepted;
      try {
        accepted = await sm.startClusterWorkflow(request.clusterId, {
          actor: HEALTH_ACTOR,
          idempotencyKey: remediationJobId(request),
          requestHash: createHash('sha256').update(JSON.stringify(request)).digest('hex'),
          workflow: {
            workflow: definition.name,
            version: definition.version,
            steps: runSteps(definition, { ...request }),
            input: { ...request },
            clusterStatus: 'Updating',
          },
        });
      } catch (error) {
        // A deleted cluster needs nothing; a busy one is tried again (the job's backoff).
        if (error instanceof CxError && error.code === 'CX_NOT_FOUND')
          return { skipped: 'the cluster no longer exists' };
        throw error;
      }
      const workflowId = accepted.body.workflow.id;
      if (!accepted.replayed) {
        await engine.enqueue({ runId: workflowId, stepIndex: 0, generation: 0 });
        await sm.audit({
          actor: HEALTH_ACTOR,
          action: 'node.remediate',
          targetKind: 'cluster',
          targetId: request.clusterId,
          outcome: 'accepted',
          details: { machine: request.machineName, reason: request.reason, workflowId },
        });
        logger.info(
          { clusterId: request.clusterId, machine: request.machineName, reason: request.reason, workflowId },
          'remediation started',
        );
      }
      return { workflowId };
    },
    { connection: options.connection, prefix: options.prefix, concurrency: 4, autorun: false },
  );
  worker.on(
    'error',
    throttled((error, repeats) => logger.error({ err: error, repeats }, 'remediation worker error')),
  );
  return worker;
}
