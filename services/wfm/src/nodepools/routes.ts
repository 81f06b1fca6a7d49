/**
 * Node pools of a running cluster (docs/workflows.md): scaling one, changing a worker pool's labels
 * and taints, adding and deleting worker pools. Adding and deleting run the scale workflow: a new
 * pool is recorded by sm and scaled from 0 (its labels and taints on every machine); a deleted
 * pool is scaled to 0 — each node cordoned, drained and deleted — and leaves the
 * cluster with its last machine. Refused with nothing changed: a name in use (409), the control plane
 * (400), more pools than a cluster has (400), BMC fencing off baremetal (400), the cluster's
 * machine limit or the resource group's quotas (422), a busy cluster (409).
 */
import type { FastifyInstance } from 'fastify';
import {
  clusterAcceptedSchema,
  refParamSchema,
  refParamsSchema,
  MAX_POOL_COUNT,
  MAX_POOLS,
  nodePoolRequestSchema,
  nodeSchedulingProperties,
  type NodePoolRequest,
  type NodeScheduling,
  type ProviderInfo,
} from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import { checkBmcFencing } from '../clusters/checks.js';
import { onParam } from '../http/access-guard.js';
import { advertisedProvider } from '../infrastructure/capabilities.js';
import type { WorkflowEngine } from '../engine.js';
import { problemResponses as errors } from '../http/responses.js';
import type { SmClient } from '@cx/sm-contract';
import { acceptWorkflow, idempotencyHeaders, startRequest } from '../http/workflow-start.js';
import { SCALE_POOL } from '../workflows/cluster-scale.js';
import { UPDATE_POOL_SCHEDULING } from '../workflows/node.js';

export interface PoolRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  providers: () => Promise<ProviderInfo[]>;
  assertQueueUp: () => void;
}

