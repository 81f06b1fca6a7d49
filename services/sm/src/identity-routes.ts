/**
 * sm's internal API for identity and access (behind the service token, like the rest of it). wfm
 * passes the caller's user id; sm re-reads the user and their grants for every decision.
 */
import type { FastifyInstance } from 'fastify';
import {
  apiTokenCreateRequestSchema,
  credentialCreateRequestSchema,
  grantCreateRequestSchema,
  groupCreateRequestSchema,
  groupMemberRequestSchema,
  passwordChangeRequestSchema,
  resourceGroupCreateRequestSchema,
  resourceGroupPatchRequestSchema,
  userCreateRequestSchema,
  userPatchRequestSchema,
  type AccessObject,
  type AccessRequirement,
  type ApiTokenCreateRequest,
  type CredentialCreateRequest,
  type GrantCreateRequest,
  type GroupCreateRequest,
  type PasswordChangeRequest,
  type ResourceGroupCreateRequest,
  type ResourceGroupPatchRequest,
  type UserCreateRequest,
  type UserPatchRequest,
} from '@cx/api-schemas';
import { InputError, NotFoundError } from '@cx/errors';
import type { AccessControl } from './access.js';
import type { Accounts } from './accounts.js';
import type { Authenticator } from './auth.js';
import type { OidcSignOn } from './oidc.js';
import type { Resources } from './resources.js';
import type { StateStore } from './store.js';
import type { LoginThrottle } from './throttle.js';

export interface IdentityRouteDeps {
  store: StateStore;
  auth: Authenticator;
  access: AccessControl;
  accounts: Accounts;
  resources: Resources;
  throttle: LoginThrottle;
  oidc: { signOn: OidcSignOn; issuer: string } | null;
  ldapEnabled: boolean;
}

const id = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;
const page = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: { type: 'string' },
    userId: { type: 'string' },
  },
} as const;
const requestMeta = { sourceIp: { type: 'string' }, requestId: { type: 'string' } } as const;
interface RequestMeta {
  sourceIp?: string;
  requestId?: string;
}
type PageQuery = { limit: number; cursor?: string; userId?: string };

