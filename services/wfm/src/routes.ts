/** The public API, `/api/v1` (DESIGN.md section 2). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  clusterAcceptedSchema, clusterCreateBodySchema, clusterSchema, idParamsSchema, listQuerySchema, listSchema,
  MAX_POOL_COUNT, nodeSchedulingProperties, nodeSchema, problemSchema, providerSchema, workflowSchema,
  KUBERNETES_VERSION, type AccessObject, type Cluster, type ClusterCreateBody, type ClusterCreateRequest, type NodeScheduling, type ProviderInfo,
} from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import type { EgressPolicy } from '@cx/k8s';
import { onParam, type AccessGuard } from './auth.js';
import { problemResponses as errors, sendJson } from './http.js';
import { addonRoutes } from './addon-routes.js';
import { etcdRoutes } from './etcd-routes.js';
import { haConfigRoutes } from './ha-config-routes.js';
import { identityRoutes } from './identity-routes.js';
import { infrastructureRoutes } from './infrastructure-routes.js';
import { nodeRoutes } from './node-routes.js';
import { osUpgradeRoutes } from './os-upgrade-routes.js';
import { pairRoutes } from './pair-routes.js';
import { poolRoutes } from './pool-routes.js';
import { completeClusterRequest, createClusterStart, templateRoutes, templateUse } from './template-routes.js';
import type { InfrastructureChecks } from './infrastructure.js';
import type { ClusterReadCache } from './read-cache.js';
import type { WorkflowEngine } from './engine.js';
import type { Run, SmClient } from '@cx/sm-contract';
import { acceptWorkflow, idempotencyHeaders, startRequest } from './workflow-start.js';
import { CREATE_CLUSTER } from './workflows/cluster-create.js';
import { DELETE_CLUSTER } from './workflows/cluster-delete.js';
import { SCALE_POOL } from './workflows/cluster-scale.js';
import { UPDATE_POOL_SCHEDULING } from './workflows/node.js';
import { UPGRADE_CLUSTER } from './workflows/cluster-upgrade.js';
import { CERTIFICATE_ROTATING_PROVIDERS, ROTATE_CA, ROTATE_CERTIFICATES } from './workflows/cluster-rotate-ca.js';

export interface PublicRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  guard: AccessGuard;
  providers: () => Promise<ProviderInfo[]>;
  /** Checks against real infrastructure (credentials, BMCs, placement) made before sm stores anything. */
  infrastructure: InfrastructureChecks;
  reads: ClusterReadCache;
  /** Throws a 503 when the queue cannot take work, before anything is written. */
  assertQueueUp: () => void;
  /** Which endpoints users may point addons at (egress.*, against SSRF). */
  egress: EgressPolicy;
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);
const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SSE_POLL_MS = 500;
const SSE_MAX_MS = 3_600_000;

