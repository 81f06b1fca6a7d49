/**
 * The nodes of a cluster (as its Kubernetes API shows them now where it has one, else as sm
 * records them: each node says which), and operations on one of them: cordon, uncordon, drain (workflows node.*, docs/workflows.md)
 * and delete (a scale-down of its pool that names it). Refused with nothing changed: a node the
 * cluster does not have (404), a cluster without a Kubernetes API (400), cordoning or draining the
 * last node that takes workloads (409: its pods would have nowhere to go), a cluster that is not
 * Ready or runs another workflow (409).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  clusterAcceptedSchema,
  refParamSchema,
  refParamsSchema,
  listSchema,
  nodeListQuerySchema,
  nodeSchema,
  type Cluster,
  type Node,
  type NodeListQuery,
  type Page,
} from '@cx/api-schemas';
import { ConflictError, InputError, NotFoundError } from '@cx/errors';
import { onParam } from '../http/access-guard.js';
import type { WorkflowDefinition, WorkflowEngine } from '../engine.js';
import { problemResponses as errors } from '../http/responses.js';
import type { InfrastructureChecks } from '../infrastructure/checks.js';
import type { SmClient } from '@cx/sm-contract';
import { acceptWorkflow, idempotencyHeaders, startRequest } from '../http/workflow-start.js';
import { SCALE_POOL } from '../workflows/cluster-scale.js';
import { CORDON_NODE, DRAIN_NODE, UNCORDON_NODE, type NodeInput } from '../workflows/node.js';

export interface NodeRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  infrastructure: InfrastructureChecks;
  assertQueueUp: () => void;
}

type NodeParams = { id: string; name: string };

const params = {
  type: 'object',
  required: ['id', 'name'],
  additionalProperties: false,
  properties: {
    id: refParamSchema,
    name: { type: 'string', minLength: 1, maxLength: 253, description: "The node's name (its machine's)" },
  },
} as const;
const drainTimeout = {
  type: 'integer',
  minimum: 1,
  maximum: 86400,
  description:
    'How long the drain may be blocked (by PodDisruptionBudgets) before the workflow fails with CX_DRAIN_BLOCKED; default 300',
} as const;

/** How long the node list waits for the tenant's Kubernetes API before it answers the recorded nodes. */
const LIVE_READ_TIMEOUT_MS = 5_000;