export async function identityRoutes(app: FastifyInstance, deps: IdentityRouteDeps): Promise<void> {
  const { store, auth, access, accounts, resources } = deps;
  /** Audits a login; `actor` is who tried (for a sign-on not known before it succeeds: then the user signed in). */
  const audited = async <T extends { user: { id: string; username: string } }>(
    actor: string,
    action: string,
    meta: RequestMeta,
    work: () => Promise<T>,
  ): Promise<T> => {
    try {
      const result = await work();
      await store.audit({
        actor: result.user.username,
        action,
        targetKind: 'user',
        targetId: result.user.id,
        outcome: 'success',
        sourceIp: meta.sourceIp,
        requestId: meta.requestId,
      });
      return result;
    } catch (error) {
      const code = (error as { code?: string }).code;
      await store.audit({
        actor,
        action,
        targetKind: 'user',
        outcome: 'failure',
        sourceIp: meta.sourceIp,
        requestId: meta.requestId,
        details: { code },
      });
      throw error;
    }
  };
  const subjectOf = async (userId: string | undefined) => {
    if (!userId) throw new InputError('userId is required');
    return access.subject(userId);
  };

  // ---- authentication ---------------------------------------------------------------------------

  app.get('/auth/methods', async () => ({ local: true, ldap: deps.ldapEnabled, oidc: deps.oidc !== null }));

  app.post<{ Body: { username: string; password: string; provider?: 'local' | 'ldap' } & RequestMeta }>(
    '/auth/login',
    {
      schema: {
        body: {
          type: 'object',
          required: ['username', 'password'],
          properties: {
            username: { type: 'string' },
            password: { type: 'string' },
            provider: { type: 'string', enum: ['local', 'ldap'] },
            ...requestMeta,
          },
        },
      },
    },
    async (request) => {
      const { username, password, provider, sourceIp } = request.body;
      return audited(username, 'auth.login', request.body, () => auth.login(username, password, provider, sourceIp));
    },
  );
  app.post<{ Body: { token: string } }>(
    '/auth/introspect',
    { schema: { body: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } } } },
    async (request) => ({ active: true, user: await auth.introspect(request.body.token) }),
  );
  app.post<{ Body: { token: string } }>(
    '/auth/logout',
    { schema: { body: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } } } },
    async (request, reply) => {
      await auth.logout(request.body.token);
      return reply.code(204).send();
    },
  );

  const oidc = () => {
    if (!deps.oidc) throw new NotFoundError('OIDC single sign-on is not configured on this cx (auth.oidc.issuer)');
    return deps.oidc;
  };
  app.get<{ Querystring: { returnTo?: string } }>(
    '/auth/oidc/login',
    { schema: { querystring: { type: 'object', properties: { returnTo: { type: 'string', maxLength: 1024 } } } } },
    async (request) => oidc().signOn.startLogin(request.query.returnTo),
  );
  app.post<{ Body: { query: Record<string, string> } & RequestMeta }>(
    '/auth/oidc/callback',
    {
      schema: {
        body: {
          type: 'object',
          required: ['query'],
          properties: { query: { type: 'object', additionalProperties: { type: 'string' } }, ...requestMeta },
        },
      },
    },
    async (request) => {
      const { signOn, issuer } = oidc();
      let returnTo: string | null = null;
      const result = await audited('oidc', 'auth.oidc.login', request.body, async () => {
        const finished = await signOn.finishLogin(request.body.query);
        returnTo = finished.returnTo;
        return auth.loginExternal(finished.identity, issuer);
      });
      return { ...result, returnTo };
    },
  );
  app.post('/auth/oidc/device', async () => oidc().signOn.startDevice());
  app.post<{ Body: { handle: string } & RequestMeta }>(
    '/auth/oidc/device/poll',
    {
      schema: {
        body: {
          type: 'object',
          required: ['handle'],
          properties: { handle: { type: 'string', maxLength: 128 }, ...requestMeta },
        },
      },
    },
    async (request, reply) => {
      const { signOn, issuer } = oidc();
      const identity = await signOn.pollDevice(request.body.handle);
      if (!identity) return reply.code(202).send({ status: 'pending' });
      return audited(identity.username, 'auth.oidc.device', request.body, () => auth.loginExternal(identity, issuer));
    },
  );

  // ---- authorization ----------------------------------------------------------------------------

  app.post<{ Body: { userId: string; requirement: AccessRequirement } }>(
    '/access/check',
    {
      schema: {
        body: {
          type: 'object',
          required: ['userId', 'requirement'],
          properties: { userId: { type: 'string' }, requirement: { type: 'object', required: ['role', 'object'] } },
        },
      },
    },
    async (request, reply) => {
      await access.check(await access.subject(request.body.userId), request.body.requirement);
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { userId: string; object: AccessObject } }>(
    '/access/role',
    {
      schema: {
        body: {
          type: 'object',
          required: ['userId', 'object'],
          properties: { userId: { type: 'string' }, object: { type: 'object', required: ['kind'] } },
        },
      },
    },
    async (request) => ({ role: await access.roleOn(await access.subject(request.body.userId), request.body.object) }),
  );

  // ---- users and groups -------------------------------------------------------------------------

  app.get<{ Querystring: PageQuery }>('/users', { schema: { querystring: page } }, async (request) =>
    accounts.list(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: UserCreateRequest }>(
    '/users',
    { schema: { body: userCreateRequestSchema } },
    async (request, reply) => reply.code(201).send(await accounts.create(request.body)),
  );
  app.get<{ Params: { id: string } }>('/users/:id', { schema: { params: id } }, async (request) =>
    accounts.get(request.params.id),
  );
  app.patch<{ Params: { id: string }; Body: UserPatchRequest }>(
    '/users/:id',
    { schema: { params: id, body: userPatchRequestSchema } },
    async (request) => accounts.patch(request.params.id, request.body),
  );
  app.delete<{ Params: { id: string } }>('/users/:id', { schema: { params: id } }, async (request, reply) => {
    await accounts.delete(request.params.id);
    return reply.code(204).send();
  });
  app.post<{ Params: { id: string } }>('/users/:id/unlock', { schema: { params: id } }, async (request) => {
    const user = await accounts.get(request.params.id);
    await deps.throttle.unlock(user.username);
    return user;
  });
  app.post<{ Params: { id: string }; Body: PasswordChangeRequest }>(
    '/users/:id/password',
    { schema: { params: id, body: passwordChangeRequestSchema } },
    async (request, reply) => {
      await accounts.changeOwnPassword(request.params.id, request.body.currentPassword, request.body.newPassword);
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: PageQuery }>('/groups', { schema: { querystring: page } }, async (request) =>
    accounts.listGroups(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: GroupCreateRequest }>(
    '/groups',
    { schema: { body: groupCreateRequestSchema } },
    async (request, reply) => reply.code(201).send(await accounts.createGroup(request.body)),
  );
  app.get<{ Params: { id: string } }>('/groups/:id', { schema: { params: id } }, async (request) =>
    accounts.getGroup(request.params.id),
  );
  app.delete<{ Params: { id: string } }>('/groups/:id', { schema: { params: id } }, async (request, reply) => {
    await accounts.deleteGroup(request.params.id);
    return reply.code(204).send();
  });
  app.post<{ Params: { id: string }; Body: { username: string } }>(
    '/groups/:id/members',
    { schema: { params: id, body: groupMemberRequestSchema } },
    async (request) => accounts.addMember(request.params.id, request.body.username),
  );
  app.delete<{ Params: { id: string; username: string } }>('/groups/:id/members/:username', async (request, reply) => {
    await accounts.removeMember(request.params.id, request.params.username);
    return reply.code(204).send();
  });

  // ---- grants, resource groups, credentials -----------------------------------------------------

  app.get<{ Querystring: PageQuery & { subject?: string; objectKind?: string; objectId?: string } }>(
    '/grants',
    {
      schema: {
        querystring: {
          ...page,
          properties: {
            ...page.properties,
            subject: { type: 'string' },
            objectKind: { type: 'string' },
            objectId: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      const { limit, cursor, userId, ...filter } = request.query;
      return access.listGrants(await subjectOf(userId), limit, cursor, filter);
    },
  );
  app.post<{ Body: { userId: string; grant: GrantCreateRequest } }>(
    '/grants',
    {
      schema: {
        body: {
          type: 'object',
          required: ['userId', 'grant'],
          properties: { userId: { type: 'string' }, grant: grantCreateRequestSchema },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await access.createGrant(await subjectOf(request.body.userId), request.body.grant)),
  );
  app.delete<{ Params: { id: string } }>('/grants/:id', { schema: { params: id } }, async (request, reply) => {
    await access.deleteGrant(request.params.id);
    return reply.code(204).send();
  });

  app.get<{ Querystring: PageQuery }>('/resource-groups', { schema: { querystring: page } }, async (request) => {
    const visible = await access.visibility(await subjectOf(request.query.userId));
    return resources.listGroups(request.query.limit, request.query.cursor, visible);
  });
  app.post<{ Body: ResourceGroupCreateRequest }>(
    '/resource-groups',
    { schema: { body: resourceGroupCreateRequestSchema } },
    async (request, reply) => reply.code(201).send(await resources.createGroup(request.body)),
  );
  app.get<{ Params: { id: string } }>('/resource-groups/:id', { schema: { params: id } }, async (request) =>
    resources.getGroup(request.params.id),
  );
  app.patch<{ Params: { id: string }; Body: ResourceGroupPatchRequest }>(
    '/resource-groups/:id',
    { schema: { params: id, body: resourceGroupPatchRequestSchema } },
    async (request) => resources.patchGroup(request.params.id, request.body),
  );
  app.delete<{ Params: { id: string } }>('/resource-groups/:id', { schema: { params: id } }, async (request, reply) => {
    await resources.deleteGroup(request.params.id);
    return reply.code(204).send();
  });

  app.get<{ Querystring: PageQuery }>('/credentials', { schema: { querystring: page } }, async (request) =>
    resources.listCredentials(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: { actor: string; credential: CredentialCreateRequest } }>(
    '/credentials',
    {
      schema: {
        body: {
          type: 'object',
          required: ['actor', 'credential'],
          properties: { actor: { type: 'string' }, credential: credentialCreateRequestSchema },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await resources.createCredential(request.body.credential, request.body.actor)),
  );
  app.get<{ Params: { id: string } }>('/credentials/:id', { schema: { params: id } }, async (request) =>
    resources.getCredential(request.params.id),
  );
  app.delete<{ Params: { id: string } }>('/credentials/:id', { schema: { params: id } }, async (request, reply) => {
    await resources.deleteCredential(request.params.id);
    return reply.code(204).send();
  });

  // ---- API tokens -------------------------------------------------------------------------------

  app.get<{ Querystring: PageQuery }>('/tokens', { schema: { querystring: page } }, async (request) => ({
    items: await auth.listApiTokens((await subjectOf(request.query.userId)).id),
    nextCursor: null,
  }));
  app.post<{ Body: { userId: string } & ApiTokenCreateRequest }>(
    '/tokens',
    {
      schema: {
        body: {
          type: 'object',
          required: ['userId', 'name'],
          properties: {
            userId: { type: 'string' },
            name: apiTokenCreateRequestSchema.properties.name,
            expiresInDays: apiTokenCreateRequestSchema.properties.expiresInDays,
          },
        },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await auth.createApiToken(request.body.userId, request.body.name, request.body.expiresInDays)),
  );
  app.delete<{ Params: { id: string }; Querystring: { userId: string } }>(
    '/tokens/:id',
    {
      schema: {
        params: id,
        querystring: { type: 'object', required: ['userId'], properties: { userId: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const subject = await subjectOf(request.query.userId);
      await auth.revokeApiToken(subject, request.params.id);
      return reply.code(204).send();
    },
  );
}
