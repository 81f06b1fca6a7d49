/** The audit trail of the public API (DESIGN.md section 6): every mutating call, refused ones included. */
import type { FastifyInstance } from 'fastify';
import type { SmClient } from '@cx/sm-contract';

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Records each mutating call's outcome with sm once it is answered; a lost record is logged, never fails the call. */
export function auditMutations(app: FastifyInstance, sm: SmClient): void {
  // Logins are audited by sm itself, with their outcome.
  app.addHook('onResponse', async (request, reply) => {
    if (!MUTATING_METHODS.has(request.method) || request.routeOptions.config.access === 'public') return;
    const url = request.routeOptions.url ?? 'unmatched';
    const params = request.params as { id?: string } | undefined;
    const body = request.body as { name?: unknown; username?: unknown } | undefined;
    const named =
      typeof body?.name === 'string' ? body.name : typeof body?.username === 'string' ? body.username : undefined;
    sm.audit({
      actor: request.user?.username ?? 'anonymous',
      action: `${request.method} ${url}`,
      targetKind: (url.split('/')[3] ?? 'unknown').replace(/s$/, ''),
      ...(params?.id ? { targetId: params.id } : named ? { targetId: named } : {}),
      outcome: reply.statusCode < 400 ? 'success' : 'failure',
      sourceIp: request.ip,
      requestId: request.id,
      details: { status: reply.statusCode },
    }).catch((error: unknown) => request.log.warn({ err: error }, 'audit record lost'));
  });
}
