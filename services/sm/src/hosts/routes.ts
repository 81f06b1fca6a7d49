/**
 * sm's internal routes of bare-metal hosts: the admin's inventory (relayed by wfm), and the claims
 * and cleaning of sddc's baremetal provider.
 */
import type { FastifyInstance } from 'fastify';
import { hostCreateRequestSchema, type HostCreateRequest } from '@cx/api-schemas';
import type { ClaimHostBody } from '@cx/sm-contract';
import { idParams, listPage } from '../http.js';
import type { Hosts } from './hosts.js';

export async function hostRoutes(app: FastifyInstance, deps: { hosts: Hosts }): Promise<void> {
  const { hosts } = deps;
  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/hosts',
    { schema: { querystring: listPage } },
    async (request) => hosts.list(request.query.limit, request.query.cursor),
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
    async (request, reply) => reply.code(201).send(await hosts.create(request.body.host, request.body.actor)),
  );
  app.get<{ Params: { id: string } }>('/hosts/:id', { schema: { params: idParams } }, async (request) =>
    hosts.get(request.params.id),
  );
  app.delete<{ Params: { id: string } }>('/hosts/:id', { schema: { params: idParams } }, async (request, reply) => {
    await hosts.delete(request.params.id);
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
    async (request) => hosts.claim(request.body.spec),
  );
  app.get<{ Params: { clusterId: string } }>('/host-claims/:clusterId', async (request) => ({
    items: await hosts.claims(request.params.clusterId),
  }));
  app.get<{ Params: { clusterId: string; machineId: string } }>(
    '/host-claims/:clusterId/:machineId',
    { schema: { params: claimParams } },
    async (request) => ({ host: await hosts.claimOf(request.params.clusterId, request.params.machineId) }),
  );
  app.get('/host-cleaning', async () => ({ items: await hosts.cleaning() }));
  app.post<{ Params: { id: string } }>(
    '/host-cleaning/:id/done',
    { schema: { params: idParams } },
    async (request, reply) => {
      await hosts.cleaned(request.params.id);
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
      await hosts.release(request.params.clusterId, request.params.machineId, request.query.cleaning === true);
      return reply.code(204).send();
    },
  );
}
