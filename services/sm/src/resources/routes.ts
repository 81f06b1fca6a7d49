/** sm's internal routes of resource groups (with their quotas) and infrastructure credentials. */
import type { FastifyInstance } from 'fastify';
import {
  credentialCreateRequestSchema,
  resourceGroupCreateRequestSchema,
  resourceGroupPatchRequestSchema,
  type CredentialCreateRequest,
  type ResourceGroupCreateRequest,
  type ResourceGroupPatchRequest,
} from '@cx/api-schemas';
import type { AccessControl } from '../access/access-control.js';
import { idParams, subjectOf, userListPage, type UserListQuery } from '../http.js';
import type { Resources } from './resources.js';

export async function resourceRoutes(
  app: FastifyInstance,
  deps: { access: AccessControl; resources: Resources },
): Promise<void> {
  const { access, resources } = deps;
  app.get<{ Querystring: UserListQuery }>(
    '/resource-groups',
    { schema: { querystring: userListPage } },
    async (request) => {
      const visible = await access.visibility(await subjectOf(access, request.query.userId));
      return resources.listGroups(request.query.limit, request.query.cursor, visible);
    },
  );
  app.post<{ Body: ResourceGroupCreateRequest }>(
    '/resource-groups',
    { schema: { body: resourceGroupCreateRequestSchema } },
    async (request, reply) => reply.code(201).send(await resources.createGroup(request.body)),
  );
  app.get<{ Params: { id: string } }>('/resource-groups/:id', { schema: { params: idParams } }, async (request) =>
    resources.getGroup(request.params.id),
  );
  app.patch<{ Params: { id: string }; Body: ResourceGroupPatchRequest }>(
    '/resource-groups/:id',
    { schema: { params: idParams, body: resourceGroupPatchRequestSchema } },
    async (request) => resources.patchGroup(request.params.id, request.body),
  );
  app.delete<{ Params: { id: string } }>(
    '/resource-groups/:id',
    { schema: { params: idParams } },
    async (request, reply) => {
      await resources.deleteGroup(request.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: UserListQuery }>('/credentials', { schema: { querystring: userListPage } }, async (request) =>
    resources.listCredentials(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: { actor: string; credential: CredentialCreateRequest } }>(
    '/credentials',
    {
      schema: {
        body: {
          type: 'object',
          required: ['actor', 'credential'],
          properties: { actor: { type: 'string' }, credential: credentialCreateRequestSchema },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await resources.createCredential(request.body.credential, request.body.actor)),
  );
  app.get<{ Params: { id: string } }>('/credentials/:id', { schema: { params: idParams } }, async (request) =>
    resources.getCredential(request.params.id),
  );
  app.delete<{ Params: { id: string } }>(
    '/credentials/:id',
    { schema: { params: idParams } },
    async (request, reply) => {
      await resources.deleteCredential(request.params.id);
      return reply.code(204).send();
    },
  );
}
