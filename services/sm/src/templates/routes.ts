/** sm's internal routes of cluster templates (wfm checks the public requests and relays them). */
import type { FastifyInstance } from 'fastify';
import { idParams } from '../http.js';
import type { ClusterTemplates, TemplateInput, TemplatePatch } from './templates.js';

const storedAddons = {
  type: 'array',
  maxItems: 64,
  items: {
    type: 'object',
    required: ['name', 'settings', 'secrets'],
    properties: { name: { type: 'string', maxLength: 63 }, settings: { type: 'object' }, secrets: { type: 'object' } },
  },
} as const;

/** sm's internal routes for templates (wfm checks the public requests and relays them). */
export async function templateRoutes(app: FastifyInstance, deps: { templates: ClusterTemplates }): Promise<void> {
  const { templates } = deps;
  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/cluster-templates',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, cursor: { type: 'string' } },
        },
      },
    },
    async (request) => templates.list(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: { actor: string; template: TemplateInput } }>(
    '/cluster-templates',
    {
      schema: {
        body: {
          type: 'object',
          required: ['actor', 'template'],
          properties: {
            actor: { type: 'string', minLength: 1 },
            template: {
              type: 'object',
              required: ['name'],
              properties: { name: { type: 'string', minLength: 1, maxLength: 63 }, addons: storedAddons },
            },
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await templates.create(request.body.template, request.body.actor)),
  );
  app.get<{ Params: { id: string } }>('/cluster-templates/:id', { schema: { params: idParams } }, async (request) =>
    templates.get(request.params.id),
  );
  app.get<{ Params: { id: string } }>(
    '/cluster-templates/:id/reveal',
    { schema: { params: idParams } },
    async (request) => templates.reveal(request.params.id),
  );
  app.patch<{ Params: { id: string }; Body: { patch: TemplatePatch } }>(
    '/cluster-templates/:id',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['patch'],
          properties: {
            patch: {
              type: 'object',
              required: ['version'],
              properties: { version: { type: 'integer' }, addons: storedAddons },
            },
          },
        },
      },
    },
    async (request) => templates.patch(request.params.id, request.body.patch),
  );
  app.delete<{ Params: { id: string } }>(
    '/cluster-templates/:id',
    { schema: { params: idParams } },
    async (request, reply) => {
      await templates.delete(request.params.id);
      return reply.code(204).send();
    },
  );
}