export async function publicRoutes(app: FastifyInstance, deps: PublicRouteDeps): Promise<void> {
  const { sm, engine } = deps;
  app.addSchema(problemSchema);
  deps.guard.install(app);

  // Every mutating call is audited, refused ones included (logins are audited by sm itself, with their outcome).
  app.addHook('onResponse', async (request, reply) => {
    if (!MUTATING_METHODS.has(request.method) || request.routeOptions.config.access === 'public') return;
    const url = request.routeOptions.url ?? 'unmatched';
    const params = request.params as { id?: string } | undefined;
    const body = request.body as { name?: unknown; username?: unknown } | undefined;
    const named = typeof body?.name === 'string' ? body.name : typeof body?.username === 'string' ? body.username : undefined;
    sm.audit({
      actor: request.user?.username ?? 'anonymous', action: `${request.method} ${url}`,
      targetKind: (url.split('/')[3] ?? 'unknown').replace(/s$/, ''),
      ...(params?.id ? { targetId: params.id } : named ? { targetId: named } : {}),
      outcome: reply.statusCode < 400 ? 'success' : 'failure', sourceIp: request.ip, requestId: request.id, details: { status: reply.statusCode },
    }).catch((error: unknown) => request.log.warn({ err: error }, 'audit record lost'));
  });

  await identityRoutes(app, { sm, guard: deps.guard, reads: deps.reads, infrastructure: deps.infrastructure });
  await infrastructureRoutes(app, { sm, infrastructure: deps.infrastructure });
  await haConfigRoutes(app, { sm, engine, assertQueueUp: deps.assertQueueUp });
  await addonRoutes(app, { sm, engine, egress: deps.egress, assertQueueUp: deps.assertQueueUp });
  await templateRoutes(app, { sm, egress: deps.egress });
  await pairRoutes(app, { sm, guard: deps.guard, providers: deps.providers });
  await etcdRoutes(app, { sm, engine, providers: deps.providers, assertQueueUp: deps.assertQueueUp });
  await osUpgradeRoutes(app, { sm, engine, infrastructure: deps.infrastructure, assertQueueUp: deps.assertQueueUp });
  await nodeRoutes(app, { sm, engine, infrastructure: deps.infrastructure, assertQueueUp: deps.assertQueueUp });
  await poolRoutes(app, { sm, engine, assertQueueUp: deps.assertQueueUp });

  app.get('/providers', {
    config: { access: 'authenticated' },
    schema: { tags: ['providers'], summary: 'Providers and the Kubernetes versions they install', response: { 200: listSchema(providerSchema), ...errors } },
  }, async () => ({ items: await deps.providers(), nextCursor: null }));

  app.get<{ Querystring: { limit: number; cursor?: string } }>('/clusters', {
    config: { access: 'authenticated' },
    schema: { tags: ['clusters'], summary: 'List the clusters you may see, oldest first', querystring: listQuerySchema, response: { 200: listSchema(clusterSchema), ...errors } },
  }, async (request, reply) => {
    const { limit, cursor } = request.query;
    return sendJson(reply, await deps.reads.read(`${request.user!.id} list ${limit} ${cursor ?? ''}`, () => sm.listClustersJson(limit, cursor, request.user!.id)));
  });

  app.post<{ Body: ClusterCreateBody }>('/clusters', {
    // Operator on the resource group it goes into, or globally when it goes into none (a template never sets it).
    config: { access: { role: 'operator', object: (request) => resourceGroupOf(request.body) } },
    schema: {
      tags: ['clusters'], summary: 'Create a cluster, from scratch or from a cluster template (runs the create workflow)', headers: idempotencyHeaders, body: clusterCreateBodySchema,
      description: 'With `template`, the template completes the request and its addons are installed before the cluster is Ready. Refused with nothing stored: a template that does not exist (404, field body.template), a completed request that is invalid (400, as any request), a template addon the provider cannot serve (400, field body.template).',
      response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
    },
  }, async (request, reply) => {
    const { request: body, template } = await completeClusterRequest(request, sm);
    const provider = await checkClusterRequest(body, await deps.providers());
    const use = template && await templateUse(template, body, deps.egress);
    await deps.infrastructure.checkPlacement(body, provider);
    deps.assertQueueUp();
    const accepted = await sm.createCluster(body, createClusterStart(request, engine.definition(CREATE_CLUSTER), use), use);
    return acceptWorkflow(reply, engine, accepted);
  });

  app.get<{ Params: { id: string } }>('/clusters/:id', {
    config: { access: onParam('viewer', 'cluster') },
    schema: { tags: ['clusters'], summary: 'Get a cluster', params: idParamsSchema, response: { 200: clusterSchema, ...errors } },
  }, async (request, reply) => sendJson(reply, await deps.reads.read(`${request.user!.id} get ${request.params.id}`, () => sm.getClusterJson(request.params.id))));

  app.delete<{ Params: { id: string } }>('/clusters/:id', {
    config: { access: onParam('operator', 'cluster') },
    schema: { tags: ['clusters'], summary: 'Delete a cluster and all its machines (runs the delete workflow)', params: idParamsSchema, headers: idempotencyHeaders, response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } } },
  }, async (request, reply) => {
    deps.assertQueueUp();
    const accepted = await sm.startClusterWorkflow(request.params.id, startRequest(request, engine.definition(DELETE_CLUSTER), 'Deleting', {}));
    return acceptWorkflow(reply, engine, accepted);
  });

  app.patch<{ Params: { id: string; pool: string }; Body: { count?: number; remove?: string[]; drainTimeoutSeconds?: number } & NodeScheduling }>('/clusters/:id/nodepools/:pool', {
    config: { access: onParam('operator', 'cluster') },
    schema: {
      tags: ['clusters'], summary: 'Scale a node pool (`control-plane` for the control plane; runs cluster.scale), or change a worker pool\'s labels and taints on every node (runs nodepool.update-scheduling)', headers: idempotencyHeaders,
      description: 'Give count (with remove and drainTimeoutSeconds), or labels and/or taints: one change per call (400 otherwise). New labels and taints replace the pool\'s: what the pool had and no longer has comes off its nodes; labels and taints from elsewhere stay.',
      params: { type: 'object', required: ['id', 'pool'], additionalProperties: false, properties: { id: idParamsSchema.properties.id, pool: { type: 'string', minLength: 1, maxLength: 63 } } },
      body: {
        type: 'object', additionalProperties: false,
        properties: {
          count: { type: 'integer', minimum: 0, maximum: MAX_POOL_COUNT },
          ...nodeSchedulingProperties,
          remove: { type: 'array', maxItems: MAX_POOL_COUNT, uniqueItems: true, items: { type: 'string', maxLength: 128 }, description: 'When scaling down: the machines to remove (default: the newest)' },
          drainTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 86400, description: 'How long draining a removed node may be blocked (by PodDisruptionBudgets) before the workflow fails; default 300' },
        },
      },
      response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
    },
  }, async (request, reply) => {
    const { count, labels, taints } = request.body;
    if (labels !== undefined || taints !== undefined) {
      if (count !== undefined || request.body.remove !== undefined) {
        throw new InputError('scale a pool and change its labels or taints in two calls', [{ field: 'body.count', message: 'cannot be combined with labels or taints' }]);
      }
      const cluster = JSON.parse(await sm.getClusterJson(request.params.id)) as Cluster;
      if (!cluster.apiEndpoint) throw new InputError(`cluster ${cluster.name} has no Kubernetes API (provider ${cluster.provider}): there are no nodes to label`, [{ field: 'params.id', message: 'has no Kubernetes API' }]);
      const pool = cluster.nodePools.find((p) => p.name === request.params.pool);
      const scheduling = { labels: labels ?? pool?.labels ?? {}, taints: taints ?? pool?.taints ?? [] };
      deps.assertQueueUp();
      const accepted = await sm.updatePoolScheduling(request.params.id, request.params.pool, scheduling, startRequest(request, engine.definition(UPDATE_POOL_SCHEDULING), 'Updating', {}));
      return acceptWorkflow(reply, engine, accepted);
    }
    if (count === undefined) throw new InputError('give count to scale the pool, or labels and/or taints to change them', [{ field: 'body.count', message: 'is required without labels or taints' }]);
    deps.assertQueueUp();
    const accepted = await sm.scalePool(request.params.id, request.params.pool, count,
      startRequest(request, engine.definition(SCALE_POOL), 'Updating', {
        ...(request.body.remove ? { remove: request.body.remove } : {}), ...(request.body.drainTimeoutSeconds ? { drainTimeoutSeconds: request.body.drainTimeoutSeconds } : {}),
      }));
    return acceptWorkflow(reply, engine, accepted);
  });

  app.post<{ Params: { id: string }; Body: { kubernetesVersion: string; maxUnavailable?: number; maxSurge?: number; drainTimeoutSeconds?: number } }>('/clusters/:id/upgrade', {
    config: { access: onParam('operator', 'cluster') },
    schema: {
      tags: ['clusters'], headers: idempotencyHeaders, params: idParamsSchema,
      summary: 'Upgrade the Kubernetes version: one minor at a time (or a newer patch), the control plane first, then the workers maxUnavailable at a time in place, or replaced maxSurge at a time; each cordoned and drained first',
      description: 'Give maxUnavailable (workers moved in place at once, default 1) or maxSurge (new workers at the new version created ahead of the ones they replace; capacity never drops), not both (400).',
      body: {
        type: 'object', additionalProperties: false, required: ['kubernetesVersion'],
        properties: {
          kubernetesVersion: { type: 'string', pattern: KUBERNETES_VERSION, description: 'One of the provider\'s kubernetesVersions' },
          maxUnavailable: { type: 'integer', minimum: 1, maximum: MAX_POOL_COUNT, description: 'Workers upgraded in place at once; default 1' },
          maxSurge: { type: 'integer', minimum: 0, maximum: MAX_POOL_COUNT, description: 'Replace the workers instead: new machines at the new version created ahead of the old ones they replace; default 0 (in place)' },
          drainTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 86400, description: 'How long draining a node may be blocked (by PodDisruptionBudgets) before the workflow fails; default 300' },
        },
      },
      response: { 202: clusterAcceptedSchema, ...errors, 422: { $ref: 'Problem#' } },
    },
  }, async (request, reply) => {
    const cluster = JSON.parse(await sm.getClusterJson(request.params.id)) as Cluster;
    const { maxSurge = 0, maxUnavailable } = request.body;
    if (maxSurge > 0 && maxUnavailable !== undefined) {
      throw new InputError('give maxSurge (replace the workers, none taken out before its replacement is Ready) or maxUnavailable (move them in place), not both', [{ field: 'body.maxUnavailable', message: 'cannot be combined with maxSurge' }]);
    }
    checkUpgrade(cluster, request.body.kubernetesVersion, await deps.providers());
    deps.assertQueueUp();
    const input = { ...request.body, maxUnavailable: maxUnavailable ?? 1, maxSurge, from: cluster.kubernetesVersion };
    const accepted = await sm.startClusterWorkflow(request.params.id, startRequest(request, engine.definition(UPGRADE_CLUSTER), 'Updating', input));
    return acceptWorkflow(reply, engine, accepted);
  });

  app.post<{ Params: { id: string } }>('/clusters/:id/rotate-certificates', {
    config: { access: onParam('admin', 'cluster') },
    schema: {
      tags: ['clusters'], headers: idempotencyHeaders, params: idParamsSchema,
      summary: 'Issue the control plane\'s serving and client certificates again under the same CAs (kubeconfigs keep working)',
      description: 'Runs cluster.rotate-certificates. Refused (400) for providers whose machines do not take new certificates when re-ensured: vsphere, openstack, baremetal (renewing them needs kubeadm on the machines, which cx does not run yet) and sim (no certificates).',
      response: { 202: clusterAcceptedSchema, ...errors },
    },
  }, async (request, reply) => {
    const cluster = JSON.parse(await sm.getClusterJson(request.params.id)) as Cluster;
    if (!CERTIFICATE_ROTATING_PROVIDERS.includes(cluster.provider)) {
      throw new InputError(`provider ${cluster.provider} does not re-issue a running machine's certificates (kubeadm certs renew on each control-plane machine is not automated yet); rotate the CA instead, or replace the machines`, [{ field: 'params.id', message: `is a ${cluster.provider} cluster` }]);
    }
    deps.assertQueueUp();
    const accepted = await sm.startClusterWorkflow(request.params.id, startRequest(request, engine.definition(ROTATE_CERTIFICATES), 'Updating', {}));
    return acceptWorkflow(reply, engine, accepted);
  });

  app.post<{ Params: { id: string } }>('/clusters/:id/rotate-ca', {
    config: { access: onParam('admin', 'cluster') },
    schema: {
      tags: ['clusters'], headers: idempotencyHeaders, params: idParamsSchema,
      summary: 'Rotate the cluster CA in two phases (trust both, then drop the old): kubeconfigs signed by the old CA stop working at the end',
      description: 'Refused (400) for vsphere, openstack and baremetal: their running machines would not take the new CA, and the cluster would refuse every credential signed afterwards.',
      response: { 202: clusterAcceptedSchema, ...errors },
    },
  }, async (request, reply) => {
    const cluster = JSON.parse(await sm.getClusterJson(request.params.id)) as Cluster;
    // A provider that cannot roll the running control plane onto the new CA would leave it trusting only the old one,
    // and every credential cx signs afterwards (its own included) would be refused.
    if (![...CERTIFICATE_ROTATING_PROVIDERS, 'sim'].includes(cluster.provider)) {
      throw new InputError(`provider ${cluster.provider} does not rewrite a running machine's PKI (kubeadm on each control-plane machine is not automated yet): rotating the CA would lock cx and every user out of the cluster`, [{ field: 'params.id', message: `is a ${cluster.provider} cluster` }]);
    }
    deps.assertQueueUp();
    const accepted = await sm.startClusterWorkflow(request.params.id, startRequest(request, engine.definition(ROTATE_CA), 'Updating', {}));
    return acceptWorkflow(reply, engine, accepted);
  });

  app.get<{ Params: { id: string } }>('/clusters/:id/nodes', {
    config: { access: onParam('viewer', 'cluster') },
    schema: { tags: ['clusters'], summary: 'Nodes of a cluster', params: idParamsSchema, response: { 200: listSchema(nodeSchema), ...errors } },
  }, async (request, reply) => sendJson(reply, await sm.listNodesJson(request.params.id)));

  app.get<{ Params: { id: string } }>('/clusters/:id/kubeconfig', {
    config: { access: onParam('viewer', 'cluster') },
    schema: {
      tags: ['clusters'], params: idParamsSchema, produces: ['application/yaml'],
      summary: 'Your kubeconfig for the cluster: a client certificate valid one hour (CN = you, O = your groups and cx:<your role>), bound by the cluster\'s RBAC to view, edit or cluster-admin',
      response: { 200: { type: 'string', description: 'kubeconfig (YAML)' }, ...errors },
    },
  }, async (request, reply) => {
    const { kubeconfig, expiresAt } = await sm.kubeconfig(request.params.id, request.user!.id);
    return reply.type('application/yaml; charset=utf-8').header('cache-control', 'no-store').header('x-cx-expires-at', expiresAt).send(kubeconfig);
  });

  app.get<{ Params: { id: string } }>('/workflows/:id', {
    config: { access: onParam('viewer', 'workflow') },
    schema: { tags: ['workflows'], summary: 'Get a workflow run with its steps', params: idParamsSchema, response: { 200: workflowSchema, ...errors } },
  }, async (request) => sm.getRun(request.params.id));

  app.post<{ Params: { id: string } }>('/workflows/:id/cancel', {
    config: { access: onParam('operator', 'workflow') },
    schema: { tags: ['workflows'], summary: 'Cancel a Pending or Running workflow; the cluster is marked Failed', params: idParamsSchema, response: { 200: workflowSchema, ...errors } },
  }, async (request) => sm.cancelRun(request.params.id));

  app.post<{ Params: { id: string } }>('/workflows/:id/retry', {
    config: { access: onParam('operator', 'workflow') },
    schema: { tags: ['workflows'], summary: 'Resume a Failed or Cancelled workflow from the step where it stopped', params: idParamsSchema, response: { 200: workflowSchema, ...errors } },
  }, async (request) => {
    deps.assertQueueUp();
    const run = await sm.retryRun(request.params.id);
    await engine.enqueue({ runId: run.id, stepIndex: run.currentStep, generation: run.generation });
    return run;
  });

  app.get<{ Params: { id: string } }>('/workflows/:id/events', {
    config: { access: onParam('viewer', 'workflow') },
    schema: {
      tags: ['workflows'], params: idParamsSchema,
      summary: 'Server-sent events: a `workflow` event with the run each time it changes; the stream ends when the run is Succeeded, Failed or Cancelled',
      produces: ['text/event-stream'],
    },
  }, async (request, reply) => streamWorkflow(sm, request, reply));
}

