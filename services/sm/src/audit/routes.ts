/** sm's internal routes of the audit log: wfm records every change and reads the log for admins. */
import type { FastifyInstance } from 'fastify';
import { auditQuerySchema, type AuditQuery } from '@cx/api-schemas';
import { AuditRequest } from '@cx/sm-contract';
import type { AuditLog } from './audit-log.js';

export async function auditRoutes(app: FastifyInstance, deps: { auditLog: AuditLog }): Promise<void> {
  const { auditLog } = deps;
  app.post<{ Body: AuditRequest }>(
    '/audit',
    {
      schema: { body: AuditRequest },
    },
    async (request, reply) => {
      await auditLog.record(request.body);
      return reply.code(204).send();
    },
  );
  app.get<{ Querystring: AuditQuery }>('/audit', { schema: { querystring: auditQuerySchema } }, async (request) =>
    auditLog.list(request.query),
  );
}
