/** Pieces the public route modules share. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SmClient } from '@cx/sm-contract';

/** Problem answers every route may give (RFC 9457 bodies, docs/errors.md). */
export const problemResponses = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
  403: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
  409: { $ref: 'Problem#' },
  // Any request whose URL and headers exceed Node's 16 KiB (a long query string).
  431: { $ref: 'Problem#' },
  503: { $ref: 'Problem#' },
};

/** Sends JSON that sm already wrote in the public shape (a string skips fastify's serializer). */
export function sendJson(reply: FastifyReply, json: string, status = 200): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(json);
}

/**
 * Answers with sm's answer to the same call: for resources sm owns (identity, hosts, IP pools) its
 * internal answer is the public shape. Errors arrive as cx errors and become problems as usual.
 */
export async function relayToSm(
  sm: SmClient,
  reply: FastifyReply,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<FastifyReply> {
  const { status, text } = await sm.relay(method, path, body);
  return status === 204 ? reply.code(204).send() : sendJson(reply, text, status);
}

/** The request's query string as it came (for lists sm pages). */
export function queryOf(request: FastifyRequest, extra: Record<string, string | undefined> = {}): string {
  const entries = Object.entries({ ...(request.query as Record<string, unknown>), ...extra })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]): [string, string] => [k, String(v)]);
  return new URLSearchParams(entries).toString();
}