export async function nodeRoutes(app: FastifyInstance, deps: NodeRouteDeps): Promise<void> {
  const { sm, engine } = deps;

  app.get<{ Params: { id: string }; Querystring: NodeListQuery }>(
    '/clusters/:id/nodes',
    {
      config: { access: onParam('viewer', 'cluster') },
      schema: {
        tags: ['clusters'],
        summary: "Nodes of a cluster, by name: one pool's or all, a page at a time",
        description:
          "Where the cluster has a Kubernetes API, each node is shown as it reports it now (`source: live`: Ready and its other conditions, the kubelet's version, cordon, labels, taints); otherwise, or when that API does not answer within a few seconds, as cx last recorded it (`source: recorded`).",
        params: refParamsSchema,
        querystring: nodeListQuerySchema,
        response: { 200: listSchema(nodeSchema), ...errors },
      },
    },
    async (request): Promise<Page<Node>> => {
      const cluster = await sm.getCluster(request.params.id);
      const pool = request.query.pool;
      if (pool !== undefined && pool !== 'control-plane' && !cluster.nodePools.some((p) => p.name === pool))
        throw new NotFoundError(
          `cluster ${cluster.name} has no pool ${pool} (its pools: control-plane${cluster.nodePools.map((p) => `, ${p.name}`).join('')})`,
        );
      const page = await sm.nodesPage(cluster.id, request.query);
      if (!cluster.apiEndpoint || page.items.length === 0) return page;
      let live;
      try {
        live = await deps.infrastructure.liveNodes(cluster, LIVE_READ_TIMEOUT_MS);
      } catch (error) {
        request.log.warn({ err: error, clusterId: cluster.id }, 'live node read failed; answering the recorded nodes');
        return page;
      }
      const byName = new Map(live.map((node) => [node.name, node]));
      return {
        ...page,
        items: page.items.map((node): Node => {
          const seen = byName.get(node.name);
          if (!seen?.live) return node;
          return {
            ...node,
            status: seen.status,
            kubernetesVersion: seen.kubernetesVersion || node.kubernetesVersion,
            source: 'live',
            ...seen.live,
          };
        }),
      };
    },
  );

  /** The cluster, its node records and the named node's; 404 for a node the cluster does not have. */
  async function find(clusterId: string, name: string): Promise<{ cluster: Cluster; nodes: Node[]; node: Node }> {
    const cluster = await sm.getCluster(clusterId);
    const nodes = await sm.listNodes(clusterId);
    const node = nodes.find((n) => n.name === name);
    if (!node?.machine)
      throw new NotFoundError(
        `cluster ${cluster.name} has no node ${name} (GET /api/v1/clusters/${cluster.id}/nodes lists them)`,
      );
    return { cluster, nodes, node };
  }

  /** Cordon and drain need the tenant API, and another node that takes workloads once this one stops taking them. */
  async function checkOthersTakeWorkloads(cluster: Cluster, name: string, action: string): Promise<void> {
    if (!cluster.apiEndpoint) {
      throw new InputError(
        `cluster ${cluster.name} has no Kubernetes API (provider ${cluster.provider}): there is no node to ${action}`,
        [{ field: 'params.id', message: `is a ${cluster.provider} cluster without a Kubernetes API` }],
      );
    }
    const live = await deps.infrastructure.liveNodes(cluster);
    const others = live.filter((n) => n.name !== name && n.status === 'Ready' && n.schedulable !== false);
    if (others.length === 0) {
      throw new ConflictError(
        `${name} is the last node of cluster ${cluster.name} that takes workloads (Ready, not cordoned, without the control-plane taint): ${action === 'drain' ? 'draining' : 'cordoning'} it would leave ` +
          `${action === 'drain' ? 'its pods' : 'new pods'} nowhere to go. Add a node first (PATCH /api/v1/clusters/${cluster.id}/nodepools/{pool}) or uncordon another`,
        'CX_CONFLICT',
      );
    }
  }

  async function start(
    request: FastifyRequest<{ Params: NodeParams }>,
    reply: FastifyReply,
    definition: WorkflowDefinition,
    input: NodeInput,
  ): Promise<FastifyReply> {
    deps.assertQueueUp();
    const accepted = await sm.startClusterWorkflow(
      request.params.id,
      startRequest(request, definition, 'Updating', { ...input }),
    );
    return acceptWorkflow(reply, engine, accepted);
  }

  app.post<{ Params: NodeParams }>(
    '/clusters/:id/nodes/:name/cordon',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        params,
        headers: idempotencyHeaders,
        response: { 202: clusterAcceptedSchema, ...errors },
        summary: 'Cordon a node: no new pod is scheduled on it (runs node.cordon); the pods on it stay',
        description:
          'Refused (409) for the last node that takes workloads (Ready, not cordoned, without the control-plane taint).',
      },
    },
    async (request, reply) => {
      const { cluster, node } = await find(request.params.id, request.params.name);
      await checkOthersTakeWorkloads(cluster, node.name, 'cordon');
      return start(request, reply, engine.definition(CORDON_NODE), { node: node.name, machineId: node.machine.id });
    },
  );

  app.post<{ Params: NodeParams }>(
    '/clusters/:id/nodes/:name/uncordon',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        params,
        headers: idempotencyHeaders,
        response: { 202: clusterAcceptedSchema, ...errors },
        summary: 'Uncordon a node: it takes new pods again (runs node.uncordon)',
      },
    },
    async (request, reply) => {
      const { cluster, node } = await find(request.params.id, request.params.name);
      if (!cluster.apiEndpoint)
        throw new InputError(
          `cluster ${cluster.name} has no Kubernetes API (provider ${cluster.provider}): there is no node to uncordon`,
          [{ field: 'params.id', message: 'has no Kubernetes API' }],
        );
      return start(request, reply, engine.definition(UNCORDON_NODE), { node: node.name, machineId: node.machine.id });
    },
  );

  app.post<{ Params: NodeParams; Body: { drainTimeoutSeconds?: number } }>(
    '/clusters/:id/nodes/:name/drain',
    {
      config: { access: onParam('operator', 'cluster') },
      // The body is optional: `POST …/drain` alone drains with the default timeout.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['clusters'],
        params,
        headers: idempotencyHeaders,
        response: { 202: clusterAcceptedSchema, ...errors },
        summary:
          'Drain a node: cordon it, then evict its pods through the eviction API, honouring PodDisruptionBudgets (runs node.drain); it stays cordoned',
        description:
          "DaemonSet and static pods stay. While a budget refuses an eviction the step's message names it; after drainTimeoutSeconds the workflow fails with CX_DRAIN_BLOCKED and POST /workflows/{id}/retry resumes it. Refused (409) for the last node that takes workloads.",
        body: { type: 'object', additionalProperties: false, properties: { drainTimeoutSeconds: drainTimeout } },
      },
    },
    async (request, reply) => {
      const { cluster, node } = await find(request.params.id, request.params.name);
      await checkOthersTakeWorkloads(cluster, node.name, 'drain');
      const timeout = request.body.drainTimeoutSeconds;
      return start(request, reply, engine.definition(DRAIN_NODE), {
        node: node.name,
        machineId: node.machine.id,
        ...(timeout ? { drainTimeoutSeconds: timeout } : {}),
      });
    },
  );

  app.delete<{ Params: NodeParams; Querystring: { drainTimeoutSeconds?: number } }>(
    '/clusters/:id/nodes/:name',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        params,
        headers: idempotencyHeaders,
        response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
        querystring: { type: 'object', additionalProperties: false, properties: { drainTimeoutSeconds: drainTimeout } },
        summary:
          'Delete a node: its pool shrinks by one, and this machine is the one that goes (cordoned, drained, deleted: runs cluster.scale)',
        description:
          'The same checks as PATCH /clusters/{id}/nodepools/{pool}: a control plane keeps an etcd majority.',
      },
    },
    async (request, reply) => {
      const { nodes, node } = await find(request.params.id, request.params.name);
      const poolSize = nodes.filter((n) => n.pool === node.pool).length;
      deps.assertQueueUp();
      const timeout = request.query.drainTimeoutSeconds;
      const accepted = await sm.scalePool(
        request.params.id,
        node.pool,
        poolSize - 1,
        startRequest(request, engine.definition(SCALE_POOL), 'Updating', {
          remove: [node.name],
          ...(timeout ? { drainTimeoutSeconds: timeout } : {}),
        }),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );
}