function resourceGroupOf(body: unknown): AccessObject {
  const group = (body as { resourceGroup?: unknown } | undefined)?.resourceGroup;
  return typeof group === 'string' && group !== '' ? { kind: 'resource-group', id: group } : { kind: 'global' };
}


/** Checks what the schema cannot: the provider, its versions, unique pool names. */
async function checkClusterRequest(body: ClusterCreateRequest, providers: ProviderInfo[]): Promise<ProviderInfo> {
  const provider = providers.find((p) => p.name === body.provider);
  if (!provider) {
    const known = providers.map((p) => p.name).join(', ') || 'none is running';
    throw new InputError(`provider ${body.provider} is not available (available: ${known})`, [{ field: 'body.provider', message: `must be one of: ${known}` }]);
  }
  if (!provider.kubernetesVersions.includes(body.kubernetesVersion)) {
    throw new InputError(`provider ${body.provider} cannot install Kubernetes ${body.kubernetesVersion}`, [{ field: 'body.kubernetesVersion', message: `must be one of: ${provider.kubernetesVersions.join(', ')}` }]);
  }
  const seen = new Set<string>(['control-plane']);
  for (const [i, pool] of (body.nodePools ?? []).entries()) {
    if (seen.has(pool.name)) throw new InputError(`node pool name ${pool.name} is used twice or is reserved`, [{ field: `body.nodePools.${i}.name`, message: 'must be unique and not control-plane' }]);
    seen.add(pool.name);
  }
  if (body.controlPlane.vipUnicast === true && (body.controlPlane.vipPool === undefined || body.controlPlane.vipManager === 'kube-vip')) {
    throw new InputError('unicast VRRP is for the keepalived that keeps a control-plane VIP: it needs controlPlane.vipPool, and kube-vip (ARP with leader election) has no VRRP', [{ field: 'body.controlPlane.vipUnicast', message: 'needs controlPlane.vipPool and vipManager keepalived' }]);
  }
  if (body.controlPlane.vipManager === 'kube-vip' && body.controlPlane.vipPool === undefined) {
    throw new InputError('kube-vip keeps a control-plane VIP, and this cluster has none; name the IP pool it comes from in controlPlane.vipPool', [{ field: 'body.controlPlane.vipManager', message: 'needs controlPlane.vipPool' }]);
  }
  if (body.controlPlane.vipPool !== undefined && ['sim', 'kwok'].includes(body.provider)) {
    throw new InputError(`provider ${body.provider} serves the API on the endpoint its runtime gives; a control-plane VIP is for real machines`, [{ field: 'body.controlPlane.vipPool', message: 'not for provider sim or kwok' }]);
  }
  if (body.hostCleanup && body.provider !== 'baremetal') {
    throw new InputError(`hostCleanup is what happens to a bare-metal host when its machine is deleted; provider ${body.provider} has no hosts`, [{ field: 'body.hostCleanup', message: 'only for provider baremetal' }]);
  }
  // Fencing straight through a BMC needs a host that has one: only bare-metal machines do.
  const bmcFencing: Array<[string, string | undefined]> = [['body.health.fencing', body.health?.fencing], ...(body.nodePools ?? []).map((p, i): [string, string | undefined] => [`body.nodePools.${i}.health.fencing`, p.health?.fencing])];
  for (const [field, fencing] of bmcFencing) {
    if (fencing && fencing !== 'provider' && body.provider !== 'baremetal') {
      throw new InputError(`fencing ${fencing} powers off a host through its BMC, which only provider baremetal has; use fencing provider`, [{ field, message: 'must be provider unless the provider is baremetal' }]);
    }
  }
  return provider;
}

