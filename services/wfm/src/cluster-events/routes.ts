/**
 * A cluster's feed (`/clusters/{id}/events`): what happened to it and why, newest first a page at
 * a time, or as server-sent events from now on with `Accept: text/event-stream`.
 */
import type { FastifyInstance } from 'fastify';
import {
  clusterEventListQuerySchema,
  clusterEventSchema,
  listSchema,
  refParamsSchema,
  type ClusterEvent,
  type ClusterEventListQuery,
  type Page,
} from '@cx/api-schemas';
import type { SmClient } from '@cx/sm-contract';
import { onParam } from '../http/access-guard.js';
import { problemResponses as errors } from '../http/responses.js';
import { streamClusterEvents } from './stream.js';

export async function clusterEventRoutes(app: FastifyInstance, deps: { sm: SmClient }): Promise<void> {
  const { sm } = deps;
  app.get<{ Params: { id: string }; Querystring: ClusterEventListQuery }>(
    '/clusters/:id/events',
    {
      config: { access: onParam('viewer', 'cluster') },
      schema: {
        tags: ['clusters'],
        summary: 'What happened to the cluster and why: its workflows, their steps, and what cx decided about it',
        description:
          "From the cluster's workflow runs (started, each step done or failed with its reason, ended) and its audit entries that started no workflow (a refused request, a remediation cx decided on, with its reason). Newest first, a page at a time. With `Accept: text/event-stream`: the events from now on as server-sent events (`event: cluster-event`, `id` to send back as `Last-Event-ID` to resume), until the client leaves or the cluster is deleted.",
        params: refParamsSchema,
        querystring: clusterEventListQuerySchema,
        produces: ['application/json', 'text/event-stream'],
        response: { 200: listSchema(clusterEventSchema), ...errors },
      },
    },
    async (request, reply): Promise<Page<ClusterEvent> | void> => {
      if (request.headers.accept?.includes('text/event-stream'))
        return streamClusterEvents(sm, request.params.id, request, reply);
      const { limit, cursor } = request.query;
      return sm.clusterEvents(request.params.id, { limit, ...(cursor === undefined ? {} : { cursor }) });
    },
  );
}
