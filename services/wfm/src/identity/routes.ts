/**
 * Public routes of identity and access: login (password, OIDC browser and device flows), logout,
 * API tokens, users, groups, grants, resource groups, credentials and the audit log. sm owns all of
 * it; these routes validate, check access, and relay.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  apiTokenCreateRequestSchema,
  apiTokenSchema,
  auditEntrySchema,
  auditQuerySchema,
  credentialCreateRequestSchema,
  credentialSchema,
  directoryGroupPageSchema,
  directoryGroupQuerySchema,
  grantCreateRequestSchema,
  grantSchema,
  groupCreateRequestSchema,
  groupMemberRequestSchema,
  groupSchema,
  idParamsSchema,
  ldapSettingsRequestSchema,
  ldapSettingsSchema,
  oidcSettingsRequestSchema,
  oidcSettingsSchema,
  refParamsSchema,
  listQuerySchema,
  listSchema,
  loginMethodsSchema,
  loginRequestSchema,
  loginResponseSchema,
  principalSchema,
  passwordChangeRequestSchema,
  resourceGroupCreateRequestSchema,
  resourceGroupPatchRequestSchema,
  resourceGroupSchema,
  userCreateRequestSchema,
  userPatchRequestSchema,
  userSchema,
  type AccessObject,
  type ApiTokenCreateRequest,
  type CredentialCreateRequest,
  type AuditQuery,
  type GrantCreateRequest,
  type PasswordChangeRequest,
  type LoginRequest,
  refParamSchema,
} from '@cx/api-schemas';
import { bearerToken, globalRole, onParam, type AccessGuard } from '../http/access-guard.js';
import { problemResponses as errors, queryOf, relayToSm } from '../http/responses.js';
import type { InfrastructureChecks } from '../infrastructure/checks.js';
import type { ClusterReadCache } from '../http/read-cache.js';
import type { SmClient } from '@cx/sm-contract';

export interface IdentityRouteDeps {
  sm: SmClient;
  guard: AccessGuard;
  reads: ClusterReadCache;
  infrastructure: InfrastructureChecks;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const deviceLoginSchema = {
  type: 'object',
  required: ['handle', 'userCode', 'verificationUri'],
  properties: {
    handle: { type: 'string', description: 'Pass it to POST /auth/oidc/device/token' },
    userCode: { type: 'string' },
    verificationUri: { type: 'string' },
    verificationUriComplete: { type: ['string', 'null'] },
    expiresIn: { type: 'integer' },
    interval: { type: 'integer', description: 'Seconds to wait between polls' },
  },
} as const;
const memberParams = {
  type: 'object',
  required: ['id', 'username'],
  properties: { id: refParamSchema, username: { type: 'string', maxLength: 128 } },
} as const;
const admin = globalRole('admin');
const noContent = { 204: { type: 'null', description: 'Done' } };

export async function identityRoutes(app: FastifyInstance, deps: IdentityRouteDeps): Promise<void> {
  const { sm, guard } = deps;
  /** Relays to sm with the same path; `query` adds the caller for lists sm filters. */
  const relay = (reply: FastifyReply, method: Method, path: string, body?: unknown): Promise<FastifyReply> =>
    relayToSm(sm, reply, method, path, body);
  const pageOf = queryOf;
  const id = (request: FastifyRequest): string => encodeURIComponent((request.params as { id: string }).id);
  /** Grants and group membership change what people may see: cached cluster reads are dropped. */
  const changesAccess = async <T>(work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } finally {
      await deps.reads.bump();
    }
  };

  // ---- authentication ---------------------------------------------------------------------------

  app.get(
    '/auth/methods',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Login methods this cx offers',
        response: { 200: loginMethodsSchema },
      },
    },
    async (_request, reply) => relay(reply, 'GET', '/auth/methods'),
  );

  app.post<{ Body: LoginRequest }>(
    '/auth/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Log in with a password (local or LDAP / Active Directory) and get an access token',
        body: loginRequestSchema,
        response: {
          200: loginResponseSchema,
          400: { $ref: 'Problem#' },
          401: { $ref: 'Problem#' },
          423: { $ref: 'Problem#' },
          429: { $ref: 'Problem#' },
          503: { $ref: 'Problem#' },
        },
      },
    },
    async (request) => sm.login({ ...request.body, sourceIp: request.ip, requestId: request.id }),
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'authenticated' },
      schema: { tags: ['auth'], summary: 'Revoke the token of this request', response: { ...noContent, ...errors } },
    },
    async (request, reply) => {
      const token = bearerToken(request);
      await sm.relay('POST', '/auth/logout', { token });
      guard.forget(token);
      return reply.code(204).send();
    },
  );

  app.get(
    '/auth/whoami',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'Who the token belongs to, with their groups',
        response: { 200: principalSchema, ...errors },
      },
    },
    async (request) => request.user,
  );

  app.get<{ Querystring: { returnTo?: string } }>(
    '/auth/oidc/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary:
          'Start an OIDC single sign-on in a browser (authorization code + PKCE): redirects to the identity provider',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            returnTo: {
              type: 'string',
              maxLength: 1024,
              description: 'Path of this site to return to; the token comes in its fragment',
            },
          },
        },
        response: { 302: { type: 'null', description: 'To the identity provider' }, ...errors },
      },
    },
    async (request, reply) => {
      const { text } = await sm.relay('GET', `/auth/oidc/login?${pageOf(request)}`);
      return reply.redirect((JSON.parse(text) as { authorizationUrl: string }).authorizationUrl, 302);
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/auth/oidc/callback',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary:
          'Where the identity provider sends the browser back; answers the access token (or redirects to returnTo with it in the fragment)',
        // What identity providers send back (RFC 6749 §4.1.2, RFC 9207); others are passed on as they come.
        querystring: {
          type: 'object',
          properties: {
            code: { type: 'string', maxLength: 2048 },
            state: { type: 'string', maxLength: 1024 },
            iss: { type: 'string', maxLength: 1024 },
            error: { type: 'string', maxLength: 256 },
            error_description: { type: 'string', maxLength: 1024 },
            session_state: { type: 'string', maxLength: 1024 },
          },
          additionalProperties: { type: 'string', maxLength: 1024 },
        },
        response: { 200: loginResponseSchema, 303: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      const { text } = await sm.relay('POST', '/auth/oidc/callback', {
        query: request.query,
        sourceIp: request.ip,
        requestId: request.id,
      });
      const result = JSON.parse(text) as { token: string; expiresAt: string; returnTo: string | null };
      if (result.returnTo)
        return reply.redirect(
          `${result.returnTo}#${new URLSearchParams({ token: result.token, expiresAt: result.expiresAt })}`,
          303,
        );
      return reply.send(result);
    },
  );

  app.post(
    '/auth/oidc/device',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Start an OIDC device login (for the CLI): show userCode and verificationUri to the user, then poll',
        response: { 200: deviceLoginSchema, ...errors },
      },
    },
    async (_request, reply) => relay(reply, 'POST', '/auth/oidc/device'),
  );

  app.post<{ Body: { handle: string } }>(
    '/auth/oidc/device/token',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Poll a device login: 202 while the user has not approved it, then the access token',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['handle'],
          properties: { handle: { type: 'string', minLength: 1, maxLength: 128 } },
        },
        response: {
          200: loginResponseSchema,
          202: { type: 'object', properties: { status: { type: 'string', enum: ['pending'] } } },
          ...errors,
        },
      },
    },
    async (request, reply) =>
      relay(reply, 'POST', '/auth/oidc/device/poll', {
        handle: request.body.handle,
        sourceIp: request.ip,
        requestId: request.id,
      }),
  );

  // ---- API tokens (each user their own) ------------------------------------------------------------

  app.get(
    '/tokens',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['tokens'],
        summary: 'Your API tokens (never the secret)',
        response: { 200: listSchema(apiTokenSchema), ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/tokens?${pageOf(request, { userId: request.user!.id })}`),
  );
  app.post<{ Body: ApiTokenCreateRequest }>(
    '/tokens',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['tokens'],
        summary: 'Create a long-lived API token; the answer is the only time its secret is shown',
        body: apiTokenCreateRequestSchema,
        response: { 201: apiTokenSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'POST', '/tokens', { ...request.body, userId: request.user!.id }),
  );
  app.delete<{ Params: { id: string } }>(
    '/tokens/:id',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['tokens'],
        summary: "Revoke one of your API tokens (admins: anyone's)",
        params: idParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) =>
      relay(reply, 'DELETE', `/tokens/${id(request)}?userId=${encodeURIComponent(request.user!.id)}`),
  );

  // ---- users and groups (admin) ----------------------------------------------------------------

  app.get(
    '/users',
    {
      config: { access: admin },
      schema: {
        tags: ['users'],
        summary: 'List users (admin)',
        querystring: listQuerySchema,
        response: { 200: listSchema(userSchema), ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/users?${pageOf(request)}`),
  );
  app.post(
    '/users',
    {
      config: { access: admin },
      schema: {
        tags: ['users'],
        summary: 'Create a local user (admin)',
        body: userCreateRequestSchema,
        response: { 201: userSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'POST', '/users', request.body),
  );
  app.get(
    '/users/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['users'],
        summary: 'Get a user (admin)',
        params: refParamsSchema,
        response: { 200: userSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/users/${id(request)}`),
  );
  app.patch(
    '/users/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['users'],
        summary: 'Disable or enable a user, change their persona, reset a local password (admin)',
        params: refParamsSchema,
        body: userPatchRequestSchema,
        response: { 200: userSchema, ...errors },
      },
    },
    async (request, reply) => changesAccess(relay(reply, 'PATCH', `/users/${id(request)}`, request.body)),
  );
  app.delete(
    '/users/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['users'],
        summary: 'Delete a user (admin)',
        params: refParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => changesAccess(relay(reply, 'DELETE', `/users/${id(request)}`)),
  );
  app.post(
    '/users/:id/unlock',
    {
      config: { access: admin },
      schema: {
        tags: ['users'],
        summary: 'Lift a lockout after failed logins (admin)',
        params: refParamsSchema,
        response: { 200: userSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'POST', `/users/${id(request)}/unlock`),
  );
  app.post<{ Body: PasswordChangeRequest }>(
    '/users/me/password',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['users'],
        summary: 'Change your own password (local users); your other sessions end, this one stays',
        body: passwordChangeRequestSchema,
        response: { ...noContent, ...errors, 429: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) =>
      relay(reply, 'POST', `/users/${encodeURIComponent(request.user!.id)}/password`, {
        ...request.body,
        keepToken: bearerToken(request),
        sourceIp: request.ip,
        requestId: request.id,
      }),
  );

  app.get(
    '/groups',
    {
      config: { access: admin },
      schema: {
        tags: ['groups'],
        summary: 'List local groups (admin)',
        querystring: listQuerySchema,
        response: { 200: listSchema(groupSchema), ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/groups?${pageOf(request)}`),
  );
  app.post(
    '/groups',
    {
      config: { access: admin },
      schema: {
        tags: ['groups'],
        summary: 'Create a local group (admin)',
        body: groupCreateRequestSchema,
        response: { 201: groupSchema, ...errors },
      },
    },
    async (request, reply) => changesAccess(relay(reply, 'POST', '/groups', request.body)),
  );
  app.get(
    '/groups/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['groups'],
        summary: 'Get a local group by id or name (admin)',
        params: refParamsSchema,
        response: { 200: groupSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/groups/${id(request)}`),
  );
  app.delete(
    '/groups/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['groups'],
        summary: 'Delete a local group (admin)',
        params: refParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => changesAccess(relay(reply, 'DELETE', `/groups/${id(request)}`)),
  );
  app.post(
    '/groups/:id/members',
    {
      config: { access: admin },
      schema: {
        tags: ['groups'],
        summary: 'Add a user to a local group (admin)',
        params: refParamsSchema,
        body: groupMemberRequestSchema,
        response: { 200: groupSchema, ...errors },
      },
    },
    async (request, reply) => changesAccess(relay(reply, 'POST', `/groups/${id(request)}/members`, request.body)),
  );
  app.delete<{ Params: { id: string; username: string } }>(
    '/groups/:id/members/:username',
    {
      config: { access: admin },
      schema: {
        tags: ['groups'],
        summary: 'Remove a user from a local group (admin)',
        params: memberParams,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) =>
      changesAccess(
        relay(reply, 'DELETE', `/groups/${id(request)}/members/${encodeURIComponent(request.params.username)}`),
      ),
  );

  // ---- grants -----------------------------------------------------------------------------------

  app.get(
    '/grants',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['grants'],
        summary: 'Grants you may see: all for a global admin, else yours and those on objects you administer',
        querystring: {
          ...listQuerySchema,
          properties: {
            ...listQuerySchema.properties,
            subject: { type: 'string', maxLength: 512 },
            objectKind: { type: 'string', enum: ['global', 'resource-group', 'cluster'] },
            objectId: { type: 'string', maxLength: 64 },
          },
        },
        response: { 200: listSchema(grantSchema), ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/grants?${pageOf(request, { userId: request.user!.id })}`),
  );
  app.post<{ Body: GrantCreateRequest }>(
    '/grants',
    {
      // Admin on the object granted: nobody grants more than they hold.
      config: { access: { role: 'admin', on: 'the granted object', onInput: (request) => grantObject(request.body) } },
      schema: {
        tags: ['grants'],
        summary: 'Grant a user or group (local, LDAP DN or OIDC) a role on cx, a resource group or a cluster',
        body: grantCreateRequestSchema,
        response: { 201: grantSchema, ...errors },
      },
    },
    async (request, reply) =>
      changesAccess(relay(reply, 'POST', '/grants', { userId: request.user!.id, grant: request.body })),
  );
  app.delete(
    '/grants/:id',
    {
      config: { access: onParam('admin', 'grant') },
      schema: {
        tags: ['grants'],
        summary: 'Remove a grant (admin on its object)',
        params: idParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => changesAccess(relay(reply, 'DELETE', `/grants/${id(request)}`)),
  );

  // ---- resource groups ----------------------------------------------------------------------------

  app.get(
    '/resource-groups',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['resource-groups'],
        summary: 'Resource groups you may see, with quotas and usage',
        querystring: listQuerySchema,
        response: { 200: listSchema(resourceGroupSchema), ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/resource-groups?${pageOf(request, { userId: request.user!.id })}`),
  );
  app.post(
    '/resource-groups',
    {
      config: { access: admin },
      schema: {
        tags: ['resource-groups'],
        summary: 'Create a resource group with a credential and quotas (admin)',
        body: resourceGroupCreateRequestSchema,
        response: { 201: resourceGroupSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'POST', '/resource-groups', request.body),
  );
  app.get(
    '/resource-groups/:id',
    {
      config: { access: onParam('viewer', 'resource-group') },
      schema: {
        tags: ['resource-groups'],
        summary: 'Get a resource group by id or name',
        params: refParamsSchema,
        response: { 200: resourceGroupSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/resource-groups/${id(request)}`),
  );
  app.patch(
    '/resource-groups/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['resource-groups'],
        summary: "Change a resource group's description, credential or quotas (admin)",
        params: refParamsSchema,
        body: resourceGroupPatchRequestSchema,
        response: { 200: resourceGroupSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'PATCH', `/resource-groups/${id(request)}`, request.body),
  );
  app.delete(
    '/resource-groups/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['resource-groups'],
        summary: 'Delete an empty resource group (admin)',
        params: refParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => changesAccess(relay(reply, 'DELETE', `/resource-groups/${id(request)}`)),
  );

  // ---- credentials (admin; secrets never leave sm) ---------------------------------------------------

  app.get(
    '/credentials',
    {
      config: { access: admin },
      schema: {
        tags: ['credentials'],
        summary: 'List infrastructure credentials (admin; passwords are never returned)',
        querystring: listQuerySchema,
        response: { 200: listSchema(credentialSchema), ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/credentials?${pageOf(request)}`),
  );
  app.post(
    '/credentials',
    {
      config: { access: admin },
      schema: {
        tags: ['credentials'],
        body: credentialCreateRequestSchema,
        response: { 201: credentialSchema, ...errors },
        summary: 'Check an infrastructure credential against its endpoint, then store it encrypted at rest (admin)',
        description:
          'sddc logs in with it and resolves its settings first; an unreachable endpoint, an untrusted certificate or a refused login each answer 422 with their own code, and nothing is stored.',
      },
    },
    async (request, reply) => {
      await deps.infrastructure.checkCredential(request.body as CredentialCreateRequest);
      return relay(reply, 'POST', '/credentials', { actor: request.user!.username, credential: request.body });
    },
  );
  app.get(
    '/credentials/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['credentials'],
        summary: 'Get a credential by id or name (admin; without its password)',
        params: refParamsSchema,
        response: { 200: credentialSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/credentials/${id(request)}`),
  );
  app.delete(
    '/credentials/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['credentials'],
        summary: 'Delete a credential no resource group uses (admin)',
        params: refParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'DELETE', `/credentials/${id(request)}`),
  );

  // ---- directory settings (admin) --------------------------------------------------------------------

  app.get(
    '/settings/ldap',
    {
      config: { access: admin },
      schema: {
        tags: ['settings'],
        summary: 'The LDAP directory settings in force (admin; the bind password is never returned)',
        response: { 200: ldapSettingsSchema, ...errors },
      },
    },
    async (_request, reply) => relay(reply, 'GET', '/settings/ldap'),
  );
  app.put(
    '/settings/ldap',
    {
      config: { access: admin },
      schema: {
        tags: ['settings'],
        summary: 'Save LDAP directory settings after trying them against the directory (admin)',
        description:
          "They replace the configuration file's auth.ldap for every login from then on. sm binds as the service account with them and reads the user base first: a refused bind (CX_CREDENTIAL_REJECTED), an untrusted certificate (CX_CREDENTIAL_UNTRUSTED) or an unreachable directory (CX_CREDENTIAL_UNREACHABLE) answer 422, and nothing is saved. The bind password is sealed by sm; left out, the one saved for the same bindDn is kept.",
        body: ldapSettingsRequestSchema,
        response: { 200: ldapSettingsSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) =>
      relay(reply, 'PUT', '/settings/ldap', { actor: request.user!.username, settings: request.body }),
  );

  app.get(
    '/directory/groups',
    {
      config: { access: admin },
      schema: {
        tags: ['settings'],
        summary: 'Search the groups a grant can name, by part of their name (admin)',
        description:
          "LDAP groups come from the directory in force (under groupBaseDn, else userBaseDn; entries of class group, groupOfNames, groupOfUniqueNames or posixGroup whose cn contains `search`); a grant names one by its `dn`. OIDC groups are those cx saw in the groups claim at users' sign-ins (an identity provider has no directory to search); a grant names one by its `name`. `more` says more match than `limit`. LDAP and OIDC both off: 409. The directory unreachable or refusing the service account: 503.",
        querystring: directoryGroupQuerySchema,
        response: { 200: directoryGroupPageSchema, ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/directory/groups?${pageOf(request)}`),
  );

  app.delete(
    '/settings/ldap',
    {
      config: { access: admin },
      schema: {
        tags: ['settings'],
        summary: 'Drop the saved LDAP directory settings: the configuration file applies again (admin)',
        description:
          "Drops the settings an admin saved (and their sealed password), so that the configuration file's auth.ldap applies again from the next login; answers the settings then in force (source: config). Nothing saved: nothing changes, same answer.",
        response: { 200: ldapSettingsSchema, ...errors },
      },
    },
    async (request, reply) =>
      relay(reply, 'DELETE', `/settings/ldap?${new URLSearchParams({ actor: request.user!.username }).toString()}`),
  );

  app.get(
    '/settings/oidc',
    {
      config: { access: admin },
      schema: {
        tags: ['settings'],
        summary: 'The single sign-on (OIDC) settings in force (admin; the client secret is never returned)',
        response: { 200: oidcSettingsSchema, ...errors },
      },
    },
    async (_request, reply) => relay(reply, 'GET', '/settings/oidc'),
  );
  app.put(
    '/settings/oidc',
    {
      config: { access: admin },
      schema: {
        tags: ['settings'],
        summary: "Save single sign-on (OIDC) settings after checking the provider's discovery document (admin)",
        description:
          "They replace the configuration file's auth.oidc from the next sign-in on. sm fetches the issuer's /.well-known/openid-configuration first: unreachable or not a discovery document (CX_CREDENTIAL_UNREACHABLE), an untrusted certificate (CX_CREDENTIAL_UNTRUSTED) or another issuer named in it (CX_CREDENTIAL_REJECTED) answer 422, and nothing is saved. The client secret is sealed by sm; left out, the one saved for the same issuer and clientId is kept. The redirect URI stays the configuration file's (auth.oidc.redirectUri).",
        body: oidcSettingsRequestSchema,
        response: { 200: oidcSettingsSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) =>
      relay(reply, 'PUT', '/settings/oidc', { actor: request.user!.username, settings: request.body }),
  );

  app.delete(
    '/settings/oidc',
    {
      config: { access: admin },
      schema: {
        tags: ['settings'],
        summary: 'Drop the saved single sign-on (OIDC) settings: the configuration file applies again (admin)',
        description:
          "Drops the settings an admin saved (and their sealed secret), so that the configuration file's auth.oidc applies again from the next sign-in; answers the settings then in force (source: config). Nothing saved: nothing changes, same answer.",
        response: { 200: oidcSettingsSchema, ...errors },
      },
    },
    async (request, reply) =>
      relay(reply, 'DELETE', `/settings/oidc?${new URLSearchParams({ actor: request.user!.username }).toString()}`),
  );

  // ---- audit ----------------------------------------------------------------------------------------

  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      config: { access: admin },
      schema: {
        tags: ['audit'],
        summary: 'Audit records, newest first, filtered (admin)',
        querystring: auditQuerySchema,
        response: { 200: listSchema(auditEntrySchema), ...errors },
      },
    },
    async (request, reply) => relay(reply, 'GET', `/audit?${pageOf(request)}`),
  );
}

function grantObject(body: unknown): AccessObject {
  const object = (body as { object?: { kind?: unknown; id?: unknown } } | undefined)?.object;
  if ((object?.kind === 'cluster' || object?.kind === 'resource-group') && typeof object.id === 'string')
    return { kind: object.kind, id: object.id };
  return { kind: 'global' };
}
