/**
 * Cluster addons: the catalog, what a cluster has installed, and installing (PUT) or removing
 * (DELETE) one, each by a workflow on the cluster (202). Everything that can be judged before the
 * workflow starts is, with nothing stored when it fails: an addon not in the catalog (404), settings
 * its schema refuses (400, every error listed), a provider it cannot serve (400), a cluster that is
 * not Ready (409) or busy (409), an endpoint the egress policy refuses (422).
 */
import { lookup } from 'node:dns/promises';
import type { FastifyInstance } from 'fastify';
import {
  addonCatalogEntrySchema,
  addonInstallRequestSchema,
  addonParamsSchema,
  clusterAcceptedSchema,
  clusterAddonSchema,
  refParamsSchema,
  listSchema,
  type AddonCatalogEntry,
  type AddonInstallRequest,
  type Cluster,
} from '@cx/api-schemas';
import { ConflictError, CxError, InputError, NotFoundError } from '@cx/errors';
import {
  ADDONS,
  DASHBOARD_PROXY_PATH,
  checkAddonSettings,
  findAddon,
  isNetworkAddon,
  splitSecretSettings,
  type AddonDefinition,
  type EgressPolicy,
} from '@cx/k8s';
import { onParam } from '../http/access-guard.js';
import type { WorkflowEngine } from '../engine.js';
import { problemResponses as errors, sendJson } from '../http/responses.js';
import type { SmClient } from '@cx/sm-contract';
import { acceptWorkflow, idempotencyHeaders, startRequest } from '../http/workflow-start.js';
import { DEFAULT_READY_TIMEOUT_SECONDS, INSTALL_ADDON, REMOVE_ADDON } from '../workflows/addon.js';

export interface AddonRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  egress: EgressPolicy;
  assertQueueUp: () => void;
}

const accepted = {
  ...clusterAcceptedSchema,
  properties: { ...clusterAcceptedSchema.properties, addon: clusterAddonSchema },
};

export function catalogEntry(addon: AddonDefinition): AddonCatalogEntry {
  return {
    name: addon.name,
    version: addon.version,
    description: addon.description,
    ...(addon.settingsSchema ? { settingsSchema: addon.settingsSchema } : {}),
    ...(addon.secretSettings ? { secretSettings: [...addon.secretSettings] } : {}),
  };
}

function catalogAddon(name: string): AddonDefinition {
  const addon = findAddon(name);
  if (!addon)
    throw new NotFoundError(
      `there is no addon ${name} in the catalog (available: ${ADDONS.map((a) => a.name).join(', ')}); GET /api/v1/addons lists them`,
    );
  return addon;
}

/** A cluster with no workflow running must be Ready; a busy one is left for sm to refuse (CX_CLUSTER_BUSY, naming the workflow). */
function assertReady(cluster: Cluster, allowed: ReadonlyArray<Cluster['status']>): void {
  if (cluster.activeWorkflowId) return;
  if (!allowed.includes(cluster.status) || !cluster.apiEndpoint) {
    throw new CxError(
      'CX_CLUSTER_NOT_READY',
      `cluster ${cluster.name} is ${cluster.status}${cluster.apiEndpoint ? '' : ' and has no Kubernetes API yet'}; addons are installed into Ready clusters`,
      { details: { status: cluster.status } },
    );
  }
}

/**
 * The pod network addon of the cluster other than `name`, in whatever state: one pod network per
 * cluster, since two CNIs would both write the nodes' CNI configuration and fight over pod addresses.
 */
export function otherNetworkAddon<T extends { name: string }>(
  installed: readonly T[],
  name: string,
  isNetwork: (name: string) => boolean = isNetworkAddon,
): T | undefined {
  return installed.find((a) => a.name !== name && isNetwork(a.name));
}

async function assertNoOtherNetwork(sm: SmClient, cluster: Cluster, name: string): Promise<void> {
  const other = otherNetworkAddon(await sm.clusterAddons(cluster.id), name);
  if (other) {
    throw new ConflictError(
      `cluster ${cluster.name} already has the pod network addon ${other.name} (${other.status}); a cluster runs one CNI: remove ${other.name} first, knowing that pods lose their network until ${name} is installed`,
      'CX_CONFLICT',
    );
  }
}

