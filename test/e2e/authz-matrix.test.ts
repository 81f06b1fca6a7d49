/**
 * The authorization matrix: every public route (as the OpenAPI document lists them) called as
 * anonymous, a user with no grant, a viewer and an operator of a resource group, and an admin,
 * asserting allow or deny as the route itself declares it (its `config.access`, in the document as
 * `x-cx-access`): this file holds only how to call each route. A route without an entry here fails
 * the test, and so does an entry for a route that no longer exists.
 *
 * Access to an object the path names is checked before validation, so "allowed" calls to those
 * mutating routes send a body the route rejects (400): the call got past authorization and changed
 * nothing. Access to an object the body or query names is checked after validation (it reads
 * only validated input), so those routes get a valid body that fails a later check instead.
 * Destructive calls without a body get a fresh object each time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Api, startCx, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';
import { redfishHost, vsphereCredential } from '../support/infrastructure.js';

type Persona = 'anonymous' | 'nogrant' | 'viewer' | 'operator' | 'admin';
const PERSONAS: Persona[] = ['anonymous', 'nogrant', 'viewer', 'operator', 'admin'];
const RANK: Record<Persona, number> = { anonymous: 0, nogrant: 1, viewer: 2, operator: 3, admin: 4 };

/**
 * One route's call; who may make it is not written here but read from the route's own declaration
 * (`x-cx-access` in the OpenAPI document, from its `config.access`).
 */
interface Entry {
  /** The path (with ids filled in) and body for one call as `persona`; may create fixtures. */
  call: (persona: Persona) => Promise<{ path: string; body?: unknown; token?: string }>;
}

type DeclaredAccess = 'public' | 'authenticated' | { role: 'viewer' | 'operator' | 'admin'; on: string };

/**
 * What a route's declared access means for the personas. `object`: the call targets an object in
 * the resource group the viewer and operator hold grants on, so a persona that may not even view it
 * is told 404. `global`: a role on all of cx, which only the admin persona holds (403 for others).
 * `self`: any signed-in user, shown only what they may see.
 */
function expectation(access: DeclaredAccess): { minimum: Persona; scope: 'public' | 'object' | 'global' | 'self' } {
  if (access === 'public') return { minimum: 'anonymous', scope: 'public' };
  if (access === 'authenticated') return { minimum: 'nogrant', scope: 'self' };
  return access.on === 'global' ? { minimum: 'admin', scope: 'global' } : { minimum: access.role, scope: 'object' };
}

const INVALID = { 'not-a-field': true };

