/**
 * Clusters (DESIGN.md section 2): list, create (from scratch or from a template), get, delete,
 * upgrade the Kubernetes version, rotate certificates or the CA, and the caller's kubeconfig. The
 * checks a request must pass beyond its schema are in checks.ts; node pools and nodes have their
 * own folders.
 */
import type { FastifyInstance } from 'fastify';
import {
  clusterAcceptedSchema,
  clusterCreateBodySchema,
  clusterSchema,
  clusterUpgradesSchema,
  healthPolicySchema,
  refParamsSchema,
  listQuerySchema,
  listSchema,
  MAX_POOL_COUNT,
  KUBERNETES_VERSION,
  type ClusterCreateBody,
  type ClusterUpgrades,
  type HealthPolicy,
  type ProviderInfo,
} from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import type { EgressPolicy } from '@cx/k8s';
import type { WorkflowEngine } from '../engine.js';
import { onParam } from '../http/access-guard.js';
import type { ClusterReadCache } from '../http/read-cache.js';
import { problemResponses as errors, sendJson } from '../http/responses.js';
import { acceptWorkflow, idempotencyHeaders, startRequest } from '../http/workflow-start.js';
import type { InfrastructureChecks } from '../infrastructure/checks.js';
import type { SmClient } from '@cx/sm-contract';
import { completeClusterRequest, createAddons, createClusterStart } from '../templates/routes.js';
import { CREATE_CLUSTER } from '../workflows/cluster-create.js';
import { DELETE_CLUSTER } from '../workflows/cluster-delete.js';
import { UPGRADE_CLUSTER } from '../workflows/cluster-upgrade.js';
import { ROTATE_CA, ROTATE_CERTIFICATES } from '../workflows/cluster-rotate-ca.js';
import { advertisedProvider, can, providersWith } from '../infrastructure/capabilities.js';
import { checkBmcFencing, checkClusterRequest, checkUpgrade, resourceGroupOf, upgradesOf } from './checks.js';

export interface ClusterRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  providers: () => Promise<ProviderInfo[]>;
  infrastructure: InfrastructureChecks;
  reads: ClusterReadCache;
  assertQueueUp: () => void;
  egress: EgressPolicy;
}

