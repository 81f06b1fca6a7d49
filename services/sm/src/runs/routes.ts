/** sm's internal routes of workflow runs: wfm's engine moves them step by step; the reconciler lists the active ones. */
import type { FastifyInstance } from 'fastify';
import { toProblem } from '@cx/errors';
import { RunListQuery, StepTransitionRequest, type StepTransitionResponse } from '@cx/sm-contract';
import type { AccessControl } from '../access/access-control.js';
import { idParams } from '../http.js';
import type { WorkflowRuns } from './workflow-runs.js';

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
  app.post<{ Body: StepTransitionRequest }>(
    '/workflow-runs/transitions',
    { schema: { body: StepTransitionRequest } },
    async (request): Promise<StepTransitionResponse> => {
      const outcomes = await runs.transitions(request.body.calls, request.log);
      return {
        answers: outcomes.map((outcome) => {
          if ('result' in outcome) return { result: outcome.result ?? null };
          const problem = toProblem(outcome.error, request.id);
          if (problem.code === 'CX_INTERNAL') request.log.error({ err: outcome.error }, 'a step transition failed');
          return { problem };
        }),
      };
    },
  );
  app.post<{ Params: { id: string } }>('/workflow-runs/:id/cancel', { schema: { params: idParams } }, async (request) =>
    runs.cancel(request.params.id),
  );
  app.post<{ Params: { id: string } }>('/workflow-runs/:id/retry', { schema: { params: idParams } }, async (request) =>
    runs.retry(request.params.id),
  );
}
