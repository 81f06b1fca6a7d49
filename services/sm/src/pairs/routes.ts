/** sm's internal API for two-node pairs: wfm relays the public calls, sddc's witness reads targets and writes its state. */
import type { FastifyInstance } from 'fastify';
import {
  pairCreateRequestSchema,
  pairStatusSchema,
  type PairCreateRequest,
  type PairStatusView,
} from '@cx/api-schemas';
import type { AccessControl } from '../access/access-control.js';
import type { Pairs } from './pairs.js';

export interface PairRouteDeps {
  pairs: Pairs;
  access: AccessControl;
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;

export async function pairRoutes(app: FastifyInstance, { pairs, access }: PairRouteDeps): Promise<void> {
  app.get<{ Querystring: { limit: number; cursor?: string; userId?: string } }>(
    '/pairs',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            cursor: { type: 'string', maxLength: 256 },
            userId: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      const { limit, cursor, userId } = request.query;
      const subject = userId === undefined ? undefined : await access.subject(userId);
      return pairs.list(
        limit,
        cursor,
        async (pair) => !subject || (await access.roleOn(subject, { kind: 'pair', id: pair.id })) !== null,
      );
    },
  );
  app.post<{ Body: { actor: string; pair: PairCreateRequest } }>(
    '/pairs',
    {
      schema: {
        body: {
          type: 'object',
          required: ['actor', 'pair'],
          properties: { actor: { type: 'string' }, pair: pairCreateRequestSchema },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await pairs.create(request.body.pair, request.body.actor)),
  );
  app.get<{ Params: { id: string } }>('/pairs/:id', { schema: { params: idParams } }, async (request) =>
    pairs.get(request.params.id),
  );
  app.delete<{ Params: { id: string } }>('/pairs/:id', { schema: { params: idParams } }, async (request, reply) => {
    await pairs.delete(request.params.id);
    return reply.code(204).send();
  });
  app.get<{ Params: { id: string; side: 'a' | 'b' } }>(
    '/pairs/:id/agents/:side',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id', 'side'],
          properties: { id: { type: 'string', maxLength: 64 }, side: { type: 'string', enum: ['a', 'b'] } },
        },
      },
    },
    async (request) => pairs.agentConfig(request.params.id, request.params.side),
  );

  // ---- sddc's witness ----
  app.get('/pair-targets', async () => ({ items: await pairs.targets() }));
  app.put<{ Params: { id: string }; Body: { snapshot: unknown } }>(
    '/pairs/:id/witness',
    {
      schema: {
        params: idParams,
        body: { type: 'object', required: ['snapshot'], properties: { snapshot: { type: 'object' } } },
      },
    },
    async (request, reply) => {
      await pairs.saveWitness(request.params.id, request.body.snapshot);
      return reply.code(204).send();
    },
  );
  app.put<{ Params: { id: string }; Body: PairStatusView }>(
    '/pairs/:id/status',
    { schema: { params: idParams, body: pairStatusSchema } },
    async (request, reply) => {
      await pairs.saveStatus(request.params.id, request.body);
      return reply.code(204).send();
    },
  );
}
