/**
 * Composition root of sddc: the BullMQ worker that runs operations (operations/), the providers
 * it runs them with (providers/), the watchers of tenant clusters and pairs (watchers/), and the
 * health / metrics endpoints. sddc holds no SQL connection: results travel back as job return
 * values to the workflow step that asked.
 */
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import type { CxConfig } from '@cx/config';
import { asCxError } from '@cx/errors';
import { BareMetalProvider } from '@cx/providers-baremetal';
import {
  HA_CONFIG_SYNC_QUEUE,
  REMEDIATION_QUEUE,
  SDDC_OPERATION_QUEUE,
  clusterReadVersionKey,
  formatFailedReason,
  type HaConfigSyncRequest,
  type RemediationRequest,
  type SddcOperation,
} from '@cx/queue-contracts';
import { createHttpServer, throttled, type Logger } from '@cx/service-kit';
import { EgressPolicy } from '@cx/k8s';
import { runOperation } from './operations/run-operation.js';
import { ADVERTISE_INTERVAL_MS, advertiseProviders } from './providers/advertise.js';
import { buildProviders, offerKwokWhenBuilt } from './providers/build-providers.js';
import type { ProviderDirectory } from './providers/provider-directory.js';
import { connectRedis } from './redis.js';
import { SmClient, type SmInProcess } from '@cx/sm-contract';
import { setTenantRequestTimeout } from './tenant-api.js';
import { HaConfigSync } from './watchers/ha-sync.js';
import { HealthMonitor } from './watchers/health-monitor.js';
import { PairWitnessDriver } from './watchers/pair-witness.js';
import { ShardLeases } from './watchers/shard-leases.js';

export interface SddcApp {
  app: FastifyInstance;
  providers: ProviderDirectory;
  worker: Worker;
}

/** A pair's witness lease outlasts a slow round (agents time out after up to 2 s), so two replicas never witness one pair at once. */
const PAIR_LEASE_MIN_MS = 10_000;

