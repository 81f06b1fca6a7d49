/**
 * The agent's HTTP API: polls and scaling commands from the witness, heartbeats from the peer
 * agent, and a status for people. Every `/v1` call carries the pair's token; a request without it
 * changes nothing and learns nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ScaleCommand, Side, SideReport } from '@cx/pair';
import { AuthenticationError, InputError } from '@cx/errors';
import { createHttpServer } from '@cx/service-kit';
import type { AgentRunner } from './runner.js';

/** `POST /v1/poll` from the witness: its clock. */
export interface PollRequest {
  witnessTime: number;
}

/** The answer to a poll. */
export interface PollResponse {
  report: SideReport;
}

/** `POST /v1/heartbeat` from the peer agent, and its answer (the same shape, from the other side). */
export interface Heartbeat {
  side: Side;
  boot: number;
}

/**
 * The answer to `POST /v1/commands`: 200 with `applied: false` and the reason when the agent
 * refused it, 200 with `applied: true` once the Deployment was scaled, 502 with `applied: true`
 * and the error when the agent took it but the Kubernetes API did not carry it out.
 */
export type CommandResponse = { applied: false; reason: string } | { applied: true } | { applied: true; error: string };

const side = { enum: ['a', 'b'] } as const;
// Extra fields are allowed: the witness may send its whole action (with `kind`).
const schemas = {
  poll: { type: 'object', required: ['witnessTime'], properties: { witnessTime: { type: 'number' } } },
  command: {
    type: 'object',
    required: ['side', 'singleton', 'replicas', 'boot', 'seq', 'issuedAt'],
    properties: {
      side,
      singleton: { type: 'string', minLength: 1 },
      replicas: { enum: [0, 1] },
      boot: { type: 'integer', minimum: 0 },
      seq: { type: 'integer', minimum: 0 },
      issuedAt: { type: 'number' },
    },
  },
  heartbeat: {
    type: 'object',
    required: ['side', 'boot'],
    properties: { side, boot: { type: 'integer', minimum: 0 } },
  },
} as const;

export interface AgentServerOptions {
  runner: AgentRunner;
  token: string;
  logger: Logger;
}

export function buildAgentServer({ runner, token, logger }: AgentServerOptions): FastifyInstance {
  const app = createHttpServer({ service: 'cx-pair-agent', logger, readiness: {}, requestLogLevel: 'debug' });
  // Bodies are taken as sent: a string is not a number, a "1" is not a replica count.
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
  });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));

  // Hashing both sides makes the comparison constant-time whatever the lengths.
  const expected = createHash('sha256').update(token).digest();
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/')) return;
    const match = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '');
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    if (!match || !timingSafeEqual(given, expected)) {
      void reply.header('www-authenticate', 'Bearer realm="cx-pair-agent"');
      throw new AuthenticationError("the pair agent needs the pair's token (Authorization: Bearer …)");
    }
  });

  app.post<{ Body: PollRequest }>(
    '/v1/poll',
    { schema: { body: schemas.poll } },
    async (request): Promise<PollResponse> => ({
      report: await runner.poll(request.body.witnessTime),
    }),
  );

  app.post<{ Body: ScaleCommand }>(
    '/v1/commands',
    { schema: { body: schemas.command } },
    async (request, reply): Promise<CommandResponse> => {
      const { side: target, singleton, replicas, boot, seq, issuedAt } = request.body;
      const result = await runner.command({ side: target, singleton, replicas, boot, seq, issuedAt });
      if ('error' in result) void reply.code(502);
      return result;
    },
  );

  app.post<{ Body: Heartbeat }>(
    '/v1/heartbeat',
    { schema: { body: schemas.heartbeat } },
    async (request): Promise<Heartbeat> => {
      if (!runner.heardPeer(request.body.side, request.body.boot)) {
        throw new InputError(
          `a heartbeat from side ${request.body.side}, but this agent is side ${runner.side}: the peer must be the other side`,
          [{ field: 'body.side', message: `must be the peer's side, not ${runner.side}` }],
        );
      }
      return { side: runner.side, boot: runner.boot };
    },
  );

  app.get('/v1/status', async () => runner.status());
  return app;
}
