/**
 * sm's internal routes of clusters: list, create (with its VIP and template), read, nodes, health,
 * what sddc needs to build and reach them, kubeconfigs, pools, and any other cluster workflow.
 */
import type { FastifyInstance } from 'fastify';
import { healthPolicySchema, healthStatusSchema, type ClusterHealthStatus, type HealthPolicy } from '@cx/api-schemas';
import { NotFoundError } from '@cx/errors';
import {
  AddPoolBody,
  CreateClusterBody,
  KubeconfigBody,
  NodePageQuery,
  PoolSchedulingBody,
  ScalePoolBody,
  StartRequest,
} from '@cx/sm-contract';
import type { AccessControl } from '../access/access-control.js';
import type { ClusterAddons } from '../addons/addons.js';
import type { HaConfigs } from '../ha-configs/ha-configs.js';
import { idParams, listPage, sendAccepted } from '../http.js';
import type { IpPools } from '../ip-pools/ip-pools.js';
import type { Resources } from '../resources/resources.js';
import type { ClusterTemplates } from '../templates/templates.js';
import type { Clusters } from './clusters.js';
import { createCluster } from './create-cluster.js';
import type { TenantCredentials } from './tenant-credentials.js';

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

export async function clusterRoutes(
  app: FastifyInstance,
  deps: {
    clusters: Clusters;
    access: AccessControl;
    tenants: TenantCredentials;
    resources: Resources;
    ipPools: IpPools;
    haConfigs: HaConfigs;
    templates: ClusterTemplates;
    addons: ClusterAddons;
  },
): Promise<void> {
  const { clusters, access, tenants, resources, ipPools, haConfigs, templates, addons } = deps;
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
      return clusters.list(
        limit,
        cursor,
        userId === undefined ? { all: true } : await access.visibility(await access.subject(userId)),
      );
    },
  );
  app.post<{ Body: CreateClusterBody }>('/clusters', { schema: { body: CreateClusterBody } }, async (request, reply) =>
    sendAccepted(reply, await createCluster({ clusters, ipPools, templates, addons }, request.body)),
  );
  app.get<{ Params: { id: string } }>('/clusters/:id', { schema: { params: idParams } }, async (request) =>
    clusters.get(request.params.id),
  );
  // Each cluster with its ha-configs too: the monitor applies them again when their nodes change.
  app.get<{ Querystring: { limit: number; cursor?: string; withoutApi?: string } }>(
    '/health-targets',
    { schema: { querystring: healthTargetsQuery } },
    async (request) => {
      const withoutApi = request.query.withoutApi?.split(',').filter((name) => name !== '') ?? [];
      const page = await clusters.healthTargets(request.query.limit, request.query.cursor, withoutApi);
      const configs = await haConfigs.ofClusters(page.items.map((t) => t.cluster.id));
      return { ...page, items: page.items.map((t) => ({ ...t, haConfigs: configs.get(t.cluster.id) ?? [] })) };
    },
  );
  app.put<{ Params: { id: string }; Body: ClusterHealthStatus }>(
    '/clusters/:id/health-status',
    {
      schema: {
        params: idParams,
        body: healthStatusSchema,
      },
    },
    async (request, reply) => {
      await clusters.setHealthStatus(request.params.id, request.body);
      return reply.code(204).send();
    },
  );
  app.put<{ Params: { id: string }; Body: HealthPolicy }>(
    '/clusters/:id/health-policy',
    { schema: { params: idParams, body: healthPolicySchema } },
    async (request) => clusters.setHealthPolicy(request.params.id, request.body),
  );
  app.get<{ Params: { id: string }; Querystring: NodePageQuery }>(
    '/clusters/:id/nodes',
    { schema: { params: idParams, querystring: NodePageQuery } },
    async (request) => clusters.nodes(request.params.id, request.query),
  );
  // What providers and sddc need to build and reach the tenant cluster, and the caller's kubeconfig.
  app.get<{ Params: { id: string } }>('/clusters/:id/bootstrap', { schema: { params: idParams } }, async (request) =>
    tenants.bootstrap(request.params.id),
  );
  app.post<{ Params: { id: string } }>(
    '/clusters/:id/admin-credentials',
    { schema: { params: idParams } },
    async (request) => tenants.adminCredentials(request.params.id),
  );
  app.get<{ Params: { id: string } }>(
    '/clusters/:id/infrastructure-credential',
    { schema: { params: idParams } },
    async (request) => resources.infrastructureCredential(request.params.id),
  );

  app.post<{ Params: { id: string }; Body: KubeconfigBody }>(
    '/clusters/:id/kubeconfig',
    {
      schema: { params: idParams, body: KubeconfigBody },
    },
    async (request) => {
      const subject = await access.subject(request.body.userId);
      const role = await access.roleOn(subject, { kind: 'cluster', id: request.params.id });
      if (role === null) throw new NotFoundError(`cluster ${request.params.id} does not exist or you may not see it`);
      return tenants.kubeconfig(request.params.id, subject, role);
    },
  );
  app.post<{ Params: { id: string; pool: string }; Body: ScalePoolBody }>(
    '/clusters/:id/pools/:pool/scale',
    {
      schema: { body: ScalePoolBody },
    },
    async (request, reply) => {
      const accepted = await clusters.scalePool(
        request.params.id,
        request.params.pool,
        request.body.count,
        request.body.start,
      );
      return sendAccepted(reply, accepted);
    },
  );
  app.post<{ Params: { id: string; pool: string }; Body: PoolSchedulingBody }>(
    '/clusters/:id/pools/:pool/scheduling',
    {
      schema: { body: PoolSchedulingBody },
    },
    async (request, reply) => {
      const accepted = await clusters.updatePoolScheduling(
        request.params.id,
        request.params.pool,
        request.body.scheduling,
        request.body.start,
      );
      return sendAccepted(reply, accepted);
    },
  );
  app.post<{ Params: { id: string }; Body: AddPoolBody }>(
    '/clusters/:id/pools',
    {
      schema: { params: idParams, body: AddPoolBody },
    },
    async (request, reply) => {
      const accepted = await clusters.addPool(request.params.id, request.body.pool, request.body.start);
      return sendAccepted(reply, accepted);
    },
  );
  app.post<{ Params: { id: string }; Body: StartRequest }>(
    '/clusters/:id/workflows',
    { schema: { params: idParams, body: StartRequest } },
    async (request, reply) => {
      const accepted = await clusters.startWorkflow(request.params.id, request.body);
      return sendAccepted(reply, accepted);
    },
  );
}
