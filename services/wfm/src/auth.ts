/**
 * Bearer-token authentication of public requests. sm decides who a token belongs to; answers are
 * cached briefly so that a busy API does not ask sm on every request (a disabled user loses access
 * within the cache lifetime).
 */
import type { FastifyRequest } from 'fastify';
import { AuthenticationError } from '@cx/errors';
import type { SmClient, UserIdentity } from './sm-client.js';

const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 10_000;

export class TokenAuthenticator {
  private readonly cache = new Map<string, { user: UserIdentity; until: number }>();

  constructor(private readonly sm: SmClient) {}

  async authenticate(request: FastifyRequest): Promise<UserIdentity> {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token) throw new AuthenticationError('this call needs `Authorization: Bearer <token>`; get a token from POST /api/v1/auth/login');
    const now = Date.now();
    const cached = this.cache.get(token);
    if (cached && cached.until > now) return cached.user;
    const user = await this.sm.introspect(token);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(token, { user, until: now + CACHE_TTL_MS });
    return user;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: UserIdentity;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers without a token (login, the OpenAPI document). */
    public?: boolean;
  }
}
