/**
 * Two-node pairs (seed 002; docs/two-node-pair.md). A pair is not a workflow: once declared, sddc's
 * witness watches it for as long as it exists. Declaring one needs the operator role on both of
 * its clusters; everything it refuses is refused before sm stores anything.
 */
import type { FastifyInstance } from 'fastify';
import {
  PAIR_TIMING_DEFAULTS,
  refParamsSchema,
  listQuerySchema,
  listSchema,
  pairAgentConfigSchema,
  pairCreateRequestSchema,
  pairSchema,
  type PairCreateRequest,
  type ProviderInfo,
  refParamSchema,
} from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import { onParam, type AccessGuard } from '../http/access-guard.js';
import { problemResponses as errors, queryOf, relayToSm } from '../http/responses.js';
import type { SmClient } from '@cx/sm-contract';

export interface PairRouteDeps {
  sm: SmClient;
  guard: AccessGuard;
  providers: () => Promise<ProviderInfo[]>;
}

const sideParams = {
  type: 'object',
  required: ['id', 'side'],
  properties: { id: refParamSchema, side: { type: 'string', enum: ['a', 'b'] } },
} as const;

export async function pairRoutes(app: FastifyInstance, { sm, guard, providers }: PairRouteDeps): Promise<void> {
  app.get(
    '/pairs',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['pairs'],
        summary: 'List the pairs whose two clusters you may see',
        querystring: listQuerySchema,
        response: { 200: listSchema(pairSchema), ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/pairs?${queryOf(request, { userId: request.user!.id })}`),
  );

  app.post<{ Body: PairCreateRequest }>(
    '/pairs',
    {
      config: {
        access: {
          role: 'operator',
          on: 'cluster',
          onInput: (request) => ({ kind: 'cluster', id: (request.body as PairCreateRequest).sides.a.clusterId }),
        },
      },
      schema: {
        tags: ['pairs'],
        body: pairCreateRequestSchema,
        response: { 201: pairSchema, ...errors },
        summary: 'Declare two single-node clusters a pair, with the singleton Deployments cx moves between them',
        description:
          'Needs the operator role on both clusters. Refused with nothing stored: a side that is not a single-node cluster or whose provider cannot power its machine off (no BMC) (400), the same cluster twice (400), a cluster already in a pair (409), a cluster not Ready (409). ' +
          "Then fetch each side's agent configuration (GET /api/v1/pairs/{id}/agents/{side}) and run `cx-pair-agent --config FILE` on that side.",
      },
    },
    async (request, reply) => {
      const body = request.body;
      await guard.authorize(request.user!, {
        role: 'operator',
        object: { kind: 'cluster', id: body.sides.b.clusterId },
      });
      const timing = { ...PAIR_TIMING_DEFAULTS, ...body.timing };
      if (timing.powerPollIntervalMs >= timing.fenceTimeoutMs) {
        throw new InputError(
          'the power state must be read more often than the fence timeout, or a fence could fail before it is read',
          [
            {
              field: 'body.timing.powerPollIntervalMs',
              message: `must be less than fenceTimeoutMs (${timing.fenceTimeoutMs})`,
            },
          ],
        );
      }
      const offered = await providers();
      for (const side of ['a', 'b'] as const) {
        const cluster = await sm.getCluster(body.sides[side].clusterId);
        const provider = offered.find((p) => p.name === cluster.provider);
        if (provider?.capabilities?.power !== true) {
          const why = provider
            ? `provider ${cluster.provider} cannot power its machines off`
            : `no sddc serves provider ${cluster.provider} now`;
          throw new InputError(
            `side ${side} (cluster ${cluster.name}) has no BMC cx can fence it with: ${why}. Without a verified power-off, a lost side's singletons could never move`,
            [{ field: `body.sides.${side}.clusterId`, message: 'has no power control (BMC) for fencing' }],
          );
        }
      }
      return relayToSm(sm, reply, 'POST', '/pairs', { actor: request.user!.username, pair: body });
    },
  );

  app.get(
    '/pairs/:id',
    {
      config: { access: onParam('viewer', 'pair') },
      schema: {
        tags: ['pairs'],
        summary: "Get a pair with the witness's status: phase, conditions, sides, singletons, recent actions",
        params: refParamsSchema,
        response: { 200: pairSchema, ...errors },
      },
    },
    async (request, reply) =>
      relayToSm(sm, reply, 'GET', `/pairs/${encodeURIComponent((request.params as { id: string }).id)}`),
  );

  app.get(
    '/pairs/:id/agents/:side',
    {
      config: { access: onParam('operator', 'pair') },
      schema: {
        tags: ['pairs'],
        params: sideParams,
        response: { 200: pairAgentConfigSchema, ...errors },
        summary:
          "The configuration a side's pair agent runs with (`cx-pair-agent --config FILE`); it holds the pair's token",
      },
    },
    async (request, reply) => {
      const { id, side } = request.params as { id: string; side: string };
      return relayToSm(sm, reply, 'GET', `/pairs/${encodeURIComponent(id)}/agents/${side}`);
    },
  );

  app.delete(
    '/pairs/:id',
    {
      config: { access: onParam('operator', 'pair') },
      schema: {
        tags: ['pairs'],
        params: refParamsSchema,
        response: { 204: { type: 'null' }, ...errors },
        summary:
          'Stop witnessing a pair; its singletons stay where they run, and the clusters can be resized or deleted again',
      },
    },
    async (request, reply) =>
      relayToSm(sm, reply, 'DELETE', `/pairs/${encodeURIComponent((request.params as { id: string }).id)}`),
  );
}
