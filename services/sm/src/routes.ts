/** sm's internal HTTP API, used by wfm (and later sddc). Every route needs the service token. */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { auditQuerySchema, clusterCreateRequestSchema, type AuditQuery, type ClusterCreateRequest } from '@cx/api-schemas';
import { AuthenticationError, NotFoundError } from '@cx/errors';
import { identityRoutes, type IdentityRouteDeps } from './identity-routes.js';
import type { StartRequest, StateStore, StepEffect, StepError } from './store.js';
import type { TenantCredentials } from './tenant-credentials.js';

export interface SmRouteDeps extends IdentityRouteDeps {
  store: StateStore;
  tenants: TenantCredentials;
  serviceToken: string;
}

const startSchema = {
  type: 'object', required: ['actor', 'workflow'],
  properties: {
    actor: { type: 'string', minLength: 1 }, idempotencyKey: { type: 'string', maxLength: 255 }, requestHash: { type: 'string' },
    workflow: {
      type: 'object', required: ['workflow', 'version', 'steps', 'input', 'clusterStatus'],
      properties: { workflow: { type: 'string' }, version: { type: 'integer' }, steps: { type: 'array', minItems: 1, items: { type: 'string' } }, input: { type: 'object' }, clusterStatus: { type: 'string' } },
    },
  },
} as const;
const stepParams = { type: 'object', required: ['id', 'idx'], properties: { id: { type: 'string' }, idx: { type: 'integer', minimum: 0 } } } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;