/** The version skew policy: never down, never the same, at most one minor up (patches of the same minor are fine). */
function checkUpgrade(cluster: Cluster, target: string, providers: ProviderInfo[]): void {
  const field = 'body.kubernetesVersion';
  const offered = providers.find((p) => p.name === cluster.provider)?.kubernetesVersions ?? [];
  if (!offered.includes(target)) throw new InputError(`provider ${cluster.provider} cannot install Kubernetes ${target}`, [{ field, message: `must be one of: ${offered.join(', ') || 'none (is the provider running?)'}` }]);
  const [fromMajor, fromMinor, fromPatch] = cluster.kubernetesVersion.split('.').map(Number) as [number, number, number];
  const [toMajor, toMinor, toPatch] = target.split('.').map(Number) as [number, number, number];
  if (toMajor !== fromMajor || toMinor < fromMinor || (toMinor === fromMinor && toPatch <= fromPatch)) {
    throw new InputError(`cluster ${cluster.name} runs ${cluster.kubernetesVersion}; ${target} is not an upgrade`, [{ field, message: `must be newer than ${cluster.kubernetesVersion}` }]);
  }
  if (toMinor > fromMinor + 1) {
    throw new InputError(`Kubernetes upgrades one minor version at a time: from ${cluster.kubernetesVersion} go to ${fromMajor}.${fromMinor + 1}.x first`, [{ field, message: `must be ${fromMajor}.${fromMinor}.x or ${fromMajor}.${fromMinor + 1}.x` }]);
  }
}