describe('authorization matrix', () => {
  let cx: CxProcess;
  let admin: Api;
  const tokens = new Map<Persona, string>();
  /** Each route's declared access, from the OpenAPI document (`x-cx-access`). */
  const declared = new Map<string, DeclaredAccess>();
  let groupId = '';
  let clusterId = '';
  let workflowId = '';
  let poolId = '';
  let hostId = '';
  let kwokClusterId = '';
  let haConfigId = '';
  let pairId = '';
  let counter = 0;
  const unique = (prefix: string): string => `${prefix}-${++counter}`;

  const login = async (username: string, password: string): Promise<string> =>
    (await Api.login(cx.base, username, password)).token;
  const created = async (path: string, body: unknown): Promise<any> => {
    const answer = await admin.call('POST', path, body);
    assert.ok(
      answer.status === 201 || answer.status === 202,
      `fixture ${path}: ${answer.status} ${JSON.stringify(answer.body)}`,
    );
    return answer.body;
  };
  /** An applied ha-config of the kwok cluster (its workflow finished, so the cluster is free again). */
  const freshHaConfig = async (): Promise<string> => {
    // The previous call may have started a workflow on the cluster (apply, remove): one at a time.
    const busy = (await admin.call('GET', `/api/v1/clusters/${kwokClusterId}`)).body.activeWorkflowId as string | null;
    if (busy) await admin.waitForWorkflow(busy, ['Succeeded', 'Failed', 'Cancelled']);
    const accepted = await created('/api/v1/ha-configs', {
      clusterId: kwokClusterId,
      name: unique('ha'),
      virtualIps: `192.0.2.${counter}`,
      selector: {},
    });
    await admin.waitForWorkflow(accepted.workflow.id, ['Succeeded']);
    return accepted.haConfig.id;
  };
  /** A snapshot of the kwok cluster's etcd (its workflow finished, so the cluster is free again). */
  const freshSnapshot = async (): Promise<string> => {
    const busy = (await admin.call('GET', `/api/v1/clusters/${kwokClusterId}`)).body.activeWorkflowId as string | null;
    if (busy) await admin.waitForWorkflow(busy, ['Succeeded', 'Failed', 'Cancelled']);
    const accepted = await created(`/api/v1/clusters/${kwokClusterId}/etcd-snapshots`, undefined);
    await admin.waitForWorkflow(accepted.workflow.id, ['Succeeded']);
    return accepted.snapshotId;
  };
  const readyCluster = async (): Promise<string> => {
    const accepted = await created('/api/v1/clusters', {
      name: unique('side'),
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 1 },
      nodePools: [],
      resourceGroup: groupId,
    });
    await admin.waitForWorkflow(accepted.workflow.id, ['Succeeded']);
    return accepted.cluster.id;
  };
  /** A pair of two fresh single-node clusters of the resource group (no agent runs: its witness waits, harmlessly). */
  const freshPair = async (): Promise<string> =>
    (
      await created('/api/v1/pairs', {
        name: unique('pair'),
        singletons: [{ namespace: 'apps', name: 'db', preferredSide: 'a' }],
        sides: {
          a: { clusterId: await readyCluster(), agentUrl: 'http://127.0.0.1:9' },
          b: { clusterId: await readyCluster(), agentUrl: 'http://127.0.0.1:9' },
        },
      })
    ).id;
  const freshTemplate = async (): Promise<string> =>
    (await created('/api/v1/cluster-templates', { name: unique('tpl'), provider: 'kwok', controlPlane: { count: 1 } }))
      .id;
  const freshPool = async (): Promise<string> =>
    (await created('/api/v1/ip-pools', { name: unique('pool'), ranges: `10.${counter}.0.0/30` })).id;
  const freshCluster = async (): Promise<string> =>
    (
      await created('/api/v1/clusters', {
        name: unique('mx'),
        provider: 'sim',
        kubernetesVersion: '1.31.4',
        controlPlane: { count: 1 },
        nodePools: [],
        resourceGroup: groupId,
      })
    ).cluster.id;

  const matrix: Record<string, Entry> = {
    'GET /api/v1/auth/methods': {
      call: async () => ({ path: '/api/v1/auth/methods' }),
    },
    'POST /api/v1/auth/login': {
      call: async () => ({ path: '/api/v1/auth/login', body: INVALID }),
    },
    'POST /api/v1/auth/logout': {
      // Its own token, so that the persona's main token survives.
      call: async (p) => ({
        path: '/api/v1/auth/logout',
        ...(p === 'anonymous' ? {} : { token: await login(`${p}-user`, `${p}-password-1`) }),
      }),
    },
    'GET /api/v1/auth/whoami': {
      call: async () => ({ path: '/api/v1/auth/whoami' }),
    },
    'GET /api/v1/auth/oidc/login': {
      call: async () => ({ path: '/api/v1/auth/oidc/login' }),
    },
    'GET /api/v1/auth/oidc/callback': {
      call: async () => ({ path: '/api/v1/auth/oidc/callback?state=x&code=y' }),
    },
    'POST /api/v1/auth/oidc/device': {
      call: async () => ({ path: '/api/v1/auth/oidc/device' }),
    },
    'POST /api/v1/auth/oidc/device/token': {
      call: async () => ({ path: '/api/v1/auth/oidc/device/token', body: INVALID }),
    },

    'GET /api/v1/tokens': { call: async () => ({ path: '/api/v1/tokens' }) },
    'POST /api/v1/tokens': {
      call: async () => ({ path: '/api/v1/tokens', body: INVALID }),
    },
    'DELETE /api/v1/tokens/{id}': {
      call: async (p) => {
        if (p === 'anonymous') return { path: '/api/v1/tokens/whatever' };
        const own = new Api(cx.base);
        own.token = tokens.get(p)!;
        return { path: `/api/v1/tokens/${(await own.call('POST', '/api/v1/tokens', { name: unique('t') })).body.id}` };
      },
    },

    'GET /api/v1/users': { call: async () => ({ path: '/api/v1/users' }) },
    'POST /api/v1/users': {
      call: async () => ({ path: '/api/v1/users', body: INVALID }),
    },
    'GET /api/v1/users/{id}': {
      call: async () => ({ path: `/api/v1/users/${(await admin.call('GET', '/api/v1/auth/whoami')).body.id}` }),
    },
    'PATCH /api/v1/users/{id}': {
      call: async () => ({
        path: `/api/v1/users/${(await admin.call('GET', '/api/v1/auth/whoami')).body.id}`,
        body: {},
      }),
    },
    'DELETE /api/v1/users/{id}': {
      call: async () => ({
        path: `/api/v1/users/${(await created('/api/v1/users', { username: unique('gone'), password: 'gone-password' })).id}`,
      }),
    },
    'POST /api/v1/users/{id}/unlock': {
      call: async () => ({ path: `/api/v1/users/${(await admin.call('GET', '/api/v1/auth/whoami')).body.id}/unlock` }),
    },
    'POST /api/v1/users/me/password': {
      call: async () => ({ path: '/api/v1/users/me/password', body: INVALID }),
    },

    'GET /api/v1/groups': { call: async () => ({ path: '/api/v1/groups' }) },
    'POST /api/v1/groups': {
      call: async () => ({ path: '/api/v1/groups', body: INVALID }),
    },
    'GET /api/v1/groups/{id}': {
      call: async () => ({ path: `/api/v1/groups/${(await created('/api/v1/groups', { name: unique('g') })).id}` }),
    },
    'DELETE /api/v1/groups/{id}': {
      call: async () => ({ path: `/api/v1/groups/${(await created('/api/v1/groups', { name: unique('g') })).id}` }),
    },
    'POST /api/v1/groups/{id}/members': {
      call: async () => ({
        path: `/api/v1/groups/${(await created('/api/v1/groups', { name: unique('g') })).id}/members`,
        body: INVALID,
      }),
    },
    'DELETE /api/v1/groups/{id}/members/{username}': {
      call: async () => ({
        path: `/api/v1/groups/${(await created('/api/v1/groups', { name: unique('g'), members: ['nogrant-user'] })).id}/members/nogrant-user`,
      }),
    },

    'GET /api/v1/grants': { call: async () => ({ path: '/api/v1/grants' }) },
    'POST /api/v1/grants': {
      call: async () => ({
        path: '/api/v1/grants',
        body: {
          object: { kind: 'resource-group', id: groupId },
          subject: { kind: 'group', name: 'nobody' },
          role: 'viewer',
        },
      }),
    },
    'DELETE /api/v1/grants/{id}': {
      call: async () => ({
        path: `/api/v1/grants/${(await created('/api/v1/grants', { subject: { kind: 'user', name: unique('someone') }, object: { kind: 'resource-group', id: groupId }, role: 'viewer' })).id}`,
      }),
    },

    'GET /api/v1/resource-groups': {
      call: async () => ({ path: '/api/v1/resource-groups' }),
    },
    'POST /api/v1/resource-groups': {
      call: async () => ({ path: '/api/v1/resource-groups', body: INVALID }),
    },
    'GET /api/v1/resource-groups/{id}': {
      call: async () => ({ path: `/api/v1/resource-groups/${groupId}` }),
    },
    'PATCH /api/v1/resource-groups/{id}': {
      call: async () => ({ path: `/api/v1/resource-groups/${groupId}`, body: {} }),
    },
    'DELETE /api/v1/resource-groups/{id}': {
      call: async () => ({
        path: `/api/v1/resource-groups/${(await created('/api/v1/resource-groups', { name: unique('rg') })).id}`,
      }),
    },

    'GET /api/v1/credentials': {
      call: async () => ({ path: '/api/v1/credentials' }),
    },
    'POST /api/v1/credentials': {
      call: async () => ({ path: '/api/v1/credentials', body: INVALID }),
    },
    'GET /api/v1/credentials/{id}': {
      call: async () => ({
        path: `/api/v1/credentials/${(await created('/api/v1/credentials', credential(unique('c')))).id}`,
      }),
    },
    'DELETE /api/v1/credentials/{id}': {
      call: async () => ({
        path: `/api/v1/credentials/${(await created('/api/v1/credentials', credential(unique('c')))).id}`,
      }),
    },

    'GET /api/v1/directory/groups': { call: async () => ({ path: '/api/v1/directory/groups?search=ops' }) },
    'GET /api/v1/settings/ldap': { call: async () => ({ path: '/api/v1/settings/ldap' }) },
    'PUT /api/v1/settings/ldap': { call: async () => ({ path: '/api/v1/settings/ldap', body: INVALID }) },
    'DELETE /api/v1/settings/ldap': { call: async () => ({ path: '/api/v1/settings/ldap' }) },
    'GET /api/v1/settings/oidc': { call: async () => ({ path: '/api/v1/settings/oidc' }) },
    'DELETE /api/v1/settings/oidc': { call: async () => ({ path: '/api/v1/settings/oidc' }) },
    'PUT /api/v1/settings/oidc': { call: async () => ({ path: '/api/v1/settings/oidc', body: INVALID }) },

    'GET /api/v1/audit': { call: async () => ({ path: '/api/v1/audit?limit=5' }) },
    'GET /api/v1/providers': { call: async () => ({ path: '/api/v1/providers' }) },

    'GET /api/v1/clusters': { call: async () => ({ path: '/api/v1/clusters' }) },
    'POST /api/v1/clusters': {
      // A provider no sddc serves: past authorization, an allowed caller is told so (400).
      call: async () => ({
        path: '/api/v1/clusters',
        body: {
          name: 'matrix-denied',
          provider: 'no-such-provider',
          kubernetesVersion: '1.31.4',
          controlPlane: { count: 1 },
          nodePools: [],
          resourceGroup: groupId,
        },
      }),
    },
    'GET /api/v1/clusters/{id}': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}` }),
    },
    'DELETE /api/v1/clusters/{id}': {
      call: async () => ({ path: `/api/v1/clusters/${await freshCluster()}` }),
    },
    // A sim cluster has no API: an allowed caller is told so (409), not refused.
    'GET /api/v1/clusters/{id}/kubeconfig': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/kubeconfig` }),
    },
    'POST /api/v1/clusters/{id}/nodepools': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/nodepools`, body: INVALID }),
    },
    // The control plane is no pool to delete: an allowed caller is told so (400), not refused.
    'DELETE /api/v1/clusters/{id}/nodepools/{pool}': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/nodepools/control-plane` }),
    },
    'PATCH /api/v1/clusters/{id}/nodepools/{pool}': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/nodepools/workers`, body: INVALID }),
    },
    'GET /api/v1/clusters/{id}/events': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/events` }),
    },
    'GET /api/v1/clusters/{id}/upgrades': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/upgrades` }),
    },
    'PUT /api/v1/clusters/{id}/health-policy': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/health-policy`, body: INVALID }),
    },
    'POST /api/v1/clusters/{id}/upgrade': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/upgrade`, body: INVALID }),
    },
    'POST /api/v1/clusters/{id}/os-upgrade': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/os-upgrade`, body: INVALID }),
    },
    // A sim cluster has no Kubernetes API: an allowed caller is told so (400), not refused.
    'POST /api/v1/clusters/{id}/nodes/{name}/cordon': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/nodes/matrix-cluster-cp-0/cordon` }),
    },
    'POST /api/v1/clusters/{id}/nodes/{name}/uncordon': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/nodes/matrix-cluster-cp-0/uncordon` }),
    },
    'POST /api/v1/clusters/{id}/nodes/{name}/drain': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/nodes/matrix-cluster-cp-0/drain`, body: INVALID }),
    },
    // Its only control-plane machine: an allowed caller is told the control plane would lose its quorum, not refused.
    'DELETE /api/v1/clusters/{id}/nodes/{name}': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/nodes/matrix-cluster-cp-0` }),
    },
    'POST /api/v1/clusters/{id}/rotate-ca': {
      call: async () => ({ path: `/api/v1/clusters/${await freshCluster()}/rotate-ca` }),
    },
    'POST /api/v1/clusters/{id}/rotate-certificates': {
      call: async () => ({ path: `/api/v1/clusters/${await freshCluster()}/rotate-certificates` }),
    },
    'GET /api/v1/ha-configs': {
      call: async () => ({ path: `/api/v1/ha-configs?clusterId=${kwokClusterId}` }),
    },
    'POST /api/v1/ha-configs': {
      // A selector no node matches: past authorization, an allowed caller is told so (400).
      call: async () => ({
        path: '/api/v1/ha-configs',
        body: { clusterId: kwokClusterId, name: 'matrix-ha', virtualIps: '192.0.2.200', selector: { none: 'matches' } },
      }),
    },
    'GET /api/v1/ha-configs/{id}': {
      call: async () => ({ path: `/api/v1/ha-configs/${haConfigId}` }),
    },
    // An allowed apply may find the cluster busy with the previous one (409): past authorization all the same.
    'POST /api/v1/ha-configs/{id}/apply': {
      call: async () => ({ path: `/api/v1/ha-configs/${haConfigId}/apply` }),
    },
    'DELETE /api/v1/ha-configs/{id}': {
      call: async () => ({ path: `/api/v1/ha-configs/${await freshHaConfig()}` }),
    },
    'GET /api/v1/pairs': { call: async () => ({ path: '/api/v1/pairs' }) },
    'POST /api/v1/pairs': {
      // The same cluster on both sides: past authorization, an allowed caller is told so (400).
      call: async () => ({
        path: '/api/v1/pairs',
        body: {
          name: 'matrix-pair',
          singletons: [{ namespace: 'apps', name: 'db', preferredSide: 'a' }],
          sides: {
            a: { clusterId, agentUrl: 'http://127.0.0.1:9' },
            b: { clusterId, agentUrl: 'http://127.0.0.1:9' },
          },
        },
      }),
    },
    'GET /api/v1/pairs/{id}': {
      call: async () => ({ path: `/api/v1/pairs/${pairId}` }),
    },
    'GET /api/v1/pairs/{id}/agents/{side}': {
      call: async () => ({ path: `/api/v1/pairs/${pairId}/agents/b` }),
    },
    'DELETE /api/v1/pairs/{id}': {
      call: async () => ({ path: `/api/v1/pairs/${await freshPair()}` }),
    },
    // No dashboard on it: an allowed caller is told to install it (409), not refused.
    'GET /api/v1/clusters/{id}/dashboard': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/dashboard` }),
    },
    'GET /api/v1/addons': { call: async () => ({ path: '/api/v1/addons' }) },
    'GET /api/v1/clusters/{id}/addons': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/addons` }),
    },
    // A sim cluster has no Kubernetes API: an allowed install or removal is told the cluster is not ready (409), and starts nothing.
    'PUT /api/v1/clusters/{id}/addons/{name}': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/addons/ingress-nginx`, body: {} }),
    },
    'DELETE /api/v1/clusters/{id}/addons/{name}': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/addons/monitoring` }),
    },
    // Templates are global: every signed-in user reads them, admins change them.
    'GET /api/v1/cluster-templates': {
      call: async () => ({ path: '/api/v1/cluster-templates' }),
    },
    'POST /api/v1/cluster-templates': {
      call: async () => ({ path: '/api/v1/cluster-templates', body: INVALID }),
    },
    'GET /api/v1/cluster-templates/{id}': {
      call: async () => ({ path: `/api/v1/cluster-templates/${await freshTemplate()}` }),
    },
    'PATCH /api/v1/cluster-templates/{id}': {
      call: async () => ({ path: `/api/v1/cluster-templates/${await freshTemplate()}`, body: INVALID }),
    },
    'DELETE /api/v1/cluster-templates/{id}': {
      call: async () => ({ path: `/api/v1/cluster-templates/${await freshTemplate()}` }),
    },
    'GET /api/v1/clusters/{id}/etcd-snapshots': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/etcd-snapshots` }),
    },
    // A sim cluster has no etcd snapshots: an allowed caller is told so (400), and nothing starts.
    'POST /api/v1/clusters/{id}/etcd-snapshots': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/etcd-snapshots` }),
    },
    'POST /api/v1/clusters/{id}/etcd-snapshots/{snapshotId}/restore': {
      call: async () => ({
        path: `/api/v1/clusters/${clusterId}/etcd-snapshots/0190aaaa-0000-7000-8000-000000000000/restore`,
      }),
    },
    'DELETE /api/v1/clusters/{id}/etcd-snapshots/{snapshotId}': {
      call: async () => ({ path: `/api/v1/clusters/${kwokClusterId}/etcd-snapshots/${await freshSnapshot()}` }),
    },
    'GET /api/v1/hosts': { call: async () => ({ path: '/api/v1/hosts' }) },
    'POST /api/v1/hosts': {
      call: async () => ({ path: '/api/v1/hosts', body: INVALID }),
    },
    'GET /api/v1/hosts/{id}': {
      call: async () => ({ path: `/api/v1/hosts/${hostId}` }),
    },
    'DELETE /api/v1/hosts/{id}': {
      call: async () => ({
        path: `/api/v1/hosts/${(await created('/api/v1/hosts', redfishHost(unique('host'), 1))).id}`,
      }),
    },
    'GET /api/v1/ip-pools': { call: async () => ({ path: '/api/v1/ip-pools' }) },
    'POST /api/v1/ip-pools': {
      call: async () => ({ path: '/api/v1/ip-pools', body: INVALID }),
    },
    'GET /api/v1/ip-pools/{id}': {
      call: async () => ({ path: `/api/v1/ip-pools/${poolId}` }),
    },
    'DELETE /api/v1/ip-pools/{id}': {
      call: async () => ({ path: `/api/v1/ip-pools/${await freshPool()}` }),
    },
    'GET /api/v1/ip-pools/{id}/allocations': {
      call: async () => ({ path: `/api/v1/ip-pools/${poolId}/allocations` }),
    },
    'POST /api/v1/ip-pools/{id}/allocations': {
      call: async () => ({ path: `/api/v1/ip-pools/${poolId}/allocations`, body: INVALID }),
    },
    'DELETE /api/v1/ip-pools/{id}/allocations/{address}': {
      call: async () => ({ path: `/api/v1/ip-pools/${poolId}/allocations/192.0.2.1` }),
    },
    'GET /api/v1/clusters/{id}/nodes': {
      call: async () => ({ path: `/api/v1/clusters/${clusterId}/nodes` }),
    },
    'GET /api/v1/workflows': { call: async () => ({ path: `/api/v1/workflows?cluster=${clusterId}` }) },
    'GET /api/v1/workflows/{id}': {
      call: async () => ({ path: `/api/v1/workflows/${workflowId}` }),
    },
    'GET /api/v1/workflows/{id}/events': {
      call: async () => ({ path: `/api/v1/workflows/${workflowId}/events` }),
    },
    // The run has finished: an allowed cancel or retry is refused by state (409), not by access.
    'POST /api/v1/workflows/{id}/cancel': {
      call: async () => ({ path: `/api/v1/workflows/${workflowId}/cancel` }),
    },
    'POST /api/v1/workflows/{id}/retry': {
      call: async () => ({ path: `/api/v1/workflows/${workflowId}/retry` }),
    },
    // Not an OS upgrade: an allowed caller is told it does not roll back (400), not refused.
    'POST /api/v1/workflows/{id}/rollback': {
      call: async () => ({ path: `/api/v1/workflows/${workflowId}/rollback` }),
    },
  };

  before(async () => {
    cx = await startCx({ env: { CX_KWOK_BINARIES_FILE: kwokBinariesFile() } });
    admin = await Api.login(cx.base);
    groupId = (await created('/api/v1/resource-groups', { name: 'matrix' })).id;
    poolId = (await created('/api/v1/ip-pools', { name: 'matrix', ranges: '192.0.2.0/28' })).id;
    hostId = (await created('/api/v1/hosts', redfishHost('matrix-host', 0))).id;
    const kwok = await created('/api/v1/clusters', {
      name: 'matrix-kwok',
      provider: 'kwok',
      kubernetesVersion: kwokVersion(),
      controlPlane: { count: 1 },
      nodePools: [],
      resourceGroup: 'matrix',
    });
    kwokClusterId = kwok.cluster.id;
    await admin.waitForWorkflow(kwok.workflow.id, ['Succeeded'], 180_000);
    haConfigId = await freshHaConfig();
    for (const persona of ['nogrant', 'viewer', 'operator', 'admin'] as const) {
      await created('/api/v1/users', {
        username: `${persona}-user`,
        password: `${persona}-password-1`,
        role: persona === 'admin' ? 'admin' : 'user',
      });
      tokens.set(persona, await login(`${persona}-user`, `${persona}-password-1`));
    }
    await created('/api/v1/grants', {
      subject: { kind: 'user', name: 'viewer-user' },
      object: { kind: 'resource-group', id: groupId },
      role: 'viewer',
    });
    await created('/api/v1/grants', {
      subject: { kind: 'user', name: 'operator-user' },
      object: { kind: 'resource-group', id: 'matrix' },
      role: 'operator',
    });
    const accepted = await created('/api/v1/clusters', {
      name: 'matrix-cluster',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 1 },
      nodePools: [],
      resourceGroup: 'matrix',
    });
    clusterId = accepted.cluster.id;
    workflowId = accepted.workflow.id;
    await admin.waitForWorkflow(workflowId, ['Succeeded']);
    pairId = await freshPair();
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('has an entry for every route of the API, and no entry for a route that does not exist', async () => {
    const openapi = (await admin.call('GET', '/api/v1/openapi.json')).body as {
      paths: Record<string, Record<string, { 'x-cx-access'?: DeclaredAccess }>>;
    };
    const routes = Object.entries(openapi.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .filter(
        (route) =>
          route.includes(' /api/v1/') &&
          !route.includes('/openapi.json') &&
          !route.includes('/api/v1/docs') &&
          !route.startsWith('HEAD '),
      );
    assert.ok(routes.length > 40, `the OpenAPI document lists the routes (${routes.length})`);
    assert.deepEqual(
      routes.filter((r) => !(r in matrix)),
      [],
      'routes without an authorization entry',
    );
    assert.deepEqual(
      Object.keys(matrix).filter((r) => !routes.includes(r)),
      [],
      'entries for routes that do not exist',
    );
    for (const [path, methods] of Object.entries(openapi.paths))
      for (const [method, operation] of Object.entries(methods)) {
        const route = `${method.toUpperCase()} ${path}`;
        if (!routes.includes(route)) continue;
        assert.ok(operation['x-cx-access'], `${route} declares its access in the document`);
        declared.set(route, operation['x-cx-access']);
      }
  });

  for (const [route, entry] of Object.entries(matrix)) {
    it(route, async () => {
      const access = declared.get(route);
      assert.ok(access, `${route}: no declared access (the first test reads them)`);
      const expected = expectation(access);
      const [method] = route.split(' ') as [string];
      for (const persona of PERSONAS) {
        const { path, body, token } = await entry.call(persona);
        const api = new Api(cx.base);
        api.token = token ?? tokens.get(persona) ?? '';
        const answer = await api.call(method, path, body);
        const allowed = RANK[persona] >= RANK[expected.minimum];
        const what = `${persona} ${method} ${path} → ${answer.status} ${String(JSON.stringify(answer.body)).slice(0, 200)}`;
        if (allowed) {
          assert.ok(![401, 403].includes(answer.status), `allowed, but refused: ${what}`);
          if (expected.scope !== 'public') assert.notEqual(answer.status, 404, `allowed, but not found: ${what}`);
        } else if (persona === 'anonymous') {
          assert.equal(answer.status, 401, `anonymous must be asked to log in: ${what}`);
          assert.equal(answer.body.code, 'CX_UNAUTHENTICATED', what);
        } else {
          // Without even a viewer grant on the object, it does not exist for the caller.
          const status = expected.scope === 'object' && RANK[persona] < RANK.viewer ? 404 : 403;
          assert.equal(answer.status, status, `must be denied with ${status}: ${what}`);
        }
      }
    });
  }
});

function kubernetesPeer(): { kubeApiserver: Record<string, string> } {
  const raw = process.env['CX_TEST_KUBERNETES'];
  assert.ok(
    raw,
    'CX_TEST_KUBERNETES is not set: run the tests with `npm test`, which builds the Kubernetes peers (test/peers/kubernetes.sh)',
  );
  return JSON.parse(raw) as { kubeApiserver: Record<string, string> };
}

/** The manifest of the Kubernetes binaries, as a file for cx's kwok provider. */
function kwokBinariesFile(): string {
  const file = join(tempDir('matrix'), 'binaries.json');
  writeFileSync(file, JSON.stringify(kubernetesPeer()));
  return file;
}

function kwokVersion(): string {
  return Object.keys(kubernetesPeer().kubeApiserver).sort()[0]!;
}

/** A credential that works against the vCenter simulator (credentials are checked before they are stored). */
function credential(name: string): Record<string, unknown> {
  return vsphereCredential(name);
}
