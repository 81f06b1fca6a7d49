/**
 * The console's client of the public API (/api/v1), typed by @cx/api-schemas. The browser's
 * credential is the HttpOnly session cookie wfm sets at sign-in (services/wfm/src/web/session.ts):
 * no script here ever sees a token. Every state-changing call carries the `x-cx-csrf` header wfm
 * requires of cookie-authenticated requests, which a cross-site page cannot send.
 */
import type {
  DirectoryGroupPage,
  AddonCatalogEntry,
  ClusterAddon,
  EtcdSnapshotInfo,
  HaConfig,
  HaConfigCreateRequest,
  AuditEntry,
  AuditQuery,
  Cluster,
  ClusterEvent,
  Credential,
  CredentialCreateRequest,
  Grant,
  GrantCreateRequest,
  Group,
  GroupCreateRequest,
  GroupMemberRequest,
  Host,
  HostCreateRequest,
  IpPool,
  IpPoolCreateRequest,
  LdapSettings,
  LdapSettingsRequest,
  OidcSettings,
  OidcSettingsRequest,
  Pair,
  PairCreateRequest,
  User,
  UserCreateRequest,
  UserPatchRequest,
  ClusterAccepted,
  ClusterCreateBody,
  ClusterCreateRequest,
  ClusterTemplate,
  ClusterTemplateCreateRequest,
  ClusterTemplatePatchRequest,
  LoginMethods,
  LoginRequest,
  LoginResponse,
  Node,
  NodePoolRequest,
  Page,
  Principal,
  ProviderInfo,
  ResourceGroup,
  ResourceGroupCreateRequest,
  ResourceGroupPatchRequest,
  Workflow,
} from '@cx/api-schemas';
import type { Problem } from '@cx/errors';

/** An error answer of the API: its problem detail (RFC 9457), shown to the user as it comes. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

/** Called when the API says the session is gone (401), so that the app shows the sign-in page. */
let signedOut: () => void = () => {};
export function onSignedOut(handler: () => void): void {
  signedOut = handler;
}

const isProblem = (body: unknown): body is Problem =>
  typeof body === 'object' && body !== null && 'detail' in body && 'status' in body;

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method === 'GET' ? {} : { 'x-cx-csrf': '1' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new ApiError({
      type: 'about:blank',
      title: 'Network error',
      status: 0,
      code: 'CX_DEPENDENCY_UNAVAILABLE',
      detail: `cx could not be reached (${(error as Error).message}); check your connection and try again`,
    });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith('/ui/session')) signedOut();
    throw new ApiError(
      isProblem(parsed)
        ? parsed
        : {
            type: 'about:blank',
            title: response.statusText,
            status: response.status,
            code: 'CX_INTERNAL',
            detail: `${method} ${path} answered ${response.status} ${response.statusText}`,
          },
    );
  }
  return parsed as T;
}

const path = (strings: TemplateStringsArray, ...values: string[]): string =>
  strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(values[i]!) : ''), '');

