/** sm's internal HTTP API, used by wfm (and later sddc). Every route needs the service token. */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  HEALTH_STATES,
  auditQuerySchema,
  clusterCreateRequestSchema,
  type AuditQuery,
  type ClusterHealthStatus,
} from '@cx/api-schemas';
import { AuthenticationError, InputError, NotFoundError } from '@cx/errors';
import { identityRoutes, type IdentityRouteDeps } from './identity-routes.js';
import {
  HA_CONFIG_SYNC_STATES,
  haConfigCreateRequestSchema,
  hostCreateRequestSchema,
  ipAllocationRequestSchema,
  ipPoolCreateRequestSchema,
  type HaConfigCreateRequest,
  type HaConfigStatus,
  type HostCreateRequest,
  type IpAllocationRequest,
  type IpPoolCreateRequest,
} from '@cx/api-schemas';
import {
  AddPoolBody,
  AuditRequest,
  CompleteStepBody,
  FailStepBody,
  KubeconfigBody,
  PoolSchedulingBody,
  ScalePoolBody,
  StartRequest,
  StartStepBody,
  StepProgressBody,
  TemplateUse,
  type ClaimHostBody,
  type CreateClusterBody,
} from '@cx/sm-contract';
import { addonRoutes } from './addon-routes.js';
import type { ClusterAddons } from './addons.js';
import { templateRoutes, type ClusterTemplates } from './templates.js';
import { etcdSnapshotRoutes, type EtcdSnapshots } from './etcd-snapshots.js';
import type { HaConfigs } from './ha-configs.js';
import type { Hosts } from './hosts.js';
import type { IpPools } from './ip-pools.js';
import { pairRoutes } from './pair-routes.js';
import type { Pairs } from './pairs.js';
import type { StateStore } from './store.js';
import type { TenantCredentials } from './tenant-credentials.js';

export interface SmRouteDeps extends IdentityRouteDeps {
  store: StateStore;
  tenants: TenantCredentials;
  hosts: Hosts;
  ipPools: IpPools;
  haConfigs: HaConfigs;
  pairs: Pairs;
  addons: ClusterAddons;
  templates: ClusterTemplates;
  etcdSnapshots: EtcdSnapshots;
  serviceToken: string;
}

