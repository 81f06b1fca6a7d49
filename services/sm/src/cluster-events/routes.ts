/** sm's internal route of a cluster's feed of events (derived from its runs and audit entries). */
import type { FastifyInstance } from 'fastify';
import { ClusterEventQuery } from '@cx/sm-contract';
import { idParams } from '../http.js';
import type { ClusterEvents } from './cluster-events.js';

export async function clusterEventRoutes(app: FastifyInstance, deps: { clusterEvents: ClusterEvents }): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: ClusterEventQuery }>(
    '/clusters/:id/events',
    { schema: { params: idParams, querystring: ClusterEventQuery } },
    async (request) => deps.clusterEvents.list(request.params.id, request.query),
  );
}
