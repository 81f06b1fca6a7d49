/** What sm's route modules share: common parameter schemas and how a workflow start is answered. */
import type { FastifyReply } from 'fastify';
import { InputError } from '@cx/errors';
import type { AccessControl, Subject } from './access/access-control.js';
import type { Accepted } from './runs/workflow-runs.js';

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64 } },
} as const;

export const listPage = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, cursor: { type: 'string' } },
} as const;

/** A list read on behalf of a user (`userId`), whose grants decide what it shows. */
export const userListPage = {
  type: 'object',
  properties: { ...listPage.properties, userId: { type: 'string' } },
} as const;
export type UserListQuery = { limit: number; cursor?: string; userId?: string };

/** The user a request acts for, with their groups and grants; a 400 when the request names none. */
export async function subjectOf(access: AccessControl, userId: string | undefined): Promise<Subject> {
  if (!userId) throw new InputError('userId is required');
  return access.subject(userId);
}

/** A started workflow: its status, and whether the Idempotency-Key replayed an earlier answer. */
export function sendAccepted(reply: FastifyReply, accepted: Accepted): FastifyReply {
  return reply.code(accepted.status).header('idempotent-replayed', String(accepted.replayed)).send(accepted.body);
}
