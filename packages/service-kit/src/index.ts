/**
 * What every cx service shares over HTTP: pino logging with request ids, RFC 9457 errors,
 * `/healthz`, `/readyz` and Prometheus `/metrics`.
 */
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createServer } from 'node:net';
import { v4 as uuidv4 } from 'uuid';
import { CxError, InputError, asCxError, toProblem } from '@cx/errors';
import { buildValidator, invalidInput } from './validation.js';

export type { Logger } from 'pino';
export { createLogger } from './logger.js';
export { inputValidator } from './validation.js';
export { coalesceWrites } from './redis-writes.js';
export { checkRedis, exitWithError, isEntryPoint, onSignals, runService, type ServiceRunner } from './lifecycle.js';

/** One dependency check of `/readyz`; throws or returns false when the dependency is not usable. */
export type ReadinessCheck = () => Promise<boolean | void>;

export interface HttpServerOptions {
  service: string;
  logger: Logger;
  bodyLimitBytes?: number;
  readiness: Record<string, ReadinessCheck>;
  /** Reverse proxies whose X-Forwarded-For names the client (`request.ip`); none by default. */
  trustedProxies?: readonly string[];
  /** Level of the one log line per request (probes and metrics scrapes are never logged). */
  requestLogLevel?: 'info' | 'debug';
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_PATH_PARAMETER = 1024;

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes ?? 1_048_576,
    // Requests are logged once, on response, by the hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : uuidv4();
    },
    schemaController: { compilersFactory: { buildValidator } },
    forceCloseConnections: true,
    // Long enough for any name cx takes in a path (an LDAP DN, a 128-character user name).
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER },
    // What Node's HTTP parser refuses before any route runs (a request line or headers too large, a
    // malformed request) is answered as a problem too, then the connection is closed.
    clientErrorHandler: (error, socket) => {
      const status = (error as { code?: string }).code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const body = JSON.stringify({
        type: 'about:blank',
        title: status === 431 ? 'Request header fields too large' : 'Bad request',
        status,
        detail:
          status === 431
            ? 'the request line and headers exceed 16 KiB; send less in the URL and headers'
            : 'the request is not valid HTTP',
        code: 'CX_INPUT_INVALID',
      });
      if (socket.writable)
        socket.end(
          `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
            `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
    },
    // The router's own refusals (a malformed or over-long path) are problems like any other.
    frameworkErrors: (error, request, reply) =>
      sendProblem(
        request,
        reply,
        new InputError(
          error.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? `a path segment is longer than ${MAX_PATH_PARAMETER} characters`
            : 'the path is not a valid URL',
          [{ field: 'params', message: 'is invalid' }],
        ),
      ),
    ...(options.trustedProxies?.length ? { trustProxy: [...options.trustedProxies] } : {}),
  });

  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'cx_http_request_duration_seconds',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.decorate('metrics', registry);

  const quiet = new Set(['/healthz', '/readyz', '/metrics']);
  const requestLogLevel = options.requestLogLevel ?? 'info';
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  // Answers are data, never pages to render, frame or leak a referrer from; a page that is one
  // (the API docs) sets its own Content-Security-Policy.
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('content-security-policy'))
      void reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (!quiet.has(route)) {
      request.log[requestLogLevel](
        { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => sendProblem(request, reply, fromFastifyError(error)));
  // A path that exists with other methods answers 405 naming them (RFC 9110), not 404.
  const routes: Array<{ method: string; path: RegExp }> = [];
  app.addHook('onRoute', (route) => {
    const pattern = route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+');
    for (const method of [route.method].flat()) routes.push({ method, path: new RegExp(`^${pattern}/?$`) });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = [...new Set(routes.filter((route) => route.path.test(path)).map((route) => route.method))];
    if (allowed.length === 0)
      return sendProblem(request, reply, new CxError('CX_NOT_FOUND', `no route ${request.method} ${path}`));
    void reply.header('allow', allowed.join(', '));
    return sendProblem(
      request,
      reply,
      new CxError('CX_METHOD_NOT_ALLOWED', `${path} takes ${allowed.join(', ')}, not ${request.method}`),
    );
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, string> = {};
    await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        try {
          checks[name] = (await withTimeout(check(), 2_000)) === false ? 'unavailable' : 'ok';
        } catch (error) {
          checks[name] = `unavailable: ${(error as Error).message}`;
        }
      }),
    );
    const ready = Object.values(checks).every((state) => state === 'ok');
    if (!ready) void reply.header('retry-after', '5');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  return app as unknown as FastifyInstance;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const cx = asCxError(error);
  const problem = toProblem(cx, request.id);
  if (problem.status >= 500) request.log.error({ err: error, code: cx.code }, 'request failed');
  else request.log.info({ code: cx.code, detail: problem.detail }, 'request refused');
  if (cx.retryAfterSeconds !== undefined) void reply.header('retry-after', String(cx.retryAfterSeconds));
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** Maps fastify's own errors (validation, body parsing, limits) onto cx error kinds. */
function fromFastifyError(error: FastifyError): unknown {
  if (error.validation) return invalidInput(error.validation, error.validationContext ?? 'body');
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CxError('CX_PAYLOAD_TOO_LARGE', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CxError('CX_UNSUPPORTED_MEDIA_TYPE', `${error.message}; send application/json`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InputError(`the body is not valid JSON: ${error.message}`, [
        { field: 'body', message: 'is not valid JSON' },
      ]);
    default:
      if (error instanceof SyntaxError || (error.statusCode === 400 && !(error instanceof CxError))) {
        return new InputError(error.message, [{ field: 'body', message: error.message }]);
      }
      return error;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** ISO 8601 UTC timestamp with milliseconds, the format of every time cx stores. */
export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Wraps a log call for a failure that repeats while a dependency is down (a worker losing Redis
 * reports every reconnect attempt): one line per interval, with the number of repeats folded in.
 */
export function throttled(
  log: (error: unknown, repeats: number) => void,
  intervalMs = 10_000,
): (error: unknown) => void {
  let last = 0;
  let repeats = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      repeats += 1;
      return;
    }
    log(error, repeats);
    last = now;
    repeats = 0;
  };
}

/** A TCP port on loopback that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no free port')),
      );
    });
  });
}
