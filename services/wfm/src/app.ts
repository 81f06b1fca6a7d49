/** Composition root of wfm: the public API, the workflow engine and its reconciler. */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { ProviderInfo } from '@cx/api-schemas';
import type { CxConfig } from '@cx/config';
import { DependencyUnavailableError } from '@cx/errors';
import { clusterReadVersionKey, providersKey } from '@cx/queue-contracts';
import { coalesceWrites, createHttpServer, type Logger } from '@cx/service-kit';
import { AccessGuard, declaredAccess } from './http/access-guard.js';
import { WorkflowEngine } from './engine.js';
import { InfrastructureChecks } from './infrastructure/checks.js';
import { ClusterReadCache } from './http/read-cache.js';
import { publicRoutes } from './routes.js';
import { SmClient, type SmInProcess } from '@cx/sm-contract';
import { createClusterWorkflow } from './workflows/cluster-create.js';
import { deleteClusterWorkflow } from './workflows/cluster-delete.js';
import { scalePoolWorkflow } from './workflows/cluster-scale.js';
import { upgradeClusterWorkflow } from './workflows/cluster-upgrade.js';
import { osUpgradeClusterWorkflow, rollbackOsUpgradeWorkflow } from './workflows/cluster-os-upgrade.js';
import {
  cordonNodeWorkflow,
  drainNodeWorkflow,
  uncordonNodeWorkflow,
  updatePoolSchedulingWorkflow,
} from './workflows/node.js';
import { rotateCaWorkflow, rotateCertificatesWorkflow } from './workflows/cluster-rotate-ca.js';
import { applyHaConfigWorkflow, removeHaConfigWorkflow } from './workflows/ha-config.js';
import { remediateNodeWorkflow } from './workflows/node-remediate.js';
import { addonWorkflows } from './workflows/addon.js';
import { etcdWorkflows } from './workflows/etcd.js';
import { EgressPolicy } from '@cx/k8s';
import { remediationWorker } from './workers/remediation.js';
import { webConsole } from './web/index.js';
import { haConfigSyncWorker } from './workers/ha-config-sync.js';

export interface WfmApp {
  app: FastifyInstance;
  engine: WorkflowEngine;
  sm: SmClient;
}

/** A provider not advertised by any sddc for this long is considered gone. */
const PROVIDER_STALE_MS = 60_000;
/**
 * How long one read of the advertised providers serves: every create and upgrade checks them, and
 * sddc refreshes them every 10 s, so a second's delay is within what they show anyway.
 */
const PROVIDERS_READ_MS = 1_000;

