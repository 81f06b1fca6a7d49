/**
 * `POST /clusters/{id}/os-upgrade`: move the workers onto a new OS image by rolling replacement
 * (workflow cluster.os-upgrade, docs/workflows.md). Refused with nothing stored: a provider whose
 * machines have no image cx can choose (sim, baremetal: 400), a cluster without workers
 * (400: control-plane machines are not replaced), an image the provider cannot find with the
 * cluster's credential (400, field body.image), a cluster running another workflow (409).
 */
import type { FastifyInstance } from 'fastify';
import {
  clusterAcceptedSchema,
  idParamsSchema,
  refParamsSchema,
  MAX_POOL_COUNT,
  type ProviderInfo,
} from '@cx/api-schemas';
import { ConflictError, InputError } from '@cx/errors';
import { onParam } from '../http/access-guard.js';
import type { WorkflowEngine } from '../engine.js';
import { problemResponses as errors } from '../http/responses.js';
import { advertisedProvider, can, providersWith } from '../infrastructure/capabilities.js';
import type { InfrastructureChecks } from '../infrastructure/checks.js';
import type { SmClient } from '@cx/sm-contract';
import { acceptWorkflow, idempotencyHeaders, startRequest } from '../http/workflow-start.js';
import {
  OS_UPGRADE_CLUSTER,
  ROLLBACK_OS_UPGRADE,
  planImageReplacement,
  type OsUpgradeInput,
  type OsUpgradeRollbackInput,
} from '../workflows/cluster-os-upgrade.js';
import { runInput, runOutput } from '../workflows/define.js';

export interface OsUpgradeRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  infrastructure: InfrastructureChecks;
  providers: () => Promise<ProviderInfo[]>;
  assertQueueUp: () => void;
}

interface OsUpgradeBody {
  image: string;
  maxSurge: number;
  drainTimeoutSeconds?: number;
}

export async function osUpgradeRoutes(app: FastifyInstance, deps: OsUpgradeRouteDeps): Promise<void> {
  const { sm, engine } = deps;
  app.post<{ Params: { id: string }; Body: OsUpgradeBody }>(
    '/clusters/:id/os-upgrade',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['clusters'],
        params: refParamsSchema,
        headers: idempotencyHeaders,
        summary:
          'Move the workers onto a new OS image: each worker is replaced by a new machine booted from it (Ready first), then cordoned, drained and deleted, maxSurge at a time',
        description:
          'Runs cluster.os-upgrade. The image is recorded on the cluster (osImage): every machine created afterwards boots it. Control-plane machines are not replaced. ' +
          "Refused (400) with nothing stored for providers without OS images (sim, baremetal), for a cluster without workers, and for an image the provider does not find with the cluster's credential.",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['image'],
          properties: {
            image: {
              type: 'string',
              minLength: 1,
              maxLength: 1024,
              description:
                'vsphere: inventory path of the template VM (as the template setting); openstack: Glance image name or id (as the image setting); kwok: any image name, which its nodes report as their osImage',
            },
            maxSurge: {
              type: 'integer',
              minimum: 1,
              maximum: MAX_POOL_COUNT,
              default: 1,
              description: 'New machines created ahead of the old ones they replace',
            },
            drainTimeoutSeconds: {
              type: 'integer',
              minimum: 1,
              maximum: 86400,
              description:
                'How long draining an old node may be blocked (by PodDisruptionBudgets) before the workflow fails; default 300',
            },
          },
        },
        response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) => {
      const cluster = await sm.getCluster(request.params.id);
      const field = 'params.id';
      const { provider, all } = await advertisedProvider(deps.providers, cluster.provider);
      if (!can(provider, 'osImages')) {
        throw new InputError(
          `provider ${cluster.provider} has no OS image to choose: its machines are not booted from one cx picks (only ${providersWith(all, 'osImages')} are)`,
          [{ field, message: `is a ${cluster.provider} cluster` }],
        );
      }
      if (!cluster.nodePools.some((p) => p.count > 0)) {
        throw new InputError(
          `cluster ${cluster.name} has no workers; an OS upgrade replaces workers only (a control-plane machine is not replaced: a new first one would initialise a new cluster)`,
          [{ field, message: 'has no worker machines' }],
        );
      }
      await deps.infrastructure.checkImage(cluster, request.body.image);
      deps.assertQueueUp();
      const accepted = await sm.startClusterWorkflow(
        request.params.id,
        startRequest(request, engine.definition(OS_UPGRADE_CLUSTER), 'Updating', {
          ...request.body,
          from: cluster.osImage ?? null,
        }),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/workflows/:id/rollback',
    {
      config: { access: onParam('operator', 'workflow') },
      schema: {
        tags: ['workflows'],
        params: idParamsSchema,
        headers: idempotencyHeaders,
        summary:
          "Roll back a Failed or Cancelled OS upgrade (cluster.os-upgrade): workers not yet replaced keep their old machine, the new ones go, and the cluster's image is the one it had before",
        description:
          'Runs cluster.os-upgrade-rollback on the cluster. Workers the upgrade had already replaced stay on the new image. ' +
          'Refused with nothing changed: another kind of workflow (400: a Kubernetes upgrade resumes with POST /workflows/{id}/retry, as kubeadm does not move a control plane back), ' +
          'a run that is not Failed or Cancelled (409), a cluster whose image has changed since (409: rolled back already, or upgraded again), a busy cluster (409).',
        response: { 202: clusterAcceptedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const run = await sm.getRun(request.params.id);
      if (run.workflow !== OS_UPGRADE_CLUSTER) {
        throw new InputError(
          `workflow ${run.id} is a ${run.workflow}; only an OS upgrade (${OS_UPGRADE_CLUSTER}) rolls back. A failed Kubernetes upgrade resumes with POST /api/v1/workflows/${run.id}/retry`,
          [{ field: 'params.id', message: `is a ${run.workflow} run` }],
        );
      }
      if (run.status !== 'Failed' && run.status !== 'Cancelled') {
        throw new ConflictError(
          `workflow ${run.id} is ${run.status}; only a Failed or Cancelled OS upgrade rolls back${run.status === 'Running' || run.status === 'Pending' ? ` (cancel it first: POST /api/v1/workflows/${run.id}/cancel)` : ''}`,
          'CX_CONFLICT',
        );
      }
      const input = runInput<OsUpgradeInput>(run);
      const cluster = await sm.getCluster(run.clusterId);
      if (cluster.osImage !== input.image) {
        throw new ConflictError(
          `cluster ${cluster.name} boots ${cluster.osImage ?? "its provider's default image"} now, not ${input.image}: this upgrade was rolled back already, or another one ran since`,
          'CX_CONFLICT',
        );
      }
      const replacements = runOutput(run, planImageReplacement)?.replacements ?? [];
      const rollback: OsUpgradeRollbackInput = {
        rollsBack: run.id,
        image: input.image,
        from: input.from ?? null,
        replacements,
        ...(input.drainTimeoutSeconds ? { drainTimeoutSeconds: input.drainTimeoutSeconds } : {}),
      };
      deps.assertQueueUp();
      const accepted = await sm.startClusterWorkflow(
        run.clusterId,
        startRequest(request, engine.definition(ROLLBACK_OS_UPGRADE), 'Updating', { ...rollback }),
      );
      return acceptWorkflow(reply, engine, accepted);
    },
  );
}