export async function clusterRoutes(app: FastifyInstance, deps: ClusterRouteDeps): Promise<void> {
  const { sm, engine } = deps;

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/clusters',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['clusters'],
        summary: 'List the clusters you may see, oldest first',
        querystring: listQuerySchema,
        response: { 200: listSchema(clusterSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query;
      return sendJson(
        reply,
        await deps.reads.read(`${request.user!.id} list ${limit} ${cursor ?? ''}`, () =>
          sm.listClustersJson(limit, cursor, request.user!.id),
        ),
      );
    },
  );

  app.post<{ Body: ClusterCreateBody }>(
    '/clusters',
    {
      // Operator on the resource group it goes into, or globally when it goes into none (a template never sets it).
      config: {
        access: {
          role: 'operator',
          on: 'resource-group or global',
          onInput: (request) => resourceGroupOf(request.body),
        },
      },
      schema: {
        tags: ['clusters'],
        summary: 'Create a cluster, from scratch or from a cluster template (runs the create workflow)',
        headers: idempotencyHeaders,
        body: clusterCreateBodySchema,
        description:
          "With `template`, the template completes the request. The template's addons and the request's `addons` (merged by name, the request's settings winning) are installed by the create workflow before the cluster is Ready. Refused with nothing stored: a template that does not exist (404, field body.template), a completed request that is invalid (400, as any request), an addon not in the catalog (GET /api/v1/addons), listed twice, a second pod network, settings its schema refuses or an addon the provider cannot serve (400, field body.addons.N… for the request's own, body.template for the template's), an addon endpoint the egress policy refuses (422).",
        response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) => {
      const { request: body, template, addons: own } = await completeClusterRequest(request, sm);
      const providers = await deps.providers();
      const provider = await checkClusterRequest(body, providers);
      const addons = await createAddons(template, own, body, deps.egress, providers);
      await deps.infrastructure.checkPlacement(body, provider);
      deps.assertQueueUp();
      const accepted = await sm.createCluster(
        body,
        createClusterStart(request, engine.definition(CREATE_CLUSTER), addons),
        template && { id: template.id, version: template.version },
        addons,
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/clusters/:id',
    {
      config: { access: onParam('viewer', 'cluster') },
      schema: {
        tags: ['clusters'],
        summary: 'Get a cluster',
        params: refParamsSchema,
        response: { 200: clusterSchema, ...errors },
      },
    },
    async (request, reply) =>
      sendJson(
        reply,
        await deps.reads.read(`${request.user!.id} get ${request.params.id}`, () =>
          sm.getClusterJson(request.params.id),
        ),
      ),
  );

  app.delete<{ Params: { id: string } }>(
    '/clusters/:id',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        summary: 'Delete a cluster and all its machines (runs the delete workflow)',
        params: refParamsSchema,
        headers: idempotencyHeaders,
        response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) => {
      deps.assertQueueUp();
      const accepted = await sm.startClusterWorkflow(
        request.params.id,
        startRequest(request, engine.definition(DELETE_CLUSTER), 'Deleting', {}),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/clusters/:id/upgrades',
    {
      config: { access: onParam('viewer', 'cluster') },
      schema: {
        tags: ['clusters'],
        summary:
          "The Kubernetes versions this cluster may be upgraded to: each version its provider offers above the cluster's, oldest first, allowed now or not and why",
        description:
          'The version skew policy of POST /clusters/{id}/upgrade: a newer patch, or the next minor version; never two minors at once nor another major. A version the policy allows is still refused (ClusterBusy) while another workflow runs on the cluster. No provider serving the cluster: no versions.',
        params: refParamsSchema,
        response: { 200: clusterUpgradesSchema, ...errors },
      },
    },
    async (request): Promise<ClusterUpgrades> => {
      const cluster = await sm.getCluster(request.params.id);
      return {
        kubernetesVersion: cluster.kubernetesVersion,
        items: upgradesOf(cluster, await deps.providers()),
        nextCursor: null,
      };
    },
  );

  app.post<{
    Params: { id: string };
    Body: { kubernetesVersion: string; maxUnavailable?: number; maxSurge?: number; drainTimeoutSeconds?: number };
  }>(
    '/clusters/:id/upgrade',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        headers: idempotencyHeaders,
        params: refParamsSchema,
        summary:
          'Upgrade the Kubernetes version: one minor at a time (or a newer patch), the control plane first, then the workers maxUnavailable at a time in place, or replaced maxSurge at a time; each cordoned and drained first',
        description:
          'Give maxUnavailable (workers moved in place at once, default 1) or maxSurge (new workers at the new version created ahead of the ones they replace; capacity never drops), not both (400).',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kubernetesVersion'],
          properties: {
            kubernetesVersion: {
              type: 'string',
              pattern: KUBERNETES_VERSION,
              description: "One of the provider's kubernetesVersions",
            },
            maxUnavailable: {
              type: 'integer',
              minimum: 1,
              maximum: MAX_POOL_COUNT,
              description: 'Workers upgraded in place at once; default 1',
            },
            maxSurge: {
              type: 'integer',
              minimum: 0,
              maximum: MAX_POOL_COUNT,
              description:
                'Replace the workers instead: new machines at the new version created ahead of the old ones they replace; default 0 (in place)',
            },
            drainTimeoutSeconds: {
              type: 'integer',
              minimum: 1,
              maximum: 86400,
              description:
                'How long draining a node may be blocked (by PodDisruptionBudgets) before the workflow fails; default 300',
            },
          },
        },
        response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) => {
      const cluster = await sm.getCluster(request.params.id);
      const { maxSurge = 0, maxUnavailable } = request.body;
      if (maxSurge > 0 && maxUnavailable !== undefined) {
        throw new InputError(
          'give maxSurge (replace the workers, none taken out before its replacement is Ready) or maxUnavailable (move them in place), not both',
          [{ field: 'body.maxUnavailable', message: 'cannot be combined with maxSurge' }],
        );
      }
      checkUpgrade(cluster, request.body.kubernetesVersion, await deps.providers());
      deps.assertQueueUp();
      const input = { ...request.body, maxUnavailable: maxUnavailable ?? 1, maxSurge, from: cluster.kubernetesVersion };
      const accepted = await sm.startClusterWorkflow(
        request.params.id,
        startRequest(request, engine.definition(UPGRADE_CLUSTER), 'Updating', input),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/clusters/:id/rotate-certificates',
    {
      config: { access: onParam('admin', 'cluster') },
      schema: {
        tags: ['clusters'],
        headers: idempotencyHeaders,
        params: refParamsSchema,
        summary:
          "Issue the control plane's serving and client certificates again under the same CAs (kubeconfigs keep working)",
        description:
          "Runs cluster.rotate-certificates. Refused (400) unless the cluster's provider advertises capabilities.certificateRotation (GET /api/v1/providers): renewing them on booted machines needs kubeadm there, which cx does not run yet.",
        response: { 202: clusterAcceptedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const cluster = await sm.getCluster(request.params.id);
      const { provider, all } = await advertisedProvider(deps.providers, cluster.provider);
      if (!can(provider, 'certificateRotation')) {
        throw new InputError(
          `provider ${cluster.provider} does not re-issue a running machine's certificates (kubeadm certs renew on each control-plane machine is not automated yet; providers that do: ${providersWith(all, 'certificateRotation')}); rotate the CA instead, or replace the machines`,
          [{ field: 'params.id', message: `is a ${cluster.provider} cluster` }],
        );
      }
      deps.assertQueueUp();
      const accepted = await sm.startClusterWorkflow(
        request.params.id,
        startRequest(request, engine.definition(ROTATE_CERTIFICATES), 'Updating', {}),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/clusters/:id/rotate-ca',
    {
      config: { access: onParam('admin', 'cluster') },
      schema: {
        tags: ['clusters'],
        headers: idempotencyHeaders,
        params: refParamsSchema,
        summary:
          'Rotate the cluster CA in two phases (trust both, then drop the old): kubeconfigs signed by the old CA stop working at the end',
        description:
          "Refused (400) when the cluster's provider runs a Kubernetes API without capabilities.certificateRotation (GET /api/v1/providers): its running machines would not take the new CA, and the cluster would refuse every credential signed afterwards.",
        response: { 202: clusterAcceptedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const cluster = await sm.getCluster(request.params.id);
      // A provider that cannot roll the running control plane onto the new CA would leave it trusting only the old one,
      // and every credential cx signs afterwards (its own included) would be refused. Without a Kubernetes API nobody is locked out.
      const { provider, all } = await advertisedProvider(deps.providers, cluster.provider);
      if (!can(provider, 'certificateRotation') && can(provider, 'kubernetesApi')) {
        throw new InputError(
          `provider ${cluster.provider} does not rewrite a running machine's PKI (kubeadm on each control-plane machine is not automated yet; providers that do: ${providersWith(all, 'certificateRotation')}): rotating the CA would lock cx and every user out of the cluster`,
          [{ field: 'params.id', message: `is a ${cluster.provider} cluster` }],
        );
      }
      deps.assertQueueUp();
      const accepted = await sm.startClusterWorkflow(
        request.params.id,
        startRequest(request, engine.definition(ROTATE_CA), 'Updating', {}),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );

  app.put<{ Params: { id: string }; Body: HealthPolicy }>(
    '/clusters/:id/health-policy',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        params: refParamsSchema,
        summary: "Replace the cluster's node health policy (its pools' own overrides stay)",
        description:
          'Fields left out take their defaults. No workflow runs: the health monitor applies the policy at its next look at the nodes.',
        body: healthPolicySchema,
        response: { 200: clusterSchema, ...errors },
      },
    },
    async (request) => {
      const cluster = await sm.getCluster(request.params.id);
      const policy = request.body;
      if (policy.fencing && policy.fencing !== 'provider')
        checkBmcFencing(
          policy.fencing,
          (await advertisedProvider(deps.providers, cluster.provider)).provider,
          'body.fencing',
        );
      return sm.setHealthPolicy(cluster.id, policy);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/clusters/:id/kubeconfig',
    {
      config: { access: onParam('viewer', 'cluster') },
      schema: {
        tags: ['clusters'],
        params: refParamsSchema,
        produces: ['application/yaml'],
        summary:
          "Your kubeconfig for the cluster: a client certificate valid one hour (CN = you, O = your groups and cx:<your role>), bound by the cluster's RBAC to view, edit or cluster-admin",
        response: { 200: { type: 'string', description: 'kubeconfig (YAML)' }, ...errors },
      },
    },
    async (request, reply) => {
      const { kubeconfig, expiresAt } = await sm.kubeconfig(request.params.id, request.user!.id);
      return reply
        .type('application/yaml; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-cx-expires-at', expiresAt)
        .send(kubeconfig);
    },
  );
}