/** `inProcess`: sm's module and app, when sm runs in this process (the all-in-one): no loopback HTTP to sm then. */
export async function buildWfmApp(
  config: Readonly<CxConfig>,
  logger: Logger,
  inProcess: SmInProcess = {},
): Promise<WfmApp> {
  if (!config.redis.url) throw new Error('wfm needs redis.url (CX_REDIS_URL)');
  if (!config.serviceToken) throw new Error('wfm needs serviceToken (CX_SERVICE_TOKEN)');
  const sm = new SmClient(config.sm.url, config.serviceToken, inProcess);
  // Workers block on Redis and must wait through a reconnect; requests must fail fast instead. The
  // commands of one event-loop turn go out in one write on either.
  const workerConnection = coalesceWrites(
    new Redis(config.redis.url, { maxRetriesPerRequest: null, connectionName: 'cx-wfm-worker' }),
  );
  const requestConnection = coalesceWrites(
    new Redis(config.redis.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectionName: 'cx-wfm',
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    }),
  );
  requestConnection.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));
  workerConnection.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));

  const app = createHttpServer({
    service: 'wfm',
    logger,
    bodyLimitBytes: config.http.bodyLimitBytes,
    trustedProxies: config.http.trustedProxies,
    readiness: { redis: async () => (await requestConnection.ping()) === 'PONG', sm: () => sm.ready() },
  });

  // The providers sddc replicas advertise (with their capabilities); an entry not refreshed lately is gone.
  const readProviders = async (): Promise<ProviderInfo[]> => {
    const entries = await requestConnection.hgetall(providersKey(config.redis.prefix));
    const now = Date.now();
    return Object.values(entries)
      .map((raw) => JSON.parse(raw) as ProviderInfo & { seenAt: number })
      .filter((p) => now - p.seenAt < PROVIDER_STALE_MS)
      .map(({ name, kubernetesVersions, contractVersion, takesCredential, capabilities }) => ({
        name,
        kubernetesVersions,
        contractVersion,
        takesCredential: takesCredential === true,
        ...(capabilities ? { capabilities } : {}),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  };
  // The list is shared by the callers of one read: none changes it.
  let lastRead: { at: number; providers: Promise<ProviderInfo[]> } | undefined;
  const providers = (): Promise<ProviderInfo[]> => {
    assertQueueUp();
    const now = Date.now();
    if (!lastRead || now - lastRead.at >= PROVIDERS_READ_MS) {
      const read = readProviders();
      lastRead = { at: now, providers: read };
      // A failed read is not kept: the next call reads again.
      read.catch(() => {
        if (lastRead?.providers === read) lastRead = undefined;
      });
    }
    return lastRead.providers;
  };
  const assertQueueUp = (): void => {
    if (requestConnection.status !== 'ready')
      throw new DependencyUnavailableError(
        'Redis is unreachable; workflows cannot be queued. Check redis.url (CX_REDIS_URL)',
      );
  };

  const engine = new WorkflowEngine({
    connection: workerConnection,
    producer: requestConnection,
    prefix: config.redis.prefix,
    sm,
    logger,
    metrics: app.metrics,
    concurrency: config.workflows.concurrency,
    stepAttempts: config.workflows.stepAttempts,
    lockDurationMs: config.workflows.lockDurationMs,
    reconcileIntervalMs: config.workflows.reconcileIntervalMs,
    deadlines: { nodesReadyMs: config.workflows.nodesReadyTimeoutSeconds * 1000 },
    providers,
  });
  const reads = new ClusterReadCache(requestConnection, clusterReadVersionKey(config.redis.prefix), logger);
  sm.onClusterChange(() => reads.bump());
  engine.register(createClusterWorkflow(config.serviceToken));
  engine.register(deleteClusterWorkflow);
  engine.register(scalePoolWorkflow);
  engine.register(upgradeClusterWorkflow);
  engine.register(osUpgradeClusterWorkflow);
  engine.register(rollbackOsUpgradeWorkflow);
  engine.register(cordonNodeWorkflow);
  engine.register(uncordonNodeWorkflow);
  engine.register(drainNodeWorkflow);
  engine.register(updatePoolSchedulingWorkflow);
  engine.register(rotateCaWorkflow);
  engine.register(rotateCertificatesWorkflow);
  engine.register(applyHaConfigWorkflow);
  engine.register(removeHaConfigWorkflow);
  engine.register(remediateNodeWorkflow);
  const addonFlows = addonWorkflows(config.serviceToken);
  engine.register(addonFlows.install);
  engine.register(addonFlows.remove);
  const etcdFlows = etcdWorkflows(config.etcd.maxSnapshotBytes);
  engine.register(etcdFlows.snapshot);
  engine.register(etcdFlows.restore);
  const remediations = remediationWorker({
    connection: workerConnection,
    prefix: config.redis.prefix,
    engine,
    sm,
    logger,
  });
  const haSyncs = haConfigSyncWorker({ connection: workerConnection, prefix: config.redis.prefix, engine, sm, logger });

  webConsole(app, { sm }); // before the API's routes: its session hook runs ahead of their authentication
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'cx API',
        version: '1',
        description:
          'Container-as-a-Service control plane. Errors are RFC 9457 problem+json with a stable `code` (docs/errors.md).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // The document lists the public API only (not probes, metrics or the docs page itself), and
    // says which operations need no token.
    transform: ({ schema, url, route }) => ({
      schema: {
        ...schema,
        hide: !url.startsWith('/api/v1') || url.startsWith('/api/v1/docs'),
        ...(route.config?.access === 'public' ? { security: [] } : {}),
        'x-cx-access': declaredAccess(route.config?.access),
      } as typeof schema,
      url,
    }),
    transformObject: (document) =>
      'openapiObject' in document ? errorsAsProblems(document.openapiObject) : document.swaggerObject,
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/v1/docs',
    uiConfig: { docExpansion: 'list', validatorUrl: null },
    // Its scripts and styles are its own files: nothing inline runs, and no page frames it.
    staticCSP: true,
    transformStaticCSP: (header) =>
      header
        .replace('upgrade-insecure-requests;', '')
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
        .replace(' validator.swagger.io', '')
        .trim(),
  });
  app.get('/api/v1/openapi.json', { config: { access: 'public' } }, async () => app.swagger());
  await app.register(
    async (scope) =>
      publicRoutes(scope, {
        sm,
        engine,
        guard: new AccessGuard(sm),
        providers,
        infrastructure: new InfrastructureChecks(engine, sm, config.serviceToken!, providers),
        assertQueueUp,
        reads,
        egress: new EgressPolicy(config.egress),
      }),
    { prefix: '/api/v1' },
  );

  app.addHook('onReady', async () => {
    engine.start();
    void remediations.run();
    void haSyncs.run();
  });
  app.addHook('onClose', async () => {
    await remediations.close();
    await haSyncs.close();
    await engine.close();
    await sm.close();
    workerConnection.disconnect();
    requestConnection.disconnect();
  });
  return { app, engine, sm };
}

/** The document says what is served: every error answer is `application/problem+json` (sendProblem). */
function errorsAsProblems<T extends { paths?: unknown }>(document: T): T {
  const paths = (document.paths ?? {}) as Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations))
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const answer = response as { content?: Record<string, unknown> };
        const declared = Object.values(answer.content ?? {})[0];
        if (Number(status) >= 400 && declared) answer.content = { 'application/problem+json': declared };
      }
  return document;
}