/** Every item of a listing, following its cursors. */
async function all<T>(base: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = base.includes('?') ? '&' : '?';
    const page: Page<T> = await call(
      'GET',
      `${base}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** A query string of the filters given (absent and empty ones left out). */
export function queryString(filters: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters))
    if (value !== undefined && value !== '') query.set(key, String(value));
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** What signing in answers the browser: who signed in, and until when; the token stays in the cookie. */
export type Session = Omit<LoginResponse, 'token'>;

export const api = {
  loginMethods: () => call<LoginMethods>('GET', '/api/v1/auth/methods'),
  signIn: (request: LoginRequest) => call<Session>('POST', '/ui/session', request),
  /** Keeps a token from single sign-on (the callback's fragment) in the session cookie. */
  adoptToken: (token: string, expiresAt: string) => call<Session>('POST', '/ui/session/token', { token, expiresAt }),
  /** Where the sign-in page sends the browser for single sign-on; it comes back to /signed-in. */
  singleSignOnHref: '/api/v1/auth/oidc/login?returnTo=%2Fsigned-in',
  signOut: () => call<void>('POST', '/api/v1/auth/logout'),
  /** Who the session cookie signs in, or null (no 401 when nobody is signed in). */
  session: () => call<{ user: Principal | null }>('GET', '/ui/session').then((s) => s.user),

  grants: () => all<Grant>('/api/v1/grants'),
  providers: () => call<Page<ProviderInfo>>('GET', '/api/v1/providers').then((page) => page.items),
  resourceGroups: () => all<ResourceGroup>('/api/v1/resource-groups'),
  clusters: () => all<Cluster>('/api/v1/clusters'),
  cluster: (id: string) => call<Cluster>('GET', path`/api/v1/clusters/${id}`),
  nodes: (id: string) => call<Page<Node>>('GET', path`/api/v1/clusters/${id}/nodes`).then((page) => page.items),
  templates: () => all<ClusterTemplate>('/api/v1/cluster-templates'),
  createCluster: (request: ClusterCreateBody, idempotencyKey: string) =>
    call<ClusterAccepted>('POST', '/api/v1/clusters', request, { 'idempotency-key': idempotencyKey }),
  deleteCluster: (id: string) => call<ClusterAccepted>('DELETE', path`/api/v1/clusters/${id}`),
  scalePool: (id: string, pool: string, count: number) =>
    call<ClusterAccepted>('PATCH', path`/api/v1/clusters/${id}/nodepools/${pool}`, { count }),
  /** Replaces a worker pool's labels and taints on every node of it (nodepool.update-scheduling). */
  updatePoolScheduling: (id: string, pool: string, scheduling: Required<Pick<NodePoolRequest, 'labels' | 'taints'>>) =>
    call<ClusterAccepted>('PATCH', path`/api/v1/clusters/${id}/nodepools/${pool}`, scheduling),
  upgradeCluster: (id: string, kubernetesVersion: ClusterCreateRequest['kubernetesVersion']) =>
    call<ClusterAccepted>('POST', path`/api/v1/clusters/${id}/upgrade`, { kubernetesVersion }),
  addPool: (id: string, pool: NodePoolRequest) =>
    call<ClusterAccepted>('POST', path`/api/v1/clusters/${id}/nodepools`, pool),
  deletePool: (id: string, pool: string) =>
    call<ClusterAccepted>('DELETE', path`/api/v1/clusters/${id}/nodepools/${pool}`),
  /** The cluster's past and present runs, newest first (one page). */
  clusterWorkflows: (id: string) =>
    call<Page<Workflow>>('GET', `/api/v1/workflows${queryString({ cluster: id, limit: 20 })}`).then((p) => p.items),
  clusterEvents: (id: string) =>
    call<Page<ClusterEvent>>('GET', path`/api/v1/clusters/${id}/events`).then((page) => page.items),
  /** The cluster's events from now on, as server-sent events (`event: cluster-event`). */
  clusterEventsHref: (id: string) => path`/api/v1/clusters/${id}/events`,
  nodeAction: (id: string, node: string, action: 'cordon' | 'uncordon' | 'drain') =>
    call<ClusterAccepted>('POST', path`/api/v1/clusters/${id}/nodes/${node}/${action}`),
  deleteNode: (id: string, node: string) => call<ClusterAccepted>('DELETE', path`/api/v1/clusters/${id}/nodes/${node}`),
  workflow: (id: string) => call<Workflow>('GET', path`/api/v1/workflows/${id}`),
  /** A link the browser downloads with the session cookie (a GET, so no CSRF header is needed). */
  kubeconfigHref: (id: string) => path`/api/v1/clusters/${id}/kubeconfig`,
  workflowEventsHref: (id: string) => path`/api/v1/workflows/${id}/events`,

  // ---- a cluster's operations (each answers the run to follow) ----
  osUpgrade: (id: string, request: { image: string; maxSurge?: number }) =>
    call<ClusterAccepted>('POST', path`/api/v1/clusters/${id}/os-upgrade`, request),
  /** Rolls back a Failed or Cancelled OS upgrade run. */
  rollbackOsUpgrade: (workflowId: string) =>
    call<ClusterAccepted>('POST', path`/api/v1/workflows/${workflowId}/rollback`),
  rotateCertificates: (id: string) => call<ClusterAccepted>('POST', path`/api/v1/clusters/${id}/rotate-certificates`),
  rotateCa: (id: string) => call<ClusterAccepted>('POST', path`/api/v1/clusters/${id}/rotate-ca`),
  addonCatalog: () => call<Page<AddonCatalogEntry>>('GET', '/api/v1/addons').then((page) => page.items),
  clusterAddons: (id: string) =>
    call<Page<ClusterAddon>>('GET', path`/api/v1/clusters/${id}/addons`).then((page) => page.items),
  installAddon: (id: string, name: string, settings: Record<string, unknown> | undefined) =>
    call<ClusterAccepted>('PUT', path`/api/v1/clusters/${id}/addons/${name}`, settings ? { settings } : {}),
  removeAddon: (id: string, name: string) =>
    call<ClusterAccepted>('DELETE', path`/api/v1/clusters/${id}/addons/${name}`),
  /** A link to the cluster's Kubernetes Dashboard and a one-hour token of your role (needs the dashboard addon). */
  dashboard: (id: string) =>
    call<{ url: string; token: string; expiresAt: string; role: string }>(
      'GET',
      path`/api/v1/clusters/${id}/dashboard`,
    ),
  haConfigs: (clusterId: string) =>
    call<Page<HaConfig>>('GET', `/api/v1/ha-configs${queryString({ clusterId })}`).then((page) => page.items),
  createHaConfig: (
    request: Partial<HaConfigCreateRequest> & Pick<HaConfigCreateRequest, 'clusterId' | 'name' | 'virtualIps'>,
  ) => call<ClusterAccepted>('POST', '/api/v1/ha-configs', request),
  deleteHaConfig: (id: string) => call<ClusterAccepted>('DELETE', path`/api/v1/ha-configs/${id}`),
  etcdSnapshots: (id: string) => all<EtcdSnapshotInfo>(path`/api/v1/clusters/${id}/etcd-snapshots`),
  takeEtcdSnapshot: (id: string) => call<ClusterAccepted>('POST', path`/api/v1/clusters/${id}/etcd-snapshots`),
  restoreEtcdSnapshot: (id: string, snapshotId: string) =>
    call<ClusterAccepted>('POST', path`/api/v1/clusters/${id}/etcd-snapshots/${snapshotId}/restore`),

  // ---- administration (admin only; wfm refuses anyone else) ----
  users: () => all<User>('/api/v1/users'),
  createUser: (request: Partial<UserCreateRequest> & Pick<UserCreateRequest, 'username' | 'password'>) =>
    call<User>('POST', '/api/v1/users', request),
  updateUser: (id: string, patch: UserPatchRequest) => call<User>('PATCH', path`/api/v1/users/${id}`, patch),
  deleteUser: (id: string) => call<void>('DELETE', path`/api/v1/users/${id}`),
  unlockUser: (id: string) => call<User>('POST', path`/api/v1/users/${id}/unlock`),
  groups: () => all<Group>('/api/v1/groups'),
  createGroup: (request: Partial<GroupCreateRequest> & Pick<GroupCreateRequest, 'name'>) =>
    call<Group>('POST', '/api/v1/groups', request),
  deleteGroup: (id: string) => call<void>('DELETE', path`/api/v1/groups/${id}`),
  addMember: (id: string, request: GroupMemberRequest) =>
    call<Group>('POST', path`/api/v1/groups/${id}/members`, request),
  removeMember: (id: string, username: string) => call<void>('DELETE', path`/api/v1/groups/${id}/members/${username}`),
  createGrant: (request: GrantCreateRequest) => call<Grant>('POST', '/api/v1/grants', request),
  deleteGrant: (id: string) => call<void>('DELETE', path`/api/v1/grants/${id}`),
  credentials: () => all<Credential>('/api/v1/credentials'),
  createCredential: (
    request: Partial<CredentialCreateRequest> & Omit<CredentialCreateRequest, 'insecure' | 'settings'>,
  ) => call<Credential>('POST', '/api/v1/credentials', request),
  deleteCredential: (id: string) => call<void>('DELETE', path`/api/v1/credentials/${id}`),
  ipPools: () => all<IpPool>('/api/v1/ip-pools'),
  hosts: () => all<Host>('/api/v1/hosts'),
  pairs: () => all<Pair>('/api/v1/pairs'),
  createResourceGroup: (request: ResourceGroupCreateRequest) =>
    call<ResourceGroup>('POST', '/api/v1/resource-groups', request),
  updateResourceGroup: (id: string, patch: ResourceGroupPatchRequest) =>
    call<ResourceGroup>('PATCH', path`/api/v1/resource-groups/${id}`, patch),
  deleteResourceGroup: (id: string) => call<void>('DELETE', path`/api/v1/resource-groups/${id}`),
  createIpPool: (request: IpPoolCreateRequest) => call<IpPool>('POST', '/api/v1/ip-pools', request),
  deleteIpPool: (id: string) => call<void>('DELETE', path`/api/v1/ip-pools/${id}`),
  createHost: (request: HostCreateRequest) => call<Host>('POST', '/api/v1/hosts', request),
  deleteHost: (id: string) => call<void>('DELETE', path`/api/v1/hosts/${id}`),
  createTemplate: (request: ClusterTemplateCreateRequest) =>
    call<ClusterTemplate>('POST', '/api/v1/cluster-templates', request),
  updateTemplate: (id: string, patch: ClusterTemplatePatchRequest) =>
    call<ClusterTemplate>('PATCH', path`/api/v1/cluster-templates/${id}`, patch),
  deleteTemplate: (id: string) => call<void>('DELETE', path`/api/v1/cluster-templates/${id}`),
  createPair: (request: PairCreateRequest) => call<Pair>('POST', '/api/v1/pairs', request),
  deletePair: (id: string) => call<void>('DELETE', path`/api/v1/pairs/${id}`),
  ldapSettings: () => call<LdapSettings>('GET', '/api/v1/settings/ldap'),
  saveLdapSettings: (request: LdapSettingsRequest) => call<LdapSettings>('PUT', '/api/v1/settings/ldap', request),
  /** The directory's groups (and the OIDC groups seen at sign-in) whose name contains `search`. */
  directoryGroups: (search: string, limit = 10) =>
    call<DirectoryGroupPage>('GET', `/api/v1/directory/groups${queryString({ search, limit })}`),
  /** Drops the saved LDAP settings: the configuration file's apply again. */
  revertLdapSettings: () => call<LdapSettings>('DELETE', '/api/v1/settings/ldap'),
  oidcSettings: () => call<OidcSettings>('GET', '/api/v1/settings/oidc'),
  /** Drops the saved single sign-on settings: the configuration file's apply again. */
  revertOidcSettings: () => call<OidcSettings>('DELETE', '/api/v1/settings/oidc'),
  saveOidcSettings: (request: OidcSettingsRequest) => call<OidcSettings>('PUT', '/api/v1/settings/oidc', request),
  /** One page of the audit log, newest first, with the filters given. */
  audit: (query: Partial<AuditQuery>) => call<Page<AuditEntry>>('GET', `/api/v1/audit${queryString(query)}`),
};