/** `inProcess`: sm's app, when sm runs in this process (the all-in-one): no loopback HTTP to sm then. */
export async function buildSddcApp(
  config: Readonly<CxConfig>,
  logger: Logger,
  inProcess: SmInProcess = {},
): Promise<SddcApp> {
  if (!config.redis.url) throw new Error('sddc needs redis.url (CX_REDIS_URL)');
  if (!config.serviceToken) throw new Error('sddc needs serviceToken (CX_SERVICE_TOKEN)');
  setTenantRequestTimeout(config.sddc.tenantTimeoutSeconds * 1000);
  const sm = new SmClient(config.sm.url, config.serviceToken, inProcess);
  const providers = buildProviders(config, logger, sm);
  const serviceToken = config.serviceToken;
  // Built at start so that a malformed egress.allow / egress.deny entry stops sddc with its name.
  const egress = new EgressPolicy(config.egress);
  const connection = connectRedis(config.redis.url, 'cx-sddc');
  const app = createHttpServer({
    service: 'sddc',
    logger,
    requestLogLevel: 'debug',
    readiness: { redis: async () => (await connection.ping()) === 'PONG' },
  });
  const operations = new Counter({
    name: 'cx_sddc_operations_total',
    help: 'Provider operations by provider, operation and outcome',
    labelNames: ['provider', 'op', 'outcome'],
    registers: [app.metrics],
  });

  const worker = new Worker<SddcOperation>(
    SDDC_OPERATION_QUEUE,
    async (job) => {
      const started = Date.now();
      try {
        const result = await runOperation(providers, job.data, sm, {
          serviceToken,
          concurrency: config.sddc.concurrency,
          keepalivedImage: config.ha.keepalivedImage,
          haproxyImage: config.ha.haproxyImage,
          kubeVipImage: config.ha.kubeVipImage,
          egress,
        });
        operations.inc({ provider: job.data.provider, op: job.data.op, outcome: 'success' });
        logger.debug({ jobId: job.id, op: job.data.op, ms: Date.now() - started }, 'operation done');
        return result;
      } catch (error) {
        const cx = asCxError(error);
        operations.inc({ provider: job.data.provider, op: job.data.op, outcome: cx.retryable ? 'retry' : 'failure' });
        logger.warn(
          { jobId: job.id, op: job.data.op, code: cx.code, err: cx.message, attempt: job.attemptsMade + 1 },
          'operation failed',
        );
        // Code, details and retryability travel in the message: BullMQ keeps only the message as failedReason.
        const message = formatFailedReason({
          code: cx.code,
          message: cx.message,
          retryable: cx.retryable,
          ...(cx.details ? { details: cx.details } : {}),
        });
        throw cx.retryable ? new Error(message) : new UnrecoverableError(message);
      }
    },
    {
      connection,
      prefix: config.redis.prefix,
      concurrency: config.sddc.concurrency,
      lockDuration: config.workflows.lockDurationMs,
      stalledInterval: config.workflows.lockDurationMs,
      autorun: false,
    },
  );
  worker.on(
    'error',
    throttled((error, repeats) => logger.error({ err: error, repeats }, 'sddc worker error')),
  );

  const advertise = (): Promise<void> => advertiseProviders(connection, config.redis.prefix, providers);
  const remediations = new Queue<RemediationRequest>(REMEDIATION_QUEUE, { connection, prefix: config.redis.prefix });
  const haSyncs = new Queue<HaConfigSyncRequest>(HA_CONFIG_SYNC_QUEUE, { connection, prefix: config.redis.prefix });
  const intervalMs = config.ha.healthIntervalSeconds * 1000;
  const monitor = config.ha.healthMonitor
    ? new HealthMonitor({
        sm,
        remediations,
        intervalMs,
        logger,
        leases: new ShardLeases(connection, config.redis.prefix, config.ha.healthShards, 3 * intervalMs),
        statusWritten: () => connection.incr(clusterReadVersionKey(config.redis.prefix)),
        haSync: new HaConfigSync({ sm, requests: haSyncs, logger }),
        providers,
        metrics: app.metrics,
      })
    : undefined;

  const pairIntervalMs = config.ha.pairIntervalMs;
  const witness = config.ha.pairWitness
    ? new PairWitnessDriver({
        sm,
        providers,
        logger,
        intervalMs: pairIntervalMs,
        leases: new ShardLeases(
          connection,
          config.redis.prefix,
          config.ha.healthShards,
          Math.max(3 * pairIntervalMs, PAIR_LEASE_MIN_MS),
          'pairs',
        ),
      })
    : undefined;

  // Hosts released for wiping come back to the free pool once their cleaning image powered them off.
  const baremetal = config.sddc.providers.includes('baremetal')
    ? (await providers.resolve('baremetal', '')).provider
    : undefined;
  const sweep =
    baremetal instanceof BareMetalProvider
      ? setInterval(() => {
          baremetal
            .sweepCleaning()
            .then((hosts) => {
              if (hosts.length > 0) logger.info({ hosts }, 'cleaned hosts are free again');
            })
            .catch((error: unknown) => logger.warn({ err: error }, 'cannot check the hosts being cleaned'));
        }, config.baremetal.cleaningCheckSeconds * 1000)
      : undefined;
  sweep?.unref();

  const timer = setInterval(() => {
    advertise().catch((error: unknown) => logger.warn({ err: error }, 'cannot advertise providers'));
  }, ADVERTISE_INTERVAL_MS);
  timer.unref();

  app.addHook('onReady', async () => {
    await advertise();
    void worker.run();
    monitor?.start();
    witness?.start();
  });
  const stopKwokWatch = offerKwokWhenBuilt(config, providers, logger);
  app.addHook('onClose', async () => {
    stopKwokWatch();
    clearInterval(timer);
    clearInterval(sweep);
    await monitor?.stop();
    await witness?.stop();
    await remediations.close();
    await haSyncs.close();
    await worker.close();
    await providers.close();
    await sm.close();
    connection.disconnect();
  });
  return { app, providers, worker };
}
