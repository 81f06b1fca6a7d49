/**
 * Workflow runs (`/workflows`, `/workflows/{id}`): list (newest first, only runs on clusters the
 * caller may see), read, cancel, retry from the failed step, and follow as server-sent events.
 */
import type { FastifyInstance } from 'fastify';
import {
  idParamsSchema,
  listSchema,
  workflowListQuerySchema,
  workflowSchema,
  type WorkflowListQuery,
} from '@cx/api-schemas';
import { onParam } from '../http/access-guard.js';
import { problemResponses as errors } from '../http/responses.js';
import type { WorkflowEngine } from '../engine.js';
import type { SmClient } from '@cx/sm-contract';
import { streamWorkflow } from './events.js';

export interface WorkflowRunRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  assertQueueUp: () => void;
}

export async function workflowRunRoutes(app: FastifyInstance, deps: WorkflowRunRouteDeps): Promise<void> {
  const { sm, engine } = deps;

  app.get<{ Querystring: WorkflowListQuery }>(
    '/workflows',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['workflows'],
        summary: 'List the workflow runs on the clusters you may see, newest first',
        description:
          "Filter by `cluster` (id or name), `status` and `workflow` (the run's workflow name). Runs of deleted clusters stay listed for admins (filter by the cluster's id).",
        querystring: workflowListQuerySchema,
        response: { 200: listSchema(workflowSchema), ...errors },
      },
    },
    async (request) => {
      const { cluster, ...filters } = request.query;
      // A name becomes the cluster's id; what names no cluster is taken as the id of a deleted one.
      const clusterId = cluster === undefined ? undefined : ((await sm.resolveName('cluster', cluster)) ?? cluster);
      return sm.listRuns({ ...filters, ...(clusterId === undefined ? {} : { clusterId }), userId: request.user!.id });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/workflows/:id',
    {
      config: { access: onParam('viewer', 'workflow') },
      schema: {
        tags: ['workflows'],
        summary: 'Get a workflow run with its steps',
        params: idParamsSchema,
        response: { 200: workflowSchema, ...errors },
      },
    },
    async (request) => sm.getRun(request.params.id),
  );

  app.post<{ Params: { id: string } }>(
    '/workflows/:id/cancel',
    {
      config: { access: onParam('operator', 'workflow') },
      schema: {
        tags: ['workflows'],
        summary: 'Cancel a Pending or Running workflow; the cluster is marked Failed',
        params: idParamsSchema,
        response: { 200: workflowSchema, ...errors },
      },
    },
    async (request) => sm.cancelRun(request.params.id),
  );

  app.post<{ Params: { id: string } }>(
    '/workflows/:id/retry',
    {
      config: { access: onParam('operator', 'workflow') },
      schema: {
        tags: ['workflows'],
        summary: 'Resume a Failed or Cancelled workflow from the step where it stopped',
        params: idParamsSchema,
        response: { 200: workflowSchema, ...errors },
      },
    },
    async (request) => {
      deps.assertQueueUp();
      const run = await sm.retryRun(request.params.id);
      await engine.enqueue({ runId: run.id, stepIndex: run.currentStep, generation: run.generation });
      return run;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/workflows/:id/events',
    {
      config: { access: onParam('viewer', 'workflow') },
      schema: {
        tags: ['workflows'],
        params: idParamsSchema,
        summary:
          'Server-sent events: a `workflow` event with the run each time it changes; the stream ends when the run is Succeeded, Failed or Cancelled',
        produces: ['text/event-stream'],
        response: { 200: { description: 'the event stream', type: 'string' }, ...errors },
      },
    },
    async (request, reply) => streamWorkflow(sm, request, reply),
  );
}
