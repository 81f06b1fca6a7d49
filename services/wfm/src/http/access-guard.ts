/**
 * Authentication and authorization of public requests. Every route under `/api/v1` declares its
 * access in `config.access`; a route without one fails at start. sm decides who a token belongs
 * to and whether a principal may act on an object; wfm caches both answers briefly so that a busy
 * API does not ask sm on every request (a revoked grant or disabled user takes effect within the
 * cache lifetime; a logout at once on the replica that served it).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessObject, AccessRequirement, Principal, Role } from '@cx/api-schemas';
import { AuthenticationError } from '@cx/errors';
import type { SmClient } from '@cx/sm-contract';
import { NameResolver } from './names.js';

const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 10_000;

/**
 * Who may call a route: anyone, any signed-in user (sm filters what they see), or a role on an
 * object. An object the path names (`onPath`) is checked before the request is validated: path
 * parameters are always strings, and a caller who may not see the object learns nothing of the
 * request's shape. An object the body or query names (`onInput`) is checked after validation, so
 * that the check only ever reads validated input.
 */
export type RouteAccess =
  | 'public'
  | 'authenticated'
  | { role: Role; on: ObjectKind; onPath: (params: Record<string, string>) => AccessObject }
  /** `on` says, for people, which object of the input (`cluster`, `the granted object`…). */
  | { role: Role; on: string; onInput: (request: FastifyRequest) => AccessObject };
type ObjectKind = AccessObject['kind'];

/** Access to the object named by the `:id` parameter. */
export const onParam = (role: Role, kind: Exclude<ObjectKind, 'global'>): RouteAccess => ({
  role,
  on: kind,
  onPath: (params) => ({ kind, id: params['id'] ?? '' }),
});
export const globalRole = (role: Role): RouteAccess => ({ role, on: 'global', onPath: () => ({ kind: 'global' }) });

/** What the OpenAPI document says of a route's access (`x-cx-access`), for clients and the authorization matrix. */
export function declaredAccess(access: RouteAccess | undefined): string | { role: Role; on: string } | undefined {
  return typeof access === 'object' ? { role: access.role, on: access.on } : access;
}

class TtlCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    return entry && entry.until > Date.now() ? entry.value : undefined;
  }
  set(key: string, value: T): void {
    if (this.entries.size >= CACHE_MAX) this.entries.clear();
    this.entries.set(key, { value, until: Date.now() + CACHE_TTL_MS });
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
}

export class AccessGuard {
  private readonly principals = new TtlCache<Principal>();
  private readonly decisions = new TtlCache<true>();
  private readonly names: NameResolver;

  constructor(private readonly sm: SmClient) {
    this.names = new NameResolver(sm);
  }

  /** Installs the hooks on a route scope: authentication on request, authorization around validation (see RouteAccess). */
  install(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      if (route.config?.access === undefined)
        throw new Error(`route ${route.method} ${route.url} declares no access (config.access)`);
      this.names.checkRoute(route);
    });
    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.config.access === 'public') return;
      request.user = await this.authenticate(request);
    });
    // A name in the path becomes its id first (http/names.ts): the check, validation and handler see the id.
    app.addHook('preValidation', async (request) => {
      const access = request.routeOptions.config.access;
      if (access === undefined || access === 'public') return;
      await this.names.resolve(request);
      if (typeof access === 'string' || !('onPath' in access)) return;
      try {
        await this.authorize(request.user!, {
          role: access.role,
          object: access.onPath(request.params as Record<string, string>),
        });
      } catch (error) {
        throw this.names.restate(request, error);
      }
    });
    app.addHook('preHandler', async (request) => {
      const access = request.routeOptions.config.access;
      if (access === undefined || typeof access === 'string' || !('onInput' in access)) return;
      await this.authorize(request.user!, { role: access.role, object: access.onInput(request) });
    });
  }

  async authenticate(request: FastifyRequest): Promise<Principal> {
    const token = bearerToken(request);
    if (!token)
      throw new AuthenticationError(
        'this call needs `Authorization: Bearer <token>`; get a token from POST /api/v1/auth/login',
      );
    const cached = this.principals.get(token);
    if (cached) return cached;
    const user = await this.sm.introspect(token);
    this.principals.set(token, user);
    return user;
  }

  async authorize(user: Principal, requirement: AccessRequirement): Promise<void> {
    const object = requirement.object;
    const key = `${user.id}|${requirement.role}|${object.kind}|${object.kind === 'global' ? '' : object.id}`;
    if (this.decisions.get(key)) return;
    await this.sm.checkAccess(user.id, requirement);
    this.decisions.set(key, true);
  }

  /** Forgets a token at once (logout). */
  forget(token: string): void {
    this.principals.delete(token);
  }
}

export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: Principal;
  }
  interface FastifyContextConfig {
    /** Who may call the route (see RouteAccess); required on every public route. */
    access?: RouteAccess;
  }
}
