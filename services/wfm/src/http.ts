/** Pieces the public route modules share. */
import type { FastifyReply } from 'fastify';

/** Problem answers every route may give (RFC 9457 bodies, docs/errors.md). */
export const problemResponses = {
  400: { $ref: 'Problem#' }, 401: { $ref: 'Problem#' }, 403: { $ref: 'Problem#' }, 404: { $ref: 'Problem#' }, 409: { $ref: 'Problem#' }, 503: { $ref: 'Problem#' },
};

/** Sends JSON that sm already wrote in the public shape (a string skips fastify's serializer). */
export function sendJson(reply: FastifyReply, json: string, status = 200): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(json);
}
