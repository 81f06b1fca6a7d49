/** sm's internal routes of a cluster's addons: read them, reveal one for its workflow, record an install or removal with its workflow. */
import type { FastifyInstance } from 'fastify';
import { InstallAddonBody, StartBody } from '@cx/sm-contract';
import type { ClusterAddons } from './addons.js';
import type { Clusters } from '../clusters/clusters.js';
import { sendAccepted } from '../http.js';

const params = {
  type: 'object',
  required: ['id', 'name'],
  properties: { id: { type: 'string', maxLength: 64 }, name: { type: 'string', maxLength: 63 } },
} as const;

/** sm's internal routes for addons (wfm relays the public ones and runs the workflows). */
export async function addonRoutes(
  app: FastifyInstance,
  deps: { clusters: Clusters; addons: ClusterAddons },
): Promise<void> {
  const { clusters, addons } = deps;
  app.get<{ Params: { id: string } }>(
    '/clusters/:id/addons',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } } },
    async (request) => {
      await clusters.get(request.params.id);
      return { items: await addons.list(request.params.id), nextCursor: null };
    },
  );
  app.get<{ Params: { id: string; name: string } }>(
    '/clusters/:id/addons/:name',
    { schema: { params } },
    async (request) => addons.get(request.params.id, request.params.name),
  );
  app.get<{ Params: { id: string; name: string } }>(
    '/clusters/:id/addons/:name/reveal',
    { schema: { params } },
    async (request) => addons.reveal(request.params.id, request.params.name),
  );
  app.post<{ Params: { id: string; name: string }; Body: InstallAddonBody }>(
    '/clusters/:id/addons/:name/install',
    {
      schema: { params, body: InstallAddonBody },
    },
    async (request, reply) => {
      const { id, name } = request.params;
      const { start, addon } = request.body;
      const accepted = await clusters.startWorkflow(id, start, async (trx) => ({
        addon: await addons.install(trx, id, name, addon, start.actor),
      }));
      return sendAccepted(reply, accepted);
    },
  );
  app.post<{ Params: { id: string; name: string }; Body: StartBody }>(
    '/clusters/:id/addons/:name/remove',
    {
      schema: { params, body: StartBody },
    },
    async (request, reply) => {
      const { id, name } = request.params;
      const accepted = await clusters.startWorkflow(id, request.body.start, async (trx) => ({
        addon: await addons.remove(trx, id, name),
      }));
      return sendAccepted(reply, accepted);
    },
  );
}
