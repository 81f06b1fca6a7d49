/**
 * sm's internal API for identity and access (behind the service token, like the rest of it). wfm
 * passes the caller's user id; sm re-reads the user and their grants for every decision.
 */
import type { FastifyInstance } from 'fastify';
import {
  apiTokenCreateRequestSchema,
  directoryGroupQuerySchema,
  groupCreateRequestSchema,
  groupMemberRequestSchema,
  ldapSettingsRequestSchema,
  oidcSettingsRequestSchema,
  passwordChangeRequestSchema,
  userCreateRequestSchema,
  userPatchRequestSchema,
  type ApiTokenCreateRequest,
  type DirectoryGroupQuery,
  type GroupCreateRequest,
  type LdapSettingsRequest,
  type OidcSettingsRequest,
  type PasswordChangeRequest,
  type UserCreateRequest,
  type UserPatchRequest,
} from '@cx/api-schemas';
import { NotFoundError } from '@cx/errors';
import type { AccessControl } from '../access/access-control.js';
import type { Accounts } from './accounts.js';
import type { Authenticator } from './auth.js';
import { DirectoryGroups } from './directory-groups.js';
import type { DirectorySettings } from './directory-settings.js';
import type { OidcSettings } from './oidc-settings.js';
import type { AuditLog } from '../audit/audit-log.js';
import { idParams, subjectOf, userListPage, type UserListQuery } from '../http.js';
import type { LoginThrottle } from './throttle.js';

export interface IdentityRouteDeps {
  auditLog: AuditLog;
  auth: Authenticator;
  access: AccessControl;
  accounts: Accounts;
  throttle: LoginThrottle;
  oidc: OidcSettings;
  directory: DirectorySettings;
}

/** Who asked, for a change without a body (wfm passes the caller's username). */
const actorQuery = {
  type: 'object',
  required: ['actor'],
  properties: { actor: { type: 'string', maxLength: 128 } },
} as const;
const requestMeta = { sourceIp: { type: 'string' }, requestId: { type: 'string' } } as const;
interface RequestMeta {
  sourceIp?: string;
  requestId?: string;
}

