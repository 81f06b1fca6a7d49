/** sm's internal routes of ha-configs: created together with the workflow that applies them; sddc reports their sync. */
import type { FastifyInstance } from 'fastify';
import {
  HA_CONFIG_SYNC_STATES,
  haConfigCreateRequestSchema,
  type HaConfigCreateRequest,
  type HaConfigStatus,
} from '@cx/api-schemas';
import { StartRequest } from '@cx/sm-contract';
import type { Clusters } from '../clusters/clusters.js';
import { idParams, sendAccepted } from '../http.js';
import type { HaConfigs } from './ha-configs.js';

export async function haConfigRoutes(
  app: FastifyInstance,
  deps: { clusters: Clusters; haConfigs: HaConfigs },
): Promise<void> {
  const { clusters, haConfigs } = deps;
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
    async (request) => ({ items: await haConfigs.list(request.query.clusterId), nextCursor: null }),
  );
  app.get<{ Params: { id: string } }>('/ha-configs/:id', { schema: { params: idParams } }, async (request) =>
    haConfigs.get(request.params.id),
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
      await haConfigs.setSync(request.params.id, request.body);
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
      const accepted = await clusters.startWorkflow(config.clusterId, start, async (trx) => ({
        haConfig: await haConfigs.create(trx, id, config, start.actor),
      }));
      return sendAccepted(reply, accepted);
    },
  );
}