export async function poolRoutes(app: FastifyInstance, deps: PoolRouteDeps): Promise<void> {
  const { sm, engine } = deps;

  app.post<{ Params: { id: string }; Body: NodePoolRequest }>(
    '/clusters/:id/nodepools',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        params: refParamsSchema,
        headers: idempotencyHeaders,
        body: nodePoolRequestSchema,
        summary:
          "Add a worker pool to a cluster: its machines are created with the pool's labels and taints (runs cluster.scale)",
        response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) => {
      const cluster = await sm.getCluster(request.params.id);
      const pool = request.body;
      if (cluster.nodePools.length >= MAX_POOLS) {
        throw new InputError(
          `cluster ${cluster.name} has ${cluster.nodePools.length} worker pools, the most a cluster has; delete one or grow an existing one`,
          [{ field: 'body', message: `at most ${MAX_POOLS} pools` }],
        );
      }
      if (pool.health?.fencing && pool.health.fencing !== 'provider') {
        checkBmcFencing(
          pool.health.fencing,
          (await advertisedProvider(deps.providers, cluster.provider)).provider,
          'body.health.fencing',
        );
      }
      deps.assertQueueUp();
      const accepted = await sm.addPool(
        request.params.id,
        pool,
        startRequest(request, engine.definition(SCALE_POOL), 'Updating', {}),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );

  app.delete<{ Params: { id: string; pool: string }; Querystring: { drainTimeoutSeconds?: number } }>(
    '/clusters/:id/nodepools/:pool',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        headers: idempotencyHeaders,
        params: {
          type: 'object',
          required: ['id', 'pool'],
          additionalProperties: false,
          properties: { id: refParamSchema, pool: { type: 'string', minLength: 1, maxLength: 63 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            drainTimeoutSeconds: {
              type: 'integer',
              minimum: 1,
              maximum: 86400,
              description:
                'How long draining a node may be blocked (by PodDisruptionBudgets) before the workflow fails; default 300',
            },
          },
        },
        summary:
          'Delete a worker pool: each of its nodes is cordoned, drained and deleted, then the pool leaves the cluster (runs cluster.scale)',
        response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) => {
      if (request.params.pool === 'control-plane') {
        throw new InputError('the control plane is not a pool that can be deleted; delete the cluster instead', [
          { field: 'params.pool', message: 'must be a worker pool' },
        ]);
      }
      deps.assertQueueUp();
      const timeout = request.query.drainTimeoutSeconds;
      const accepted = await sm.scalePool(
        request.params.id,
        request.params.pool,
        0,
        startRequest(request, engine.definition(SCALE_POOL), 'Updating', {
          removePool: true,
          ...(timeout ? { drainTimeoutSeconds: timeout } : {}),
        }),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );

  app.patch<{
    Params: { id: string; pool: string };
    Body: { count?: number; remove?: string[]; drainTimeoutSeconds?: number } & NodeScheduling;
  }>(
    '/clusters/:id/nodepools/:pool',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        summary:
          "Scale a node pool (`control-plane` for the control plane; runs cluster.scale), or change a worker pool's labels and taints on every node (runs nodepool.update-scheduling)",
        headers: idempotencyHeaders,
        description:
          "Give count (with remove and drainTimeoutSeconds), or labels and/or taints: one change per call (400 otherwise). New labels and taints replace the pool's: what the pool had and no longer has comes off its nodes; labels and taints from elsewhere stay.",
        params: {
          type: 'object',
          required: ['id', 'pool'],
          additionalProperties: false,
          properties: { id: refParamSchema, pool: { type: 'string', minLength: 1, maxLength: 63 } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            count: { type: 'integer', minimum: 0, maximum: MAX_POOL_COUNT },
            ...nodeSchedulingProperties,
            remove: {
              type: 'array',
              maxItems: MAX_POOL_COUNT,
              uniqueItems: true,
              items: { type: 'string', maxLength: 128 },
              description: 'When scaling down: the machines to remove (default: the newest)',
            },
            drainTimeoutSeconds: {
              type: 'integer',
              minimum: 1,
              maximum: 86400,
              description:
                'How long draining a removed node may be blocked (by PodDisruptionBudgets) before the workflow fails; default 300',
            },
          },
        },
        response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) => {
      const { count, labels, taints } = request.body;
      if (labels !== undefined || taints !== undefined) {
        if (count !== undefined || request.body.remove !== undefined) {
          throw new InputError('scale a pool and change its labels or taints in two calls', [
            { field: 'body.count', message: 'cannot be combined with labels or taints' },
          ]);
        }
        const cluster = await sm.getCluster(request.params.id);
        if (!cluster.apiEndpoint)
          throw new InputError(
            `cluster ${cluster.name} has no Kubernetes API (provider ${cluster.provider}): there are no nodes to label`,
            [{ field: 'params.id', message: 'has no Kubernetes API' }],
          );
        const pool = cluster.nodePools.find((p) => p.name === request.params.pool);
        const scheduling = { labels: labels ?? pool?.labels ?? {}, taints: taints ?? pool?.taints ?? [] };
        deps.assertQueueUp();
        const accepted = await sm.updatePoolScheduling(
          request.params.id,
          request.params.pool,
          scheduling,
          startRequest(request, engine.definition(UPDATE_POOL_SCHEDULING), 'Updating', {}),
        );
        return acceptWorkflow(reply, engine, accepted);
      }
      if (count === undefined)
        throw new InputError('give count to scale the pool, or labels and/or taints to change them', [
          { field: 'body.count', message: 'is required without labels or taints' },
        ]);
      deps.assertQueueUp();
      const accepted = await sm.scalePool(
        request.params.id,
        request.params.pool,
        count,
        startRequest(request, engine.definition(SCALE_POOL), 'Updating', {
          ...(request.body.remove ? { remove: request.body.remove } : {}),
          ...(request.body.drainTimeoutSeconds ? { drainTimeoutSeconds: request.body.drainTimeoutSeconds } : {}),
        }),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );
}
