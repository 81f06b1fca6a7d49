/** sm's internal route that turns what a public path names (id or name) into the object's id. */
import type { FastifyInstance } from 'fastify';
import { NamedKind, type ResolvedName } from '@cx/sm-contract';
import type { Names } from './names.js';

/** What a name lookup names (also validated for direct calls, direct-calls.ts). */
export const nameParams = {
  type: 'object',
  required: ['kind', 'ref'],
  properties: { kind: NamedKind, ref: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

export async function nameRoutes(app: FastifyInstance, deps: { names: Names }): Promise<void> {
  app.get<{ Params: { kind: NamedKind; ref: string } }>(
    '/names/:kind/:ref',
    { schema: { params: nameParams } },
    async (request): Promise<ResolvedName> => ({
      id: await deps.names.resolve(request.params.kind, request.params.ref),
    }),
  );
}
