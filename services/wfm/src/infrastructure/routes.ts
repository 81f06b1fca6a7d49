/**
 * The infrastructure cx runs on: the providers sddc serves (advertised in Redis), and what admins
 * keep for it, owned by sm: bare-metal hosts (their BMC checked by
 * sddc before sm stores it) and IP pools with their allocations.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  hostCreateRequestSchema,
  hostSchema,
  refParamsSchema,
  ipAllocationRequestSchema,
  ipAllocationSchema,
  ipPoolCreateRequestSchema,
  ipPoolSchema,
  listQuerySchema,
  listSchema,
  providerSchema,
  type HostCreateRequest,
  type ProviderInfo,
  refParamSchema,
} from '@cx/api-schemas';
import { globalRole } from '../http/access-guard.js';
import { problemResponses as errors, queryOf, relayToSm } from '../http/responses.js';
import type { InfrastructureChecks } from './checks.js';
import type { SmClient } from '@cx/sm-contract';

export interface InfrastructureRouteDeps {
  sm: SmClient;
  infrastructure: InfrastructureChecks;
  providers: () => Promise<ProviderInfo[]>;
}

const admin = globalRole('admin');
const noContent = { 204: { type: 'null', description: 'Done' } };
const allocationParams = {
  type: 'object',
  required: ['id', 'address'],
  properties: { id: refParamSchema, address: { type: 'string', maxLength: 64 } },
} as const;

export async function infrastructureRoutes(app: FastifyInstance, deps: InfrastructureRouteDeps): Promise<void> {
  const { sm } = deps;
  const id = (request: FastifyRequest): string => encodeURIComponent((request.params as { id: string }).id);

  // ---- providers ------------------------------------------------------------------------------

  app.get(
    '/providers',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['providers'],
        summary: 'Providers and the Kubernetes versions they install',
        response: { 200: listSchema(providerSchema), ...errors },
      },
    },
    async () => ({ items: await deps.providers(), nextCursor: null }),
  );

  // ---- bare-metal hosts -------------------------------------------------------------------------

  app.get(
    '/hosts',
    {
      config: { access: admin },
      schema: {
        tags: ['hosts'],
        summary: 'List bare-metal hosts and which machine holds each (admin)',
        querystring: listQuerySchema,
        response: { 200: listSchema(hostSchema), ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/hosts?${queryOf(request)}`),
  );
  app.post<{ Body: HostCreateRequest }>(
    '/hosts',
    {
      config: { access: admin },
      schema: {
        tags: ['hosts'],
        body: hostCreateRequestSchema,
        response: { 201: hostSchema, ...errors, 422: { $ref: 'Problem#' } },
        summary: 'Register a bare-metal host after checking its BMC (admin)',
        description:
          'sddc logs in to the BMC first (Redfish or IPMI); an unreachable BMC, an untrusted certificate or a refused login each answer 422 with their own code, and nothing is stored. The BMC password is stored encrypted and never returned.',
      },
    },
    async (request, reply) => {
      await deps.infrastructure.checkBmc(request.body);
      return relayToSm(sm, reply, 'POST', '/hosts', { actor: request.user!.username, host: request.body });
    },
  );
  app.get(
    '/hosts/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['hosts'],
        summary: 'Get a bare-metal host by id or name (admin)',
        params: refParamsSchema,
        response: { 200: hostSchema, ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/hosts/${id(request)}`),
  );
  app.delete(
    '/hosts/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['hosts'],
        summary: 'Remove a bare-metal host no machine holds (admin)',
        params: refParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'DELETE', `/hosts/${id(request)}`),
  );

  // ---- IP pools ---------------------------------------------------------------------------------

  app.get(
    '/ip-pools',
    {
      config: { access: admin },
      schema: {
        tags: ['ip-pools'],
        summary: 'List IP pools with their size and how many addresses are allocated (admin)',
        querystring: listQuerySchema,
        response: { 200: listSchema(ipPoolSchema), ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/ip-pools?${queryOf(request)}`),
  );
  app.post(
    '/ip-pools',
    {
      config: { access: admin },
      schema: {
        tags: ['ip-pools'],
        body: ipPoolCreateRequestSchema,
        response: { 201: ipPoolSchema, ...errors },
        summary: 'Create an IP pool from ranges (admin)',
        description:
          'Ranges in the form `10.1.1.5-8,42.42.42.42` (IPv4 and IPv6, short or full range ends, CIDR blocks). Malformed ranges answer 400 and ranges that overlap each other or another pool 400/409; nothing is created.',
      },
    },
    async (request, reply) =>
      relayToSm(sm, reply, 'POST', '/ip-pools', { actor: request.user!.username, pool: request.body }),
  );
  app.get(
    '/ip-pools/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['ip-pools'],
        summary: 'Get an IP pool by id or name (admin)',
        params: refParamsSchema,
        response: { 200: ipPoolSchema, ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/ip-pools/${id(request)}`),
  );
  app.delete(
    '/ip-pools/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['ip-pools'],
        summary: 'Delete an IP pool with no allocated address (admin)',
        params: refParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'DELETE', `/ip-pools/${id(request)}`),
  );
  app.get(
    '/ip-pools/:id/allocations',
    {
      config: { access: admin },
      schema: {
        tags: ['ip-pools'],
        summary: 'List the allocated addresses of a pool (admin)',
        params: refParamsSchema,
        querystring: listQuerySchema,
        response: { 200: listSchema(ipAllocationSchema), ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/ip-pools/${id(request)}/allocations?${queryOf(request)}`),
  );
  app.post(
    '/ip-pools/:id/allocations',
    {
      config: { access: admin },
      schema: {
        tags: ['ip-pools'],
        params: refParamsSchema,
        body: ipAllocationRequestSchema,
        response: { 201: ipAllocationSchema, ...errors },
        summary: 'Allocate an address of the pool: the one asked, or the first free one (admin)',
        description:
          'Concurrent requests never get the same address. `409 CX_POOL_EXHAUSTED` when none is free; `409` when the address asked is taken; `400` when it is not in the pool.',
      },
    },
    async (request, reply) =>
      relayToSm(sm, reply, 'POST', `/ip-pools/${id(request)}/allocations`, {
        actor: request.user!.username,
        allocation: request.body,
      }),
  );
  app.delete(
    '/ip-pools/:id/allocations/:address',
    {
      config: { access: admin },
      schema: {
        tags: ['ip-pools'],
        summary: 'Release an allocated address (admin); releasing a free one succeeds',
        params: allocationParams,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) =>
      relayToSm(
        sm,
        reply,
        'DELETE',
        `/ip-pools/${id(request)}/allocations/${encodeURIComponent((request.params as { address: string }).address)}`,
      ),
  );
}
