/** sm's internal routes of authorization: access decisions for wfm's guard, and grants. */
import type { FastifyInstance } from 'fastify';
import {
  grantCreateRequestSchema,
  type AccessObject,
  type AccessRequirement,
  type GrantCreateRequest,
} from '@cx/api-schemas';
import { idParams, subjectOf, userListPage, type UserListQuery } from '../http.js';
import type { AccessControl } from './access-control.js';

/** What an access check names: the user and what they need (also validated for direct calls, direct-calls.ts). */
export const accessCheckBody = {
  type: 'object',
  required: ['userId', 'requirement'],
  properties: { userId: { type: 'string' }, requirement: { type: 'object', required: ['role', 'object'] } },
} as const;

export async function accessRoutes(app: FastifyInstance, deps: { access: AccessControl }): Promise<void> {
  const { access } = deps;

  app.post<{ Body: { userId: string; requirement: AccessRequirement } }>(
    '/access/check',
    {
      schema: {
        body: accessCheckBody,
      },
    },
    async (request, reply) => {
      await access.check(await access.subject(request.body.userId), request.body.requirement);
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { userId: string; object: AccessObject } }>(
    '/access/role',
    {
      schema: {
        body: {
          type: 'object',
          required: ['userId', 'object'],
          properties: { userId: { type: 'string' }, object: { type: 'object', required: ['kind'] } },
        },
      },
    },
    async (request) => ({ role: await access.roleOn(await access.subject(request.body.userId), request.body.object) }),
  );

  app.get<{ Querystring: UserListQuery & { subject?: string; objectKind?: string; objectId?: string } }>(
    '/grants',
    {
      schema: {
        querystring: {
          ...userListPage,
          properties: {
            ...userListPage.properties,
            subject: { type: 'string' },
            objectKind: { type: 'string' },
            objectId: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      const { limit, cursor, userId, ...filter } = request.query;
      return access.listGrants(await subjectOf(access, userId), limit, cursor, filter);
    },
  );
  app.post<{ Body: { userId: string; grant: GrantCreateRequest } }>(
    '/grants',
    {
      schema: {
        body: {
          type: 'object',
          required: ['userId', 'grant'],
          properties: { userId: { type: 'string' }, grant: grantCreateRequestSchema },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await access.createGrant(await subjectOf(access, request.body.userId), request.body.grant)),
  );
  app.delete<{ Params: { id: string } }>('/grants/:id', { schema: { params: idParams } }, async (request, reply) => {
    await access.deleteGrant(request.params.id);
    return reply.code(204).send();
  });
}
