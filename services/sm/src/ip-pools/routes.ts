/** sm's internal routes of IP pools and their allocations (wfm relays the public ones). */
import type { FastifyInstance } from 'fastify';
import {
  ipAllocationRequestSchema,
  ipPoolCreateRequestSchema,
  type IpAllocationRequest,
  type IpPoolCreateRequest,
} from '@cx/api-schemas';
import { idParams, listPage } from '../http.js';
import type { IpPools } from './ip-pools.js';

export async function ipPoolRoutes(app: FastifyInstance, deps: { ipPools: IpPools }): Promise<void> {
  const { ipPools } = deps;
  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/ip-pools',
    { schema: { querystring: listPage } },
    async (request) => ipPools.list(request.query.limit, request.query.cursor),
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
    async (request, reply) => reply.code(201).send(await ipPools.create(request.body.pool, request.body.actor)),
  );
  app.get<{ Params: { id: string } }>('/ip-pools/:id', { schema: { params: idParams } }, async (request) =>
    ipPools.get(request.params.id),
  );
  app.delete<{ Params: { id: string } }>('/ip-pools/:id', { schema: { params: idParams } }, async (request, reply) => {
    await ipPools.delete(request.params.id);
    return reply.code(204).send();
  });
  app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
    '/ip-pools/:id/allocations',
    { schema: { params: idParams, querystring: listPage } },
    async (request) => ipPools.allocations(request.params.id, request.query.limit, request.query.cursor),
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
      reply.code(201).send(await ipPools.allocate(request.params.id, request.body.allocation, request.body.actor)),
  );
  app.delete<{ Params: { id: string; address: string } }>(
    '/ip-pools/:id/allocations/:address',
    async (request, reply) => {
      await ipPools.release(request.params.id, request.params.address);
      return reply.code(204).send();
    },
  );
}