async function streamWorkflow(sm: SmClient, request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<void> {
  let run: Run = await sm.getRun(request.params.id); // a 404 is answered as a problem before the stream opens
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': request.id });
  let closed = false;
  request.raw.on('close', () => { closed = true; });
  const send = (event: string, data: unknown): void => {
    if (!closed) reply.raw.write(`event: ${event}\nid: ${Date.now()}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const view = (r: Run): unknown => ({ ...r, steps: r.steps.map(({ output: _output, ...step }) => step) });
  send('workflow', view(run));
  const started = Date.now();
  let lastSent = `${run.updatedAt}|${run.status}`;
  let lastBeat = Date.now();
  while (!closed && !TERMINAL.has(run.status) && Date.now() - started < SSE_MAX_MS) {
    await new Promise((resolve) => setTimeout(resolve, SSE_POLL_MS));
    try {
      run = await sm.getRun(run.id);
    } catch (error) {
      send('error', { code: (error as { code?: string }).code ?? 'CX_INTERNAL', detail: (error as Error).message });
      continue;
    }
    const version = `${run.updatedAt}|${run.status}`;
    if (version !== lastSent) {
      send('workflow', view(run));
      lastSent = version;
    } else if (Date.now() - lastBeat > 15_000) {
      if (!closed) reply.raw.write(': keep-alive\n\n');
      lastBeat = Date.now();
    }
  }
  if (!closed) reply.raw.end();
}

