/**
 * ha-configs (seed 001): floating VIPs a cluster's nodes hold with keepalived. Creating, re-applying
 * and deleting one each run a workflow on its cluster (202), since the work happens in the tenant
 * cluster; a selector that matches no node is refused before anything is stored.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  clusterAcceptedSchema,
  haConfigCreateRequestSchema,
  haConfigSchema,
  refParamsSchema,
  listSchema,
  type HaConfigCreateRequest,
} from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import { onParam } from '../http/access-guard.js';
import type { WorkflowEngine } from '../engine.js';
import { problemResponses as errors, queryOf, relayToSm } from '../http/responses.js';
import type { SmClient } from '@cx/sm-contract';
import { acceptWorkflow, startRequest } from '../http/workflow-start.js';
import { APPLY_HA_CONFIG, REMOVE_HA_CONFIG } from '../workflows/ha-config.js';

export interface HaConfigRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  assertQueueUp: () => void;
}

/** How long the selector check may take: one list of the tenant's nodes. */
const MATCH_TIMEOUT_MS = 30_000;

const accepted = {
  ...clusterAcceptedSchema,
  properties: { ...clusterAcceptedSchema.properties, haConfig: haConfigSchema },
};
const clusterQuery = {
  type: 'object',
  required: ['clusterId'],
  properties: { clusterId: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export async function haConfigRoutes(app: FastifyInstance, deps: HaConfigRouteDeps): Promise<void> {
  const { sm, engine } = deps;
  const haConfigId = (request: FastifyRequest): string => (request.params as { id: string }).id;

  app.get<{ Querystring: { clusterId: string } }>(
    '/ha-configs',
    {
      config: {
        access: {
          role: 'viewer',
          on: 'cluster',
          onInput: (request) => ({ kind: 'cluster', id: (request.query as { clusterId: string }).clusterId }),
        },
      },
      schema: {
        tags: ['ha-configs'],
        summary: 'List the ha-configs of a cluster',
        querystring: clusterQuery,
        response: { 200: listSchema(haConfigSchema), ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/ha-configs?${queryOf(request)}`),
  );

  app.post<{ Body: HaConfigCreateRequest }>(
    '/ha-configs',
    {
      config: {
        access: {
          role: 'operator',
          on: 'cluster',
          onInput: (request) => ({ kind: 'cluster', id: (request.body as { clusterId: string }).clusterId }),
        },
      },
      schema: {
        tags: ['ha-configs'],
        body: haConfigCreateRequestSchema,
        response: { 202: accepted, ...errors },
        summary: 'Float VIPs over the nodes a selector picks, with keepalived (runs a workflow)',
        description:
          'Refused with nothing stored: malformed VIP ranges (400), a selector no node matches (400), VIPs or VRRP router ids another ha-config of the cluster uses (409), a cluster without a Kubernetes API yet (409).',
      },
    },
    async (request, reply) => {
      deps.assertQueueUp();
      const body = request.body;
      const cluster = await sm.getCluster(body.clusterId);
      const nodes = await engine.runOperationNow<Array<{ name: string }>>(
        { op: 'match-nodes', provider: cluster.provider, clusterId: body.clusterId, selector: body.selector ?? {} },
        MATCH_TIMEOUT_MS,
      );
      if (nodes.length === 0) {
        throw new InputError(`no node of the cluster matches the selector ${JSON.stringify(body.selector ?? {})}`, [
          { field: 'body.selector', message: 'matches no node of the cluster' },
        ]);
      }
      const id = randomUUID();
      const answer = await sm.createHaConfig(
        body,
        startRequest(request, engine.definition(APPLY_HA_CONFIG), 'Updating', { haConfigId: id }),
      );
      return acceptWorkflow(reply, engine, answer);
    },
  );

  app.get(
    '/ha-configs/:id',
    {
      config: { access: onParam('viewer', 'ha-config') },
      schema: {
        tags: ['ha-configs'],
        summary: 'Get an ha-config',
        params: refParamsSchema,
        response: { 200: haConfigSchema, ...errors },
      },
    },
    async (request) => sm.haConfig(haConfigId(request)),
  );

  app.post(
    '/ha-configs/:id/apply',
    {
      config: { access: onParam('operator', 'ha-config') },
      schema: {
        tags: ['ha-configs'],
        params: refParamsSchema,
        response: { 202: clusterAcceptedSchema, ...errors },
        summary: 'Apply an ha-config again, for the nodes that match now (after nodes joined, left or changed labels)',
      },
    },
    async (request, reply) => {
      deps.assertQueueUp();
      const config = await sm.haConfig(haConfigId(request));
      const answer = await sm.startClusterWorkflow(
        config.clusterId,
        startRequest(request, engine.definition(APPLY_HA_CONFIG), 'Updating', { haConfigId: config.id }),
      );
      return acceptWorkflow(reply, engine, answer);
    },
  );

  app.delete(
    '/ha-configs/:id',
    {
      config: { access: onParam('operator', 'ha-config') },
      schema: {
        tags: ['ha-configs'],
        summary: 'Remove an ha-config from its cluster (runs a workflow)',
        params: refParamsSchema,
        response: { 202: clusterAcceptedSchema, ...errors },
      },
    },
    async (request, reply) => {
      deps.assertQueueUp();
      const config = await sm.haConfig(haConfigId(request));
      const answer = await sm.startClusterWorkflow(
        config.clusterId,
        startRequest(request, engine.definition(REMOVE_HA_CONFIG), 'Updating', {
          haConfigId: config.id,
          name: config.name,
        }),
      );
      return acceptWorkflow(reply, engine, answer);
    },
  );
}