export async function smRoutes(app: FastifyInstance, deps: SmRouteDeps): Promise<void> {
  const expected = Buffer.from(`Bearer ${deps.serviceToken}`);
  app.addHook('onRequest', async (request) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AuthenticationError('sm needs the service token (serviceToken / CX_SERVICE_TOKEN)');
  });
  const { store } = deps;

  await identityRoutes(app, deps);

  app.get<{ Querystring: { limit: number; cursor?: string; userId?: string } }>('/clusters', {
    schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, cursor: { type: 'string' }, userId: { type: 'string' } } } },
  }, async (request) => {
    const { limit, cursor, userId } = request.query;
    return store.listClusters(limit, cursor, userId === undefined ? { all: true } : await deps.access.visibility(await deps.access.subject(userId)));
  });
  app.post<{ Body: { request: ClusterCreateRequest; start: StartRequest } }>('/clusters', {
    schema: { body: { type: 'object', required: ['request', 'start'], properties: { request: clusterCreateRequestSchema, start: startSchema } } },
  }, async (request, reply) => {
    const accepted = await store.createCluster(request.body.request, request.body.start);
    if (accepted.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(accepted.status).send(accepted.body);
  });
  app.get<{ Params: { id: string } }>('/clusters/:id', { schema: { params: idParams } }, async (request) => store.getCluster(request.params.id));
  app.get<{ Params: { id: string } }>('/clusters/:id/nodes', { schema: { params: idParams } }, async (request) => ({ items: await store.listNodes(request.params.id), nextCursor: null }));
  // What providers and sddc need to build and reach the tenant cluster, and the caller's kubeconfig.
  app.get<{ Params: { id: string } }>('/clusters/:id/bootstrap', { schema: { params: idParams } }, async (request) => deps.tenants.bootstrap(request.params.id));
  app.post<{ Params: { id: string } }>('/clusters/:id/admin-credentials', { schema: { params: idParams } }, async (request) => deps.tenants.adminCredentials(request.params.id));
  app.post<{ Params: { id: string }; Body: { userId: string } }>('/clusters/:id/kubeconfig', {
    schema: { params: idParams, body: { type: 'object', required: ['userId'], properties: { userId: { type: 'string' } } } },
  }, async (request) => {
    const subject = await deps.access.subject(request.body.userId);
    const role = await deps.access.roleOn(subject, { kind: 'cluster', id: request.params.id });
    if (role === null) throw new NotFoundError(`cluster ${request.params.id} does not exist or you may not see it`);
    return deps.tenants.kubeconfig(request.params.id, subject, role);
  });
  app.post<{ Params: { id: string; pool: string }; Body: { count: number; start: StartRequest } }>('/clusters/:id/pools/:pool/scale', {
    schema: { body: { type: 'object', required: ['count', 'start'], properties: { count: { type: 'integer', minimum: 0 }, start: startSchema } } },
  }, async (request, reply) => {
    const accepted = await store.scalePool(request.params.id, request.params.pool, request.body.count, request.body.start);
    if (accepted.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(accepted.status).send(accepted.body);
  });
  app.post<{ Params: { id: string }; Body: StartRequest }>('/clusters/:id/workflows', { schema: { params: idParams, body: startSchema } }, async (request, reply) => {
    const accepted = await store.startClusterWorkflow(request.params.id, request.body);
    if (accepted.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(accepted.status).send(accepted.body);
  });

  app.get<{ Querystring: { limit: number; after?: string; idleSince?: string } }>('/workflow-runs/active', {
    schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 }, after: { type: 'string' }, idleSince: { type: 'string', format: 'date-time' } } } },
  }, async (request) => ({ items: await store.activeRuns(request.query.limit, request.query.after, request.query.idleSince) }));
  app.get<{ Params: { id: string } }>('/workflow-runs/:id', { schema: { params: idParams } }, async (request) => store.getRun(request.params.id));
  app.post<{ Params: { id: string; idx: number }; Body: { generation: number; attempt: number } }>('/workflow-runs/:id/steps/:idx/start', {
    schema: { params: stepParams, body: { type: 'object', required: ['generation', 'attempt'], properties: { generation: { type: 'integer' }, attempt: { type: 'integer', minimum: 1 } } } },
  }, async (request) => store.startStep(request.params.id, request.params.idx, request.body.generation, request.body.attempt));
  app.post<{ Params: { id: string; idx: number }; Body: { generation: number; message: string } }>('/workflow-runs/:id/steps/:idx/progress', {
    schema: { params: stepParams, body: { type: 'object', required: ['generation', 'message'], properties: { generation: { type: 'integer' }, message: { type: 'string' } } } },
  }, async (request) => {
    await store.stepProgress(request.params.id, request.params.idx, request.body.generation, request.body.message);
    return { ok: true };
  });
  app.post<{ Params: { id: string; idx: number }; Body: { generation: number; output?: unknown; effects?: StepEffect[] } }>('/workflow-runs/:id/steps/:idx/complete', {
    schema: { params: stepParams, body: { type: 'object', required: ['generation'], properties: { generation: { type: 'integer' }, output: {}, effects: { type: 'array', items: { type: 'object', required: ['kind'] } } } } },
  }, async (request) => store.completeStep(request.params.id, request.params.idx, request.body.generation, request.body.output, request.body.effects ?? []));
  app.post<{ Params: { id: string; idx: number }; Body: { generation: number; error: StepError } }>('/workflow-runs/:id/steps/:idx/fail', {
    schema: { params: stepParams, body: { type: 'object', required: ['generation', 'error'], properties: { generation: { type: 'integer' }, error: { type: 'object', required: ['code', 'message'] } } } },
  }, async (request) => {
    await store.failStep(request.params.id, request.params.idx, request.body.generation, request.body.error);
    return { ok: true };
  });
  app.post<{ Params: { id: string } }>('/workflow-runs/:id/cancel', { schema: { params: idParams } }, async (request) => store.cancelRun(request.params.id));
  app.post<{ Params: { id: string } }>('/workflow-runs/:id/retry', { schema: { params: idParams } }, async (request) => store.retryRun(request.params.id));

  app.post<{ Body: Parameters<StateStore['audit']>[0] }>('/audit', {
    schema: { body: { type: 'object', required: ['actor', 'action', 'outcome'], properties: { actor: { type: 'string' }, action: { type: 'string' }, outcome: { type: 'string' } } } },
  }, async (request, reply) => {
    await store.audit(request.body);
    return reply.code(204).send();
  });
  app.get<{ Querystring: AuditQuery }>('/audit', { schema: { querystring: auditQuerySchema } }, async (request) => store.listAudit(request.query));
}
