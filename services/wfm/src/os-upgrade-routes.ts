/**
 * `POST /clusters/{id}/os-upgrade`: move the workers onto a new OS image by rolling replacement
 * (workflow cluster.os-upgrade, docs/workflows.md). Refused with nothing stored: a provider whose
 * machines have no image cx can choose (sim, baremetal: 400), a cluster without workers
 * (400: control-plane machines are not replaced), an image the provider cannot find with the
 * cluster's credential (400, field body.image), a cluster running another workflow (409).
 */
import type { FastifyInstance } from 'fastify';
import { clusterAcceptedSchema, idParamsSchema, MAX_POOL_COUNT, type Cluster } from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import { onParam } from './auth.js';
import type { WorkflowEngine } from './engine.js';
import { problemResponses as errors } from './http.js';
import type { InfrastructureChecks } from './infrastructure.js';
import type { SmClient } from './sm-client.js';
import { acceptWorkflow, idempotencyHeaders, startRequest } from './workflow-start.js';
import { OS_IMAGE_PROVIDERS, OS_UPGRADE_CLUSTER } from './workflows/cluster-os-upgrade.js';

export interface OsUpgradeRouteDeps { sm: SmClient; engine: WorkflowEngine; infrastructure: InfrastructureChecks; assertQueueUp: () => void }

interface OsUpgradeBody { image: string; maxSurge: number; drainTimeoutSeconds?: number }

export async function osUpgradeRoutes(app: FastifyInstance, deps: OsUpgradeRouteDeps): Promise<void> {
  const { sm, engine } = deps;
  app.post<{ Params: { id: string }; Body: OsUpgradeBody }>('/clusters/:id/os-upgrade', {
    config: { access: onParam('operator', 'cluster') },
    schema: {
      tags: ['clusters'], params: idParamsSchema,
      headers: idempotencyHeaders,
      summary: 'Move the workers onto a new OS image: each worker is replaced by a new machine booted from it (Ready first), then cordoned, drained and deleted, maxSurge at a time',
      description: 'Runs cluster.os-upgrade. The image is recorded on the cluster (osImage): every machine created afterwards boots it. Control-plane machines are not replaced. '
        + 'Refused (400) with nothing stored for providers without OS images (sim, baremetal), for a cluster without workers, and for an image the provider does not find with the cluster\'s credential.',
      body: {
        type: 'object', additionalProperties: false, required: ['image'],
        properties: {
          image: { type: 'string', minLength: 1, maxLength: 1024, description: 'vsphere: inventory path of the template VM (as the template setting); openstack: Glance image name or id (as the image setting); kwok: any image name, which its nodes report as their osImage' },
          maxSurge: { type: 'integer', minimum: 1, maximum: MAX_POOL_COUNT, default: 1, description: 'New machines created ahead of the old ones they replace' },
          drainTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 86400, description: 'How long draining an old node may be blocked (by PodDisruptionBudgets) before the workflow fails; default 300' },
        },
      },
      response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
    },
  }, async (request, reply) => {
    const cluster = JSON.parse(await sm.getClusterJson(request.params.id)) as Cluster;
    const field = 'params.id';
    if (!OS_IMAGE_PROVIDERS.includes(cluster.provider)) {
      throw new InputError(`provider ${cluster.provider} has no OS image to choose: its machines are not booted from one cx picks (only ${OS_IMAGE_PROVIDERS.join(', ')} are)`, [{ field, message: `is a ${cluster.provider} cluster` }]);
    }
    if (!cluster.nodePools.some((p) => p.count > 0)) {
      throw new InputError(`cluster ${cluster.name} has no workers; an OS upgrade replaces workers only (a control-plane machine is not replaced: a new first one would initialise a new cluster)`, [{ field, message: 'has no worker machines' }]);
    }
    await deps.infrastructure.checkImage(cluster, request.body.image);
    deps.assertQueueUp();
    const accepted = await sm.startClusterWorkflow(request.params.id, startRequest(request, engine.definition(OS_UPGRADE_CLUSTER), 'Updating', { ...request.body, from: cluster.osImage ?? null }));
    return acceptWorkflow(reply, engine, accepted);
  });
}