export async function identityRoutes(app: FastifyInstance, deps: IdentityRouteDeps): Promise<void> {
  const { auditLog, auth, access, accounts } = deps;
  /** Audits a login; `actor` is who tried (for a sign-on not known before it succeeds: then the user signed in). */
  const audited = async <T extends { user: { id: string; username: string } }>(
    actor: string,
    action: string,
    meta: RequestMeta,
    work: () => Promise<T>,
  ): Promise<T> => {
    try {
      const result = await work();
      await auditLog.record({
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
      await auditLog.record({
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

  // ---- authentication ---------------------------------------------------------------------------

  app.get('/auth/methods', async () => ({
    local: true,
    ldap: (await deps.directory.ldap()) !== null,
    oidc: (await deps.oidc.current()) !== null,
  }));

  // ---- directory and single sign-on settings (wfm allows admins only) ----------------------------------------------

  app.get('/settings/ldap', async () => deps.directory.view());
  app.put<{ Body: { actor: string; settings: LdapSettingsRequest } }>(
    '/settings/ldap',
    {
      schema: {
        body: {
          type: 'object',
          required: ['actor', 'settings'],
          additionalProperties: false,
          properties: { actor: { type: 'string', maxLength: 128 }, settings: ldapSettingsRequestSchema },
        },
      },
    },
    async (request) => deps.directory.put(request.body.settings, request.body.actor),
  );
  const directoryGroups = new DirectoryGroups(deps.directory, deps.oidc, accounts);
  app.get<{ Querystring: DirectoryGroupQuery }>(
    '/directory/groups',
    { schema: { querystring: directoryGroupQuerySchema } },
    async (request) => directoryGroups.search(request.query.search ?? '', request.query.limit ?? 20),
  );
  app.delete<{ Querystring: { actor: string } }>(
    '/settings/ldap',
    { schema: { querystring: actorQuery } },
    async (request) => deps.directory.revert(request.query.actor),
  );
  app.get('/settings/oidc', async () => deps.oidc.view());
  app.put<{ Body: { actor: string; settings: OidcSettingsRequest } }>(
    '/settings/oidc',
    {
      schema: {
        body: {
          type: 'object',
          required: ['actor', 'settings'],
          additionalProperties: false,
          properties: { actor: { type: 'string', maxLength: 128 }, settings: oidcSettingsRequestSchema },
        },
      },
    },
    async (request) => deps.oidc.put(request.body.settings, request.body.actor),
  );

  app.delete<{ Querystring: { actor: string } }>(
    '/settings/oidc',
    { schema: { querystring: actorQuery } },
    async (request) => deps.oidc.revert(request.query.actor),
  );

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

  const oidc = async () => {
    const current = await deps.oidc.current();
    if (!current)
      throw new NotFoundError(
        'OIDC single sign-on is not configured on this cx (auth.oidc.issuer or the OIDC settings)',
      );
    return current;
  };
  app.get<{ Querystring: { returnTo?: string } }>(
    '/auth/oidc/login',
    { schema: { querystring: { type: 'object', properties: { returnTo: { type: 'string', maxLength: 1024 } } } } },
    async (request) => (await oidc()).signOn.startLogin(request.query.returnTo),
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
      const { signOn, issuer } = await oidc();
      let returnTo: string | null = null;
      const result = await audited('oidc', 'auth.oidc.login', request.body, async () => {
        const finished = await signOn.finishLogin(request.body.query);
        returnTo = finished.returnTo;
        return auth.loginExternal(finished.identity, issuer);
      });
      return { ...result, returnTo };
    },
  );
  app.post('/auth/oidc/device', async () => (await oidc()).signOn.startDevice());
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
      const { signOn, issuer } = await oidc();
      const identity = await signOn.pollDevice(request.body.handle);
      if (!identity) return reply.code(202).send({ status: 'pending' });
      return audited(identity.username, 'auth.oidc.device', request.body, () => auth.loginExternal(identity, issuer));
    },
  );

  // ---- users and groups -------------------------------------------------------------------------

  app.get<{ Querystring: UserListQuery }>('/users', { schema: { querystring: userListPage } }, async (request) =>
    accounts.list(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: UserCreateRequest }>(
    '/users',
    { schema: { body: userCreateRequestSchema } },
    async (request, reply) => reply.code(201).send(await accounts.create(request.body)),
  );
  app.get<{ Params: { id: string } }>('/users/:id', { schema: { params: idParams } }, async (request) =>
    accounts.get(request.params.id),
  );
  app.patch<{ Params: { id: string }; Body: UserPatchRequest }>(
    '/users/:id',
    { schema: { params: idParams, body: userPatchRequestSchema } },
    async (request) => accounts.patch(request.params.id, request.body),
  );
  app.delete<{ Params: { id: string } }>('/users/:id', { schema: { params: idParams } }, async (request, reply) => {
    const { username, grantsRemoved } = await accounts.delete(request.params.id);
    if (grantsRemoved > 0)
      await auditLog.record({
        actor: 'cx',
        action: 'grants.removed-with-user',
        targetKind: 'user',
        targetId: request.params.id,
        outcome: 'success',
        details: { username, grants: grantsRemoved },
      });
    return reply.code(204).send();
  });
  app.post<{ Params: { id: string } }>('/users/:id/unlock', { schema: { params: idParams } }, async (request) => {
    const user = await accounts.get(request.params.id);
    await deps.throttle.unlock(user.username);
    return user;
  });
  // wfm passes the caller's token (that session stays, the user's others end) and address (throttling).
  app.post<{ Params: { id: string }; Body: PasswordChangeRequest & { keepToken?: string } & RequestMeta }>(
    '/users/:id/password',
    {
      schema: {
        params: idParams,
        body: {
          ...passwordChangeRequestSchema,
          properties: {
            ...passwordChangeRequestSchema.properties,
            keepToken: { type: 'string', maxLength: 4096 },
            ...requestMeta,
          },
        },
      },
    },
    async (request, reply) => {
      const { currentPassword, newPassword, keepToken, sourceIp } = request.body;
      await auth.changeOwnPassword(request.params.id, { currentPassword, newPassword }, keepToken, sourceIp);
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: UserListQuery }>('/groups', { schema: { querystring: userListPage } }, async (request) =>
    accounts.listGroups(request.query.limit, request.query.cursor),
  );
  app.post<{ Body: GroupCreateRequest }>(
    '/groups',
    { schema: { body: groupCreateRequestSchema } },
    async (request, reply) => reply.code(201).send(await accounts.createGroup(request.body)),
  );
  app.get<{ Params: { id: string } }>('/groups/:id', { schema: { params: idParams } }, async (request) =>
    accounts.getGroup(request.params.id),
  );
  app.delete<{ Params: { id: string } }>('/groups/:id', { schema: { params: idParams } }, async (request, reply) => {
    await accounts.deleteGroup(request.params.id);
    return reply.code(204).send();
  });
  app.post<{ Params: { id: string }; Body: { username: string } }>(
    '/groups/:id/members',
    { schema: { params: idParams, body: groupMemberRequestSchema } },
    async (request) => accounts.addMember(request.params.id, request.body.username),
  );
  app.delete<{ Params: { id: string; username: string } }>('/groups/:id/members/:username', async (request, reply) => {
    await accounts.removeMember(request.params.id, request.params.username);
    return reply.code(204).send();
  });

  // ---- API tokens -------------------------------------------------------------------------------

  app.get<{ Querystring: UserListQuery }>('/tokens', { schema: { querystring: userListPage } }, async (request) => ({
    items: await auth.listApiTokens((await subjectOf(access, request.query.userId)).id),
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
        params: idParams,
        querystring: { type: 'object', required: ['userId'], properties: { userId: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const subject = await subjectOf(access, request.query.userId);
      await auth.revokeApiToken(subject, request.params.id);
      return reply.code(204).send();
    },
  );
}
