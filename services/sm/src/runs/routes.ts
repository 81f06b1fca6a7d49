/** sm's internal routes of workflow runs: wfm's engine moves them step by step; the reconciler lists the active ones. */
import type { FastifyInstance } from 'fastify';
import {
  AdvanceStepBody,
  CompleteStepBody,
  FailStepBody,
  RunListQuery,
  StartStepBody,
  StepProgressBody,
} from '@cx/sm-contract';
import type { AccessControl } from '../access/access-control.js';
import { idParams } from '../http.js';
import type { WorkflowRuns } from './workflow-runs.js';

const stepParams = {
  type: 'object',
  required: ['id', 'idx'],
  properties: { id: { type: 'string' }, idx: { type: 'integer', minimum: 0 } },
} as const;

export async function runRoutes(
  app: FastifyInstance,
  deps: { runs: WorkflowRuns; access: AccessControl },
): Promise<void> {
  const { runs, access } = deps;
  app.get<{ Querystring: RunListQuery }>('/workflow-runs', { schema: { querystring: RunListQuery } }, async (request) =>
    runs.list(request.query, await access.visibility(await access.subject(request.query.userId))),
  );
  app.get<{ Querystring: { limit: number; after?: string; idleSince?: string } }>(
    '/workflow-runs/active',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
            after: { type: 'string' },
            idleSince: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
    async (request) => ({
      items: await runs.active(request.query.limit, request.query.after, request.query.idleSince),
    }),
  );
  app.get<{ Params: { id: string } }>('/workflow-runs/:id', { schema: { params: idParams } }, async (request) =>
    runs.get(request.params.id),
  );
  app.post<{ Params: { id: string; idx: number }; Body: StartStepBody }>(
    '/workflow-runs/:id/steps/:idx/start',
    {
      schema: { params: stepParams, body: StartStepBody },
    },
    async (request) =>
      runs.startStep(
        request.params.id,
        request.params.idx,
        request.body.generation,
        request.body.attempt,
        request.body.jobId,
      ),
  );
  app.post<{ Params: { id: string; idx: number }; Body: StepProgressBody }>(
    '/workflow-runs/:id/steps/:idx/progress',
    {
      schema: { params: stepParams, body: StepProgressBody },
    },
    async (request) => {
      await runs.stepProgress(request.params.id, request.params.idx, request.body.generation, request.body.message);
      return { ok: true };
    },
  );
  app.post<{ Params: { id: string; idx: number }; Body: CompleteStepBody }>(
    '/workflow-runs/:id/steps/:idx/complete',
    {
      schema: { params: stepParams, body: CompleteStepBody },
    },
    async (request) =>
      runs.completeStep(
        request.params.id,
        request.params.idx,
        request.body.generation,
        request.body.output,
        request.body.effects ?? [],
        request.body.message,
      ),
  );
  app.post<{ Params: { id: string; idx: number }; Body: AdvanceStepBody }>(
    '/workflow-runs/:id/steps/:idx/advance',
    {
      schema: { params: stepParams, body: AdvanceStepBody },
    },
    async (request) =>
      runs.advanceStep(
        request.params.id,
        request.params.idx,
        request.body.generation,
        request.body.output,
        request.body.effects ?? [],
        request.body.jobId,
        request.body.message,
      ),
  );
  app.post<{ Params: { id: string; idx: number }; Body: FailStepBody }>(
    '/workflow-runs/:id/steps/:idx/fail',
    {
      schema: { params: stepParams, body: FailStepBody },
    },
    async (request) => {
      await runs.failStep(request.params.id, request.params.idx, request.body.generation, request.body.error);
      return { ok: true };
    },
  );
  app.post<{ Params: { id: string } }>('/workflow-runs/:id/cancel', { schema: { params: idParams } }, async (request) =>
    runs.cancel(request.params.id),
  );
  app.post<{ Params: { id: string } }>('/workflow-runs/:id/retry', { schema: { params: idParams } }, async (request) =>
    runs.retry(request.params.id),
  );
}