const stepParams = {
  type: 'object',
  required: ['id', 'idx'],
  properties: { id: { type: 'string' }, idx: { type: 'integer', minimum: 0 } },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;

export async function smRoutes(app: FastifyInstance, deps: SmRouteDeps): Promise<void> {
  const expected = Buffer.from(`Bearer ${deps.serviceToken}`);
  app.addHook('onRequest', async (request) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new AuthenticationError('sm needs the service token (serviceToken / CX_SERVICE_TOKEN)');
  });
  const { store } = deps;
  const listPage = {
    type: 'object',
    properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, cursor: { type: 'string' } },
  } as const;
  const healthTargetsQuery = {
    type: 'object',
    properties: {
      ...listPage.properties,
      withoutApi: {
        type: 'string',
        maxLength: 1024,
        description: 'Providers, comma-separated, whose clusters run no Kubernetes API and are watched all the same',
      },
    },
  } as const;

  await identityRoutes(app, deps);
  await pairRoutes(app, deps);
  await addonRoutes(app, deps);
  await templateRoutes(app, deps);
  // In a scope of their own: their octet-stream parser and size limit are theirs only.
  await app.register(async (scope) => etcdSnapshotRoutes(scope, deps));

  app.get<{ Querystring: { limit: number; cursor?: string; userId?: string } }>(
    '/clusters',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            cursor: { type: 'string' },
            userId: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      const { limit, cursor, userId } = request.query;
      return store.listClusters(
        limit,
        cursor,
        userId === undefined ? { all: true } : await deps.access.visibility(await deps.access.subject(userId)),
      );
    },
  );
  app.post<{ Body: CreateClusterBody }>(
    '/clusters',
    {
      schema: {
        body: {
          type: 'object',
          required: ['request', 'start'],
          properties: {
            request: clusterCreateRequestSchema,
            start: StartRequest,
            // The template wfm completed the request with: its version, and its addons for the create workflow to install.
            template: TemplateUse,
          },
        },
      },
    },
    async (request, reply) => {
      const { request: cluster, start, template } = request.body;
      const vipPool = cluster.controlPlane.vipPool;
      const accepted = await store.createCluster(
        cluster,
        start,
        vipPool === undefined
          ? undefined
          : async (trx, clusterId) => {
              try {
                return (
                  await deps.ipPools.allocate(
                    vipPool,
                    { owner: `control-plane VIP of cluster ${cluster.name}`, clusterId },
                    start.actor,
                    trx,
                  )
                ).address;
              } catch (error) {
                if (error instanceof NotFoundError)
                  throw new InputError(error.message, [
                    { field: 'body.controlPlane.vipPool', message: 'is not an IP pool' },
                  ]);
                throw error;
              }
            },
        template &&
          (async (trx, clusterId) => deps.templates.useFor(trx, clusterId, template, start.actor, deps.addons)),
      );
      if (accepted.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(accepted.status).send(accepted.body);
    },
  );
  app.get<{ Params: { id: string } }>('/clusters/:id', { schema: { params: idParams } }, async (request) =>
    store.getCluster(request.params.id),
  );
  // Each cluster with its ha-configs too: the monitor applies them again when their nodes change.
  app.get<{ Querystring: { limit: number; cursor?: string; withoutApi?: string } }>(
    '/health-targets',
    { schema: { querystring: healthTargetsQuery } },
    async (request) => {
      const withoutApi = request.query.withoutApi?.split(',').filter((name) => name !== '') ?? [];
      const page = await store.listHealthTargets(request.query.limit, request.query.cursor, withoutApi);
      const haConfigs = await deps.haConfigs.ofClusters(page.items.map((t) => t.cluster.id));
      return { ...page, items: page.items.map((t) => ({ ...t, haConfigs: haConfigs.get(t.cluster.id) ?? [] })) };
    },
  );
  app.put<{ Params: { id: string }; Body: ClusterHealthStatus }>(
    '/clusters/:id/health-status',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['state', 'message', 'unhealthy', 'checkedAt'],
          properties: {
            state: { type: 'string', enum: HEALTH_STATES },
            message: { type: 'string', maxLength: 4096 },
            unhealthy: { type: 'array', maxItems: 1024 },
            checkedAt: { type: 'string' },
          },
        },
      },
    },
    async (request, reply) => {
      await store.setHealthStatus(request.params.id, request.body);
      return reply.code(204).send();
    },
  );
  app.get<{ Params: { id: string } }>('/clusters/:id/nodes', { schema: { params: idParams } }, async (request) => ({
    items: await store.listNodes(request.params.id),
    nextCursor: null,
  }));
  // What providers and sddc need to build and reach the tenant cluster, and the caller's kubeconfig.
  app.get<{ Params: { id: string } }>('/clusters/:id/bootstrap', { schema: { params: idParams } }, async (request) =>
    deps.tenants.bootstrap(request.params.id),
  );
  app.post<{ Params: { id: string } }>(
    '/clusters/:id/admin-credentials',
    { schema: { params: idParams } },
    async (request) => deps.tenants.adminCredentials(request.params.id),
  );
  app.get<{ Params: { id: string } }>(
    '/clusters/:id/infrastructure-credential',
    { schema: { params: idParams } },
    async (request) => deps.resources.infrastructureCredential(request.params.id),
  );

  // ---- ha-configs: created together with the workflow that applies them ----
  app.get<{ Querystring: { clusterId: string } }>(
    '/ha-configs',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['clusterId'],
          properties: { clusterId: { type: 'string', maxLength: 64 } },
        },
      },
    },
    async (request) => ({ items: await deps.haConfigs.list(request.query.clusterId), nextCursor: null }),
  );
  app.get<{ Params: { id: string } }>('/ha-configs/:id', { schema: { params: idParams } }, async (request) =>
    deps.haConfigs.get(request.params.id),
  );
  app.put<{ Params: { id: string }; Body: NonNullable<HaConfigStatus['sync']> }>(
    '/ha-configs/:id/sync',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['state', 'message', 'since'],
          properties: {
            state: { type: 'string', enum: HA_CONFIG_SYNC_STATES },
            message: { type: 'string', maxLength: 4096 },
            since: { type: 'string', maxLength: 32 },
          },
        },
      },
    },
    async (request, reply) => {
      await deps.haConfigs.setSync(request.params.id, request.body);
      return reply.code(204).send();
    },
  );
  app.post<{ Body: { start: StartRequest; config: HaConfigCreateRequest } }>(
    '/ha-configs',
    {
      schema: {
        body: {
          type: 'object',
          required: ['start', 'config'],
          properties: { start: StartRequest, config: haConfigCreateRequestSchema },
        },
      },
    },
    async (request, reply) => {
      const { start, config } = request.body;
      const id = start.workflow.input['haConfigId'];
      if (typeof id !== 'string') throw new Error("the apply workflow's input must carry haConfigId");
      const accepted = await store.startClusterWorkflow(config.clusterId, start, async (trx) => ({
        haConfig: await deps.haConfigs.create(trx, id, config, start.actor),
      }));
      return reply.code(accepted.status).header('idempotent-replayed', String(accepted.replayed)).send(accepted.body);
    },
  );

  // ---- IP pools and allocations (relayed by wfm) ----
  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/ip-pools',
    { schema: { querystring: listPage } },
    async (request) => deps.ipPools.list(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: { actor: string; pool: IpPoolCreateRequest } }>(
    '/ip-pools',
    {
      schema: {
        body: {
          type: 'object',
          required: ['actor', 'pool'],
          properties: { actor: { type: 'string' }, pool: ipPoolCreateRequestSchema },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await deps.ipPools.create(request.body.pool, request.body.actor)),
  );
  app.get<{ Params: { id: string } }>('/ip-pools/:id', { schema: { params: idParams } }, async (request) =>
    deps.ipPools.get(request.params.id),
  );
  app.delete<{ Params: { id: string } }>('/ip-pools/:id', { schema: { params: idParams } }, async (request, reply) => {
    await deps.ipPools.delete(request.params.id);
    return reply.code(204).send();
  });
  app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
    '/ip-pools/:id/allocations',
    { schema: { params: idParams, querystring: listPage } },
    async (request) => deps.ipPools.allocations(request.params.id, request.query.limit, request.query.cursor),
  );
  app.post<{ Params: { id: string }; Body: { actor: string; allocation: IpAllocationRequest } }>(
    '/ip-pools/:id/allocations',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['actor', 'allocation'],
          properties: { actor: { type: 'string' }, allocation: ipAllocationRequestSchema },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await deps.ipPools.allocate(request.params.id, request.body.allocation, request.body.actor)),
  );
  app.delete<{ Params: { id: string; address: string } }>(
    '/ip-pools/:id/allocations/:address',
    async (request, reply) => {
      await deps.ipPools.release(request.params.id, request.params.address);
      return reply.code(204).send();
    },
  );

  // ---- bare-metal hosts: the admin's inventory (relayed by wfm) and the claims of sddc's baremetal provider ----
  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/hosts',
    { schema: { querystring: listPage } },
    async (request) => deps.hosts.list(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: { actor: string; host: HostCreateRequest } }>(
    '/hosts',
    {
      schema: {
        body: {
          type: 'object',
          required: ['actor', 'host'],
          properties: { actor: { type: 'string' }, host: hostCreateRequestSchema },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await deps.hosts.create(request.body.host, request.body.actor)),
  );
  app.get<{ Params: { id: string } }>('/hosts/:id', { schema: { params: idParams } }, async (request) =>
    deps.hosts.get(request.params.id),
  );
  app.delete<{ Params: { id: string } }>('/hosts/:id', { schema: { params: idParams } }, async (request, reply) => {
    await deps.hosts.delete(request.params.id);
    return reply.code(204).send();
  });
  const claimParams = {
    type: 'object',
    required: ['clusterId', 'machineId'],
    properties: { clusterId: { type: 'string', maxLength: 64 }, machineId: { type: 'string', maxLength: 64 } },
  } as const;
  app.post<{ Body: ClaimHostBody }>(
    '/host-claims',
    {
      schema: {
        body: {
          type: 'object',
          required: ['spec'],
          properties: { spec: { type: 'object', required: ['machineId', 'clusterId', 'name', 'pool'] } },
        },
      },
    },
    async (request) => deps.hosts.claim(request.body.spec),
  );
  app.get<{ Params: { clusterId: string } }>('/host-claims/:clusterId', async (request) => ({
    items: await deps.hosts.claims(request.params.clusterId),
  }));
  app.get<{ Params: { clusterId: string; machineId: string } }>(
    '/host-claims/:clusterId/:machineId',
    { schema: { params: claimParams } },
    async (request) => ({ host: await deps.hosts.claimOf(request.params.clusterId, request.params.machineId) }),
  );
  app.get('/host-cleaning', async () => ({ items: await deps.hosts.cleaning() }));
  app.post<{ Params: { id: string } }>(
    '/host-cleaning/:id/done',
    { schema: { params: idParams } },
    async (request, reply) => {
      await deps.hosts.cleaned(request.params.id);
      return reply.code(204).send();
    },
  );
  app.delete<{ Params: { clusterId: string; machineId: string }; Querystring: { cleaning?: boolean } }>(
    '/host-claims/:clusterId/:machineId',
    {
      schema: {
        params: claimParams,
        querystring: { type: 'object', properties: { cleaning: { type: 'boolean', default: false } } },
      },
    },
    async (request, reply) => {
      await deps.hosts.release(request.params.clusterId, request.params.machineId, request.query.cleaning === true);
      return reply.code(204).send();
    },
  );
  app.post<{ Params: { id: string }; Body: KubeconfigBody }>(
    '/clusters/:id/kubeconfig',
    {
      schema: { params: idParams, body: KubeconfigBody },
    },
    async (request) => {
      const subject = await deps.access.subject(request.body.userId);
      const role = await deps.access.roleOn(subject, { kind: 'cluster', id: request.params.id });
      if (role === null) throw new NotFoundError(`cluster ${request.params.id} does not exist or you may not see it`);
      return deps.tenants.kubeconfig(request.params.id, subject, role);
    },
  );
  app.post<{ Params: { id: string; pool: string }; Body: ScalePoolBody }>(
    '/clusters/:id/pools/:pool/scale',
    {
      schema: { body: ScalePoolBody },
    },
    async (request, reply) => {
      const accepted = await store.scalePool(
        request.params.id,
        request.params.pool,
        request.body.count,
        request.body.start,
      );
      if (accepted.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(accepted.status).send(accepted.body);
    },
  );
  app.post<{ Params: { id: string; pool: string }; Body: PoolSchedulingBody }>(
    '/clusters/:id/pools/:pool/scheduling',
    {
      schema: { body: PoolSchedulingBody },
    },
    async (request, reply) => {
      const accepted = await store.updatePoolScheduling(
        request.params.id,
        request.params.pool,
        request.body.scheduling,
        request.body.start,
      );
      if (accepted.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(accepted.status).send(accepted.body);
    },
  );
  app.post<{ Params: { id: string }; Body: AddPoolBody }>(
    '/clusters/:id/pools',
    {
      schema: { params: idParams, body: AddPoolBody },
    },
    async (request, reply) => {
      const accepted = await store.addPool(request.params.id, request.body.pool, request.body.start);
      if (accepted.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(accepted.status).send(accepted.body);
    },
  );
  app.post<{ Params: { id: string }; Body: StartRequest }>(
    '/clusters/:id/workflows',
    { schema: { params: idParams, body: StartRequest } },
    async (request, reply) => {
      const accepted = await store.startClusterWorkflow(request.params.id, request.body);
      if (accepted.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(accepted.status).send(accepted.body);
    },
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
      items: await store.activeRuns(request.query.limit, request.query.after, request.query.idleSince),
    }),
  );
  app.get<{ Params: { id: string } }>('/workflow-runs/:id', { schema: { params: idParams } }, async (request) =>
    store.getRun(request.params.id),
  );
  app.post<{ Params: { id: string; idx: number }; Body: StartStepBody }>(
    '/workflow-runs/:id/steps/:idx/start',
    {
      schema: { params: stepParams, body: StartStepBody },
    },
    async (request) =>
      store.startStep(request.params.id, request.params.idx, request.body.generation, request.body.attempt),
  );
  app.post<{ Params: { id: string; idx: number }; Body: StepProgressBody }>(
    '/workflow-runs/:id/steps/:idx/progress',
    {
      schema: { params: stepParams, body: StepProgressBody },
    },
    async (request) => {
      await store.stepProgress(request.params.id, request.params.idx, request.body.generation, request.body.message);
      return { ok: true };
    },
  );
  app.post<{ Params: { id: string; idx: number }; Body: CompleteStepBody }>(
    '/workflow-runs/:id/steps/:idx/complete',
    {
      schema: { params: stepParams, body: CompleteStepBody },
    },
    async (request) =>
      store.completeStep(
        request.params.id,
        request.params.idx,
        request.body.generation,
        request.body.output,
        request.body.effects ?? [],
      ),
  );
  app.post<{ Params: { id: string; idx: number }; Body: FailStepBody }>(
    '/workflow-runs/:id/steps/:idx/fail',
    {
      schema: { params: stepParams, body: FailStepBody },
    },
    async (request) => {
      await store.failStep(request.params.id, request.params.idx, request.body.generation, request.body.error);
      return { ok: true };
    },
  );
  app.post<{ Params: { id: string } }>('/workflow-runs/:id/cancel', { schema: { params: idParams } }, async (request) =>
    store.cancelRun(request.params.id),
  );
  app.post<{ Params: { id: string } }>('/workflow-runs/:id/retry', { schema: { params: idParams } }, async (request) =>
    store.retryRun(request.params.id),
  );

  app.post<{ Body: AuditRequest }>(
    '/audit',
    {
      schema: { body: AuditRequest },
    },
    async (request, reply) => {
      await store.audit(request.body);
      return reply.code(204).send();
    },
  );
  app.get<{ Querystring: AuditQuery }>('/audit', { schema: { querystring: auditQuerySchema } }, async (request) =>
    store.listAudit(request.query),
  );
}
