/** Starting a workflow from a public call: the start request sm records, and the 202 answer. */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WorkflowDefinition, WorkflowEngine } from '../engine.js';
import type { Accepted, StartRequest } from '@cx/sm-contract';
import { runSteps } from '../workflows/define.js';

/** Headers of every call that starts a workflow: a retry with the same key gets the first answer. */
export const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: 'Makes a retry of this request return the first answer',
    },
  },
} as const;

/** What sm records for a run started by this request: the steps a run with this input goes through (their `when`), the input, the cluster's new status. */
export function startRequest(
  request: FastifyRequest,
  definition: WorkflowDefinition,
  clusterStatus: StartRequest['workflow']['clusterStatus'],
  input: Record<string, unknown>,
): StartRequest {
  const key = request.headers['idempotency-key'];
  return {
    actor: request.user!.id,
    idempotencyKey: typeof key === 'string' ? key : undefined,
    requestHash: createHash('sha256')
      .update(`${request.method} ${request.url.split('?')[0]} ${JSON.stringify(request.body ?? null)}`)
      .digest('hex'),
    workflow: {
      workflow: definition.name,
      version: definition.version,
      steps: runSteps(definition, input),
      input,
      clusterStatus,
    },
  };
}

export async function acceptWorkflow(
  reply: FastifyReply,
  engine: WorkflowEngine,
  accepted: Accepted,
): Promise<FastifyReply> {
  // A replayed answer's workflow was enqueued the first time (and the reconciler covers a crash since).
  if (!accepted.replayed) await engine.enqueue({ runId: accepted.body.workflow.id, stepIndex: 0, generation: 0 });
  else void reply.header('idempotent-replayed', 'true');
  void reply.header('location', `/api/v1/workflows/${accepted.body.workflow.id}`);
  return reply.code(202).send(accepted.body);
}