export async function addonRoutes(app: FastifyInstance, deps: AddonRouteDeps): Promise<void> {
  const { sm, engine } = deps;

  app.get(
    '/addons',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['addons'],
        summary: 'The addon catalog: each addon with its pinned version and the JSON schema of its settings',
        response: { 200: listSchema(addonCatalogEntrySchema), ...errors },
      },
    },
    async () => ({ items: ADDONS.map(catalogEntry), nextCursor: null }),
  );

  app.get<{ Params: { id: string } }>(
    '/clusters/:id/addons',
    {
      config: { access: onParam('viewer', 'cluster') },
      schema: {
        tags: ['addons'],
        summary: 'Addons of a cluster, with their version, settings (secrets left out) and status',
        params: refParamsSchema,
        response: { 200: listSchema(clusterAddonSchema), ...errors },
      },
    },
    async (request, reply) => sendJson(reply, await sm.clusterAddonsJson(request.params.id)),
  );

  app.put<{ Params: { id: string; name: string }; Body: AddonInstallRequest }>(
    '/clusters/:id/addons/:name',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['addons'],
        params: addonParamsSchema,
        headers: idempotencyHeaders,
        body: addonInstallRequestSchema,
        response: { 202: accepted, ...errors, 422: { $ref: 'Problem#' } },
        summary: 'Install an addon, or apply it again with new settings (runs the addon.install workflow)',
        description:
          'The settings replace those of an earlier install, secrets included. Refused with nothing stored: an addon not in the catalog (404), settings its schema refuses (400, every error listed), a provider the addon cannot serve (400), a cluster that is not Ready (409 CX_CLUSTER_NOT_READY) or runs another workflow (409 CX_CLUSTER_BUSY), a second pod network (CNI) addon (409 CX_CONFLICT), an endpoint the egress policy refuses (422 CX_ENDPOINT_NOT_ALLOWED).',
      },
    },
    async (request, reply) => {
      const addon = catalogAddon(request.params.name);
      const check = checkAddonSettings(addon, request.body?.settings);
      if (!check.ok)
        throw new InputError(
          `the settings of addon ${addon.name} are invalid: ${check.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
          check.errors,
        );
      const cluster = await sm.getCluster(request.params.id);
      const unsupported = addon.unsupported?.(cluster);
      if (unsupported)
        throw new InputError(unsupported, [
          { field: 'params.name', message: `cannot be installed on provider ${cluster.provider}` },
        ]);
      assertReady(cluster, ['Ready']);
      if (addon.stage === 'network') await assertNoOtherNetwork(sm, cluster, addon.name);
      for (const setting of addon.endpointSettings ?? []) {
        const url = check.settings[setting];
        if (typeof url !== 'string') continue;
        const verdict = await deps.egress.check(url, async (host) =>
          (await lookup(host, { all: true })).map((a) => a.address),
        );
        if (!verdict.allowed) {
          throw new CxError(
            'CX_ENDPOINT_NOT_ALLOWED',
            `the ${setting} of addon ${addon.name} is refused by the egress policy: ${verdict.reason}`,
            { details: { fields: [{ field: `body.settings.${setting}`, message: verdict.reason }] } },
          );
        }
      }
      deps.assertQueueUp();
      const { visible, secrets } = splitSecretSettings(addon, check.settings);
      const answer = await sm.installAddon(
        cluster.id,
        addon.name,
        { version: addon.version, settings: visible, secrets },
        startRequest(request, engine.definition(INSTALL_ADDON), 'Updating', {
          addon: addon.name,
          readyTimeoutSeconds: request.body?.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS,
        }),
      );
      return acceptWorkflow(reply, engine, answer);
    },
  );

  app.delete<{ Params: { id: string; name: string } }>(
    '/clusters/:id/addons/:name',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['addons'],
        params: addonParamsSchema,
        headers: idempotencyHeaders,
        response: { 202: accepted, ...errors },
        summary:
          'Remove an addon: every object labelled with it is deleted from the cluster (runs the addon.remove workflow)',
        description:
          'Also for an addon whose install failed (the cluster may then be Failed). 404 when the addon is not installed.',
      },
    },
    async (request, reply) => {
      const addon = catalogAddon(request.params.name);
      const cluster = await sm.getCluster(request.params.id);
      assertReady(cluster, ['Ready', 'Failed']);
      deps.assertQueueUp();
      const answer = await sm.removeAddon(
        cluster.id,
        addon.name,
        startRequest(request, engine.definition(REMOVE_ADDON), 'Updating', { addon: addon.name }),
      );
      return acceptWorkflow(reply, engine, answer);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/clusters/:id/dashboard',
    {
      config: { access: onParam('viewer', 'cluster') },
      schema: {
        tags: ['addons'],
        params: refParamsSchema,
        response: { 200: dashboardAccessSchema, ...errors },
        summary:
          "A link to the cluster's Kubernetes Dashboard and a one-hour token of your role (viewer → view, operator → edit, admin → cluster-admin)",
        description:
          "Needs the dashboard addon (409 CX_CONFLICT otherwise: install it with PUT /api/v1/clusters/{id}/addons/dashboard). The link goes through the cluster's API server (its service proxy); sign in to the dashboard with the token. Nothing is stored; the token expires on its own.",
      },
    },
    async (request, reply) => {
      const cluster = await sm.getCluster(request.params.id);
      const installed = (await sm.clusterAddons(cluster.id)).find((a) => a.name === 'dashboard');
      if (installed?.status !== 'Installed' || !cluster.apiEndpoint) {
        throw new ConflictError(
          `cluster ${cluster.name} has ${installed ? `the dashboard addon ${installed.status}` : 'no dashboard'}; install it with PUT /api/v1/clusters/${cluster.id}/addons/dashboard`,
          'CX_CONFLICT',
        );
      }
      const role = await sm.roleOn(request.user!.id, { kind: 'cluster', id: cluster.id });
      if (!role) throw new NotFoundError(`cluster ${request.params.id} does not exist or you may not see it`);
      const { token, expiresAt, serviceAccount } = await engine.runOperationNow<{
        token: string;
        expiresAt: string;
        serviceAccount: string;
      }>({ op: 'dashboard-token', provider: cluster.provider, clusterId: cluster.id, role }, TOKEN_TIMEOUT_MS);
      return reply.header('cache-control', 'no-store').send({
        url: `${cluster.apiEndpoint.replace(/\/$/, '')}${DASHBOARD_PROXY_PATH}`,
        token,
        expiresAt,
        role,
        serviceAccount,
      });
    },
  );
}

/** How long minting a dashboard token may take: one TokenRequest in the tenant cluster. */
const TOKEN_TIMEOUT_MS = 30_000;

const dashboardAccessSchema = {
  type: 'object',
  required: ['url', 'token', 'expiresAt', 'role'],
  properties: {
    url: { type: 'string', description: "The dashboard through the cluster's API server" },
    token: { type: 'string', description: 'Bearer token to sign in with; valid until expiresAt' },
    expiresAt: { type: 'string' },
    role: { type: 'string', enum: ['viewer', 'operator', 'admin'] },
    serviceAccount: { type: 'string', description: 'The account in kubernetes-dashboard the token belongs to' },
  },
} as const;
