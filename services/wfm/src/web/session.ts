/**
 * Browser sessions for the web console. Signing in at `POST /ui/session` sets the access token in
 * an HttpOnly, SameSite=Strict cookie (Secure over https), so that no script of the page can read
 * it; on later requests wfm reads the cookie as if it were `Authorization: Bearer <token>`, so
 * every route's authentication and authorization stay as they are. A request that carries its own
 * Authorization header (the CLI, scripts) is left alone: the bearer API does not change.
 *
 * Cross-site request forgery: a state-changing request (not GET/HEAD/OPTIONS) authenticated by the
 * cookie must carry the `x-cx-csrf` header, which a page of another site cannot send (a form
 * cannot set headers, and wfm answers no CORS preflight), and an Origin, when the browser sends
 * one, that is this site's. SameSite=Strict already keeps the cookie off cross-site requests; the
 * header holds even where a browser does not honour it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loginRequestSchema, principalSchema, type LoginRequest } from '@cx/api-schemas';
import { CxError, NotAllowedError } from '@cx/errors';
import type { SmClient } from '@cx/sm-contract';

export const SESSION_COOKIE = 'cx_session';
export const CSRF_HEADER = 'x-cx-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of one cookie of the request, if it has it. */
export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`,
    ...(request.protocol === 'https' ? ['Secure'] : []),
  ].join('; ');
}

/**
 * Whether the request's Origin (when it has one) names the host the request was sent to. The host
 * alone: behind a proxy that ends TLS the browser's scheme is not the one wfm sees.
 */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  // Default ports are dropped on both sides: a browser leaves them out of Host and Origin alike.
  const withoutDefaultPort = (host: string): string => host.toLowerCase().replace(/:(80|443)$/, '');
  try {
    return withoutDefaultPort(new URL(origin).host) === withoutDefaultPort(request.host);
  } catch {
    return false; // `null` (a sandboxed or privacy-sensitive context) or garbage: not this site
  }
}

const sessionSchema = {
  type: 'object',
  required: ['expiresAt'],
  properties: { expiresAt: { type: 'string', format: 'date-time' }, user: principalSchema },
} as const;

export function browserSessions(app: FastifyInstance, deps: { sm: SmClient }): void {
  app.addHook('onRequest', async (request) => {
    if (request.headers.authorization) return;
    const token = cookieOf(request, SESSION_COOKIE);
    if (!token) return;
    if (!SAFE_METHODS.has(request.method)) {
      if (request.headers[CSRF_HEADER] !== '1' || !sameOrigin(request))
        throw new NotAllowedError(
          `a request signed in by the session cookie that changes something needs the ${CSRF_HEADER}: 1 header and this site's Origin (cross-site requests are refused); API clients send Authorization: Bearer <token> instead`,
        );
    }
    request.headers.authorization = `Bearer ${token}`;
    request.cookieSession = true;
  });

  // A session that ends — by signing out, or because its token is no longer valid — drops its cookie.
  app.addHook('onSend', async (request, reply) => {
    if (!request.cookieSession) return;
    const signedOut = request.routeOptions.url === '/api/v1/auth/logout' && reply.statusCode === 204;
    if (signedOut || reply.statusCode === 401) void reply.header('set-cookie', sessionCookie(request, '', 0));
  });

  // Who the cookie signs in, or null: the page asks this first, and a visitor not signed in is
  // not an error (no 401 to log in the browser's console).
  app.get(
    '/ui/session',
    { schema: { response: { 200: { type: 'object', properties: { user: { ...principalSchema, nullable: true } } } } } },
    async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      const token = cookieOf(request, SESSION_COOKIE);
      if (!token) return { user: null };
      try {
        return { user: await deps.sm.introspect(token) };
      } catch (error) {
        // sm's 401, relayed as a CxError with its code: the token expired or was revoked.
        if (!(error instanceof CxError && error.code === 'CX_UNAUTHENTICATED')) throw error;
        void reply.header('set-cookie', sessionCookie(request, '', 0));
        return { user: null };
      }
    },
  );

  singleSignOn(app, deps);

  app.post<{ Body: LoginRequest }>(
    '/ui/session',
    {
      schema: { body: loginRequestSchema, response: { 200: sessionSchema } },
    },
    async (request: FastifyRequest<{ Body: LoginRequest }>, reply: FastifyReply) => {
      // Signing in changes who the browser is: the same CSRF header is asked for (login CSRF).
      if (request.headers[CSRF_HEADER] !== '1' || !sameOrigin(request))
        throw new NotAllowedError(`signing in from a page needs the ${CSRF_HEADER}: 1 header and this site's Origin`);
      const { token, expiresAt, user } = await deps.sm.login({
        ...request.body,
        sourceIp: request.ip,
        requestId: request.id,
      });
      void reply.header('set-cookie', sessionCookie(request, token, (Date.parse(expiresAt) - Date.now()) / 1000));
      void reply.header('cache-control', 'no-store');
      return { expiresAt, ...(user ? { user } : {}) };
    },
  );
}

/**
 * Single sign-on (OIDC) for the console: the sign-in page sends the browser to
 * `/api/v1/auth/oidc/login?returnTo=/signed-in`; after the identity provider, wfm's callback
 * redirects to `/signed-in#token=…&expiresAt=…` (a fragment: never sent to a server, never in a
 * log), and the page hands the token to `POST /ui/session/token`, which checks it and keeps it in
 * the session cookie. The page then drops the fragment; nothing keeps the token but the cookie.
 */
function singleSignOn(app: FastifyInstance, deps: { sm: SmClient }): void {
  app.post<{ Body: { token: string; expiresAt: string } }>(
    '/ui/session/token',
    {
      schema: {
        body: {
          type: 'object',
          required: ['token', 'expiresAt'],
          additionalProperties: false,
          properties: {
            token: { type: 'string', minLength: 1, maxLength: 4096 },
            expiresAt: { type: 'string', format: 'date-time' },
          },
        },
        response: { 200: sessionSchema },
      },
    },
    async (request, reply) => {
      if (request.headers[CSRF_HEADER] !== '1' || !sameOrigin(request))
        throw new NotAllowedError(`signing in from a page needs the ${CSRF_HEADER}: 1 header and this site's Origin`);
      const user = await deps.sm.introspect(request.body.token); // a token sm does not know: 401
      const { token, expiresAt } = request.body;
      void reply.header('set-cookie', sessionCookie(request, token, (Date.parse(expiresAt) - Date.now()) / 1000));
      void reply.header('cache-control', 'no-store');
      return { expiresAt, user };
    },
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Whether the request is signed in by the console's session cookie (not its own Authorization header). */
    cookieSession?: boolean;
  }
}
